/* bench_norm.c: `clgan bench` records for batch norm, virtual batch norm
 * (selected by --filter norm, or a record's own name) and minibatch
 * discrimination (--filter mbd).
 *
 * Shapes: every BN layer of DCGAN-64 (batch 64, ngf = ndf = 64): G after its
 * convT layers g1..g4 = (64,512,4,4), (64,256,8,8), (64,128,16,16),
 * (64,64,32,32); D after conv 2..4: d2 = (64,128,16,16), d3 = (64,256,8,8),
 * d4 = (64,512,4,4). MBD at N = 64 and 256 for (B, C) = (100, 5) and
 * (300, 50) on A = 8192 features (DCGAN-64's last D features, 8*ndf*4*4).
 *
 * Bytes are those that must move, counted once: forward reads x and writes
 * y (2 tensors), backward reads x and dout and writes dinp (3 tensors), plus
 * VBN's per-example (N, C) statistics; per-channel vectors are noise. The
 * kernels read x twice (the second time from cache): no credit for that.
 * vbn_ref_* are the reference batch's passes (batchnorm.cl kernels).
 * Each op is timed on the kernels the device takes by default ("clgan") and
 * on each path forced on (ctx->norm_path: "clgan-channel", the CPU kernels;
 * "clgan-split", the GPU kernels). */
#include "bench.h"
#include "batchnorm.h"
#include "elementwise.h"
#include "mbd.h"
#include "vbn.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct {
    const char *tag;
    int n, c, h, w;
} norm_shape;

static const norm_shape shapes[] = {
    {"g1", 64, 512, 4, 4},   {"g2", 64, 256, 8, 8}, {"g3", 64, 128, 16, 16},
    {"g4", 64, 64, 32, 32},  {"d2", 64, 128, 16, 16}, {"d3", 64, 256, 8, 8},
    {"d4", 64, 512, 4, 4},
};

/* Everything one shape's BN and VBN runs need. */
typedef struct {
    clg_tensor x, y, dy, dx, gamma, beta, dgamma, dbeta, mean, rstd, rmean, rvar;
    clg_tensor xref, yref, dxref, vmean, vrstd; /* VBN: reference batch, (N, C) stats */
    clg_vbn vbn;
} norm_arg;

static clg_status bn_fwd_op(clg_ctx *ctx, void *p) {
    norm_arg *a = p;
    return clg_batchnorm_forward(ctx, &a->y, &a->mean, &a->rstd, &a->x, &a->gamma, &a->beta,
                                 &a->rmean, &a->rvar, 0.1f, CLG_BN_EPS);
}
static clg_status bn_bwd_op(clg_ctx *ctx, void *p) {
    norm_arg *a = p;
    return clg_batchnorm_backward(ctx, &a->dx, &a->dgamma, &a->dbeta, &a->dy, &a->x, &a->mean,
                                  &a->rstd, &a->gamma);
}
static clg_status vbn_ref_fwd_op(clg_ctx *ctx, void *p) {
    norm_arg *a = p;
    return clg_vbn_ref_forward(ctx, &a->vbn, &a->yref, &a->xref, &a->gamma, &a->beta);
}
static clg_status vbn_fwd_op(clg_ctx *ctx, void *p) {
    norm_arg *a = p;
    return clg_vbn_forward(ctx, &a->vbn, &a->y, &a->vmean, &a->vrstd, &a->x, &a->gamma,
                           &a->beta);
}
static clg_status vbn_bwd_op(clg_ctx *ctx, void *p) {
    norm_arg *a = p;
    return clg_vbn_backward(ctx, &a->vbn, &a->dx, &a->dgamma, &a->dbeta, &a->dy, &a->x,
                            &a->vrstd, &a->gamma);
}
static clg_status vbn_ref_bwd_op(clg_ctx *ctx, void *p) {
    norm_arg *a = p;
    return clg_vbn_ref_backward(ctx, &a->vbn, &a->dxref, &a->dgamma, &a->dbeta, &a->yref,
                                &a->xref, &a->gamma);
}

