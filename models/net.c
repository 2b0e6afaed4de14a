/* net.c: sequential networks: building, allocation, initialisation,
 * forward and backward. See net.h for the memory plan. */
#include "net.h"
#include "batchnorm.h"
#include "bias.h"
#include "elementwise.h"
#include "gemm.h"
#include "pool.h"
#include "rng.h"

#include <stdio.h>
#include <string.h>

void clg_net_init(clg_net *net, int batch, int c, int h, int w) {
    memset(net, 0, sizeof *net);
    net->batch = batch;
    net->in[0] = batch, net->in[1] = c, net->in[2] = h, net->in[3] = w;
    net->bn_momentum = 0.1f;
    net->bn_eps = 1e-5f;
    net->init_std = 0.02f;
}

/* The shape the next layer receives. */
static const int *last_shape(const clg_net *net) {
    return net->count ? net->layers[net->count - 1].out : net->in;
}

static clg_status add(clg_net *net, clg_layer_kind kind, const char *name, clg_layer **out) {
    if (net->count == CLG_NET_MAX_LAYERS)
        return clg_fail(CLG_ERR_INVALID_ARG, "network has more than %d layers",
                        CLG_NET_MAX_LAYERS);
    if (net->params.buf)
        return clg_fail(CLG_ERR_INVALID_ARG, "layers must be added before clg_net_alloc");
    clg_layer *l = &net->layers[net->count];
    memset(l, 0, sizeof *l);
    l->kind = kind;
    snprintf(l->name, sizeof l->name, "%s", name ? name : "");
    memcpy(l->in, last_shape(net), sizeof l->in);
    memcpy(l->out, l->in, sizeof l->out);
    *out = l;
    return CLG_OK;
}

clg_status clg_net_conv(clg_net *net, const char *name, int k, int r, int stride, int pad,
                        int bias) {
    clg_layer *l = NULL;
    CLG_TRY(add(net, CLG_LAYER_CONV, name, &l));
    CLG_TRY(clg_conv_desc_init(&l->conv, l->in[0], l->in[1], l->in[2], l->in[3], k, r, r,
                               stride, pad));
    l->out[1] = k, l->out[2] = l->conv.P, l->out[3] = l->conv.Q;
    l->has_bias = bias;
    net->count++;
    return CLG_OK;
}

clg_status clg_net_convt(clg_net *net, const char *name, int c_out, int r, int stride, int pad,
                         int bias) {
    clg_layer *l = NULL;
    CLG_TRY(add(net, CLG_LAYER_CONVT, name, &l));
    CLG_TRY(clg_conv_transpose_desc_init(&l->conv, l->in[0], l->in[1], l->in[2], l->in[3],
                                         c_out, r, r, stride, pad));
    l->out[1] = c_out, l->out[2] = l->conv.H, l->out[3] = l->conv.W;
    l->has_bias = bias;
    net->count++;
    return CLG_OK;
}

clg_status clg_net_linear(clg_net *net, const char *name, int out, int bias) {
    clg_layer *l = NULL;
    CLG_TRY(add(net, CLG_LAYER_LINEAR, name, &l));
    if (out <= 0) return clg_fail(CLG_ERR_INVALID_ARG, "linear %s: %d outputs", name, out);
    l->out[1] = out, l->out[2] = 1, l->out[3] = 1;
    l->has_bias = bias;
    net->count++;
    return CLG_OK;
}

clg_status clg_net_bn(clg_net *net, const char *name, int affine) {
    clg_layer *l = NULL;
    CLG_TRY(add(net, CLG_LAYER_BN, name, &l));
    l->affine = affine;
    net->count++;
    return CLG_OK;
}

clg_status clg_net_act(clg_net *net, clg_act act, float slope) {
    clg_layer *l = NULL;
    CLG_TRY(add(net, CLG_LAYER_ACT, NULL, &l));
    if (act == CLG_ACT_LEAKY_RELU && !(slope > 0.0f))
        return clg_fail(CLG_ERR_INVALID_ARG, "leaky ReLU slope must be > 0, not %g", slope);
    l->act = act;
    l->slope = slope;
    net->count++;
    return CLG_OK;
}

