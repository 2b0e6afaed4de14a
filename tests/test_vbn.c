/* test_vbn.c: virtual batch normalisation against a plain C reference in
 * double.
 *
 * The reference follows the definition: each example is normalised with the
 * mean and variance of {reference batch} + {itself} (itself weighted
 * 1/(N_ref + 1)), the variance taken as the weighted mean of squared
 * deviations (equal to E[x^2] - E[x]^2, without the cancellation); the
 * reference batch with its own statistics.
 * Backward: the loss sum(w * out) + sum(w_ref * out_ref) is differentiated by
 * central differences (h = 1e-3) of the double forward with respect to every
 * example input, every reference input (so the gradient through the
 * reference statistics is checked), gamma and beta; larger shapes check a
 * sample of 48 inputs (16 at batch 64).
 * Every check runs on the per-channel (CPU) kernels, then on the split
 * (GPU) ones, whatever the device (see main).
 * Tolerances, as max |got - ref| / max |ref| (clg_test_rel_err): forward 2e-5
 * (1e-4 at mean 1e3, std 1e-2), backward 2e-4. */
#include "testutil.h"
#include "batchnorm.h"
#include "vbn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int nref, n, c, h, w;
} vshape;

typedef struct {
    vshape s;
    int affine;
    const double *wy, *wr; /* loss weights for out and out_ref (wr may be NULL) */
} vcase;

/* ---- double reference ---------------------------------------------------- */

/* Forward of the reference batch and the examples; returns the loss
 * sum(wy * y) + sum(wr * yr) when weights are given. */
static double ref_vbn(const vcase *k, double *y, double *yr, const double *x, const double *xr,
                      const double *g, const double *b, double eps) {
    const int Nr = k->s.nref, N = k->s.n, C = k->s.c, P = k->s.h * k->s.w;
    const double a = 1.0 / (Nr + 1), bb = 1.0 - a;
    double loss = 0.0;
    for (int c = 0; c < C; c++) {
        double mr = 0.0, vr = 0.0, M = (double)Nr * P;
        for (int n = 0; n < Nr; n++)
            for (int p = 0; p < P; p++) mr += xr[((size_t)n * C + c) * P + p];
        mr /= M;
        for (int n = 0; n < Nr; n++)
            for (int p = 0; p < P; p++) {
                double d = xr[((size_t)n * C + c) * P + p] - mr;
                vr += d * d;
            }
        vr /= M;
        const double gc = k->affine ? g[c] : 1.0, bc = k->affine ? b[c] : 0.0;
        for (int n = 0; n < Nr; n++)
            for (int p = 0; p < P; p++) {
                size_t i = ((size_t)n * C + c) * P + p;
                yr[i] = (xr[i] - mr) / sqrt(vr + eps) * gc + bc;
                if (k->wr) loss += k->wr[i] * yr[i];
            }
        for (int n = 0; n < N; n++) {
            const double *xn = x + ((size_t)n * C + c) * P;
            double mn = 0.0;
            for (int p = 0; p < P; p++) mn += xn[p];
            mn /= P;
            double mu = a * mn + bb * mr, var = 0.0;
            /* weighted mean of (x - mu)^2 over the reference batch and x */
            for (int p = 0; p < P; p++) var += a / P * (xn[p] - mu) * (xn[p] - mu);
            var += bb * (vr + (mr - mu) * (mr - mu));
            for (int p = 0; p < P; p++) {
                size_t i = ((size_t)n * C + c) * P + p;
                y[i] = (x[i] - mu) / sqrt(var + eps) * gc + bc;
                if (k->wy) loss += k->wy[i] * y[i];
            }
        }
    }
    return loss;
}

/* ---- helpers ------------------------------------------------------------- */

static float *rand_floats(size_t n, uint64_t seed, float lo, float hi) {
    float *x = malloc(n * sizeof *x);
    assert_non_null(x);
    clg_test_fill_uniform(x, n, seed, lo, hi);
    return x;
}

static double *to_double(const float *x, size_t n) {
    double *d = malloc(n * sizeof *d);
    assert_non_null(d);
    for (size_t i = 0; i < n; i++) d[i] = x[i];
    return d;
}

