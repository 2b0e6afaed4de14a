/* layer_norm.c: batch norm (host/batchnorm), batch norm with a fused
 * activation, and virtual batch norm (host/vbn) layers. gamma N(1, init_std), beta 0; BN's running mean 0,
 * variance 1. VBN keeps the statistics of the reference batch that
 * clg_net_vbn_reference ran last; the minibatches' backward passes add the
 * gradients w.r.t. them, which clg_net_vbn_reference_backward carries back
 * through the reference pass (net->vbn_ref: 1 the reference pass, 2 its
 * recomputation, which keeps those gradients, and its backward). */
#include "layers.h"
#include "batchnorm.h"
#include "activation.h"
#include "bn_sync.h"
#include "elementwise.h"
#include "vbn.h"

#include <stdlib.h>

static clg_status norm_shape(clg_layer *l) {
    (void)l;
    return CLG_OK;
}

static clg_status norm_init(clg_ctx *ctx, clg_net *net, clg_layer *l, uint64_t seed) {
    return l->a.bn.affine ? clg_layer_init_normal(ctx, &l->t[0], seed, 1.0f, net->init_std)
                          : CLG_OK;
}

static const clg_tensor *gamma_of(const clg_layer *l) { return l->a.bn.affine ? &l->t[0] : NULL; }
static const clg_tensor *beta_of(const clg_layer *l) { return l->a.bn.affine ? &l->t[1] : NULL; }
/* Parameter gradients only when asked for (a pass through a frozen net
 * must leave them untouched). */
static const clg_tensor *dparam(const clg_layer *l, const clg_layer_bwd *b, int k) {
    return l->a.bn.affine && b->param_grads ? &l->dt[k] : NULL;
}

/* ---- batch norm: [weight, bias], running_mean, running_var, saved mean, rstd ---- */
static int bn_slots(const clg_layer *l, clg_slot *s) {
    int n = 0, c = l->in[1];
    if (l->a.bn.affine) {
        s[n++] = clg_slot_make(CLG_SLOT_PARAM, "weight", 1, c, 1, 1, 1);
        s[n++] = clg_slot_make(CLG_SLOT_PARAM, "bias", 1, c, 1, 1, 1);
    }
    s[n++] = clg_slot_make(CLG_SLOT_BUFFER, "running_mean", 1, c, 1, 1, 1);
    s[n++] = clg_slot_make(CLG_SLOT_BUFFER, "running_var", 1, c, 1, 1, 1);
    s[n++] = clg_slot_make(CLG_SLOT_SAVED, NULL, 1, c, 1, 1, 1);
    s[n++] = clg_slot_make(CLG_SLOT_SAVED, NULL, 1, c, 1, 1, 1);
    return n;
}
#define BN_AT(l, k) (&(l)->t[((l)->a.bn.affine ? 2 : 0) + (k)]) /* 0 rmean 1 rvar 2 mean 3 rstd */

/* --sync-bn: the statistics of the whole batch over the ranks of
 * ctx->dist (host/bn_sync.h), in training mode. */
static clg_status bn_reserve(clg_ctx *ctx, clg_net *net, clg_layer *l) {
    (void)net;
    CLG_TRY(clg_norm_reserve(ctx, l->in[0], l->in[1], l->in[2], l->in[3]));
    if (!ctx->sync_bn || !ctx->dist || ctx->dist->size < 2) return CLG_OK;
    if (!(l->state = calloc(1, sizeof(clg_bn_sync))))
        return clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory");
    return clg_bn_sync_create(ctx, l->state, l->in[1]);
}

static void bn_release(clg_ctx *ctx, clg_layer *l) {
    if (l->state) clg_bn_sync_free(ctx, l->state);
    free(l->state);
    l->state = NULL;
}

static clg_status bn_init(clg_ctx *ctx, clg_net *net, clg_layer *l, uint64_t seed) {
    CLG_TRY(norm_init(ctx, net, l, seed));
    return clg_fill(ctx, BN_AT(l, 1), 1.0f);
}

