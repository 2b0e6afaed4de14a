/* layer_linear.c: fully connected layers: plain (weight (out, in), as
 * nn.Linear) and weight-normalised (Salimans & Kingma 2016: w = g v / ||v||
 * per output row, stored as PyTorch's weight_norm stores it: weight_g
 * (out, 1), weight_v (out, in)). The input is flattened.
 *
 * A linear layer is a 1x1 convolution of 1x1 images: x (N, in) is the input
 * (N, C = in, 1, 1), w (out, in) the weight (K = out, C, 1, 1), so it runs on
 * host/conv's kernels (several times as fast as CLBlast's GEMM on PoCL at
 * the ssl model's shapes: `clgan bench --filter dense`, BENCHMARKS.md), bias
 * and its gradient included. */
#include "layers.h"
#include "elementwise.h"
#include "weightnorm.h"

static clg_status linear_shape(clg_layer *l) {
    if (l->a.lin.out <= 0)
        return clg_fail(CLG_ERR_INVALID_ARG, "linear: %d outputs", l->a.lin.out);
    size_t in = clg_layer_in_features(l);
    if (in > INT32_MAX)
        return clg_fail(CLG_ERR_INVALID_ARG, "linear: %zu input features", in);
    CLG_TRY(clg_conv_desc_init(&l->a.lin.d, l->in[0], (int)in, 1, 1, l->a.lin.out, 1, 1, 1, 0));
    l->out[1] = l->a.lin.out, l->out[2] = 1, l->out[3] = 1;
    return CLG_OK;
}

/* t's storage as the (n, c, 1, 1) tensor the convolution takes. */
static clg_tensor as_1x1(const clg_tensor *t, int n, int c) {
    return clg_tensor_view(t->buf, t->off, n, c, 1, 1);
}

/* out = act(x w^T (+ b)); act NULL: none. */
static clg_status mm_forward(clg_ctx *ctx, const clg_layer *l, const clg_tensor *x,
                             const clg_tensor *w, const clg_tensor *b, const clg_fused_act *act) {
    const clg_conv_desc *d = &l->a.lin.d;
    clg_tensor xv = as_1x1(x, d->N, d->C), wv = as_1x1(w, d->K, d->C);
    return clg_conv2d_forward_act(ctx, &l->output, &xv, &wv, b, act, d);
}

/* dw += dout^T x (after zeroing it unless accumulate) and db += column sums
 * when dw is given; dx = dout w when asked for. */
static clg_status mm_backward(clg_ctx *ctx, const clg_layer *l, const clg_layer_bwd *b,
                              const clg_tensor *w, const clg_tensor *dw, int accumulate,
                              const clg_tensor *db) {
    const clg_conv_desc *d = &l->a.lin.d;
    clg_tensor xv = as_1x1(b->x, d->N, d->C), wv = as_1x1(w, d->K, d->C);
    if (dw) {
        clg_tensor dwv = as_1x1(dw, d->K, d->C);
        if (!accumulate) CLG_TRY(clg_fill(ctx, dw, 0.0f));
        CLG_TRY(clg_conv2d_backward_weight(ctx, &dwv, db, b->dout, &xv, d));
    }
    if (b->dx) {
        clg_tensor dxv = as_1x1(b->dx, d->N, d->C);
        CLG_TRY(clg_conv2d_backward_data(ctx, &dxv, b->dout, &wv, d));
    }
    return CLG_OK;
}

static clg_status linear_reserve(clg_ctx *ctx, clg_net *net, clg_layer *l) {
    (void)net;
    return clg_conv_reserve(ctx, &l->a.lin.d);
}

/* ---- plain ---- */
enum { W, B };

static int linear_slots(const clg_layer *l, clg_slot *s) {
    s[W] = clg_slot_make(CLG_SLOT_PARAM, "weight", l->out[1], (int)clg_layer_in_features(l), 1,
                         1, 2);
    if (!l->a.lin.bias) return 1;
    s[B] = clg_slot_make(CLG_SLOT_PARAM, "bias", 1, l->out[1], 1, 1, 1);
    return 2;
}

static clg_status linear_init(clg_ctx *ctx, clg_net *net, clg_layer *l, uint64_t seed) {
    return clg_layer_init_normal(ctx, &l->t[W], seed, 0.0f, net->init_std);
}

static clg_status linear_forward(clg_ctx *ctx, clg_net *net, clg_layer *l, const clg_tensor *x,
                                 clg_net_mode mode) {
    (void)net, (void)mode;
    return mm_forward(ctx, l, x, &l->t[W], l->a.lin.bias ? &l->t[B] : NULL, clg_layer_fused(l));
}

static clg_status linear_backward(clg_ctx *ctx, clg_net *net, clg_layer *l,
                                  const clg_layer_bwd *b) {
    (void)net;
    const clg_tensor *dw = b->param_grads ? &l->dt[W] : NULL;
    return mm_backward(ctx, l, b, &l->t[W], dw, 1, l->a.lin.bias ? &l->dt[B] : NULL);
}

const clg_layer_ops clg_layer_linear_ops = {"linear",  CLG_OP_FUSES_ACT, linear_shape, linear_slots,
                                            linear_init, linear_forward, linear_backward,
                                            linear_reserve, NULL};