static float *download(clg_ctx *ctx, const clg_tensor *t) {
    float *h = malloc(clg_tensor_bytes(t));
    assert_non_null(h);
    CLG_ASSERT_OK(clg_tensor_download(ctx, t, h));
    return h;
}

/* Device state for one case. */
typedef struct {
    clg_tensor x, xr, y, yr, mean, rstd, g, b, dx, dxr, dy, dyr, dg, db;
    clg_vbn v;
} vdev;

static void vdev_make(clg_ctx *ctx, vdev *d, vshape s, const float *x, const float *xr,
                      const float *g, const float *b) {
    memset(d, 0, sizeof *d);
    d->x = clg_test_tensor(ctx, s.n, s.c, s.h, s.w, x);
    d->xr = clg_test_tensor(ctx, s.nref, s.c, s.h, s.w, xr);
    d->y = clg_test_tensor(ctx, s.n, s.c, s.h, s.w, NULL);
    d->yr = clg_test_tensor(ctx, s.nref, s.c, s.h, s.w, NULL);
    d->dx = clg_test_tensor(ctx, s.n, s.c, s.h, s.w, NULL);
    d->dxr = clg_test_tensor(ctx, s.nref, s.c, s.h, s.w, NULL);
    d->dy = clg_test_tensor(ctx, s.n, s.c, s.h, s.w, NULL);
    d->dyr = clg_test_tensor(ctx, s.nref, s.c, s.h, s.w, NULL);
    d->mean = clg_test_tensor(ctx, s.n, s.c, 1, 1, NULL);
    d->rstd = clg_test_tensor(ctx, s.n, s.c, 1, 1, NULL);
    d->g = clg_test_tensor(ctx, 1, s.c, 1, 1, g);
    d->b = clg_test_tensor(ctx, 1, s.c, 1, 1, b);
    d->dg = clg_test_tensor(ctx, 1, s.c, 1, 1, NULL);
    d->db = clg_test_tensor(ctx, 1, s.c, 1, 1, NULL);
    CLG_ASSERT_OK(clg_vbn_create(ctx, &d->v, s.c, s.nref, CLG_BN_EPS));
}

static void vdev_free(clg_ctx *ctx, vdev *d) {
    clg_tensor *ts[] = {&d->x,  &d->xr,  &d->y,  &d->yr,  &d->mean, &d->rstd, &d->g,
                        &d->b,  &d->dx,  &d->dxr, &d->dy, &d->dyr,  &d->dg,   &d->db};
    for (size_t i = 0; i < sizeof ts / sizeof *ts; i++) clg_tensor_free(ctx, ts[i]);
    clg_vbn_free(ctx, &d->v);
}

/* ---- forward ------------------------------------------------------------- */

static void check_forward(clg_ctx *ctx, vshape s, int affine, float lo, float hi, double tol) {
    const size_t ne = (size_t)s.n * s.c * s.h * s.w, nr = (size_t)s.nref * s.c * s.h * s.w;
    float *x = rand_floats(ne, 100 + ne, lo, hi), *xr = rand_floats(nr, 200 + nr, lo, hi);
    float *g = rand_floats((size_t)s.c, 3, 0.5f, 1.5f), *b = rand_floats((size_t)s.c, 4, -1, 1);
    vdev d;
    vdev_make(ctx, &d, s, x, xr, g, b);
    const clg_tensor *pg = affine ? &d.g : NULL, *pb = affine ? &d.b : NULL;
    CLG_ASSERT_OK(clg_vbn_ref_forward(ctx, &d.v, &d.yr, &d.xr, pg, pb));
    CLG_ASSERT_OK(clg_vbn_forward(ctx, &d.v, &d.y, &d.mean, &d.rstd, &d.x, pg, pb));
    float *y = download(ctx, &d.y), *yr = download(ctx, &d.yr);
    double *xd = to_double(x, ne), *xrd = to_double(xr, nr);
    double *gd = to_double(g, (size_t)s.c), *bd = to_double(b, (size_t)s.c);
    double *yd = malloc(ne * sizeof *yd), *yrd = malloc(nr * sizeof *yrd);
    assert_non_null(yd && yrd);
    vcase k = {s, affine, NULL, NULL};
    ref_vbn(&k, yd, yrd, xd, xrd, gd, bd, CLG_BN_EPS);
    CLG_ASSERT_CLOSE(y, yd, ne, tol);
    CLG_ASSERT_CLOSE(yr, yrd, nr, tol);
    vdev_free(ctx, &d);
    free(x), free(xr), free(g), free(b), free(y), free(yr), free(xd), free(xrd), free(gd);
    free(bd), free(yd), free(yrd);
}