clg_status clg_net_reshape(clg_net *net, int c, int h, int w) {
    clg_layer *l = NULL;
    CLG_TRY(add(net, CLG_LAYER_RESHAPE, NULL, &l));
    if ((long)c * h * w != (long)l->in[1] * l->in[2] * l->in[3] || c <= 0 || h <= 0 || w <= 0)
        return clg_fail(CLG_ERR_INVALID_ARG, "reshape (%d, %d, %d) -> (%d, %d, %d) changes the size",
                        l->in[1], l->in[2], l->in[3], c, h, w);
    l->out[1] = c, l->out[2] = h, l->out[3] = w;
    net->count++;
    return CLG_OK;
}

static int in_place(clg_layer_kind k) {
    return k == CLG_LAYER_ACT || k == CLG_LAYER_RESHAPE || k == CLG_LAYER_DROPOUT ||
           k == CLG_LAYER_NOISE;
}

clg_status clg_net_dropout(clg_net *net, float p) {
    clg_layer *l = NULL;
    CLG_TRY(add(net, CLG_LAYER_DROPOUT, NULL, &l));
    if (!(p >= 0.0f && p < 1.0f))
        return clg_fail(CLG_ERR_INVALID_ARG, "dropout p must be in [0, 1), not %g", p);
    l->p = p;
    net->count++;
    return CLG_OK;
}

clg_status clg_net_noise(clg_net *net, float std) {
    clg_layer *l = NULL;
    CLG_TRY(add(net, CLG_LAYER_NOISE, NULL, &l));
    if (!(std >= 0.0f)) return clg_fail(CLG_ERR_INVALID_ARG, "noise std must be >= 0");
    l->p = std;
    net->count++;
    return CLG_OK;
}

clg_status clg_net_maxpool(clg_net *net, int out_h, int out_w) {
    clg_layer *l = NULL;
    CLG_TRY(add(net, CLG_LAYER_MAXPOOL, NULL, &l));
    if (out_h < 1 || out_w < 1 || out_h > l->in[2] || out_w > l->in[3])
        return clg_fail(CLG_ERR_INVALID_ARG, "max pool of %dx%d to %dx%d", l->in[2], l->in[3],
                        out_h, out_w);
    l->out[2] = out_h, l->out[3] = out_w;
    net->count++;
    return CLG_OK;
}

static int has_weight(const clg_layer *l) {
    return l->kind == CLG_LAYER_CONV || l->kind == CLG_LAYER_CONVT ||
           l->kind == CLG_LAYER_LINEAR || (l->kind == CLG_LAYER_BN && l->affine);
}
static int has_bias(const clg_layer *l) {
    return (l->kind == CLG_LAYER_BN && l->affine) || (has_weight(l) && l->has_bias);
}
static clg_tensor shape4(int n, int c, int h, int w) {
    return clg_tensor_view(NULL, 0, n, c, h, w);
}

/* The weight's shape as PyTorch stores it. */
static clg_tensor weight_shape(const clg_layer *l) {
    switch (l->kind) {
    case CLG_LAYER_CONV: return shape4(l->conv.K, l->conv.C, l->conv.R, l->conv.S);
    case CLG_LAYER_CONVT: return shape4(l->conv.K, l->conv.C, l->conv.R, l->conv.S);
    case CLG_LAYER_LINEAR: return shape4(l->out[1], l->in[1] * l->in[2] * l->in[3], 1, 1);
    default: return shape4(1, l->in[1], 1, 1);
    }
}

/* Lays out one block of `which` (0 params/grads/moments, 1 buffers, 2 saved,
 * 3 activations) and points the layers' tensors into it. */