static void norm_free(clg_ctx *ctx, norm_arg *a) {
    clg_tensor *ts[] = {&a->x,    &a->y,     &a->dy,   &a->dx,    &a->gamma, &a->beta,
                        &a->dgamma, &a->dbeta, &a->mean, &a->rstd,  &a->rmean, &a->rvar,
                        &a->xref, &a->yref,  &a->dxref, &a->vmean, &a->vrstd};
    for (size_t i = 0; i < sizeof ts / sizeof *ts; i++) clg_tensor_free(ctx, ts[i]);
    clg_vbn_free(ctx, &a->vbn);
}

static clg_status norm_alloc(clg_ctx *ctx, norm_arg *a, const norm_shape *s) {
    clg_status rc;
    const int N = s->n, C = s->c, H = s->h, W = s->w;
    struct {
        clg_tensor *t;
        int n, c, h, w;
        float v;
    } plan[] = {
        {&a->x, N, C, H, W, 0.5f},    {&a->y, N, C, H, W, 0.0f},    {&a->dy, N, C, H, W, 0.25f},
        {&a->dx, N, C, H, W, 0.0f},   {&a->gamma, 1, C, 1, 1, 1.0f}, {&a->beta, 1, C, 1, 1, 0.0f},
        {&a->dgamma, 1, C, 1, 1, 0.0f}, {&a->dbeta, 1, C, 1, 1, 0.0f}, {&a->mean, 1, C, 1, 1, 0.0f},
        {&a->rstd, 1, C, 1, 1, 0.0f}, {&a->rmean, 1, C, 1, 1, 0.0f}, {&a->rvar, 1, C, 1, 1, 1.0f},
        {&a->xref, N, C, H, W, 0.75f}, {&a->yref, N, C, H, W, 0.0f}, {&a->dxref, N, C, H, W, 0.0f},
        {&a->vmean, N, C, 1, 1, 0.0f}, {&a->vrstd, N, C, 1, 1, 0.0f},
    };
    for (size_t i = 0; i < sizeof plan / sizeof *plan; i++) {
        CLG_TRY_GOTO(clg_tensor_create(ctx, plan[i].t, plan[i].n, plan[i].c, plan[i].h,
                                       plan[i].w, "bench norm"), fail);
        CLG_TRY_GOTO(clg_fill(ctx, plan[i].t, plan[i].v), fail);
    }
    CLG_TRY_GOTO(clg_vbn_create(ctx, &a->vbn, C, N, CLG_BN_EPS), fail);
    return CLG_OK;
fail:
    norm_free(ctx, a);
    return rc;
}

/* One record for the kernels the device takes by default ("clgan"), and
 * one for each path forced on: "clgan-channel" (the CPU kernels) and
 * "clgan-split" (several work-groups per channel; GPUs take it for rows
 * long enough). */
static clg_status time_paths(bench_state *st, bench_op op, norm_arg *a, const char *name,
                             const char *shape, double bytes) {
    clg_ctx *ctx = st->ctx;
    const int saved = ctx->norm_path;
    double ms[3];
    clg_status rc = bench_time(st, op, a, &ms[0]);
    ctx->norm_path = CLG_NORM_CPU;
    if (rc == CLG_OK) rc = bench_time(st, op, a, &ms[1]);
    ctx->norm_path = CLG_NORM_GPU;
    if (rc == CLG_OK) rc = bench_time(st, op, a, &ms[2]);
    ctx->norm_path = saved;
    CLG_TRY(rc);
    CLG_TRY(bench_add(st, name, shape, "clgan", ms[0], 0, bytes));
    CLG_TRY(bench_add(st, name, shape, "clgan-channel", ms[1], 0, bytes));
    return bench_add(st, name, shape, "clgan-split", ms[2], 0, bytes);
}