static const vshape shapes[] = {
    {3, 2, 3, 3, 3},   /* scalar path, odd */
    {4, 3, 5, 4, 4},   /* one vector per row */
    {5, 1, 2, 1, 1},   /* fully connected, batch 1 */
    {1, 1, 3, 5, 7},   /* reference batch of 1, batch 1 */
    {2, 3, 2, 33, 5},  /* scalar rows shared by 8 work-items */
    {2, 2, 2, 32, 32}, /* vector rows shared by 2 work-items */
};

static void test_forward_shapes(void **state) {
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        check_forward(*state, shapes[i], 1, -2.0f, 3.0f, 2e-5);
        check_forward(*state, shapes[i], 0, -2.0f, 3.0f, 2e-5);
    }
}

static void test_forward_dcgan(void **state) {
    static const vshape full[] = {{64, 64, 512, 4, 4}, {64, 64, 64, 32, 32}};
    static const vshape small[] = {{4, 3, 8, 8, 8}};
    const vshape *ss = clg_test_small() ? small : full;
    size_t n = clg_test_small() ? 1 : 2;
    for (size_t i = 0; i < n; i++) check_forward(*state, ss[i], 1, -1.0f, 1.0f, 2e-5);
}

static void test_forward_large_mean(void **state) {
    vshape s1 = {4, 3, 3, 4, 4}, s2 = {3, 2, 2, 3, 3};
    check_forward(*state, s1, 1, 1000.0f - 0.0173f, 1000.0f + 0.0173f, 1e-4);
    check_forward(*state, s2, 0, 1000.0f - 0.0173f, 1000.0f + 0.0173f, 1e-4);
}

/* An example's output must not depend on the rest of its minibatch: the
 * same example alongside different companions (same launch: bit-identical),
 * and alone in a batch of 1 (another launch shape: within one rounding). */
static void test_independence(void **state) {
    clg_ctx *ctx = *state;
    const vshape s = {4, 5, 3, 8, 8};
    const size_t per = (size_t)s.c * s.h * s.w, ne = s.n * per, nr = s.nref * per;
    float *x = rand_floats(ne, 7, -2, 2), *xr = rand_floats(nr, 8, -1, 3);
    float *g = rand_floats((size_t)s.c, 9, 0.5f, 1.5f), *b = rand_floats((size_t)s.c, 10, -1, 1);
    vdev d;
    vdev_make(ctx, &d, s, x, xr, g, b);
    CLG_ASSERT_OK(clg_vbn_ref_forward(ctx, &d.v, &d.yr, &d.xr, &d.g, &d.b));
    CLG_ASSERT_OK(clg_vbn_forward(ctx, &d.v, &d.y, &d.mean, &d.rstd, &d.x, &d.g, &d.b));
    float *y1 = download(ctx, &d.y);
    /* New companions for example 2, very different in scale. */
    float *x2 = rand_floats(ne, 77, -50, 80);
    memcpy(x2 + 2 * per, x + 2 * per, per * sizeof *x);
    CLG_ASSERT_OK(clg_tensor_upload(ctx, &d.x, x2));
    CLG_ASSERT_OK(clg_vbn_forward(ctx, &d.v, &d.y, &d.mean, &d.rstd, &d.x, &d.g, &d.b));
    float *y2 = download(ctx, &d.y);
    assert_memory_equal(y1 + 2 * per, y2 + 2 * per, per * sizeof *y1);
    /* The companions' outputs did change. */
    assert_true(memcmp(y1, y2, per * sizeof *y1) != 0);
    /* Alone. */
    clg_tensor x1 = clg_test_tensor(ctx, 1, s.c, s.h, s.w, x + 2 * per);
    clg_tensor o1 = clg_test_tensor(ctx, 1, s.c, s.h, s.w, NULL);
    clg_tensor m1 = clg_test_tensor(ctx, 1, s.c, 1, 1, NULL), r1 = clg_test_tensor(ctx, 1, s.c, 1, 1, NULL);
    CLG_ASSERT_OK(clg_vbn_forward(ctx, &d.v, &o1, &m1, &r1, &x1, &d.g, &d.b));
    float *y3 = download(ctx, &o1);
    double *ref = to_double(y1 + 2 * per, per);
    CLG_ASSERT_CLOSE(y3, ref, per, 1e-6);
    clg_tensor_free(ctx, &x1), clg_tensor_free(ctx, &o1), clg_tensor_free(ctx, &m1);
    clg_tensor_free(ctx, &r1);
    vdev_free(ctx, &d);
    free(x), free(xr), free(g), free(b), free(y1), free(x2), free(y2), free(y3), free(ref);
}

