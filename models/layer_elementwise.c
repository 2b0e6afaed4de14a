/* layer_elementwise.c: elementwise layers: activations (host/activation),
 * dropout and additive Gaussian noise (host/rng, training only, drawn from
 * Philox at a counter the net advances, so backward regenerates the mask).
 * Each may run in place; an activation's backward reads its output, which
 * clg_net_alloc keeps by not letting the next layer run over it. */
#include "layers.h"
#include "dist.h"
#include "elementwise.h"
#include "rng.h"

/* Not in place and nothing to compute: the output is a copy. */
static clg_status pass(clg_ctx *ctx, const clg_tensor *out, const clg_tensor *in) {
    if (out->buf == in->buf && out->off == in->off) return CLG_OK;
    return clg_copy(ctx, out, in);
}

/* ---- activation ---- */
static clg_status act_shape(clg_layer *l) {
    if ((int)l->a.act.act < 0 || l->a.act.act >= CLG_ACT_COUNT)
        return clg_fail(CLG_ERR_INVALID_ARG, "unknown activation %d", (int)l->a.act.act);
    if (l->a.act.act == CLG_ACT_LEAKY_RELU && !(l->a.act.slope > 0.0f))
        return clg_fail(CLG_ERR_INVALID_ARG, "leaky ReLU slope must be > 0, not %g",
                        l->a.act.slope);
    return CLG_OK;
}

static clg_status act_forward(clg_ctx *ctx, clg_net *net, clg_layer *l, const clg_tensor *x,
                              clg_net_mode mode) {
    (void)net, (void)mode;
    return clg_act_forward(ctx, &l->output, x, l->a.act.act, l->a.act.slope);
}

static clg_status act_backward(clg_ctx *ctx, clg_net *net, clg_layer *l, const clg_layer_bwd *b) {
    (void)net;
    if (!b->dx) return CLG_OK;
    return clg_act_backward(ctx, b->dx, b->dout, &l->output, l->a.act.act, l->a.act.slope);
}

const clg_layer_ops clg_layer_act_ops = {"act", CLG_OP_IN_PLACE | CLG_OP_NEEDS_OUTPUT, act_shape,
                                         NULL, NULL, act_forward, act_backward, NULL, NULL};

clg_status clg_net_act_unfused(clg_net *net, clg_act act, float slope) {
    clg_layer_args a = {.act = {act, slope}};
    return clg_net_add(net, CLG_LAYER_ACT, NULL, &a);
}

/* The layer before takes the activation into its kernels when its kind
 * can (CLG_OP_FUSES_ACT), it has none yet and its own output is no tap. */
static clg_layer *fuse_target(clg_net *net, clg_fused_act a) {
    if (!net->count || net->params.buf || net->acts.buf) return NULL;
    if (a.act == CLG_ACT_IDENTITY || !clg_fused_act_valid(a)) return NULL;
    clg_layer *p = &net->layers[net->count - 1];
    if (!(p->ops->flags & CLG_OP_FUSES_ACT) || p->fused.act != CLG_ACT_IDENTITY || p->tap[0])
        return NULL;
    return p;
}

clg_status clg_net_act(clg_net *net, clg_act act, float slope) {
    const clg_fused_act a = {act, act == CLG_ACT_RELU ? 0.0f : slope};
    clg_layer *p = fuse_target(net, a);
    if (!p) return clg_net_act_unfused(net, act, slope);
    p->fused = a;
    return CLG_OK;
}

/* ---- dropout and noise ---- */
static clg_status dropout_shape(clg_layer *l) {
    if (!(l->a.drop.p >= 0.0f && l->a.drop.p < 1.0f))
        return clg_fail(CLG_ERR_INVALID_ARG, "dropout p must be in [0, 1), not %g", l->a.drop.p);
    return CLG_OK;
}

static clg_status noise_shape(clg_layer *l) {
    if (!(l->a.drop.p >= 0.0f)) return clg_fail(CLG_ERR_INVALID_ARG, "noise std must be >= 0");
    return CLG_OK;
}

/* Training only; each forward draws fresh numbers. A data-parallel rank
 * (ctx->dist) draws its rows' share of what the whole batch would. */
static int draw(clg_ctx *ctx, clg_net *net, clg_layer *l, clg_net_mode mode) {
    l->a.drop.active = mode == CLG_NET_TRAIN && l->a.drop.p > 0.0f;
    if (!l->a.drop.active) return 0;
    const uint64_t n = clg_tensor_numel(&l->output);
    const uint64_t rank = ctx->dist ? (uint64_t)ctx->dist->rank : 0;
    const uint64_t ranks = ctx->dist ? (uint64_t)ctx->dist->size : 1;
    l->a.drop.rng_offset = net->rng_counter + rank * n;
    net->rng_counter += ranks * n;
    return 1;
}

/* clg_dropout and clg_add_noise: out from in with the stream at offset. */
typedef clg_status (*draw_fn)(clg_ctx *, const clg_tensor *, const clg_tensor *, uint64_t,
                              uint64_t, float);

static clg_status draw_forward(clg_ctx *ctx, clg_net *net, clg_layer *l, const clg_tensor *x,
                               clg_net_mode mode, draw_fn fn) {
    if (!draw(ctx, net, l, mode)) return pass(ctx, &l->output, x);
    return fn(ctx, &l->output, x, net->rng_seed, l->a.drop.rng_offset, l->a.drop.p);
}

static clg_status dropout_forward(clg_ctx *ctx, clg_net *net, clg_layer *l, const clg_tensor *x,
                                  clg_net_mode mode) {
    return draw_forward(ctx, net, l, x, mode, clg_dropout);
}

static clg_status dropout_backward(clg_ctx *ctx, clg_net *net, clg_layer *l,
                                   const clg_layer_bwd *b) {
    if (!b->dx) return CLG_OK;
    if (!l->a.drop.active) return pass(ctx, b->dx, b->dout);
    return clg_dropout(ctx, b->dx, b->dout, net->rng_seed, l->a.drop.rng_offset, l->a.drop.p);
}

static clg_status noise_forward(clg_ctx *ctx, clg_net *net, clg_layer *l, const clg_tensor *x,
                                clg_net_mode mode) {
    return draw_forward(ctx, net, l, x, mode, clg_add_noise);
}

static clg_status noise_backward(clg_ctx *ctx, clg_net *net, clg_layer *l,
                                 const clg_layer_bwd *b) {
    (void)net, (void)l;
    return b->dx ? pass(ctx, b->dx, b->dout) : CLG_OK;
}

const clg_layer_ops clg_layer_dropout_ops = {"dropout", CLG_OP_IN_PLACE, dropout_shape, NULL,
                                             NULL, dropout_forward, dropout_backward, NULL, NULL};
const clg_layer_ops clg_layer_noise_ops = {"noise", CLG_OP_IN_PLACE, noise_shape, NULL, NULL,
                                           noise_forward, noise_backward, NULL, NULL};

clg_status clg_net_dropout(clg_net *net, float p) {
    clg_layer_args a = {.drop = {p, 0, 0}};
    return clg_net_add(net, CLG_LAYER_DROPOUT, NULL, &a);
}

clg_status clg_net_noise(clg_net *net, float std) {
    clg_layer_args a = {.drop = {std, 0, 0}};
    return clg_net_add(net, CLG_LAYER_NOISE, NULL, &a);
}
