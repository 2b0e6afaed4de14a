/* test_batchnorm.c: batch normalisation against a plain C reference in double.
 *
 * Shapes: batch 1, odd batch and channel counts, P = H*W not a multiple of 4
 * (the scalar path) and a multiple of 4 (the float4 path), fully connected
 * (N, C, 1, 1), and DCGAN-64 shapes (full runs only). Every check runs on
 * the per-channel (CPU) kernels, then on the split (GPU) kernels, with
 * the slices per channel the device's rule gives and with 3 (a dropped or
 * doubled slice moves the mean: the forward check fails).
 * Tolerances, as max |got - ref| / max |ref| (clg_test_rel_err):
 *   forward outputs, saved rstd, running stats: 2e-5; the saved mean: 2e-5
 *   of the data's scale (max |x|);
 *   mean 1e3, std 1e-2 (the stability case): 1e-4 on the output and dinp;
 *   backward against the double analytic gradient: 5e-5, and against central
 *   finite differences (h = 1e-3) of the double forward: 1e-4. */
#include "testutil.h"
#include "activation.h"
#include "batchnorm.h"
#include "elementwise.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int n, c, h, w;
} shape4;

/* ---- double reference ---------------------------------------------------- */

static void ref_stats(const float *x, int N, int C, int P, int c, double *mean, double *var) {
    double s = 0.0, ss = 0.0, M = (double)N * P;
    for (int n = 0; n < N; n++)
        for (int p = 0; p < P; p++) s += x[((size_t)n * C + c) * P + p];
    double mu = s / M;
    for (int n = 0; n < N; n++)
        for (int p = 0; p < P; p++) {
            double d = x[((size_t)n * C + c) * P + p] - mu;
            ss += d * d;
        }
    *mean = mu;
    *var = ss / M;
}

/* y = (x - mean)/sqrt(var + eps)*g + b for the batch statistics; x in double
 * so that finite differences can perturb it. */
static void ref_forward_d(double *y, const double *x, const float *g, const float *b, int N,
                          int C, int P, double eps) {
    double M = (double)N * P;
    for (int c = 0; c < C; c++) {
        double s = 0.0, ss = 0.0;
        for (int n = 0; n < N; n++)
            for (int p = 0; p < P; p++) s += x[((size_t)n * C + c) * P + p];
        double mu = s / M;
        for (int n = 0; n < N; n++)
            for (int p = 0; p < P; p++) {
                double d = x[((size_t)n * C + c) * P + p] - mu;
                ss += d * d;
            }
        double r = 1.0 / sqrt(ss / M + eps);
        for (int n = 0; n < N; n++)
            for (int p = 0; p < P; p++) {
                size_t i = ((size_t)n * C + c) * P + p;
                y[i] = (x[i] - mu) * r * (g ? g[c] : 1.0) + (b ? b[c] : 0.0);
            }
    }
}

/* Analytic backward in double: dx, dg, db (dg/db added to). */
static void ref_backward(double *dx, double *dg, double *db, const float *dy, const float *x,
                         const float *g, int N, int C, int P, double eps) {
    double M = (double)N * P;
    for (int c = 0; c < C; c++) {
        double mu, var;
        ref_stats(x, N, C, P, c, &mu, &var);
        double r = 1.0 / sqrt(var + eps), gc = g ? g[c] : 1.0, A = 0.0, B = 0.0;
        for (int n = 0; n < N; n++)
            for (int p = 0; p < P; p++) {
                size_t i = ((size_t)n * C + c) * P + p;
                A += dy[i];
                B += dy[i] * (x[i] - mu) * r;
            }
        if (dg) dg[c] += B;
        if (db) db[c] += A;
        for (int n = 0; n < N; n++)
            for (int p = 0; p < P; p++) {
                size_t i = ((size_t)n * C + c) * P + p;
                double xh = (x[i] - mu) * r;
                dx[i] = r * gc * (dy[i] - A / M - xh * B / M);
            }
    }
}

/* ---- helpers ------------------------------------------------------------- */

static float *rand_floats(size_t n, uint64_t seed, float lo, float hi) {
    float *x = malloc(n * sizeof *x);
    assert_non_null(x);
    clg_test_fill_uniform(x, n, seed, lo, hi);
    return x;
}