/* ---- backward ------------------------------------------------------------ */

/* Central difference of the loss with respect to v[i]. */
static double fd_at(const vcase *k, double *v, size_t i, double h, double *y, double *yr,
                    double *x, double *xr, double *g, double *b) {
    double v0 = v[i];
    v[i] = v0 + h;
    double lp = ref_vbn(k, y, yr, x, xr, g, b, CLG_BN_EPS);
    v[i] = v0 - h;
    double lm = ref_vbn(k, y, yr, x, xr, g, b, CLG_BN_EPS);
    v[i] = v0;
    return (lp - lm) / (2.0 * h);
}

/* Compares got[idx] with central differences at those indices (all when
 * count == n, else `count` spread over the tensor). */
static void check_fd(const vcase *k, const float *got, size_t n, size_t count, double *v,
                     const double *acc0, double h, double *y, double *yr, double *x, double *xr,
                     double *g, double *b, const char *what) {
    size_t m = count < n ? count : n;
    float *gs = malloc(m * sizeof *gs);
    double *fs = malloc(m * sizeof *fs);
    assert_non_null(gs && fs);
    for (size_t j = 0; j < m; j++) {
        size_t i = m == n ? j : (j * 7919u) % n;
        gs[j] = got[i];
        fs[j] = fd_at(k, v, i, h, y, yr, x, xr, g, b) + (acc0 ? acc0[i] : 0.0);
    }
    double err = clg_test_rel_err(gs, fs, m, 1e-30);
    if (err > 2e-4) fail_msg("%s: relative error %.3g > 2e-4 against finite differences", what, err);
    free(gs), free(fs);
}

/* The whole VBN step: reference forward, two example minibatches forward
 * and backward (both feed the reference statistics), reference backward. */
