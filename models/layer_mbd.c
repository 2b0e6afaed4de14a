/* layer_mbd.c: minibatch discrimination (Salimans et al. 2016) over
 * host/mbd: features (N, A) -> (N, A + B), learned T (A, B*C) and a bias
 * per kernel (B). Initialised as openai/improved-gan's MinibatchLayer:
 * T ~ N(0, 0.05), bias -1. Real and generated batches go through separately
 * (each forward sees one batch). */
#include "layers.h"
#include "elementwise.h"
#include "mbd.h"

enum { T, BIAS, M, DM, MN };

static clg_status mbd_shape(clg_layer *l) {
    int b = l->a.mbd.B, c = l->a.mbd.C;
    if (b < 1 || c < 1 || b > 4096 || c > 4096)
        return clg_fail(CLG_ERR_INVALID_ARG, "minibatch discrimination with %d kernels of %d "
                        "dimensions", b, c);
    if (l->in[0] < 2)
        return clg_fail(CLG_ERR_INVALID_ARG, "minibatch discrimination needs batches of 2 or more");
    l->out[1] = (int)clg_layer_in_features(l) + b, l->out[2] = 1, l->out[3] = 1;
    return CLG_OK;
}

static int mbd_slots(const clg_layer *l, clg_slot *s) {
    int a = (int)clg_layer_in_features(l), bc = l->a.mbd.B * l->a.mbd.C;
    s[T] = clg_slot_make(CLG_SLOT_PARAM, "T", a, bc, 1, 1, 2);
    s[BIAS] = clg_slot_make(CLG_SLOT_PARAM, "bias", 1, l->a.mbd.B, 1, 1, 1);
    s[M] = clg_slot_make(CLG_SLOT_SAVED, NULL, bc, l->in[0], 1, 1, 2);
    s[DM] = clg_slot_make(CLG_SLOT_SAVED, NULL, bc, l->in[0], 1, 1, 2);
    s[MN] = clg_slot_make(CLG_SLOT_SAVED, NULL, l->in[0], bc, 1, 1, 2);
    return 5;
}

static clg_status mbd_init(clg_ctx *ctx, clg_net *net, clg_layer *l, uint64_t seed) {
    (void)net;
    CLG_TRY(clg_layer_init_normal(ctx, &l->t[T], seed, 0.0f, 0.05f));
    return clg_fill(ctx, &l->t[BIAS], -1.0f);
}

static clg_status mbd_forward(clg_ctx *ctx, clg_net *net, clg_layer *l, const clg_tensor *x,
                              clg_net_mode mode) {
    (void)net, (void)mode;
    return clg_mbd_forward(ctx, &l->output, &l->t[M], &l->t[MN], x, &l->t[T], &l->t[BIAS],
                           l->a.mbd.B, l->a.mbd.C);
}

static clg_status mbd_backward(clg_ctx *ctx, clg_net *net, clg_layer *l, const clg_layer_bwd *b) {
    (void)net;
    int pg = b->param_grads;
    return clg_mbd_backward(ctx, b->dx ? b->dx : b->spare, pg ? &l->dt[T] : NULL,
                            pg ? &l->dt[BIAS] : NULL, &l->t[DM], &l->t[MN], b->dout, b->x,
                            &l->t[T], &l->t[M], l->a.mbd.B, l->a.mbd.C);
}

static clg_status mbd_reserve(clg_ctx *ctx, clg_net *net, clg_layer *l) {
    (void)net;
    return clg_mbd_reserve(ctx, l->in[0], (int)clg_layer_in_features(l), l->a.mbd.B, l->a.mbd.C);
}

const clg_layer_ops clg_layer_mbd_ops = {"mbd", 0, mbd_shape, mbd_slots, mbd_init, mbd_forward,
                                         mbd_backward, mbd_reserve, NULL};

clg_status clg_net_mbd(clg_net *net, const char *name, int B, int C) {
    clg_layer_args a = {.mbd = {B, C}};
    return clg_net_add(net, CLG_LAYER_MBD, name, &a);
}
