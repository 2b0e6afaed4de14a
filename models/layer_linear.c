/* layer_linear.c: fully connected layers over CLBlast's GEMM: plain
 * (weight (out, in), as nn.Linear) and weight-normalised (Salimans & Kingma
 * 2016: w = g v / ||v|| per output row, stored as PyTorch's weight_norm
 * stores it: weight_g (out, 1), weight_v (out, in)). The input is flattened. */
#include "layers.h"
#include "bias.h"
#include "elementwise.h"
#include "gemm.h"
#include "weightnorm.h"

static clg_status linear_shape(clg_layer *l) {
    if (l->a.lin.out <= 0)
        return clg_fail(CLG_ERR_INVALID_ARG, "linear: %d outputs", l->a.lin.out);
    l->out[1] = l->a.lin.out, l->out[2] = 1, l->out[3] = 1;
    return CLG_OK;
}

/* out = x w^T (+ b), x viewed as (N, in). */
static clg_status gemm_forward(clg_ctx *ctx, const clg_layer *l, const clg_tensor *x,
                               const clg_tensor *w, const clg_tensor *b) {
    size_t n = (size_t)l->in[0], in = clg_layer_in_features(l), out = (size_t)l->out[1];
    CLG_TRY(clg_gemm(ctx, 0, 1, n, out, in, 1.0f, x, in, w, in, 0.0f, &l->output, out, NULL));
    return b ? clg_bias_forward(ctx, &l->output, b) : CLG_OK;
}

/* dw (+)= dout^T x (accumulate: beta 1) and db += column sums; dx = dout w. */
static clg_status gemm_backward(clg_ctx *ctx, const clg_layer *l, const clg_layer_bwd *b,
                                const clg_tensor *w, const clg_tensor *dw, float beta,
                                const clg_tensor *db) {
    size_t n = (size_t)l->in[0], in = clg_layer_in_features(l), out = (size_t)l->out[1];
    if (dw) {
        CLG_TRY(clg_gemm(ctx, 1, 0, out, in, n, 1.0f, b->dout, out, b->x, in, beta, dw, in, NULL));
        if (db) CLG_TRY(clg_bias_backward(ctx, db, b->dout));
    }
    if (b->dx)
        CLG_TRY(clg_gemm(ctx, 0, 0, n, in, out, 1.0f, b->dout, out, w, in, 0.0f, b->dx, in, NULL));
    return CLG_OK;
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
    return gemm_forward(ctx, l, x, &l->t[W], l->a.lin.bias ? &l->t[B] : NULL);
}

static clg_status linear_backward(clg_ctx *ctx, clg_net *net, clg_layer *l,
                                  const clg_layer_bwd *b) {
    (void)net;
    const clg_tensor *dw = b->param_grads ? &l->dt[W] : NULL;
    return gemm_backward(ctx, l, b, &l->t[W], dw, 1.0f, l->a.lin.bias ? &l->dt[B] : NULL);
}

const clg_layer_ops clg_layer_linear_ops = {"linear", 0, linear_shape, linear_slots,
                                            linear_init, linear_forward, linear_backward,
                                            NULL, NULL};

clg_status clg_net_linear(clg_net *net, const char *name, int out, int bias) {
    clg_layer_args a = {.lin = {out, bias, 1.0f, 0.0f}};
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
    if (!net->data_init) return gemm_forward(ctx, l, x, &l->t[WW], &l->t[WB]);
    /* Data-dependent init: g = 1 and b = 0 give the pre-activations; set g, b
     * from their batch statistics, then run the layer again with them. */
    CLG_TRY(clg_fill(ctx, &l->t[G], 1.0f));
    CLG_TRY(clg_fill(ctx, &l->t[WB], 0.0f));
    CLG_TRY(clg_weightnorm_forward(ctx, &l->t[WW], &l->t[NORM], &l->t[V], &l->t[G]));
    CLG_TRY(gemm_forward(ctx, l, x, &l->t[WW], NULL));
    CLG_TRY(clg_weightnorm_data_init(ctx, &l->t[G], &l->t[WB], &l->output, l->a.lin.init_scale));
    CLG_TRY(clg_weightnorm_forward(ctx, &l->t[WW], &l->t[NORM], &l->t[V], &l->t[G]));
    return gemm_forward(ctx, l, x, &l->t[WW], &l->t[WB]);
}

static clg_status wn_backward(clg_ctx *ctx, clg_net *net, clg_layer *l, const clg_layer_bwd *b) {
    (void)net;
    if (!b->param_grads) return gemm_backward(ctx, l, b, &l->t[WW], NULL, 0.0f, NULL);
    /* dw into scratch, then through w = g v / ||v|| into dv and dg. */
    CLG_TRY(gemm_backward(ctx, l, b, &l->t[WW], &l->t[DW], 0.0f, &l->dt[WB]));
    return clg_weightnorm_backward(ctx, &l->dt[V], &l->dt[G], &l->t[DW], &l->t[V], &l->t[G],
                                   &l->t[NORM], 1);
}

const clg_layer_ops clg_layer_wn_linear_ops = {"wn_linear", 0, linear_shape, wn_slots, wn_init,
                                               wn_forward, wn_backward, NULL, NULL};

clg_status clg_net_wn_linear_v(clg_net *net, const char *name, int out, float init_scale,
                               float v_std) {
    clg_layer_args a = {.lin = {out, 1, init_scale, v_std}};
    return clg_net_add(net, CLG_LAYER_WN_LINEAR, name, &a);
}

clg_status clg_net_wn_linear(clg_net *net, const char *name, int out, float init_scale) {
    return clg_net_wn_linear_v(net, name, out, init_scale, 0.05f);
}
