/* net.c: sequential networks: building, allocation, initialisation,
 * forward and backward over the layer-kind table. See net.h for the memory
 * plan; what each kind computes is in its own file (models/layer_*.c). */
#include "net.h"
#include "dist.h"
#include "elementwise.h"
#include "grad_buckets.h"

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

clg_slot clg_slot_make(clg_slot_block b, const char *suffix, int n, int c, int h, int w,
                       int ndim) {
    clg_slot s = {b, suffix, {n, c, h, w}, ndim, {0, 0, 0, 0}};
    if (ndim == 4) s.pt[0] = n, s.pt[1] = c, s.pt[2] = h, s.pt[3] = w;
    else if (ndim == 2) s.pt[0] = n, s.pt[1] = (int64_t)c * h * w;
    else s.pt[0] = (int64_t)n * c * h * w;
    return s;
}

/* The shape the next layer receives. */
static const int *last_shape(const clg_net *net) {
    return net->count ? net->layers[net->count - 1].out : net->in;
}

clg_status clg_net_add(clg_net *net, clg_layer_kind kind, const char *name,
                       const clg_layer_args *a) {
    const clg_layer_ops *ops = clg_layer_ops_of(kind);
    if (!ops) return clg_fail(CLG_ERR_INVALID_ARG, "unknown layer kind %d", (int)kind);
    if (net->count == CLG_NET_MAX_LAYERS)
        return clg_fail(CLG_ERR_INVALID_ARG, "network has more than %d layers",
                        CLG_NET_MAX_LAYERS);
    if (net->params.buf || net->acts.buf)
        return clg_fail(CLG_ERR_INVALID_ARG, "layers must be added before clg_net_alloc");
    clg_layer *l = &net->layers[net->count];
    memset(l, 0, sizeof *l);
    l->kind = kind;
    l->ops = ops;
    if (a) l->a = *a;
    snprintf(l->name, sizeof l->name, "%s", name ? name : "");
    memcpy(l->in, last_shape(net), sizeof l->in);
    memcpy(l->out, l->in, sizeof l->out);
    clg_status rc = ops->shape(l);
    if (rc != CLG_OK) {
        clg_error_context("layer %d (%s%s%s)", net->count, ops->name, *l->name ? " " : "",
                          l->name);
        return rc;
    }
    l->nslots = ops->slots ? ops->slots(l, l->slot) : 0;
    net->count++;
    return CLG_OK;
}

clg_status clg_net_name_tap(clg_net *net, const char *tap) {
    if (!net->count) return clg_fail(CLG_ERR_INVALID_ARG, "a tap needs a layer before it");
    if (!tap || !*tap || strlen(tap) >= CLG_NAME_MAX)
        return clg_fail(CLG_ERR_INVALID_ARG, "tap names are 1..%d characters", CLG_NAME_MAX - 1);
    if (clg_net_tap(net, tap)) return clg_fail(CLG_ERR_INVALID_ARG, "tap '%s' named twice", tap);
    snprintf(net->layers[net->count - 1].tap, CLG_NAME_MAX, "%s", tap);
    return CLG_OK;
}

void clg_net_set_side(clg_net *net, int side, const clg_tensor *t) {
    if (side >= 0 && side < CLG_NET_MAX_SIDES) net->side[side] = t;
}

/* Whether layer i may write over its input's storage: its kind allows it,
 * and no earlier layer whose value lives there (back through views) needs
 * that value after the forward. */
static int can_run_in_place(const clg_net *net, int i) {
    if (!(net->layers[i].ops->flags & (CLG_OP_IN_PLACE | CLG_OP_VIEW)) || i == 0) return 0;
    if (net->layers[i].ops->flags & CLG_OP_VIEW) return 1;
    for (int j = i - 1; j >= 0; j--) {
        const clg_layer *p = &net->layers[j];
        if ((p->ops->flags & CLG_OP_NEEDS_OUTPUT) || p->fused.act != CLG_ACT_IDENTITY ||
            p->tap[0])
            return 0;
        if (!p->in_place) return 1;
        if (j == 0) return 0; /* the network's input is the caller's */
    }
    return 0;
}

/* Lays out one block of the slots in block `b` (and for acts, b < 0: the
 * outputs of layers not run in place); `grad` points the PARAM slots'
 * gradients instead. Moments share the layout and point nothing. */
