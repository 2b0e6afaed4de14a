/* layer_shape.c: layers that move or resample values without parameters:
 * reshape (a view), adaptive max pooling, 2x average pooling, global
 * average pooling (through GEMM with a vector of ones), the Gaussian
 * pyramid's blur-and-decimate, bilinear 2x upsampling (host/pool,
 * host/resample), and concatenation of a side input along channels
 * (one-hot labels as constant planes, or a conditioning image). */
#include "layers.h"
#include "elementwise.h"
#include "gemm.h"
#include "pool.h"
#include "resample.h"

#include <stdlib.h>

/* ---- reshape ---- */
static clg_status reshape_shape(clg_layer *l) {
    int c = l->a.view.c, h = l->a.view.h, w = l->a.view.w;
    if (c <= 0 || h <= 0 || w <= 0 || (long)c * h * w != (long)l->in[1] * l->in[2] * l->in[3])
        return clg_fail(CLG_ERR_INVALID_ARG, "reshape (%d, %d, %d) -> (%d, %d, %d) changes the size",
                        l->in[1], l->in[2], l->in[3], c, h, w);
    l->out[1] = c, l->out[2] = h, l->out[3] = w;
    return CLG_OK;
}

/* A view: nothing to do where the output is the input's storage; first in
 * a network (the caller's input) it is a copy. */
static clg_status same_or_copy(clg_ctx *ctx, const clg_tensor *out, const clg_tensor *in) {
    if (out->buf == in->buf && out->off == in->off) return CLG_OK;
    return clg_copy(ctx, out, in);
}

static clg_status view_forward(clg_ctx *ctx, clg_net *net, clg_layer *l, const clg_tensor *x,
                               clg_net_mode mode) {
    (void)net, (void)mode;
    return same_or_copy(ctx, &l->output, x);
}

static clg_status view_backward(clg_ctx *ctx, clg_net *net, clg_layer *l, const clg_layer_bwd *b) {
    (void)net, (void)l;
    return b->dx ? same_or_copy(ctx, b->dx, b->dout) : CLG_OK;
}

const clg_layer_ops clg_layer_reshape_ops = {"reshape", CLG_OP_VIEW, reshape_shape, NULL, NULL,
                                             view_forward, view_backward, NULL, NULL};

clg_status clg_net_reshape(clg_net *net, int c, int h, int w) {
    clg_layer_args a = {.view = {c, h, w}};
    return clg_net_add(net, CLG_LAYER_RESHAPE, NULL, &a);
}

/* ---- adaptive max pool: the argmax indices are the layer's own buffer ---- */
typedef struct {
    cl_mem arg;
    size_t numel;
} maxpool_state;

static clg_status maxpool_shape(clg_layer *l) {
    int oh = l->a.pool.h, ow = l->a.pool.w;
    if (oh < 1 || ow < 1 || oh > l->in[2] || ow > l->in[3])
        return clg_fail(CLG_ERR_INVALID_ARG, "max pool of %dx%d to %dx%d", l->in[2], l->in[3], oh,
                        ow);
    l->out[2] = oh, l->out[3] = ow;
    return CLG_OK;
}

static clg_status maxpool_reserve(clg_ctx *ctx, clg_net *net, clg_layer *l) {
    (void)net;
    maxpool_state *s = calloc(1, sizeof *s);
    if (!s) return clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory");
    l->state = s;
    s->numel = (size_t)l->out[0] * l->out[1] * l->out[2] * l->out[3];
    return clg_buffer_create(ctx, s->numel * sizeof(cl_int), "max-pool indices", &s->arg);
}

static void maxpool_release(clg_ctx *ctx, clg_layer *l) {
    maxpool_state *s = l->state;
    if (s) clg_buffer_release(ctx, s->arg, s->numel * sizeof(cl_int));
    free(s);
    l->state = NULL;
}

static clg_status maxpool_forward(clg_ctx *ctx, clg_net *net, clg_layer *l, const clg_tensor *x,
                                  clg_net_mode mode) {
    (void)net, (void)mode;
    return clg_adaptive_max_pool_forward(ctx, &l->output, ((maxpool_state *)l->state)->arg, 0, x);
}