/* The fused activation (CLG_ACT_IDENTITY for plain batch norm). */
static clg_fused_act act_of(const clg_layer *l) { return (clg_fused_act){l->a.bn.act, l->a.bn.slope}; }

/* --sync-bn's forward, then the activation (not fused there). */
static clg_status bn_sync_act_forward(clg_ctx *ctx, clg_net *net, clg_layer *l,
                                      const clg_tensor *x) {
    CLG_TRY(clg_bn_sync_forward(ctx, ctx->dist, l->state, &l->output, BN_AT(l, 2), BN_AT(l, 3), x,
                                gamma_of(l), beta_of(l), BN_AT(l, 0), BN_AT(l, 1),
                                net->bn_momentum, net->bn_eps));
    if (l->a.bn.act == CLG_ACT_IDENTITY) return CLG_OK;
    return clg_act_forward(ctx, &l->output, &l->output, l->a.bn.act, l->a.bn.slope);
}

static clg_status bn_forward(clg_ctx *ctx, clg_net *net, clg_layer *l, const clg_tensor *x,
                             clg_net_mode mode) {
    const clg_tensor *g = gamma_of(l), *b = beta_of(l);
    if (mode == CLG_NET_EVAL)
        return clg_batchnorm_act_forward_inference(ctx, &l->output, x, g, b, BN_AT(l, 0),
                                                   BN_AT(l, 1), net->bn_eps, act_of(l));
    int update = mode == CLG_NET_TRAIN;
    clg_bn_sync *s = l->state;
    if (s && update) return bn_sync_act_forward(ctx, net, l, x);
    if (s) s->synced = 0;
    return clg_batchnorm_act_forward(ctx, &l->output, BN_AT(l, 2), BN_AT(l, 3), x, g, b,
                                     update ? BN_AT(l, 0) : NULL, update ? BN_AT(l, 1) : NULL,
                                     net->bn_momentum, net->bn_eps, act_of(l));
}

static clg_status bn_backward(clg_ctx *ctx, clg_net *net, clg_layer *l, const clg_layer_bwd *b) {
    (void)net;
    clg_bn_sync *s = l->state;
    /* BN's kernel always writes an input gradient: the spare buffer when
     * nobody needs it. */
    const clg_tensor *dx = b->dx ? b->dx : b->spare;
    if (s && s->synced) {
        /* the activation's backward in place over dout, which no one reads after */
        if (l->a.bn.act != CLG_ACT_IDENTITY)
            CLG_TRY(clg_act_backward(ctx, b->dout, b->dout, &l->output, l->a.bn.act,
                                     l->a.bn.slope));
        return clg_bn_sync_backward(ctx, ctx->dist, s, dx, dparam(l, b, 0), dparam(l, b, 1),
                                    b->dout, b->x, BN_AT(l, 3), gamma_of(l), NULL);
    }
    return clg_batchnorm_act_backward(ctx, dx, dparam(l, b, 0), dparam(l, b, 1), b->dout,
                                      &l->output, b->x, BN_AT(l, 2), BN_AT(l, 3), gamma_of(l),
                                      act_of(l));
}

const clg_layer_ops clg_layer_bn_ops = {"bn", 0, norm_shape, bn_slots, bn_init, bn_forward,
                                        bn_backward, bn_reserve, bn_release};

clg_status clg_net_bn(clg_net *net, const char *name, int affine) {
    clg_layer_args a = {.bn = {affine, CLG_ACT_IDENTITY, 0.0f}};
    return clg_net_add(net, CLG_LAYER_BN, name, &a);
}

/* ---- batch norm with a fused activation: bn's tensors and passes ---- */
static clg_status bn_act_shape(clg_layer *l) {
    if (l->a.bn.act == CLG_ACT_IDENTITY)
        return clg_fail(CLG_ERR_INVALID_ARG, "bn_act: no activation to fuse (that is bn)");
    return clg_fused_act_check("bn_act", act_of(l));
}

/* Its backward reads its output (the activation's). */
const clg_layer_ops clg_layer_bn_act_ops = {"bn_act", CLG_OP_NEEDS_OUTPUT, bn_act_shape,
                                            bn_slots, bn_init, bn_forward, bn_backward,
                                            bn_reserve, bn_release};