static clg_status alloc_block(clg_ctx *ctx, clg_net *net, clg_block *b, int which,
                              const char *what, int grad_slot) {
    clg_tensor ts[4 * CLG_NET_MAX_LAYERS];
    clg_tensor *dst[4 * CLG_NET_MAX_LAYERS];
    int n = 0;
    for (int i = 0; i < net->count; i++) {
        clg_layer *l = &net->layers[i];
        if (which == 0) {
            if (has_weight(l)) {
                ts[n] = weight_shape(l);
                dst[n++] = grad_slot == 1 ? &l->dweight : grad_slot == 0 ? &l->weight : NULL;
            }
            if (has_bias(l)) {
                ts[n] = shape4(1, l->out[1], 1, 1);
                dst[n++] = grad_slot == 1 ? &l->dbias : grad_slot == 0 ? &l->bias : NULL;
            }
        } else if (which == 1 && l->kind == CLG_LAYER_BN) {
            ts[n] = shape4(1, l->in[1], 1, 1), dst[n++] = &l->run_mean;
            ts[n] = shape4(1, l->in[1], 1, 1), dst[n++] = &l->run_var;
        } else if (which == 2 && l->kind == CLG_LAYER_BN) {
            ts[n] = shape4(1, l->in[1], 1, 1), dst[n++] = &l->mean;
            ts[n] = shape4(1, l->in[1], 1, 1), dst[n++] = &l->rstd;
        } else if (which == 3 && !in_place(l->kind)) {
            ts[n] = shape4(l->out[0], l->out[1], l->out[2], l->out[3]);
            dst[n++] = &l->output;
        }
    }
    if (n == 0) return CLG_OK;
    CLG_TRY(clg_block_alloc(ctx, b, ts, n, what));
    for (int i = 0; i < n; i++)
        if (dst[i]) *dst[i] = ts[i];
    return CLG_OK;
}

clg_status clg_net_alloc(clg_ctx *ctx, clg_net *net) {
    clg_status rc;
    CLG_TRY_GOTO(alloc_block(ctx, net, &net->params, 0, "parameters", 0), fail);
    CLG_TRY_GOTO(alloc_block(ctx, net, &net->grads, 0, "gradients", 1), fail);
    CLG_TRY_GOTO(alloc_block(ctx, net, &net->adam_m, 0, "Adam first moments", 2), fail);
    CLG_TRY_GOTO(alloc_block(ctx, net, &net->adam_v, 0, "Adam second moments", 2), fail);
    CLG_TRY_GOTO(alloc_block(ctx, net, &net->buffers, 1, "BN running statistics", 0), fail);
    CLG_TRY_GOTO(alloc_block(ctx, net, &net->saved, 2, "BN saved statistics", 0), fail);
    CLG_TRY_GOTO(alloc_block(ctx, net, &net->acts, 3, "activations", 0), fail);
    /* In-place layers see their input's storage under their own shape. */
    size_t maxn = (size_t)net->in[0] * net->in[1] * net->in[2] * net->in[3];
    for (int i = 0; i < net->count; i++) {
        clg_layer *l = &net->layers[i];
        if (l->kind == CLG_LAYER_MAXPOOL) {
            l->arg_off = net->args_numel;
            net->args_numel += clg_tensor_numel(&l->output);
        }
        if (in_place(l->kind)) {
            if (i == 0) {
                rc = clg_fail(CLG_ERR_INVALID_ARG, "a network cannot start with an in-place layer");
                goto fail;
            }
            const clg_tensor *prev = &net->layers[i - 1].output;
            l->output = clg_tensor_view(prev->buf, prev->off, l->out[0], l->out[1], l->out[2],
                                        l->out[3]);
        }
        size_t numel = clg_tensor_numel(&l->output);
        if (numel > maxn) maxn = numel;
    }
    net->dbuf_numel = maxn;
    for (int i = 0; i < net->count; i++)
        if (net->layers[i].kind == CLG_LAYER_CONV || net->layers[i].kind == CLG_LAYER_CONVT)
            CLG_TRY_GOTO(clg_conv_reserve(ctx, &net->layers[i].conv), fail);
    if (net->args_numel)
        CLG_TRY_GOTO(clg_buffer_create(ctx, net->args_numel * sizeof(cl_int), "max-pool indices",
                                       &net->args),
                     fail);
    for (int k = 0; k < 2; k++)
        CLG_TRY_GOTO(clg_buffer_create(ctx, maxn * sizeof(float), "activation gradients",
                                       &net->dbuf[k]),
                     fail);
    return CLG_OK;
fail:
    clg_net_free(ctx, net);
    return rc;
}