static clg_status alloc_block(clg_ctx *ctx, clg_net *net, clg_block *blk, int b, int point,
                              const char *what) {
    clg_tensor ts[CLG_LAYER_SLOTS * CLG_NET_MAX_LAYERS];
    clg_tensor *dst[CLG_LAYER_SLOTS * CLG_NET_MAX_LAYERS];
    int n = 0;
    for (int i = 0; i < net->count; i++) {
        clg_layer *l = &net->layers[i];
        if (b < 0) {
            if (l->in_place) continue;
            ts[n] = clg_tensor_view(NULL, 0, l->out[0], l->out[1], l->out[2], l->out[3]);
            dst[n++] = &l->output;
            continue;
        }
        for (int s = 0; s < l->nslots; s++) {
            const clg_slot *sl = &l->slot[s];
            if ((int)sl->block != b) continue;
            ts[n] = clg_tensor_view(NULL, 0, sl->shape[0], sl->shape[1], sl->shape[2],
                                    sl->shape[3]);
            dst[n++] = point == 1 ? &l->t[s] : point == 2 ? &l->dt[s] : NULL;
        }
    }
    /* The VBN reference batch closes the buffers block. */
    int vbn = 0;
    for (int i = 0; b == CLG_SLOT_BUFFER && i < net->count; i++)
        vbn |= net->layers[i].kind == CLG_LAYER_VBN;
    if (vbn) { /* data-parallel ranks hold the whole batch, and run their share */
        const int ranks = ctx->dist ? ctx->dist->size : 1;
        net->vbn_first = ctx->dist ? ctx->dist->rank * net->in[0] : 0;
        ts[n] = clg_tensor_view(NULL, 0, net->in[0] * ranks, net->in[1], net->in[2], net->in[3]);
        dst[n++] = &net->vbn_input;
    }
    if (n == 0) return CLG_OK;
    CLG_TRY(clg_block_alloc(ctx, blk, ts, n, what));
    for (int i = 0; i < n; i++)
        if (dst[i]) *dst[i] = ts[i];
    return CLG_OK;
}

/* In-place layers see their input's storage under their own shape; the
 * gradient buffers hold the largest activation. */
static void place_outputs(clg_net *net) {
    size_t maxn = (size_t)net->in[0] * net->in[1] * net->in[2] * net->in[3];
    for (int i = 0; i < net->count; i++) {
        clg_layer *l = &net->layers[i];
        if (l->in_place) {
            const clg_tensor *prev = &net->layers[i - 1].output;
            l->output = clg_tensor_view(prev->buf, prev->off, l->out[0], l->out[1], l->out[2],
                                        l->out[3]);
        }
        size_t numel = clg_tensor_numel(&l->output);
        if (numel > maxn) maxn = numel;
    }
    net->dbuf_numel = maxn;
}

clg_status clg_net_alloc(clg_ctx *ctx, clg_net *net) {
    clg_status rc;
    if (net->count == 0) return clg_fail(CLG_ERR_INVALID_ARG, "network has no layers");
    for (int i = 0; i < net->count; i++) net->layers[i].in_place = can_run_in_place(net, i);
    CLG_TRY_GOTO(alloc_block(ctx, net, &net->params, CLG_SLOT_PARAM, 1, "parameters"), fail);
    CLG_TRY_GOTO(alloc_block(ctx, net, &net->grads, CLG_SLOT_PARAM, 2, "gradients"), fail);
    CLG_TRY_GOTO(alloc_block(ctx, net, &net->adam_m, CLG_SLOT_PARAM, 0, "Adam first moments"),
                 fail);
    CLG_TRY_GOTO(alloc_block(ctx, net, &net->adam_v, CLG_SLOT_PARAM, 0, "Adam second moments"),
                 fail);
    CLG_TRY_GOTO(alloc_block(ctx, net, &net->buffers, CLG_SLOT_BUFFER, 1, "layer buffers"),
                 fail);
    CLG_TRY_GOTO(alloc_block(ctx, net, &net->saved, CLG_SLOT_SAVED, 1, "saved for backward"),
                 fail);
    CLG_TRY_GOTO(alloc_block(ctx, net, &net->acts, -1, 0, "activations"), fail);
    place_outputs(net);
    for (int i = 0; i < net->count; i++) {
        clg_layer *l = &net->layers[i];
        if (l->ops->reserve) CLG_TRY_GOTO(l->ops->reserve(ctx, net, l), fail);
    }
    for (int k = 0; k < 2; k++)
        CLG_TRY_GOTO(clg_buffer_create(ctx, net->dbuf_numel * sizeof(float),
                                       "activation gradients", &net->dbuf[k]),
                     fail);
    return CLG_OK;
fail:
    clg_net_free(ctx, net);
    return rc;
}

