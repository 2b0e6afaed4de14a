/* layer_conv.c: convolution and transposed convolution layers over
 * host/conv (implicit GEMM), weights N(0, init_std), bias 0; and the
 * weight-normalised convolution (Salimans & Kingma 2016, as
 * openai/improved-gan's nn.weight_norm over a conv layer: w = g v / ||v||
 * per output filter, stored as PyTorch's weight_norm stores it: weight_g
 * (K, 1, 1, 1), weight_v (K, C, R, S), bias (K)). */
#include "layers.h"
#include "elementwise.h"
#include "weightnorm.h"

enum { W, B };

static clg_status conv_shape(clg_layer *l) {
    CLG_TRY(clg_conv_desc_init(&l->a.conv.d, l->in[0], l->in[1], l->in[2], l->in[3], l->a.conv.k,
                               l->a.conv.r, l->a.conv.r, l->a.conv.stride, l->a.conv.pad));
    l->out[1] = l->a.conv.k, l->out[2] = l->a.conv.d.P, l->out[3] = l->a.conv.d.Q;
    return CLG_OK;
}

static clg_status convt_shape(clg_layer *l) {
    CLG_TRY(clg_conv_transpose_desc_init(&l->a.conv.d, l->in[0], l->in[1], l->in[2], l->in[3],
                                         l->a.conv.k, l->a.conv.r, l->a.conv.r,
                                         l->a.conv.stride, l->a.conv.pad));
    l->out[1] = l->a.conv.k, l->out[2] = l->a.conv.d.H, l->out[3] = l->a.conv.d.W;
    return CLG_OK;
}

/* Both store the weight as PyTorch does: conv (K, C, R, S), convT
 * (C_in, C_out, R, S), which is the adjoint conv's (K, C, R, S). */
static int conv_slots(const clg_layer *l, clg_slot *s) {
    const clg_conv_desc *d = &l->a.conv.d;
    s[W] = clg_slot_make(CLG_SLOT_PARAM, "weight", d->K, d->C, d->R, d->S, 4);
    if (!l->a.conv.bias) return 1;
    s[B] = clg_slot_make(CLG_SLOT_PARAM, "bias", 1, l->out[1], 1, 1, 1);
    return 2;
}

static clg_status conv_init(clg_ctx *ctx, clg_net *net, clg_layer *l, uint64_t seed) {
    return clg_layer_init_normal(ctx, &l->t[W], seed, 0.0f, net->init_std);
}

static const clg_tensor *bias(const clg_layer *l) { return l->a.conv.bias ? &l->t[B] : NULL; }
static const clg_tensor *dbias(const clg_layer *l) { return l->a.conv.bias ? &l->dt[B] : NULL; }

static clg_status conv_forward(clg_ctx *ctx, clg_net *net, clg_layer *l, const clg_tensor *x,
                               clg_net_mode mode) {
    (void)net, (void)mode;
    return clg_conv2d_forward_act(ctx, &l->output, x, &l->t[W], bias(l), clg_layer_fused(l),
                                  &l->a.conv.d);
}

static clg_status conv_backward(clg_ctx *ctx, clg_net *net, clg_layer *l, const clg_layer_bwd *b) {
    (void)net;
    if (b->param_grads)
        CLG_TRY(clg_conv2d_backward_weight(ctx, &l->dt[W], dbias(l), b->dout, b->x, &l->a.conv.d));
    if (b->dx) CLG_TRY(clg_conv2d_backward_data(ctx, b->dx, b->dout, &l->t[W], &l->a.conv.d));
    return CLG_OK;
}

static clg_status convt_forward(clg_ctx *ctx, clg_net *net, clg_layer *l, const clg_tensor *x,
                                clg_net_mode mode) {
    (void)net, (void)mode;
    return clg_conv_transpose2d_forward_act(ctx, &l->output, x, &l->t[W], bias(l),
                                            clg_layer_fused(l), &l->a.conv.d);
}

static clg_status convt_backward(clg_ctx *ctx, clg_net *net, clg_layer *l,
                                 const clg_layer_bwd *b) {
    (void)net;
    if (b->param_grads)
        CLG_TRY(clg_conv_transpose2d_backward_weight(ctx, &l->dt[W], dbias(l), b->dout, b->x,
                                                     &l->a.conv.d));
    if (b->dx)
        CLG_TRY(clg_conv_transpose2d_backward_data(ctx, b->dx, b->dout, &l->t[W], &l->a.conv.d));
    return CLG_OK;
}

static clg_status conv_reserve(clg_ctx *ctx, clg_net *net, clg_layer *l) {
    (void)net;
    return clg_conv_reserve(ctx, &l->a.conv.d);
}

const clg_layer_ops clg_layer_conv_ops = {"conv",  CLG_OP_FUSES_ACT, conv_shape, conv_slots, conv_init,
                                          conv_forward, conv_backward, conv_reserve, NULL};
const clg_layer_ops clg_layer_convt_ops = {"convT",  CLG_OP_FUSES_ACT, convt_shape, conv_slots, conv_init,
                                           convt_forward, convt_backward, conv_reserve, NULL};