void clg_net_free(clg_ctx *ctx, clg_net *net) {
    clg_block *blocks[] = {&net->params, &net->grads,  &net->adam_m, &net->adam_v,
                           &net->buffers, &net->saved, &net->acts};
    for (size_t i = 0; i < sizeof blocks / sizeof blocks[0]; i++) clg_block_free(ctx, blocks[i]);
    for (int k = 0; k < 2; k++) {
        clg_buffer_release(ctx, net->dbuf[k], net->dbuf_numel * sizeof(float));
        net->dbuf[k] = NULL;
    }
    clg_buffer_release(ctx, net->args, net->args_numel * sizeof(cl_int));
    net->args = NULL;
}

clg_status clg_net_init_params(clg_ctx *ctx, clg_net *net, uint64_t seed) {
    clg_tensor all = clg_block_tensor(&net->params);
    CLG_TRY(clg_fill(ctx, &all, 0.0f));
    for (int i = 0; i < net->count; i++) {
        clg_layer *l = &net->layers[i];
        /* Each tensor draws from the stream at its own offset in the block,
         * so the values do not depend on the order of initialisation. */
        if (has_weight(l))
            CLG_TRY(clg_rng_normal(ctx, &l->weight, seed, l->weight.off / 4,
                                   l->kind == CLG_LAYER_BN ? 1.0f : 0.0f, net->init_std));
        if (l->kind == CLG_LAYER_BN) {
            CLG_TRY(clg_fill(ctx, &l->run_mean, 0.0f));
            CLG_TRY(clg_fill(ctx, &l->run_var, 1.0f));
        }
    }
    clg_block *zero[] = {&net->grads, &net->adam_m, &net->adam_v};
    for (int k = 0; k < 3; k++) {
        clg_tensor t = clg_block_tensor(zero[k]);
        CLG_TRY(clg_fill(ctx, &t, 0.0f));
    }
    return CLG_OK;
}

const clg_tensor *clg_net_output(const clg_net *net) {
    return &net->layers[net->count - 1].output;
}

static clg_tensor dview(const clg_net *net, int k, const int *shape) {
    return clg_tensor_view(net->dbuf[k], 0, shape[0], shape[1], shape[2], shape[3]);
}

clg_tensor clg_net_doutput(const clg_net *net) {
    return dview(net, 0, net->layers[net->count - 1].out);
}

static clg_status check_input(const clg_net *net, const clg_tensor *inp, const char *op) {
    if (inp->n != net->in[0] || inp->c != net->in[1] || inp->h != net->in[2] ||
        inp->w != net->in[3])
        return clg_fail(CLG_ERR_INVALID_ARG, "%s: input (%d, %d, %d, %d), network expects "
                        "(%d, %d, %d, %d)", op, inp->n, inp->c, inp->h, inp->w, net->in[0],
                        net->in[1], net->in[2], net->in[3]);
    return CLG_OK;
}