static float *download(clg_ctx *ctx, const clg_tensor *t) {
    float *h = malloc(clg_tensor_bytes(t));
    assert_non_null(h);
    CLG_ASSERT_OK(clg_tensor_download(ctx, t, h));
    return h;
}

/* Runs the training forward (and running stats) on one shape and checks
 * out, mean, rstd and the running statistics. */
static void check_forward(clg_ctx *ctx, shape4 s, int affine, float lo, float hi, double tol) {
    const int N = s.n, C = s.c, P = s.h * s.w;
    const size_t total = (size_t)N * C * P;
    const float eps = CLG_BN_EPS, mom = 0.1f;
    float *x = rand_floats(total, 11 + total, lo, hi);
    float *g = rand_floats((size_t)C, 12, 0.5f, 1.5f), *b = rand_floats((size_t)C, 13, -1, 1);
    float *rm = rand_floats((size_t)C, 14, -1, 1), *rv = rand_floats((size_t)C, 15, 0.5f, 2);
    clg_tensor tx = clg_test_tensor(ctx, N, C, s.h, s.w, x);
    clg_tensor ty = clg_test_tensor(ctx, N, C, s.h, s.w, NULL);
    clg_tensor tg = clg_test_tensor(ctx, 1, C, 1, 1, g), tb = clg_test_tensor(ctx, 1, C, 1, 1, b);
    clg_tensor trm = clg_test_tensor(ctx, 1, C, 1, 1, rm), trv = clg_test_tensor(ctx, 1, C, 1, 1, rv);
    clg_tensor tmu = clg_test_tensor(ctx, 1, C, 1, 1, NULL), trs = clg_test_tensor(ctx, 1, C, 1, 1, NULL);
    int running = (size_t)N * P > 1;
    CLG_ASSERT_OK(clg_batchnorm_forward(ctx, &ty, &tmu, &trs, &tx, affine ? &tg : NULL,
                                        affine ? &tb : NULL, running ? &trm : NULL,
                                        running ? &trv : NULL, mom, eps));
    float *y = download(ctx, &ty), *mu = download(ctx, &tmu), *rs = download(ctx, &trs);
    float *rm2 = download(ctx, &trm), *rv2 = download(ctx, &trv);
    double *xd = malloc(total * sizeof *xd), *yd = malloc(total * sizeof *yd);
    double *mud = malloc((size_t)C * sizeof *mud), *rsd = malloc((size_t)C * sizeof *rsd);
    double *rmd = malloc((size_t)C * sizeof *rmd), *rvd = malloc((size_t)C * sizeof *rvd);
    assert_non_null(xd && yd && mud && rsd && rmd && rvd);
    for (size_t i = 0; i < total; i++) xd[i] = x[i];
    ref_forward_d(yd, xd, affine ? g : NULL, affine ? b : NULL, N, C, P, eps);
    double M = (double)N * P;
    for (int c = 0; c < C; c++) {
        double m, v;
        ref_stats(x, N, C, P, c, &m, &v);
        mud[c] = m;
        rsd[c] = 1.0 / sqrt(v + eps);
        rmd[c] = running ? (1.0 - mom) * rm[c] + mom * m : rm[c];
        rvd[c] = running ? (1.0 - mom) * rv[c] + mom * v * M / (M - 1.0) : rv[c];
    }
    CLG_ASSERT_CLOSE(y, yd, total, tol);
    /* The mean is near 0 for data centred on 0: its error is measured
     * against the data's scale (one float rounding per ~sqrt(N*H*W) terms). */
    double xs = fmax(fabs(lo), fabs(hi));
    double mu_err = clg_test_rel_err(mu, mud, (size_t)C, xs);
    if (mu_err > 2e-5) fail_msg("mean: error %.3g of the data scale > 2e-5", mu_err);
    CLG_ASSERT_CLOSE(rs, rsd, (size_t)C, tol);
    CLG_ASSERT_CLOSE(rm2, rmd, (size_t)C, 2e-5);
    CLG_ASSERT_CLOSE(rv2, rvd, (size_t)C, tol);
    clg_tensor *ts[] = {&tx, &ty, &tg, &tb, &trm, &trv, &tmu, &trs};
    for (size_t i = 0; i < sizeof ts / sizeof *ts; i++) clg_tensor_free(ctx, ts[i]);
    free(x), free(g), free(b), free(rm), free(rv), free(y), free(mu), free(rs), free(rm2);
    free(rv2), free(xd), free(yd), free(mud), free(rsd), free(rmd), free(rvd);
}