static clg_status bench_norm_shapes(bench_state *st, const char *filter) {
    static const struct {
        const char *name;
        bench_op op;
        int tensors; /* full tensors that must move */
        int stats;   /* (N, C) vectors that must move */
    } ops[] = {
        {"bn_fwd", bn_fwd_op, 2, 0},          {"bn_bwd", bn_bwd_op, 3, 0},
        {"vbn_ref_fwd", vbn_ref_fwd_op, 2, 0}, {"vbn_fwd", vbn_fwd_op, 2, 2},
        {"vbn_bwd", vbn_bwd_op, 3, 1},        {"vbn_ref_bwd", vbn_ref_bwd_op, 3, 0},
    };
    clg_status rc = CLG_OK;
    char name[64], shape[96];
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        const norm_shape *s = &shapes[i];
        int any = 0;
        for (size_t k = 0; k < sizeof ops / sizeof *ops; k++) {
            snprintf(name, sizeof name, "%s/%s", ops[k].name, s->tag);
            any |= bench_wanted(filter, "norm") || bench_wanted(filter, name);
        }
        if (!any) continue;
        norm_arg a = {0};
        CLG_TRY(norm_alloc(st->ctx, &a, s));
        snprintf(shape, sizeof shape, "%dx%dx%dx%d", s->n, s->c, s->h, s->w);
        double bytes = (double)s->n * s->c * s->h * s->w * sizeof(float);
        /* The VBN example passes need the reference statistics: run the
         * reference forward once before anything is timed. */
        CLG_TRY_GOTO(vbn_ref_fwd_op(st->ctx, &a), done);
        for (size_t k = 0; k < sizeof ops / sizeof *ops; k++) {
            snprintf(name, sizeof name, "%s/%s", ops[k].name, s->tag);
            if (!bench_wanted(filter, "norm") && !bench_wanted(filter, name)) continue;
            /* VBN's per-example statistics: written (mean, rstd) forward, read
             * (rstd) backward; 1/P of a tensor each, not noise at 4x4. */
            double stats = (double)s->n * s->c * sizeof(float) * ops[k].stats;
            CLG_TRY_GOTO(time_paths(st, ops[k].op, &a, name, shape,
                                    ops[k].tensors * bytes + stats), done);
        }
    done:
        norm_free(st->ctx, &a);
        if (rc != CLG_OK) return rc;
    }
    return CLG_OK;
}

/* ---- minibatch discrimination -------------------------------------------- */

typedef struct {
    int n, a, b, c;
    clg_tensor f, t, bias, out, m, dout, df, dt, dbias, dm, mn;
} mbd_arg;

static clg_status mbd_fwd_op(clg_ctx *ctx, void *p) {
    mbd_arg *g = p;
    return clg_mbd_forward(ctx, &g->out, &g->m, &g->mn, &g->f, &g->t, &g->bias, g->b, g->c);
}
static clg_status mbd_fwdbwd_op(clg_ctx *ctx, void *p) {
    mbd_arg *g = p;
    CLG_TRY(mbd_fwd_op(ctx, p));
    return clg_mbd_backward(ctx, &g->df, &g->dt, &g->dbias, &g->dm, &g->mn, &g->dout, &g->f,
                            &g->t, &g->m, g->b, g->c);
}
/* The pairwise part alone (the projection is a 1x1 convolution, as conv). */
static clg_status mbd_pair_fwd_op(clg_ctx *ctx, void *p) {
    mbd_arg *g = p;
    return clg_mbd_pairs_forward(ctx, &g->out, &g->m, &g->bias, g->n, g->a, g->b, g->c);
}
static clg_status mbd_pair_bwd_op(clg_ctx *ctx, void *p) {
    mbd_arg *g = p;
    return clg_mbd_pairs_backward(ctx, &g->dm, &g->dbias, &g->dout, &g->m, g->n, g->a, g->b,
                                  g->c);
}

static void mbd_free(clg_ctx *ctx, mbd_arg *g) {
    clg_tensor *ts[] = {&g->f, &g->t, &g->bias, &g->out, &g->m,
                        &g->dout, &g->df, &g->dt, &g->dbias, &g->dm, &g->mn};
    for (size_t i = 0; i < sizeof ts / sizeof *ts; i++) clg_tensor_free(ctx, ts[i]);
}