void clg_net_free(clg_ctx *ctx, clg_net *net) {
    clg_grad_buckets_release(net);
    clg_block *blocks[] = {&net->params, &net->grads,  &net->adam_m, &net->adam_v,
                           &net->buffers, &net->saved, &net->acts};
    for (size_t i = 0; i < sizeof blocks / sizeof blocks[0]; i++) clg_block_free(ctx, blocks[i]);
    for (int i = 0; i < net->count; i++)
        if (net->layers[i].ops->release) net->layers[i].ops->release(ctx, &net->layers[i]);
    for (int k = 0; k < 2; k++) {
        clg_buffer_release(ctx, net->dbuf[k], net->dbuf_numel * sizeof(float));
        net->dbuf[k] = NULL;
    }
}

clg_status clg_net_init_params(clg_ctx *ctx, clg_net *net, uint64_t seed) {
    clg_block *zero[] = {&net->params, &net->buffers, &net->grads, &net->adam_m, &net->adam_v};
    for (int k = 0; k < 5; k++) {
        if (!zero[k]->buf) continue;
        clg_tensor t = clg_block_tensor(zero[k]);
        CLG_TRY(clg_tensor_zero(ctx, &t));
    }
    for (int i = 0; i < net->count; i++) {
        clg_layer *l = &net->layers[i];
        if (l->ops->init) CLG_TRY(l->ops->init(ctx, net, l, seed));
    }
    return CLG_OK;
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
        clg_status rc = l->ops->forward(ctx, net, l, x, mode);
        if (rc != CLG_OK) {
            clg_error_context("forward of layer %d (%s%s%s)", i, l->ops->name,
                              *l->name ? " " : "", l->name);
            return rc;
        }
    }
    return CLG_OK;
}

/* This process's rows of the reference batch (all of them in one process). */
static clg_tensor vbn_share(const clg_net *net) {
    const clg_tensor *t = &net->vbn_input;
    const size_t per = (size_t)t->c * (size_t)t->h * (size_t)t->w;
    return clg_tensor_slice(t, (size_t)net->vbn_first * per, net->batch, t->c, t->h, t->w);
}

clg_status clg_net_vbn_reference(clg_ctx *ctx, clg_net *net, const clg_tensor *ref) {
    if (!net->vbn_input.buf)
        return clg_fail(CLG_ERR_INVALID_ARG, "vbn_reference: the network has no VBN layer");
    if (ref) {
        if (net->vbn_input.n != net->batch)
            return clg_fail(CLG_ERR_INVALID_ARG, "vbn_reference: over several ranks the "
                            "reference batch is the network's own");
        CLG_TRY(check_input(net, ref, "vbn_reference"));
        CLG_TRY(clg_copy(ctx, &net->vbn_input, ref));
    }
    clg_tensor share = vbn_share(net);
    net->vbn_ref = 1;
    clg_status rc = clg_net_forward(ctx, net, &share, CLG_NET_BATCH_STATS);
    net->vbn_ref = 0;
    return rc;
}

clg_status clg_net_vbn_reference_backward(clg_ctx *ctx, clg_net *net) {
    if (!net->vbn_input.buf)
        return clg_fail(CLG_ERR_INVALID_ARG, "vbn_reference_backward: the network has no VBN layer");
    clg_tensor dout = clg_net_doutput(net), share = vbn_share(net);
    net->vbn_ref = 2;
    clg_status rc = clg_net_forward(ctx, net, &share, CLG_NET_BATCH_STATS);
    if (rc == CLG_OK) rc = clg_tensor_zero(ctx, &dout);
    if (rc == CLG_OK) rc = clg_net_backward(ctx, net, &share, NULL, 1);
    net->vbn_ref = 0;
    return rc;
}

clg_status clg_net_data_init(clg_ctx *ctx, clg_net *net, const clg_tensor *inp) {
    net->data_init = 1;
    clg_status rc = clg_net_forward(ctx, net, inp, CLG_NET_BATCH_STATS);
    net->data_init = 0;
    return rc;
}

const clg_tensor *clg_net_output(const clg_net *net) {
    return &net->layers[net->count - 1].output;
}

const clg_tensor *clg_net_tap(const clg_net *net, const char *tap) {
    for (int i = 0; i < net->count; i++)
        if (tap && !strcmp(net->layers[i].tap, tap)) return &net->layers[i].output;
    return NULL;
}

static clg_tensor dview(const clg_net *net, int k, const int *shape) {
    return clg_tensor_view(net->dbuf[k], 0, shape[0], shape[1], shape[2], shape[3]);
}

clg_tensor clg_net_doutput(const clg_net *net) {
    return dview(net, 0, net->layers[net->count - 1].out);
}