static const shape4 odd_shapes[] = {
    {1, 3, 5, 7},  /* batch 1, scalar path */
    {5, 7, 3, 3},  /* odd everything */
    {3, 5, 4, 4},  /* float4 path, odd N and C */
    {7, 9, 1, 1},  /* fully connected */
    {1, 2, 2, 2},  /* batch 1, float4 path, P < work-group */
    {2, 3, 33, 5}, /* rows longer than the work-group */
};
static const shape4 dcgan_shapes[] = {
    {64, 512, 4, 4}, {64, 256, 8, 8}, {64, 128, 16, 16}, {64, 64, 32, 32},
};

static void test_forward_shapes(void **state) {
    for (size_t i = 0; i < sizeof odd_shapes / sizeof *odd_shapes; i++) {
        check_forward(*state, odd_shapes[i], 1, -2.0f, 3.0f, 2e-5);
        check_forward(*state, odd_shapes[i], 0, -2.0f, 3.0f, 2e-5);
    }
}

static void test_forward_dcgan(void **state) {
    if (clg_test_small()) {
        shape4 s = {4, 8, 8, 8};
        check_forward(*state, s, 1, -1.0f, 1.0f, 2e-5);
        return;
    }
    for (size_t i = 0; i < sizeof dcgan_shapes / sizeof *dcgan_shapes; i++)
        check_forward(*state, dcgan_shapes[i], i % 2 == 0, -1.0f, 1.0f, 2e-5);
}

static void test_inference(void **state) {
    clg_ctx *ctx = *state;
    const int N = 3, C = 5, H = 3, W = 7, P = H * W;
    const size_t total = (size_t)N * C * P;
    float *x = rand_floats(total, 21, -2, 2), *g = rand_floats(C, 22, 0.5f, 1.5f);
    float *b = rand_floats(C, 23, -1, 1), *rm = rand_floats(C, 24, -1, 1);
    float *rv = rand_floats(C, 25, 0.1f, 2);
    clg_tensor tx = clg_test_tensor(ctx, N, C, H, W, x), ty = clg_test_tensor(ctx, N, C, H, W, NULL);
    clg_tensor tg = clg_test_tensor(ctx, 1, C, 1, 1, g), tb = clg_test_tensor(ctx, 1, C, 1, 1, b);
    clg_tensor trm = clg_test_tensor(ctx, 1, C, 1, 1, rm), trv = clg_test_tensor(ctx, 1, C, 1, 1, rv);
    double *ref = malloc(total * sizeof *ref);
    assert_non_null(ref);
    for (int affine = 0; affine < 2; affine++) {
        CLG_ASSERT_OK(clg_batchnorm_forward_inference(ctx, &ty, &tx, affine ? &tg : NULL,
                                                      affine ? &tb : NULL, &trm, &trv, 1e-3f));
        float *y = download(ctx, &ty);
        for (int n = 0; n < N; n++)
            for (int c = 0; c < C; c++)
                for (int p = 0; p < P; p++) {
                    size_t i = ((size_t)n * C + c) * P + p;
                    double v = (x[i] - (double)rm[c]) / sqrt((double)rv[c] + 1e-3);
                    ref[i] = affine ? v * g[c] + b[c] : v;
                }
        CLG_ASSERT_CLOSE(y, ref, total, 2e-6);
        free(y);
    }
    clg_tensor *ts[] = {&tx, &ty, &tg, &tb, &trm, &trv};
    for (size_t i = 0; i < sizeof ts / sizeof *ts; i++) clg_tensor_free(ctx, ts[i]);
    free(x), free(g), free(b), free(rm), free(rv), free(ref);
}

/* Backward: loss = sum(dout * y). Checks dinp, dgamma, dbeta (which start
 * non-zero: they accumulate) against the analytic double gradient and, when
 * `fd`, every dinp and dgamma/dbeta against central differences of the
 * double forward. `inplace` makes dinp alias dout. */