clg_status clg_net_bn_act(clg_net *net, const char *name, int affine, clg_act act, float slope) {
    clg_layer_args a = {.bn = {affine, act, slope}};
    return clg_net_add(net, CLG_LAYER_BN_ACT, name, &a);
}

int clg_layer_is_act(const clg_layer *l) {
    return l->kind == CLG_LAYER_ACT || l->kind == CLG_LAYER_BN_ACT ||
           l->fused.act != CLG_ACT_IDENTITY;
}

/* ---- virtual batch norm: [weight, bias], saved mean, rstd (N, C) ---- */
static int vbn_slots(const clg_layer *l, clg_slot *s) {
    int n = 0, c = l->in[1];
    if (l->a.bn.affine) {
        s[n++] = clg_slot_make(CLG_SLOT_PARAM, "weight", 1, c, 1, 1, 1);
        s[n++] = clg_slot_make(CLG_SLOT_PARAM, "bias", 1, c, 1, 1, 1);
    }
    s[n++] = clg_slot_make(CLG_SLOT_SAVED, NULL, l->in[0], c, 1, 1, 2);
    s[n++] = clg_slot_make(CLG_SLOT_SAVED, NULL, l->in[0], c, 1, 1, 2);
    return n;
}
#define VBN_AT(l, k) (&(l)->t[((l)->a.bn.affine ? 2 : 0) + (k)]) /* 0 mean 1 rstd */

static clg_status vbn_reserve(clg_ctx *ctx, clg_net *net, clg_layer *l) {
    CLG_TRY(clg_vbn_reserve(ctx, l->in[0], l->in[1], l->in[2], l->in[3]));
    clg_vbn *v = calloc(1, sizeof *v);
    if (!v) return clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory");
    l->state = v;
    CLG_TRY(clg_vbn_create(ctx, v, l->in[1], l->in[0], net->bn_eps));
    /* Data-parallel ranks share one reference batch (vbn.h, net.h). */
    return ctx->dist && ctx->dist->size > 1 ? clg_vbn_sync(ctx, v) : CLG_OK;
}

static void vbn_release(clg_ctx *ctx, clg_layer *l) {
    if (l->state) clg_vbn_free(ctx, l->state);
    free(l->state);
    l->state = NULL;
}

static clg_status vbn_forward(clg_ctx *ctx, clg_net *net, clg_layer *l, const clg_tensor *x,
                              clg_net_mode mode) {
    (void)mode;
    if (net->vbn_ref == 1)
        return clg_vbn_ref_forward(ctx, l->state, &l->output, x, gamma_of(l), beta_of(l));
    if (net->vbn_ref == 2)
        return clg_vbn_ref_recompute(ctx, l->state, &l->output, x, gamma_of(l), beta_of(l));
    return clg_vbn_forward(ctx, l->state, &l->output, VBN_AT(l, 0), VBN_AT(l, 1), x, gamma_of(l),
                           beta_of(l));
}

static clg_status vbn_backward(clg_ctx *ctx, clg_net *net, clg_layer *l, const clg_layer_bwd *b) {
    if (net->vbn_ref)
        return clg_vbn_ref_backward(ctx, l->state, b->dx ? b->dx : b->spare, dparam(l, b, 0),
                                    dparam(l, b, 1), b->dout, b->x, gamma_of(l));
    return clg_vbn_backward(ctx, l->state, b->dx ? b->dx : b->spare, dparam(l, b, 0),
                            dparam(l, b, 1), b->dout, b->x, VBN_AT(l, 1), gamma_of(l));
}

const clg_layer_ops clg_layer_vbn_ops = {"vbn", 0, norm_shape, vbn_slots, norm_init,
                                         vbn_forward, vbn_backward, vbn_reserve, vbn_release};

clg_status clg_net_vbn(clg_net *net, const char *name, int affine) {
    clg_layer_args a = {.bn = {affine, CLG_ACT_IDENTITY, 0.0f}};
    return clg_net_add(net, CLG_LAYER_VBN, name, &a);
}