clg_status clg_net_forward(clg_ctx *ctx, clg_net *net, const clg_tensor *inp,
                           clg_net_mode mode) {
    CLG_TRY(check_input(net, inp, "forward"));
    for (int i = 0; i < net->count; i++) {
        clg_layer *l = &net->layers[i];
        const clg_tensor *x = i ? &net->layers[i - 1].output : inp;
        const clg_tensor *b = has_bias(l) ? &l->bias : NULL;
        switch (l->kind) {
        case CLG_LAYER_CONV:
            CLG_TRY(clg_conv2d_forward(ctx, &l->output, x, &l->weight, b, &l->conv));
            break;
        case CLG_LAYER_CONVT:
            CLG_TRY(clg_conv_transpose2d_forward(ctx, &l->output, x, &l->weight, b, &l->conv));
            break;
        case CLG_LAYER_LINEAR: {
            size_t in = clg_tensor_numel(x) / (size_t)l->in[0], out = (size_t)l->out[1];
            CLG_TRY(clg_gemm(ctx, 0, 1, (size_t)l->in[0], out, in, 1.0f, x, in, &l->weight, in,
                             0.0f, &l->output, out, NULL));
            if (b) CLG_TRY(clg_bias_forward(ctx, &l->output, b));
            break;
        }
        case CLG_LAYER_BN: {
            const clg_tensor *g = l->affine ? &l->weight : NULL;
            int update = mode == CLG_NET_TRAIN;
            if (mode != CLG_NET_EVAL)
                CLG_TRY(clg_batchnorm_forward(ctx, &l->output, &l->mean, &l->rstd, x, g, b,
                                              update ? &l->run_mean : NULL,
                                              update ? &l->run_var : NULL, net->bn_momentum,
                                              net->bn_eps));
            else
                CLG_TRY(clg_batchnorm_forward_inference(ctx, &l->output, x, g, b, &l->run_mean,
                                                        &l->run_var, net->bn_eps));
            break;
        }
        case CLG_LAYER_ACT:
            CLG_TRY(clg_act_forward(ctx, &l->output, x, l->act, l->slope));
            break;
        case CLG_LAYER_RESHAPE: break;
        case CLG_LAYER_DROPOUT:
        case CLG_LAYER_NOISE:
            /* Training only; each forward draws fresh numbers. */
            l->active = mode == CLG_NET_TRAIN && l->p > 0.0f;
            if (!l->active) break;
            l->rng_offset = net->rng_counter;
            net->rng_counter += clg_tensor_numel(&l->output);
            if (l->kind == CLG_LAYER_DROPOUT)
                CLG_TRY(clg_dropout(ctx, &l->output, x, net->rng_seed, l->rng_offset, l->p));
            else
                CLG_TRY(clg_add_noise(ctx, &l->output, x, net->rng_seed, l->rng_offset, l->p));
            break;
        case CLG_LAYER_MAXPOOL:
            CLG_TRY(clg_adaptive_max_pool_forward(ctx, &l->output, net->args, l->arg_off, x));
            break;
        }
    }
    return CLG_OK;
}

clg_status clg_net_backward(clg_ctx *ctx, clg_net *net, const clg_tensor *inp,
                            const clg_tensor *dinp, int param_grads) {
    CLG_TRY(check_input(net, inp, "backward"));
    if (dinp) CLG_TRY(clg_check_numel("backward dinp", dinp, inp));
    int cur = 0; /* dbuf[cur] holds the gradient of layer i's output */
    for (int i = net->count - 1; i >= 0; i--) {
        clg_layer *l = &net->layers[i];
        const clg_tensor *x = i ? &net->layers[i - 1].output : inp;
        clg_tensor dout = dview(net, cur, l->out);
        clg_tensor dnext = dview(net, cur ^ 1, l->in);
        /* Where this layer's input gradient goes (NULL: nobody needs it). */
        const clg_tensor *dx = i ? &dnext : dinp;
        const clg_tensor *db = has_bias(l) ? &l->dbias : NULL;
        switch (l->kind) {
        case CLG_LAYER_CONV:
            if (param_grads)
                CLG_TRY(clg_conv2d_backward_weight(ctx, &l->dweight, db, &dout, x, &l->conv));
            if (dx) CLG_TRY(clg_conv2d_backward_data(ctx, dx, &dout, &l->weight, &l->conv));
            break;
        case CLG_LAYER_CONVT:
            if (param_grads)
                CLG_TRY(clg_conv_transpose2d_backward_weight(ctx, &l->dweight, db, &dout, x,
                                                             &l->conv));
            if (dx)
                CLG_TRY(clg_conv_transpose2d_backward_data(ctx, dx, &dout, &l->weight, &l->conv));
            break;
        case CLG_LAYER_LINEAR: {
            size_t n = (size_t)l->in[0], in = clg_tensor_numel(x) / n, out = (size_t)l->out[1];
            if (param_grads) {
                CLG_TRY(clg_gemm(ctx, 1, 0, out, in, n, 1.0f, &dout, out, x, in, 1.0f,
                                 &l->dweight, in, NULL));
                if (db) CLG_TRY(clg_bias_backward(ctx, db, &dout));
            }
            if (dx)
                CLG_TRY(clg_gemm(ctx, 0, 0, n, in, out, 1.0f, &dout, out, &l->weight, in, 0.0f,
                                 dx, in, NULL));
            break;
        }
        case CLG_LAYER_BN: {
            /* BN's input gradient is needed to reach earlier layers; gamma and
             * beta gradients come with it (cheap, cleared by zero_grad). */
            const clg_tensor *g = l->affine ? &l->weight : NULL;
            const clg_tensor *dg = l->affine ? &l->dweight : NULL;
            const clg_tensor *tgt = dx ? dx : &dnext;
            CLG_TRY(clg_batchnorm_backward(ctx, tgt, dg, db, &dout, x, &l->mean, &l->rstd, g));
            break;
        }
        /* In-place layers (never first: clg_net_alloc refuses that) turn the
         * output gradient into the input gradient where it lies. */
        case CLG_LAYER_ACT:
            CLG_TRY(clg_act_backward(ctx, &dout, &dout, &l->output, l->act, l->slope));
            continue;
        case CLG_LAYER_DROPOUT:
            if (l->active)
                CLG_TRY(clg_dropout(ctx, &dout, &dout, net->rng_seed, l->rng_offset, l->p));
            continue;
        case CLG_LAYER_NOISE:
        case CLG_LAYER_RESHAPE: continue;
        case CLG_LAYER_MAXPOOL:
            CLG_TRY(clg_adaptive_max_pool_backward(ctx, dx ? dx : &dnext, &dout, net->args,
                                                   l->arg_off));
            break;
        }
        cur ^= 1;
    }
    return CLG_OK;
}