static void check_backward(clg_ctx *ctx, shape4 s, int affine, int fd, int inplace, float lo,
                           float hi, double tol) {
    const int N = s.n, C = s.c, P = s.h * s.w;
    const size_t total = (size_t)N * C * P;
    const float eps = CLG_BN_EPS;
    float *x = rand_floats(total, 31 + total, lo, hi), *dy = rand_floats(total, 32, -1, 1);
    float *g = rand_floats(C, 33, 0.5f, 1.5f), *b = rand_floats(C, 34, -1, 1);
    float *dg0 = rand_floats(C, 35, -1, 1), *db0 = rand_floats(C, 36, -1, 1);
    clg_tensor tx = clg_test_tensor(ctx, N, C, s.h, s.w, x), ty = clg_test_tensor(ctx, N, C, s.h, s.w, NULL);
    clg_tensor tdy = clg_test_tensor(ctx, N, C, s.h, s.w, dy);
    clg_tensor tdx = inplace ? tdy : clg_test_tensor(ctx, N, C, s.h, s.w, NULL);
    clg_tensor tg = clg_test_tensor(ctx, 1, C, 1, 1, g), tb = clg_test_tensor(ctx, 1, C, 1, 1, b);
    clg_tensor tdg = clg_test_tensor(ctx, 1, C, 1, 1, dg0), tdb = clg_test_tensor(ctx, 1, C, 1, 1, db0);
    clg_tensor tmu = clg_test_tensor(ctx, 1, C, 1, 1, NULL), trs = clg_test_tensor(ctx, 1, C, 1, 1, NULL);
    const clg_tensor *pg = affine ? &tg : NULL, *pb = affine ? &tb : NULL;
    /* What clg_norm_reserve set aside is all the passes take. */
    clg_scratch_release(ctx);
    CLG_ASSERT_OK(clg_norm_reserve(ctx, N, C, s.h, s.w));
    const size_t reserved = ctx->scratch_bytes;
    CLG_ASSERT_OK(clg_batchnorm_forward(ctx, &ty, &tmu, &trs, &tx, pg, pb, NULL, NULL, 0.1f, eps));
    CLG_ASSERT_OK(clg_batchnorm_backward(ctx, &tdx, affine ? &tdg : NULL, affine ? &tdb : NULL,
                                         &tdy, &tx, &tmu, &trs, pg));
    assert_int_equal(ctx->scratch_bytes, reserved);
    float *dx = download(ctx, &tdx), *dg = download(ctx, &tdg), *db = download(ctx, &tdb);
    double *dxr = malloc(total * sizeof *dxr), *dgr = malloc(C * sizeof *dgr);
    double *dbr = malloc(C * sizeof *dbr);
    assert_non_null(dxr && dgr && dbr);
    for (int c = 0; c < C; c++) dgr[c] = dg0[c], dbr[c] = db0[c];
    ref_backward(dxr, affine ? dgr : NULL, affine ? dbr : NULL, dy, x, affine ? g : NULL, N, C,
                 P, eps);
    CLG_ASSERT_CLOSE(dx, dxr, total, tol);
    CLG_ASSERT_CLOSE(dg, dgr, (size_t)C, tol);
    CLG_ASSERT_CLOSE(db, dbr, (size_t)C, tol);
    if (fd) {
        /* Central differences of loss = sum(dy * y(x, g, b)) in double. */
        const double h = 1e-3;
        double *xd = malloc(total * sizeof *xd), *yd = malloc(total * sizeof *yd);
        double *fdx = malloc(total * sizeof *fdx), *fdg = malloc(C * sizeof *fdg);
        double *fdb = malloc(C * sizeof *fdb);
        float *gp = malloc(C * sizeof *gp), *bp = malloc(C * sizeof *bp);
        assert_non_null(xd && yd && fdx && fdg && fdb && gp && bp);
        for (size_t i = 0; i < total; i++) xd[i] = x[i];
        memcpy(gp, g, C * sizeof *g);
        memcpy(bp, b, C * sizeof *b);
#define LOSS(res)                                                                         \
    do {                                                                                  \
        ref_forward_d(yd, xd, affine ? gp : NULL, affine ? bp : NULL, N, C, P, eps);      \
        double l_ = 0.0;                                                                  \
        for (size_t k_ = 0; k_ < total; k_++) l_ += dy[k_] * yd[k_];                      \
        (res) = l_;                                                                       \
    } while (0)
        for (size_t i = 0; i < total; i++) {
            double lp, lm, x0 = xd[i];
            xd[i] = x0 + h;
            LOSS(lp);
            xd[i] = x0 - h;
            LOSS(lm);
            xd[i] = x0;
            fdx[i] = (lp - lm) / (2 * h);
        }
        CLG_ASSERT_CLOSE(dx, fdx, total, 1e-4);
        if (affine) {
            /* gamma/beta are float: perturb by a float-exact step. */
            const float hf = 1.0f / 1024.0f;
            for (int c = 0; c < C; c++) {
                double lp, lm;
                float g0 = gp[c], b0 = bp[c];
                gp[c] = g0 + hf;
                LOSS(lp);
                gp[c] = g0 - hf;
                LOSS(lm);
                gp[c] = g0;
                fdg[c] = dg0[c] + (lp - lm) / (2.0 * hf);
                bp[c] = b0 + hf;
                LOSS(lp);
                bp[c] = b0 - hf;
                LOSS(lm);
                bp[c] = b0;
                fdb[c] = db0[c] + (lp - lm) / (2.0 * hf);
            }
            CLG_ASSERT_CLOSE(dg, fdg, (size_t)C, 1e-4);
            CLG_ASSERT_CLOSE(db, fdb, (size_t)C, 1e-4);
        }
#undef LOSS
        free(xd), free(yd), free(fdx), free(fdg), free(fdb), free(gp), free(bp);
    }
    clg_tensor *ts[] = {&tx, &ty, &tdy, &tg, &tb, &tdg, &tdb, &tmu, &trs};
    for (size_t i = 0; i < sizeof ts / sizeof *ts; i++) clg_tensor_free(ctx, ts[i]);
    if (!inplace) clg_tensor_free(ctx, &tdx);
    free(x), free(dy), free(g), free(b), free(dg0), free(db0), free(dx), free(dg), free(db);
    free(dxr), free(dgr), free(dbr);
}