static void check_backward(clg_ctx *ctx, vshape s, int affine, int with_dyr, size_t samples) {
    const size_t ne = (size_t)s.n * s.c * s.h * s.w, nr = (size_t)s.nref * s.c * s.h * s.w;
    float *x = rand_floats(ne, 300 + ne, -2, 3), *xr = rand_floats(nr, 400 + nr, -1, 2);
    float *g = rand_floats((size_t)s.c, 5, 0.5f, 1.5f), *b = rand_floats((size_t)s.c, 6, -1, 1);
    float *wy = rand_floats(ne, 7, -1, 1), *wr = rand_floats(nr, 8, -1, 1);
    float *dg0 = rand_floats((size_t)s.c, 9, -1, 1), *db0 = rand_floats((size_t)s.c, 10, -1, 1);
    vdev d;
    vdev_make(ctx, &d, s, x, xr, g, b);
    CLG_ASSERT_OK(clg_tensor_upload(ctx, &d.dy, wy));
    CLG_ASSERT_OK(clg_tensor_upload(ctx, &d.dyr, wr));
    CLG_ASSERT_OK(clg_tensor_upload(ctx, &d.dg, dg0));
    CLG_ASSERT_OK(clg_tensor_upload(ctx, &d.db, db0));
    const clg_tensor *pg = affine ? &d.g : NULL, *pb = affine ? &d.b : NULL;
    const clg_tensor *pdg = affine ? &d.dg : NULL, *pdb = affine ? &d.db : NULL;
    /* The minibatch is split in two calls (rows [0, n1) and [n1, n)): the
     * reference gradients must accumulate over both. */
    const int n1 = s.n / 2;
    const size_t per = (size_t)s.c * s.h * s.w;
    /* What clg_vbn_reserve set aside for both batches is all the passes take. */
    clg_scratch_release(ctx);
    CLG_ASSERT_OK(clg_vbn_reserve(ctx, s.n, s.c, s.h, s.w));
    CLG_ASSERT_OK(clg_vbn_reserve(ctx, s.nref, s.c, s.h, s.w));
    const size_t reserved = ctx->scratch_bytes;
    CLG_ASSERT_OK(clg_vbn_ref_forward(ctx, &d.v, &d.yr, &d.xr, pg, pb));
    CLG_ASSERT_OK(clg_vbn_forward(ctx, &d.v, &d.y, &d.mean, &d.rstd, &d.x, pg, pb));
    if (n1 > 0) {
        clg_tensor xa = clg_tensor_slice(&d.x, 0, n1, s.c, s.h, s.w);
        clg_tensor dya = clg_tensor_slice(&d.dy, 0, n1, s.c, s.h, s.w);
        clg_tensor dxa = clg_tensor_slice(&d.dx, 0, n1, s.c, s.h, s.w);
        clg_tensor ra = clg_tensor_slice(&d.rstd, 0, n1, s.c, 1, 1);
        CLG_ASSERT_OK(clg_vbn_backward(ctx, &d.v, &dxa, pdg, pdb, &dya, &xa, &ra, pg));
    }
    clg_tensor xb = clg_tensor_slice(&d.x, n1 * per, s.n - n1, s.c, s.h, s.w);
    clg_tensor dyb = clg_tensor_slice(&d.dy, n1 * per, s.n - n1, s.c, s.h, s.w);
    clg_tensor dxb = clg_tensor_slice(&d.dx, n1 * per, s.n - n1, s.c, s.h, s.w);
    clg_tensor rb = clg_tensor_slice(&d.rstd, (size_t)n1 * s.c, s.n - n1, s.c, 1, 1);
    CLG_ASSERT_OK(clg_vbn_backward(ctx, &d.v, &dxb, pdg, pdb, &dyb, &xb, &rb, pg));
    CLG_ASSERT_OK(clg_vbn_ref_backward(ctx, &d.v, &d.dxr, pdg, pdb, with_dyr ? &d.dyr : NULL,
                                       &d.xr, pg));
    assert_int_equal(ctx->scratch_bytes, reserved);
    float *dx = download(ctx, &d.dx), *dxr = download(ctx, &d.dxr);
    float *dg = download(ctx, &d.dg), *db = download(ctx, &d.db);

    double *xd = to_double(x, ne), *xrd = to_double(xr, nr), *gd = to_double(g, (size_t)s.c);
    double *bd = to_double(b, (size_t)s.c), *wyd = to_double(wy, ne), *wrd = to_double(wr, nr);
    double *dg0d = to_double(dg0, (size_t)s.c), *db0d = to_double(db0, (size_t)s.c);
    double *y = malloc(ne * sizeof *y), *yr = malloc(nr * sizeof *yr);
    assert_non_null(y && yr);
    vcase k = {s, affine, wyd, with_dyr ? wrd : NULL};
    const double h = 1e-3;
    check_fd(&k, dx, ne, samples, xd, NULL, h, y, yr, xd, xrd, gd, bd, "dinp");
    check_fd(&k, dxr, nr, samples, xrd, NULL, h, y, yr, xd, xrd, gd, bd, "dinp_ref");
    if (affine) {
        check_fd(&k, dg, (size_t)s.c, samples, gd, dg0d, h, y, yr, xd, xrd, gd, bd, "dgamma");
        check_fd(&k, db, (size_t)s.c, samples, bd, db0d, h, y, yr, xd, xrd, gd, bd, "dbeta");
    }
    vdev_free(ctx, &d);
    free(x), free(xr), free(g), free(b), free(wy), free(wr), free(dg0), free(db0), free(dx);
    free(dxr), free(dg), free(db), free(xd), free(xrd), free(gd), free(bd), free(wyd);
    free(wrd), free(dg0d), free(db0d), free(y), free(yr);
}

static void test_backward_shapes(void **state) {
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        size_t samples = (size_t)-1;
        if (shapes[i].h * shapes[i].w > 100) samples = 48;
        check_backward(*state, shapes[i], 1, 1, samples);
        check_backward(*state, shapes[i], 0, i % 2 == 0, samples);
    }
}