static clg_status maxpool_backward(clg_ctx *ctx, clg_net *net, clg_layer *l,
                                   const clg_layer_bwd *b) {
    (void)net;
    if (!b->dx) return CLG_OK;
    return clg_adaptive_max_pool_backward(ctx, b->dx, b->dout, ((maxpool_state *)l->state)->arg,
                                          0);
}

const clg_layer_ops clg_layer_maxpool_ops = {"maxpool", 0, maxpool_shape, NULL, NULL,
                                             maxpool_forward, maxpool_backward, maxpool_reserve,
                                             maxpool_release};

clg_status clg_net_maxpool(clg_net *net, int out_h, int out_w) {
    clg_layer_args a = {.pool = {out_h, out_w}};
    return clg_net_add(net, CLG_LAYER_MAXPOOL, NULL, &a);
}

/* ---- 2x resampling ---- */
static clg_status half_shape(clg_layer *l) {
    if (l->in[2] % 2 || l->in[3] % 2)
        return clg_fail(CLG_ERR_INVALID_ARG, "2x downsampling of an odd size %dx%d", l->in[2],
                        l->in[3]);
    l->out[2] = l->in[2] / 2, l->out[3] = l->in[3] / 2;
    return CLG_OK;
}

static clg_status double_shape(clg_layer *l) {
    if (l->in[2] > 32768 || l->in[3] > 32768)
        return clg_fail(CLG_ERR_INVALID_ARG, "2x upsampling of %dx%d", l->in[2], l->in[3]);
    l->out[2] = l->in[2] * 2, l->out[3] = l->in[3] * 2;
    return CLG_OK;
}

#define RESAMPLE_LAYER(kind, label, shape_fn, fwd, bwd)                                     \
    static clg_status kind##_forward(clg_ctx *ctx, clg_net *net, clg_layer *l,              \
                                     const clg_tensor *x, clg_net_mode mode) {              \
        (void)net, (void)mode;                                                              \
        return fwd(ctx, &l->output, x);                                                     \
    }                                                                                       \
    static clg_status kind##_backward(clg_ctx *ctx, clg_net *net, clg_layer *l,             \
                                      const clg_layer_bwd *b) {                             \
        (void)net, (void)l;                                                                 \
        return b->dx ? bwd(ctx, b->dx, b->dout) : CLG_OK;                                   \
    }                                                                                       \
    const clg_layer_ops clg_layer_##kind##_ops = {label, 0, shape_fn, NULL, NULL,           \
                                                  kind##_forward, kind##_backward, NULL, NULL};

RESAMPLE_LAYER(avgpool2, "avgpool2", half_shape, clg_avgpool2x_forward, clg_avgpool2x_backward)
RESAMPLE_LAYER(blurdown, "blurdown", half_shape, clg_blur_down_forward, clg_blur_down_backward)
RESAMPLE_LAYER(upsample2, "upsample2", double_shape, clg_upsample2x_forward,
               clg_upsample2x_backward)

clg_status clg_net_avgpool2(clg_net *net) { return clg_net_add(net, CLG_LAYER_AVGPOOL2, NULL, NULL); }
clg_status clg_net_blurdown(clg_net *net) { return clg_net_add(net, CLG_LAYER_BLURDOWN, NULL, NULL); }
clg_status clg_net_upsample2(clg_net *net) {
    return clg_net_add(net, CLG_LAYER_UPSAMPLE2, NULL, NULL);
}

/* ---- concatenation of a side input ---- */
static clg_status concat_shape(clg_layer *l) {
    if (l->a.cat.side < 0 || l->a.cat.side >= CLG_NET_MAX_SIDES)
        return clg_fail(CLG_ERR_INVALID_ARG, "concat: side input %d of %d", l->a.cat.side,
                        CLG_NET_MAX_SIDES);
    if (l->a.cat.channels < 1 || l->a.cat.channels > 65536)
        return clg_fail(CLG_ERR_INVALID_ARG, "concat: %d side channels", l->a.cat.channels);
    l->out[1] = l->in[1] + l->a.cat.channels;
    return CLG_OK;
}