static void test_backward_shapes(void **state) {
    for (size_t i = 0; i < sizeof odd_shapes / sizeof *odd_shapes; i++) {
        check_backward(*state, odd_shapes[i], 1, 1, 0, -2, 3, 5e-5);
        check_backward(*state, odd_shapes[i], 0, 1, 0, -2, 3, 5e-5);
    }
}

static void test_backward_inplace(void **state) {
    shape4 s1 = {3, 5, 4, 4}, s2 = {5, 3, 3, 1};
    check_backward(*state, s1, 1, 0, 1, -2, 3, 5e-5);
    check_backward(*state, s2, 1, 0, 1, -2, 3, 5e-5);
}

static void test_backward_dcgan(void **state) {
    if (clg_test_small()) {
        shape4 s = {4, 8, 8, 8};
        check_backward(*state, s, 1, 0, 0, -2, 3, 5e-5);
        return;
    }
    for (size_t i = 0; i < sizeof dcgan_shapes / sizeof *dcgan_shapes; i++)
        check_backward(*state, dcgan_shapes[i], i % 2 == 1, 0, 0, -2, 3, 5e-5);
}

/* Mean 1e3, std about 1e-2: a E[x^2] - E[x]^2 variance would lose every digit. */
static void test_forward_large_mean(void **state) {
    shape4 s1 = {6, 3, 4, 4}, s2 = {5, 3, 3, 3};
    check_forward(*state, s1, 1, 1000.0f - 0.0173f, 1000.0f + 0.0173f, 1e-4);
    check_forward(*state, s2, 0, 1000.0f - 0.0173f, 1000.0f + 0.0173f, 1e-4);
    check_backward(*state, s1, 1, 0, 0, 1000.0f - 0.0173f, 1000.0f + 0.0173f, 1e-4);
    check_backward(*state, s2, 0, 0, 0, 1000.0f - 0.0173f, 1000.0f + 0.0173f, 1e-4);
}

/* Shapes for the split kernels' slices: rows of whole vectors that slices
 * cut mid-row, and a channel of 4352 elements, which the device's own rule
 * cuts in 2 on a 2-unit CPU (more on larger devices). */
static void test_sliced_shapes(void **state) {
    shape4 s1 = {5, 3, 4, 8}, s2 = {17, 2, 16, 16};
    check_forward(*state, s1, 1, -2.0f, 3.0f, 2e-5);
    check_backward(*state, s1, 1, 1, 0, -2, 3, 5e-5);
    check_forward(*state, s2, 0, -2.0f, 3.0f, 2e-5);
    check_backward(*state, s2, 1, 0, 0, -2, 3, 5e-5);
}