static clg_status bench_mbd(bench_state *st, const char *filter) {
    static const int sizes[][3] = {{64, 100, 5}, {256, 100, 5}, {64, 300, 50}, {256, 300, 50}};
    const int A = 8192;
    clg_status rc = CLG_OK;
    char name[64], shape[96];
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        const int N = sizes[i][0], B = sizes[i][1], C = sizes[i][2];
        char tag[48];
        snprintf(tag, sizeof tag, "N%d_B%d_C%d", N, B, C);
        static const char *kinds[] = {"mbd_fwd+bwd", "mbd_pairs_fwd", "mbd_pairs_bwd"};
        int want[3], any = 0;
        for (int k = 0; k < 3; k++) {
            snprintf(name, sizeof name, "%s/%s", kinds[k], tag);
            want[k] = bench_wanted(filter, name);
            any |= want[k];
        }
        if (!any) continue;
        mbd_arg g = {N, A, B, C, {0}, {0}, {0}, {0}, {0}, {0}, {0}, {0}, {0}, {0}, {0}};
        struct {
            clg_tensor *t;
            int n, c;
            float v;
        } plan[] = {
            {&g.f, N, A, 0.01f},       {&g.t, A, B * C, 0.001f}, {&g.bias, 1, B, 0.0f},
            {&g.out, N, A + B, 0.0f},  {&g.m, B * C, N, 0.0f},   {&g.dout, N, A + B, 0.5f},
            {&g.df, N, A, 0.0f},       {&g.dt, A, B * C, 0.0f},  {&g.dbias, 1, B, 0.0f},
            {&g.dm, B * C, N, 0.0f},   {&g.mn, N, B * C, 0.0f},
        };
        for (size_t k = 0; k < sizeof plan / sizeof *plan; k++) {
            CLG_TRY_GOTO(clg_tensor_create(st->ctx, plan[k].t, plan[k].n, plan[k].c, 1, 1,
                                           "bench mbd"), done);
            CLG_TRY_GOTO(clg_fill(st->ctx, plan[k].t, plan[k].v), done);
        }
        /* Distinct rows, so the kernel sums are not all one value. */
        CLG_TRY_GOTO(clg_mbd_reserve(st->ctx, N, A, B, C), done);
        CLG_TRY_GOTO(mbd_fwd_op(st->ctx, &g), done);
        snprintf(shape, sizeof shape, "N=%d A=%d B=%d C=%d", N, A, B, C);
        const double pairs = (double)N * (N - 1) * B * C;
        const bench_op op[3] = {mbd_fwdbwd_op, mbd_pair_fwd_op, mbd_pair_bwd_op};
        /* fwd+bwd: the three projections (2*N*A*B*C each) plus the pairwise kernels
         * (about 3 flops per pair and dim forward, 6 backward). */
        const double flops[3] = {3.0 * 2.0 * N * (double)A * B * C + 9.0 * pairs, 3.0 * pairs,
                                 6.0 * pairs};
        for (int k = 0; k < 3; k++) {
            if (!want[k]) continue;
            snprintf(name, sizeof name, "%s/%s", kinds[k], tag);
            double ms;
            int reps = st->reps;
            /* fwd+bwd is three A x B*C products: seconds per run on a CPU at
             * the larger sizes, so best of 2 after the warm-up */
            if (k == 0 && st->reps > 2) st->reps = 2;
            rc = bench_time(st, op[k], &g, &ms);
            st->reps = reps;
            if (rc != CLG_OK) goto done;
            CLG_TRY_GOTO(bench_add(st, name, shape, "clgan", ms,
                                   flops[k], 0), done);
        }
    done:
        mbd_free(st->ctx, &g);
        if (rc != CLG_OK) return rc;
    }
    return CLG_OK;
}

clg_status bench_norm(bench_state *st, const char *filter) {
    CLG_TRY(bench_norm_shapes(st, filter));
    return bench_mbd(st, filter);
}