/* Adds the injected gradients of layer l's tap into dout. */
static clg_status inject(clg_ctx *ctx, const clg_layer *l, const clg_tensor *dout,
                         const char *const *taps, const clg_tensor *grads, int ntaps) {
    for (int k = 0; k < ntaps; k++) {
        if (!l->tap[0] || strcmp(l->tap, taps[k]) != 0) continue;
        CLG_TRY(clg_check_numel("backward: injected gradient", &grads[k], dout));
        CLG_TRY(clg_axpy(ctx, dout, 1.0f, &grads[k]));
    }
    return CLG_OK;
}

static clg_status check_taps(const clg_net *net, const char *const *taps, int ntaps) {
    for (int k = 0; k < ntaps; k++)
        if (!clg_net_tap(net, taps[k]))
            return clg_fail(CLG_ERR_INVALID_ARG, "backward: the network has no tap '%s'",
                            taps[k] ? taps[k] : "(null)");
    return CLG_OK;
}

clg_status clg_net_backward_taps(clg_ctx *ctx, clg_net *net, const clg_tensor *inp,
                                 const clg_tensor *dinp, int param_grads,
                                 const char *const *taps, const clg_tensor *grads, int ntaps) {
    CLG_TRY(check_input(net, inp, "backward"));
    CLG_TRY(check_taps(net, taps, ntaps));
    if (dinp) CLG_TRY(clg_check_numel("backward dinp", dinp, inp));
    int cur = 0; /* dbuf[cur] holds the gradient of layer i's output */
    for (int i = net->count - 1; i >= 0; i--) {
        clg_layer *l = &net->layers[i];
        clg_tensor dout = dview(net, cur, l->out);
        CLG_TRY(inject(ctx, l, &dout, taps, grads, ntaps));
        if (i == 0 && !dinp && !param_grads) break;
        /* An activation folded into the forward: its gradient first, in place. */
        if (l->fused.act != CLG_ACT_IDENTITY)
            CLG_TRY(clg_act_backward(ctx, &dout, &dout, &l->output, l->fused.act,
                                     l->fused.slope));
        /* Where this layer's input gradient goes: in place where it lies,
         * else the other buffer (the caller's dinp, or nowhere, for the first). */
        clg_tensor dnext = dview(net, l->in_place ? cur : cur ^ 1, l->in);
        const clg_tensor *dx = i ? &dnext : dinp;
        const clg_tensor *x = i ? &net->layers[i - 1].output : inp;
        clg_layer_bwd b = {x, &dout, dx, &dnext, param_grads};
        clg_status rc = l->ops->backward(ctx, net, l, &b);
        if (rc != CLG_OK) {
            clg_error_context("backward of layer %d (%s%s%s)", i, l->ops->name,
                              *l->name ? " " : "", l->name);
            return rc;
        }
        if (param_grads) CLG_TRY(clg_grad_buckets_mark(ctx, net, i));
        if (!l->in_place) cur ^= 1;
    }
    return param_grads ? clg_grad_buckets_mark(ctx, net, -1) : CLG_OK;
}

clg_status clg_net_backward(clg_ctx *ctx, clg_net *net, const clg_tensor *inp,
                            const clg_tensor *dinp, int param_grads) {
    return clg_net_backward_taps(ctx, net, inp, dinp, param_grads, NULL, NULL, 0);
}

clg_status clg_net_zero_grad(clg_ctx *ctx, clg_net *net) {
    if (!net->grads.buf) return CLG_OK;
    clg_tensor t = clg_block_tensor(&net->grads);
    return clg_tensor_zero(ctx, &t);
}

int clg_net_tensors(const clg_net *net, clg_named_tensor *out, int cap) {
    int n = 0;
    for (int i = 0; i < net->count; i++) {
        const clg_layer *l = &net->layers[i];
        for (int s = 0; s < l->nslots; s++) {
            const clg_slot *sl = &l->slot[s];
            if (sl->block == CLG_SLOT_SAVED) continue;
            if (n < cap) {
                clg_named_tensor *nt = &out[n];
                snprintf(nt->name, sizeof nt->name, "%s.%s", l->name, sl->suffix);
                nt->t = l->t[s];
                nt->trainable = sl->block == CLG_SLOT_PARAM;
                nt->ndim = sl->ndim;
                memcpy(nt->shape, sl->pt, sizeof nt->shape);
            }
            n++;
        }
    }
    if (net->vbn_input.buf) {
        if (n < cap) {
            const clg_tensor *t = &net->vbn_input;
            out[n] = (clg_named_tensor){"vbn_reference", *t, 4, {t->n, t->c, t->h, t->w}, 0};
        }
        n++;
    }
    return n;
}

size_t clg_net_device_bytes(const clg_net *net) {
    size_t f = net->params.numel + net->grads.numel + net->adam_m.numel + net->adam_v.numel +
               net->buffers.numel + net->saved.numel + net->acts.numel + 2 * net->dbuf_numel;
    return f * sizeof(float);
}