/* ---- fused activation ------------------------------------------------------
 * Batch norm with a fused ReLU or leaky ReLU must be bit-identical to batch
 * norm then the activation layer (clg_act_*), forward (training and
 * inference) and backward: the same float operations in the same order. */

static void assert_same(clg_ctx *ctx, const clg_tensor *a, const clg_tensor *b, const char *what) {
    float *ha = download(ctx, a), *hb = download(ctx, b);
    if (memcmp(ha, hb, clg_tensor_bytes(a)) != 0) {
        size_t n = clg_tensor_numel(a), i = 0;
        while (i < n && memcmp(&ha[i], &hb[i], sizeof *ha) == 0) i++;
        fail_msg("%s: fused and unfused differ at %zu: %.9g vs %.9g", what, i, (double)ha[i],
                 (double)hb[i]);
    }
    free(ha), free(hb);
}

static void check_fused(clg_ctx *ctx, shape4 s, clg_fused_act act, int affine) {
    const int N = s.n, C = s.c;
    const size_t total = (size_t)N * C * s.h * s.w;
    float *x = rand_floats(total, 31 + total, -2, 3), *dy = rand_floats(total, 32, -1, 1);
    float *g = rand_floats((size_t)C, 33, 0.5f, 1.5f), *b = rand_floats((size_t)C, 34, -1, 1);
    float *r0 = rand_floats((size_t)C, 35, 0.5f, 2);
    clg_tensor tx = clg_test_tensor(ctx, N, C, s.h, s.w, x), tdy = clg_test_tensor(ctx, N, C, s.h, s.w, dy);
    clg_tensor tg = clg_test_tensor(ctx, 1, C, 1, 1, g), tb = clg_test_tensor(ctx, 1, C, 1, 1, b);
    clg_tensor t[2][8]; /* per variant: y, mean, rstd, rmean, rvar, dx, dgamma, dbeta */
    for (int v = 0; v < 2; v++) {
        for (int k = 0; k < 8; k++)
            t[v][k] = k == 0 || k == 5 ? clg_test_tensor(ctx, N, C, s.h, s.w, NULL)
                                       : clg_test_tensor(ctx, 1, C, 1, 1, k == 4 ? r0 : NULL);
        CLG_ASSERT_OK(clg_fill(ctx, &t[v][3], 0.0f));
        CLG_ASSERT_OK(clg_fill(ctx, &t[v][6], 0.0f));
        CLG_ASSERT_OK(clg_fill(ctx, &t[v][7], 0.0f));
    }
    const clg_tensor *pg = affine ? &tg : NULL, *pb = affine ? &tb : NULL;
    clg_tensor *f = t[0], *u = t[1], tmp = clg_test_tensor(ctx, N, C, s.h, s.w, NULL);
    CLG_ASSERT_OK(clg_batchnorm_act_forward(ctx, &f[0], &f[1], &f[2], &tx, pg, pb, &f[3], &f[4],
                                            0.1f, CLG_BN_EPS, act));
    CLG_ASSERT_OK(clg_batchnorm_forward(ctx, &u[0], &u[1], &u[2], &tx, pg, pb, &u[3], &u[4], 0.1f,
                                        CLG_BN_EPS));
    CLG_ASSERT_OK(clg_act_forward(ctx, &u[0], &u[0], act.act, act.slope));
    const char *names[8] = {"out", "mean", "rstd", "running_mean", "running_var", "dinp",
                            "dgamma", "dbeta"};
    for (int k = 0; k < 5; k++) assert_same(ctx, &f[k], &u[k], names[k]);
    CLG_ASSERT_OK(clg_batchnorm_act_backward(ctx, &f[5], affine ? &f[6] : NULL,
                                             affine ? &f[7] : NULL, &tdy, &f[0], &tx, &f[1],
                                             &f[2], pg, act));
    CLG_ASSERT_OK(clg_act_backward(ctx, &tmp, &tdy, &u[0], act.act, act.slope));
    CLG_ASSERT_OK(clg_batchnorm_backward(ctx, &u[5], affine ? &u[6] : NULL, affine ? &u[7] : NULL,
                                         &tmp, &tx, &u[1], &u[2], pg));
    for (int k = 5; k < 8; k++) assert_same(ctx, &f[k], &u[k], names[k]);
    /* inference, from the running statistics just updated */
    CLG_ASSERT_OK(clg_batchnorm_act_forward_inference(ctx, &f[0], &tx, pg, pb, &f[3], &f[4],
                                                      CLG_BN_EPS, act));
    CLG_ASSERT_OK(clg_batchnorm_forward_inference(ctx, &u[0], &tx, pg, pb, &u[3], &u[4],
                                                  CLG_BN_EPS));
    CLG_ASSERT_OK(clg_act_forward(ctx, &u[0], &u[0], act.act, act.slope));
    assert_same(ctx, &f[0], &u[0], "inference out");
    for (int v = 0; v < 2; v++)
        for (int k = 0; k < 8; k++) clg_tensor_free(ctx, &t[v][k]);
    clg_tensor *ts[] = {&tx, &tdy, &tg, &tb, &tmp};
    for (size_t i = 0; i < sizeof ts / sizeof *ts; i++) clg_tensor_free(ctx, ts[i]);
    free(x), free(dy), free(g), free(b), free(r0);
}