clg_status clg_net_zero_grad(clg_ctx *ctx, clg_net *net) {
    if (!net->grads.buf) return CLG_OK;
    clg_tensor t = clg_block_tensor(&net->grads);
    return clg_fill(ctx, &t, 0.0f);
}

typedef struct {
    const char *suffix;
    const clg_tensor *t;
    int trainable;
} named_item;

int clg_net_tensors(const clg_net *net, clg_named_tensor *out, int cap) {
    int n = 0;
    for (int i = 0; i < net->count; i++) {
        const clg_layer *l = &net->layers[i];
        named_item items[4];
        int k = 0;
        if (has_weight(l)) items[k++] = (named_item){"weight", &l->weight, 1};
        if (has_bias(l)) items[k++] = (named_item){"bias", &l->bias, 1};
        if (l->kind == CLG_LAYER_BN) {
            items[k++] = (named_item){"running_mean", &l->run_mean, 0};
            items[k++] = (named_item){"running_var", &l->run_var, 0};
        }
        for (int j = 0; j < k; j++, n++) {
            if (n >= cap) continue;
            clg_named_tensor *nt = &out[n];
            snprintf(nt->name, sizeof nt->name, "%s.%s", l->name, items[j].suffix);
            nt->t = *items[j].t;
            nt->trainable = items[j].trainable;
            const clg_tensor *t = items[j].t;
            if (l->kind == CLG_LAYER_CONV || l->kind == CLG_LAYER_CONVT) {
                if (j == 0) {
                    nt->ndim = 4;
                    nt->shape[0] = t->n, nt->shape[1] = t->c, nt->shape[2] = t->h,
                    nt->shape[3] = t->w;
                } else {
                    nt->ndim = 1, nt->shape[0] = (int64_t)clg_tensor_numel(t);
                }
            } else if (l->kind == CLG_LAYER_LINEAR && j == 0) {
                nt->ndim = 2, nt->shape[0] = t->n, nt->shape[1] = t->c;
            } else {
                nt->ndim = 1, nt->shape[0] = (int64_t)clg_tensor_numel(t);
            }
        }
    }
    return n;
}

size_t clg_net_device_bytes(const clg_net *net) {
    size_t f = net->params.numel + net->grads.numel + net->adam_m.numel + net->adam_v.numel +
               net->buffers.numel + net->saved.numel + net->acts.numel + 2 * net->dbuf_numel;
    return f * sizeof(float);
}