static clg_status concat_forward(clg_ctx *ctx, clg_net *net, clg_layer *l, const clg_tensor *x,
                                 clg_net_mode mode) {
    (void)mode;
    const clg_tensor *v = net->side[l->a.cat.side];
    if (!v)
        return clg_fail(CLG_ERR_INVALID_ARG, "concat: side input %d was not set", l->a.cat.side);
    int planes = v->h == 1 && v->w == 1;
    if (v->n != l->in[0] || v->c != l->a.cat.channels ||
        (!planes && (v->h != l->in[2] || v->w != l->in[3])))
        return clg_fail(CLG_ERR_INVALID_ARG, "concat: side input (%d, %d, %d, %d), the layer "
                        "takes (%d, %d, 1, 1) or (%d, %d, %d, %d)", v->n, v->c, v->h, v->w,
                        l->in[0], l->a.cat.channels, l->in[0], l->a.cat.channels, l->in[2],
                        l->in[3]);
    if (planes) return clg_concat_planes_forward(ctx, &l->output, x, v);
    return clg_concat_channels(ctx, &l->output, x, v);
}

static clg_status concat_backward(clg_ctx *ctx, clg_net *net, clg_layer *l,
                                  const clg_layer_bwd *b) {
    (void)net, (void)l;
    return b->dx ? clg_concat_planes_backward(ctx, b->dx, NULL, b->dout) : CLG_OK;
}

const clg_layer_ops clg_layer_concat_ops = {"concat", 0, concat_shape, NULL, NULL,
                                            concat_forward, concat_backward, NULL, NULL};

clg_status clg_net_concat(clg_net *net, int side, int channels) {
    clg_layer_args a = {.cat = {side, channels}};
    return clg_net_add(net, CLG_LAYER_CONCAT, NULL, &a);
}

/* ---- global average pool: (N, C, H, W) -> (N, C, 1, 1) ---- */
enum { ONES };

static clg_status gavgpool_shape(clg_layer *l) {
    l->out[2] = 1, l->out[3] = 1;
    return CLG_OK;
}

/* ones (H*W): written by forward, read by both passes. */
static int gavgpool_slots(const clg_layer *l, clg_slot *s) {
    s[ONES] = clg_slot_make(CLG_SLOT_SAVED, NULL, 1, l->in[2] * l->in[3], 1, 1, 1);
    return 1;
}

/* out (N*C, 1) = x (N*C, H*W) ones / (H*W). */
static clg_status gavgpool_forward(clg_ctx *ctx, clg_net *net, clg_layer *l, const clg_tensor *x,
                                   clg_net_mode mode) {
    (void)net, (void)mode;
    const size_t rows = (size_t)l->in[0] * l->in[1], hw = (size_t)l->in[2] * l->in[3];
    CLG_TRY(clg_fill(ctx, &l->t[ONES], 1.0f));
    return clg_gemm(ctx, 0, 0, rows, 1, hw, 1.0f / (float)hw, x, hw, &l->t[ONES], 1, 0.0f,
                    &l->output, 1, NULL);
}

/* dx (N*C, H*W) = dout (N*C, 1) ones^T / (H*W). */
static clg_status gavgpool_backward(clg_ctx *ctx, clg_net *net, clg_layer *l,
                                    const clg_layer_bwd *b) {
    (void)net;
    const size_t rows = (size_t)l->in[0] * l->in[1], hw = (size_t)l->in[2] * l->in[3];
    if (!b->dx) return CLG_OK;
    return clg_gemm(ctx, 0, 0, rows, hw, 1, 1.0f / (float)hw, b->dout, 1, &l->t[ONES], hw, 0.0f,
                    b->dx, hw, NULL);
}

const clg_layer_ops clg_layer_gavgpool_ops = {"gavgpool", 0, gavgpool_shape, gavgpool_slots,
                                              NULL, gavgpool_forward, gavgpool_backward, NULL,
                                              NULL};

clg_status clg_net_gavgpool(clg_net *net) { return clg_net_add(net, CLG_LAYER_GAVGPOOL, NULL, NULL); }