static void test_fused_activation(void **state) {
    /* the odd shapes (scalar, vector and 8-channel-block paths) and rows of
     * 256 and more (the one-channel kernels on CPUs, vector and scalar) */
    static const shape4 more[] = {{2, 3, 16, 16}, {2, 3, 16, 17}, {4, 8, 8, 8}};
    const clg_fused_act acts[] = {{CLG_ACT_RELU, 0.0f}, {CLG_ACT_LEAKY_RELU, 0.2f}};
    for (int a = 0; a < 2; a++) {
        for (size_t i = 0; i < sizeof odd_shapes / sizeof *odd_shapes; i++)
            check_fused(*state, odd_shapes[i], acts[a], (int)(i + a) % 2);
        for (size_t i = 0; i < sizeof more / sizeof *more; i++)
            check_fused(*state, more[i], acts[a], (int)(i + a + 1) % 2);
    }
}

static void test_fused_invalid(void **state) {
    clg_ctx *ctx = *state;
    clg_tensor x = clg_test_tensor(ctx, 2, 4, 1, 1, NULL), y = clg_test_tensor(ctx, 2, 4, 1, 1, NULL);
    clg_tensor m = clg_test_tensor(ctx, 1, 4, 1, 1, NULL), r = clg_test_tensor(ctx, 1, 4, 1, 1, NULL);
    CLG_ASSERT_OK(clg_fill(ctx, &x, 0.5f));
    const clg_fused_act tanh_act = {CLG_ACT_TANH, 0.0f}, flat = {CLG_ACT_LEAKY_RELU, 0.0f};
    const clg_fused_act relu = {CLG_ACT_RELU, 0.0f};
    assert_int_equal(clg_batchnorm_act_forward(ctx, &y, &m, &r, &x, NULL, NULL, NULL, NULL, 0.1f,
                                               CLG_BN_EPS, tanh_act), CLG_ERR_INVALID_ARG);
    assert_non_null(strstr(clg_last_error(), "no fused"));
    assert_int_equal(clg_batchnorm_act_forward(ctx, &y, &m, &r, &x, NULL, NULL, NULL, NULL, 0.1f,
                                               CLG_BN_EPS, flat), CLG_ERR_INVALID_ARG);
    CLG_ASSERT_OK(clg_batchnorm_act_forward(ctx, &y, &m, &r, &x, NULL, NULL, NULL, NULL, 0.1f,
                                            CLG_BN_EPS, relu));
    /* the backward writing dinp over the output it reads */
    assert_int_equal(clg_batchnorm_act_backward(ctx, &y, NULL, NULL, &x, &y, &x, &m, &r, NULL,
                                                relu), CLG_ERR_INVALID_ARG);
    assert_non_null(strstr(clg_last_error(), "overlap"));
    assert_int_equal(clg_batchnorm_act_backward(ctx, &x, NULL, NULL, &x, NULL, &y, &m, &r, NULL,
                                                relu), CLG_ERR_INVALID_ARG);
    clg_tensor *ts[] = {&x, &y, &m, &r};
    for (size_t i = 0; i < sizeof ts / sizeof *ts; i++) clg_tensor_free(ctx, ts[i]);
}