static void test_backward_dcgan(void **state) {
    /* batch 64 (DCGAN's), a sample of 16 finite differences per tensor */
    vshape s = clg_test_small() ? (vshape){4, 3, 8, 8, 8} : (vshape){64, 64, 64, 8, 8};
    check_backward(*state, s, 1, 1, 16);
}

static void test_init_params(void **state) {
    clg_ctx *ctx = *state;
    const int C = 4096;
    clg_tensor g = clg_test_tensor(ctx, 1, C, 1, 1, NULL), b = clg_test_tensor(ctx, 1, C, 1, 1, NULL);
    CLG_ASSERT_OK(clg_tensor_fill(ctx, &b, 5.0f));
    CLG_ASSERT_OK(clg_vbn_init_params(ctx, &g, &b, 42));
    float *gh = download(ctx, &g), *bh = download(ctx, &b);
    double m = 0.0, v = 0.0;
    for (int i = 0; i < C; i++) m += gh[i];
    m /= C;
    for (int i = 0; i < C; i++) v += (gh[i] - m) * (gh[i] - m);
    double sd = sqrt(v / (C - 1));
    /* N(1, 0.02): the sample mean within 4 standard errors, the std within 10% */
    assert_true(fabs(m - 1.0) < 4 * 0.02 / sqrt(C));
    assert_true(fabs(sd - 0.02) < 0.002);
    for (int i = 0; i < C; i++) assert_true(bh[i] == 0.0f);
    clg_tensor_free(ctx, &g), clg_tensor_free(ctx, &b);
    free(gh), free(bh);
}

static void test_invalid_args(void **state) {
    clg_ctx *ctx = *state;
    clg_vbn v;
    assert_int_equal(clg_vbn_create(ctx, &v, 0, 4, CLG_BN_EPS), CLG_ERR_INVALID_ARG);
    CLG_ASSERT_OK(clg_vbn_create(ctx, &v, 3, 4, CLG_BN_EPS));
    clg_tensor x = clg_test_tensor(ctx, 2, 3, 2, 2, NULL), y = clg_test_tensor(ctx, 2, 3, 2, 2, NULL);
    clg_tensor x4 = clg_test_tensor(ctx, 2, 4, 2, 2, NULL), st = clg_test_tensor(ctx, 2, 3, 1, 1, NULL);
    /* reference batch of the wrong size */
    assert_int_equal(clg_vbn_ref_forward(ctx, &v, &y, &x, NULL, NULL), CLG_ERR_INVALID_ARG);
    assert_non_null(strstr(clg_last_error(), "reference batch of 2"));
    /* wrong channel count */
    assert_int_equal(clg_vbn_forward(ctx, &v, &x4, &st, &st, &x4, NULL, NULL), CLG_ERR_INVALID_ARG);
    /* rstd of the wrong size */
    assert_int_equal(clg_vbn_forward(ctx, &v, &y, &st, &x, &x, NULL, NULL), CLG_ERR_INVALID_ARG);
    clg_tensor_free(ctx, &x), clg_tensor_free(ctx, &y), clg_tensor_free(ctx, &x4);
    clg_tensor_free(ctx, &st);
    clg_vbn_free(ctx, &v);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forward_shapes),   cmocka_unit_test(test_forward_dcgan),
        cmocka_unit_test(test_forward_large_mean), cmocka_unit_test(test_independence),
        cmocka_unit_test(test_backward_shapes),  cmocka_unit_test(test_backward_dcgan),
        cmocka_unit_test(test_init_params),      cmocka_unit_test(test_invalid_args),
    };
    /* The per-channel kernels, then the split ones, forced on whatever the
     * device: the row kernels here, and the reference batch's BN sliced as
     * the device's rule says, then in 3 slices (BN_DSTATS, no dout: split). */
    int failed = cmocka_run_group_tests_name("vbn", tests, clg_test_group_setup_channel,
                                             clg_test_group_teardown);
    failed += cmocka_run_group_tests_name("vbn split", tests, clg_test_group_setup_split,
                                          clg_test_group_teardown);
    failed += cmocka_run_group_tests_name("vbn split S=3", tests, clg_test_group_setup_split3,
                                          clg_test_group_teardown);
    return failed;
}
