/* bench_dense.c: `clgan bench` records for fully connected layers (--filter
 * dense): the three passes of each layer of `train ssl`'s networks at batch
 * 100 (improved-gan's MNIST D: 784 -> 1000 -> 500 -> 250 -> 250 -> 250 ->
 * 10; its G: 100 -> 500 -> 500 -> 784), and minibatch discrimination's
 * projection at batch 64, as clgan runs them (1x1
 * convolutions on the conv kernels, models/layer_linear.c) and as CLBlast's
 * SGEMM would, from the same tensors; the two results are compared first.
 *   fwd         y (N, out) = x (N, in) w^T
 *   bwd_data    dx (N, in) = dy w
 *   bwd_weight  dw (out, in) += dy^T x */
#include "bench.h"
#include "conv.h"
#include "elementwise.h"
#include "gemm.h"

#include <stdio.h>

static const struct {
    const char *name;
    int n, in, out;
} dense_layers[] = {{"ssl_D1", 100, 784, 1000}, {"ssl_D2", 100, 1000, 500},
                    {"ssl_D3", 100, 500, 250},  {"ssl_D4", 100, 250, 250},
                    {"ssl_D6", 100, 250, 10},   {"ssl_G1", 100, 100, 500},
                    {"ssl_G2", 100, 500, 500},  {"ssl_G3", 100, 500, 784},
                    /* minibatch discrimination's projection at DCGAN-64 (A = 8192
                     * features, B*C = 500), the adjoint convolution host/mbd.c
                     * runs: its fwd is MBD's backward to f, bwd_data MBD's
                     * forward, bwd_weight the gradient of T */
                    {"mbd64", 64, 500, 8192}};

typedef struct {
    clg_conv_bufs b;
    clg_conv_dir dir;
} dense_arg;

static clg_status op_clgan(clg_ctx *ctx, void *p) {
    dense_arg *a = p;
    return clg_conv_run(ctx, a->dir, NULL, &a->b);
}

static clg_status op_clblast(clg_ctx *ctx, void *p) {
    const dense_arg *a = p;
    const clg_conv_desc *d = &a->b.d;
    const size_t n = (size_t)d->N, in = (size_t)d->C, out = (size_t)d->K;
    switch (a->dir) {
    case CLG_CONV_FWD:
        return clg_gemm(ctx, 0, 1, n, out, in, 1.0f, &a->b.x, in, &a->b.w, in, 0.0f, &a->b.y,
                        out, NULL);
    case CLG_CONV_BWD_DATA:
        return clg_gemm(ctx, 0, 0, n, in, out, 1.0f, &a->b.y, out, &a->b.w, in, 0.0f, &a->b.x,
                        in, NULL);
    default:
        return clg_gemm(ctx, 1, 0, out, in, n, 1.0f, &a->b.y, out, &a->b.x, in, 1.0f, &a->b.dw,
                        in, NULL);
    }
}

/* The tensor a pass writes (inputs of the other passes are left alone). */
static const clg_tensor *result(const dense_arg *a) {
    return a->dir == CLG_CONV_FWD ? &a->b.y : a->dir == CLG_CONV_BWD_DATA ? &a->b.x : &a->b.dw;
}

/* Both once from the same inputs (a zeroed dw): results within 1e-4. */
static clg_status verify(clg_ctx *ctx, dense_arg *a, clg_tensor *copy, const char *name) {
    const clg_tensor *r = result(a);
    double err;
    CLG_TRY(clg_fill(ctx, &a->b.dw, 0.0f));
    CLG_TRY(op_clblast(ctx, a));
    CLG_TRY(clg_copy(ctx, copy, r));
    CLG_TRY(clg_fill(ctx, &a->b.dw, 0.0f));
    CLG_TRY(op_clgan(ctx, a));
    CLG_TRY(bench_rel_diff(ctx, r, copy, &err));
    if (!(err <= 1e-4))
        return clg_fail(CLG_ERR_UNSUPPORTED, "bench %s: clgan and CLBlast disagree (rel err %.3g)",
                        name, err);
    return CLG_OK;
}

static clg_status dense_pass(bench_state *st, dense_arg *a, const char *name) {
    const clg_tensor *r = result(a);
    clg_tensor copy;
    CLG_TRY(clg_tensor_create(st->ctx, &copy, r->n, r->c, r->h, r->w, "bench dense copy"));
    clg_status rc = verify(st->ctx, a, &copy, name);
    clg_tensor_free(st->ctx, &copy);
    CLG_TRY(rc);
    char shape[96];
    const clg_conv_desc *d = &a->b.d;
    snprintf(shape, sizeof shape, "dense N%d %d->%d", d->N, d->C, d->K);
    const double flops = clg_conv_flops(d);
    double ms;
    CLG_TRY(bench_time(st, op_clgan, a, &ms));
    CLG_TRY(bench_add(st, name, shape, "clgan", ms, flops, 0));
    if (st->no_refs) return CLG_OK;
    CLG_TRY(bench_time(st, op_clblast, a, &ms));
    return bench_add(st, name, shape, "clblast", ms, flops, 0);
}

clg_status bench_dense(bench_state *st, const char *filter) {
    static const char *dirs[] = {"fwd", "bwd_data", "bwd_weight"};
    for (size_t l = 0; l < sizeof dense_layers / sizeof *dense_layers; l++)
        for (int k = 0; k < CLG_CONV_DIR_COUNT; k++) {
            char name[64];
            snprintf(name, sizeof name, "dense_%s_%s", dense_layers[l].name, dirs[k]);
            if (!bench_wanted(filter, name)) continue;
            dense_arg a;
            a.dir = (clg_conv_dir)k;
            clg_conv_desc d;
            CLG_TRY(clg_conv_desc_init(&d, dense_layers[l].n, dense_layers[l].in, 1, 1,
                                       dense_layers[l].out, 1, 1, 1, 0));
            CLG_TRY(clg_conv_bufs_create(st->ctx, &a.b, &d));
            clg_status rc = dense_pass(st, &a, name);
            clg_conv_bufs_free(st->ctx, &a.b);
            CLG_TRY(rc);
        }
    return CLG_OK;
}