static void test_invalid_args(void **state) {
    clg_ctx *ctx = *state;
    clg_tensor x = clg_test_tensor(ctx, 1, 4, 1, 1, NULL), y = clg_test_tensor(ctx, 1, 4, 1, 1, NULL);
    clg_tensor y2 = clg_test_tensor(ctx, 2, 2, 1, 1, NULL);
    clg_tensor v4 = clg_test_tensor(ctx, 1, 4, 1, 1, NULL), v4b = clg_test_tensor(ctx, 1, 4, 1, 1, NULL);
    clg_tensor v3 = clg_test_tensor(ctx, 1, 3, 1, 1, NULL);
    clg_tensor rm = clg_test_tensor(ctx, 1, 4, 1, 1, NULL), rv = clg_test_tensor(ctx, 1, 4, 1, 1, NULL);
    /* out shape differs from inp */
    assert_int_equal(clg_batchnorm_forward(ctx, &y2, &v4, &v4b, &x, NULL, NULL, NULL, NULL, 0.1f,
                                           CLG_BN_EPS), CLG_ERR_INVALID_ARG);
    assert_non_null(strstr(clg_last_error(), "out is"));
    /* mean of the wrong length */
    assert_int_equal(clg_batchnorm_forward(ctx, &y, &v3, &v4b, &x, NULL, NULL, NULL, NULL, 0.1f,
                                           CLG_BN_EPS), CLG_ERR_INVALID_ARG);
    /* gamma without beta */
    assert_int_equal(clg_batchnorm_forward(ctx, &y, &v4, &v4b, &x, &v4, NULL, NULL, NULL, 0.1f,
                                           CLG_BN_EPS), CLG_ERR_INVALID_ARG);
    /* N*H*W = 1 cannot give an unbiased running variance */
    assert_int_equal(clg_batchnorm_forward(ctx, &y, &v4, &v4b, &x, NULL, NULL, &rm, &rv, 0.1f,
                                           CLG_BN_EPS), CLG_ERR_INVALID_ARG);
    assert_non_null(strstr(clg_last_error(), "unbiased"));
    /* ... but without running stats it is defined (output 0 = beta) */
    CLG_ASSERT_OK(clg_batchnorm_forward(ctx, &y, &v4, &v4b, &x, NULL, NULL, NULL, NULL, 0.1f,
                                        CLG_BN_EPS));
    /* eps must be positive */
    assert_int_equal(clg_batchnorm_forward(ctx, &y, &v4, &v4b, &x, NULL, NULL, NULL, NULL, 0.1f,
                                           0.0f), CLG_ERR_INVALID_ARG);
    /* backward: dgamma without gamma */
    assert_int_equal(clg_batchnorm_backward(ctx, &y, &v4, &v4b, &y, &x, &rm, &rv, NULL),
                     CLG_ERR_INVALID_ARG);
    clg_tensor *ts[] = {&x, &y, &y2, &v4, &v4b, &v3, &rm, &rv};
    for (size_t i = 0; i < sizeof ts / sizeof *ts; i++) clg_tensor_free(ctx, ts[i]);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forward_shapes),   cmocka_unit_test(test_forward_dcgan),
        cmocka_unit_test(test_forward_large_mean), cmocka_unit_test(test_inference),
        cmocka_unit_test(test_backward_shapes),  cmocka_unit_test(test_backward_inplace),
        cmocka_unit_test(test_backward_dcgan),   cmocka_unit_test(test_sliced_shapes),
        cmocka_unit_test(test_invalid_args),     cmocka_unit_test(test_fused_activation),
        cmocka_unit_test(test_fused_invalid),
    };
    /* The per-channel kernels, then the split kernels, forced on whatever
     * the device (one of them is its default). */
    int failed = cmocka_run_group_tests_name("batchnorm", tests, clg_test_group_setup_channel,
                                             clg_test_group_teardown);
    failed += cmocka_run_group_tests_name("batchnorm split", tests, clg_test_group_setup_split,
                                          clg_test_group_teardown);
    failed += cmocka_run_group_tests_name("batchnorm split S=3", tests,
                                          clg_test_group_setup_split3, clg_test_group_teardown);
    return failed;
}