clg_status clg_net_conv(clg_net *net, const char *name, int k, int r, int stride, int pad,
                        int bias) {
    clg_layer_args a = {.conv = {k, r, stride, pad, bias, {0}}};
    return clg_net_add(net, CLG_LAYER_CONV, name, &a);
}

clg_status clg_net_convt(clg_net *net, const char *name, int c_out, int r, int stride, int pad,
                         int bias) {
    clg_layer_args a = {.conv = {c_out, r, stride, pad, bias, {0}}};
    return clg_net_add(net, CLG_LAYER_CONVT, name, &a);
}

/* ---- weight-normalised convolution ---- */
enum { WG, WV, WB, WW, WNORM, WDW };

static int wn_conv_slots(const clg_layer *l, clg_slot *s) {
    const clg_conv_desc *d = &l->a.conv.d;
    s[WG] = clg_slot_make(CLG_SLOT_PARAM, "weight_g", d->K, 1, 1, 1, 4);
    s[WV] = clg_slot_make(CLG_SLOT_PARAM, "weight_v", d->K, d->C, d->R, d->S, 4);
    s[WB] = clg_slot_make(CLG_SLOT_PARAM, "bias", 1, d->K, 1, 1, 1);
    s[WW] = clg_slot_make(CLG_SLOT_SAVED, NULL, d->K, d->C, d->R, d->S, 4);
    s[WNORM] = clg_slot_make(CLG_SLOT_SAVED, NULL, 1, d->K, 1, 1, 1);
    s[WDW] = clg_slot_make(CLG_SLOT_SAVED, NULL, d->K, d->C, d->R, d->S, 4);
    return 6;
}

/* As nn.py's conv layers: v ~ N(0, 0.05), g = 1, b = 0. */
static clg_status wn_conv_init(clg_ctx *ctx, clg_net *net, clg_layer *l, uint64_t seed) {
    (void)net;
    CLG_TRY(clg_layer_init_normal(ctx, &l->t[WV], seed, 0.0f, 0.05f));
    return clg_fill(ctx, &l->t[WG], 1.0f);
}

/* with_bias 0: the pre-activations of the data-dependent init (no bias, no activation). */
static clg_status wn_conv_run(clg_ctx *ctx, clg_layer *l, const clg_tensor *x, int with_bias) {
    CLG_TRY(clg_weightnorm_forward(ctx, &l->t[WW], &l->t[WNORM], &l->t[WV], &l->t[WG]));
    return clg_conv2d_forward_act(ctx, &l->output, x, &l->t[WW], with_bias ? &l->t[WB] : NULL,
                                  with_bias ? clg_layer_fused(l) : NULL, &l->a.conv.d);
}

/* Data-dependent init (net->data_init): g and b set so each output channel
 * has mean 0 and standard deviation 1 over N, H and W (nn.py's axes (0, 2,
 * 3)), from a forward with g = 1, b = 0; then the layer runs with them. */
static clg_status wn_conv_forward(clg_ctx *ctx, clg_net *net, clg_layer *l, const clg_tensor *x,
                                  clg_net_mode mode) {
    (void)mode;
    if (net->data_init) {
        CLG_TRY(clg_fill(ctx, &l->t[WG], 1.0f));
        CLG_TRY(clg_fill(ctx, &l->t[WB], 0.0f));
        CLG_TRY(wn_conv_run(ctx, l, x, 0));
        CLG_TRY(clg_weightnorm_data_init(ctx, &l->t[WG], &l->t[WB], &l->output, 1.0f));
    }
    return wn_conv_run(ctx, l, x, 1);
}

/* dw into scratch, then through w = g v / ||v|| into dv and dg. */
static clg_status wn_conv_backward(clg_ctx *ctx, clg_net *net, clg_layer *l,
                                   const clg_layer_bwd *b) {
    (void)net;
    if (b->param_grads) {
        CLG_TRY(clg_fill(ctx, &l->t[WDW], 0.0f));
        CLG_TRY(clg_conv2d_backward_weight(ctx, &l->t[WDW], &l->dt[WB], b->dout, b->x,
                                           &l->a.conv.d));
        CLG_TRY(clg_weightnorm_backward(ctx, &l->dt[WV], &l->dt[WG], &l->t[WDW], &l->t[WV],
                                        &l->t[WG], &l->t[WNORM], 1));
    }
    if (b->dx) CLG_TRY(clg_conv2d_backward_data(ctx, b->dx, b->dout, &l->t[WW], &l->a.conv.d));
    return CLG_OK;
}

const clg_layer_ops clg_layer_wn_conv_ops = {"wn_conv", CLG_OP_FUSES_ACT, conv_shape, wn_conv_slots,
                                             wn_conv_init, wn_conv_forward, wn_conv_backward,
                                             conv_reserve, NULL};

clg_status clg_net_wn_conv(clg_net *net, const char *name, int k, int r, int stride, int pad) {
    clg_layer_args a = {.conv = {k, r, stride, pad, 1, {0}}};
    return clg_net_add(net, CLG_LAYER_WN_CONV, name, &a);
}