clg_status clg_net_linear(clg_net *net, const char *name, int out, int bias) {
    clg_layer_args a = {.lin = {out, bias, 1.0f, 0.0f, {0}, 0}};
    return clg_net_add(net, CLG_LAYER_LINEAR, name, &a);
}

/* ---- weight-normalised ---- */
enum { G, V, WB, WW, NORM, DW };

static int wn_slots(const clg_layer *l, clg_slot *s) {
    int k = l->out[1], in = (int)clg_layer_in_features(l);
    s[G] = clg_slot_make(CLG_SLOT_PARAM, "weight_g", k, 1, 1, 1, 2);
    s[V] = clg_slot_make(CLG_SLOT_PARAM, "weight_v", k, in, 1, 1, 2);
    s[WB] = clg_slot_make(CLG_SLOT_PARAM, "bias", 1, k, 1, 1, 1);
    s[WW] = clg_slot_make(CLG_SLOT_SAVED, NULL, k, in, 1, 1, 2);
    s[NORM] = clg_slot_make(CLG_SLOT_SAVED, NULL, 1, k, 1, 1, 1);
    s[DW] = clg_slot_make(CLG_SLOT_SAVED, NULL, k, in, 1, 1, 2);
    return 6;
}

/* As openai/improved-gan's nn.py: v ~ N(0, 0.05) (its MNIST DenseLayer:
 * 0.1), g = 1, b = 0. */
static clg_status wn_init(clg_ctx *ctx, clg_net *net, clg_layer *l, uint64_t seed) {
    (void)net;
    CLG_TRY(clg_layer_init_normal(ctx, &l->t[V], seed, 0.0f, l->a.lin.v_std));
    return clg_fill(ctx, &l->t[G], 1.0f);
}

static clg_status wn_forward(clg_ctx *ctx, clg_net *net, clg_layer *l, const clg_tensor *x,
                             clg_net_mode mode) {
    (void)mode;
    CLG_TRY(clg_weightnorm_forward(ctx, &l->t[WW], &l->t[NORM], &l->t[V], &l->t[G]));
    if (!net->data_init) return mm_forward(ctx, l, x, &l->t[WW], &l->t[WB], clg_layer_fused(l));
    /* Data-dependent init: g = 1 and b = 0 give the pre-activations; set g, b
     * from their batch statistics, then run the layer again with them. */
    CLG_TRY(clg_fill(ctx, &l->t[G], 1.0f));
    CLG_TRY(clg_fill(ctx, &l->t[WB], 0.0f));
    CLG_TRY(clg_weightnorm_forward(ctx, &l->t[WW], &l->t[NORM], &l->t[V], &l->t[G]));
    CLG_TRY(mm_forward(ctx, l, x, &l->t[WW], NULL, NULL)); /* pre-activations */
    CLG_TRY(clg_weightnorm_data_init(ctx, &l->t[G], &l->t[WB], &l->output, l->a.lin.init_scale));
    CLG_TRY(clg_weightnorm_forward(ctx, &l->t[WW], &l->t[NORM], &l->t[V], &l->t[G]));
    return mm_forward(ctx, l, x, &l->t[WW], &l->t[WB], clg_layer_fused(l));
}

static clg_status wn_backward(clg_ctx *ctx, clg_net *net, clg_layer *l, const clg_layer_bwd *b) {
    (void)net;
    if (!b->param_grads) return mm_backward(ctx, l, b, &l->t[WW], NULL, 0, NULL);
    /* dw into scratch, then through w = g v / ||v|| into dv and dg. */
    CLG_TRY(mm_backward(ctx, l, b, &l->t[WW], &l->t[DW], 0, &l->dt[WB]));
    CLG_TRY(clg_weightnorm_backward(ctx, &l->dt[V], &l->dt[G], &l->t[DW], &l->t[V], &l->t[G],
                                    &l->t[NORM], 1));
    /* a fixed scale: its gradient stays 0, so Adam never moves it */
    return l->a.lin.fixed_g ? clg_fill(ctx, &l->dt[G], 0.0f) : CLG_OK;
}

const clg_layer_ops clg_layer_wn_linear_ops = {"wn_linear",  CLG_OP_FUSES_ACT, linear_shape, wn_slots, wn_init,
                                               wn_forward, wn_backward, linear_reserve, NULL};

clg_status clg_net_wn_linear_v(clg_net *net, const char *name, int out, float init_scale,
                               float v_std) {
    clg_layer_args a = {.lin = {out, 1, init_scale, v_std, {0}, 0}};
    return clg_net_add(net, CLG_LAYER_WN_LINEAR, name, &a);
}

clg_status clg_net_fix_scale(clg_net *net) {
    if (!net->count || net->layers[net->count - 1].kind != CLG_LAYER_WN_LINEAR)
        return clg_fail(CLG_ERR_INVALID_ARG, "fix_scale: the last layer is not wn_linear");
    net->layers[net->count - 1].a.lin.fixed_g = 1;
    return CLG_OK;
}

clg_status clg_net_wn_linear(clg_net *net, const char *name, int out, float init_scale) {
    return clg_net_wn_linear_v(net, name, out, init_scale, 0.05f);
}
