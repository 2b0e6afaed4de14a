/* test_weightnorm.c: weight normalisation forward, backward (written and
 * accumulated) and data-dependent init (host/weightnorm.h) against plain C
 * in double, on awkward shapes: v (K, Cin) with K = 1, Cin = 1, v as
 * (3, 5, 7, 1), short and long rows (1200 x 3, 7 x 1000; 1200 x 1000 in the
 * full run). Every tensor is a slice of one buffer, with junk between them
 * that must survive.
 *
 * Tolerances:
 *   norm, w vs reference: 4e-6 relative to max |ref|. norm_k is a float sum
 *   of Cin positive terms in CLG_WEIGHTNORM_LOCAL partial sums and a tree:
 *   within (Cin/64 + 6) ulps (2e-6 at Cin = 1000), halved by the sqrt; w_k
 *   adds three roundings.
 *   dg, dv vs reference: 4e-6 relative to the largest ABSOLUTE sum behind an
 *   element (sum_j |dw_kj v_kj| / norm_k for dg, and |g_k| / norm_k
 *   (|dw_kj| + that |v_kj| / norm_k) for dv): dg is a dot product of mixed
 *   signs, whose float error scales with the sum of |terms|, not with the
 *   (cancelling) result; same ulp count as norm.
 *   central differences of L(v, g) = sum(dw .* w(v, g)): 1e-3 relative to
 *   max |gradient|, h = 1e-2 with rows of norm >= ~1: truncation
 *   (h / |v_k|)^2 <= 1e-4, and float noise in L_k (~1e-6) / 2h <= 1e-4.
 *   data init vs reference: 1e-5 relative to max |ref|: mean and variance
 *   are sequential float sums of N*H*W <= 128 terms, within ~N*H*W/2 ulps
 *   in the worst case (4e-6 at 128), and the means here are O(std), so b
 *   does not cancel. After init the layer's pre-activations must have mean
 *   0 and std init_scale per unit to the same 1e-5 (scaled by init_scale). */
#include "testutil.h"
#include "weightnorm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PAD 3

/* Tensors carved out of one buffer, PAD floats apart, in call order. */
typedef struct {
    size_t at;
    clg_tensor buf;
} carver;

static size_t carve(carver *cv, size_t numel) {
    size_t start = cv->at;
    cv->at += numel + PAD;
    return start;
}

static clg_tensor slice(carver *cv, size_t at, int n, int c, int h, int w) {
    return clg_tensor_slice(&cv->buf, at, n, c, h, w);
}

/* Fails when any float of host/got outside [at, at + len) of each of the
 * `count` output ranges differs. */
static void check_untouched(const float *got, const float *host, size_t total,
                            const size_t (*outs)[2], int count) {
    for (size_t i = 0; i < total; i++) {
        int inside = 0;
        for (int o = 0; o < count; o++) inside |= i >= outs[o][0] && i < outs[o][0] + outs[o][1];
        if (!inside && got[i] != host[i]) fail_msg("float %zu outside the outputs changed", i);
    }
}

/* max |got - ref| over max(scale_i): the error against per-element scales. */
static void assert_close_scaled(const float *got, const double *ref, const double *scale,
                                size_t n, double tol, const char *what) {
    double err = 0, sc = 1e-30;
    size_t worst = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)got[i] - ref[i]);
        if (!(e <= err)) err = e, worst = i;
        sc = fmax(sc, scale[i]);
    }
    if (!(err <= tol * sc))
        fail_msg("%s: error %.3g > %.3g x scale %.3g (n=%zu, worst at %zu: got %.9g, want %.9g)",
                 what, err, tol, sc, n, worst, (double)got[worst], ref[worst]);
}

/* Forward, then backward written and accumulated, on v (k, c, h, w). */
static void run_rows(clg_ctx *ctx, int k, int c, int h, int w) {
    const size_t cols = (size_t)c * h * w, nv = (size_t)k * cols;
    carver cv = {PAD, {0}};
    const size_t at_v = carve(&cv, nv), at_g = carve(&cv, k), at_w = carve(&cv, nv);
    const size_t at_n = carve(&cv, k), at_dw = carve(&cv, nv), at_dv = carve(&cv, nv);
    const size_t at_dg = carve(&cv, k), total = cv.at;
    float *host = malloc(total * sizeof *host), *got = malloc(total * sizeof *got);
    double *ref = malloc(nv * sizeof *ref), *scale = malloc(nv * sizeof *scale);
    double *norm = malloc(k * sizeof *norm), *dg = malloc(k * sizeof *dg);
    double *dg_abs = malloc(k * sizeof *dg_abs);
    assert_non_null(host && got && ref && scale && norm && dg && dg_abs);
    clg_test_fill_uniform(host, total, 500 + nv, -1.0f, 1.0f);
    for (int i = 0; i < k; i++) host[at_g + i] *= 2.0f; /* g in [-2, 2) */
    cv.buf = clg_test_tensor(ctx, 1, (int)total, 1, 1, host);
    clg_tensor tv = slice(&cv, at_v, k, c, h, w), tg = slice(&cv, at_g, k, 1, 1, 1);
    clg_tensor tw = slice(&cv, at_w, k, c, h, w), tn = slice(&cv, at_n, 1, k, 1, 1);
    clg_tensor tdw = slice(&cv, at_dw, k, (int)cols, 1, 1), tdv = slice(&cv, at_dv, k, c, h, w);
    clg_tensor tdg = slice(&cv, at_dg, k, 1, 1, 1);
    const float *v = host + at_v, *g = host + at_g, *dw = host + at_dw;

    for (int i = 0; i < k; i++) {
        double ss = 0, dot = 0, dot_abs = 0;
        for (size_t j = 0; j < cols; j++) ss += (double)v[i * cols + j] * v[i * cols + j];
        norm[i] = sqrt(ss);
        for (size_t j = 0; j < cols; j++) {
            dot += (double)dw[i * cols + j] * v[i * cols + j];
            dot_abs += fabs((double)dw[i * cols + j] * v[i * cols + j]);
        }
        dg[i] = dot / norm[i];
        dg_abs[i] = dot_abs / norm[i];
    }

    CLG_ASSERT_OK(clg_weightnorm_forward(ctx, &tw, &tn, &tv, &tg));
    CLG_ASSERT_OK(clg_tensor_download(ctx, &cv.buf, got));
    const size_t fwd_outs[2][2] = {{at_w, nv}, {at_n, (size_t)k}};
    check_untouched(got, host, total, fwd_outs, 2);
    CLG_ASSERT_CLOSE(got + at_n, norm, k, 4e-6);
    for (size_t i = 0; i < nv; i++) ref[i] = g[i / cols] * (double)v[i] / norm[i / cols];
    CLG_ASSERT_CLOSE(got + at_w, ref, nv, 4e-6);
    memcpy(host + at_n, got + at_n, k * sizeof *host); /* keep the device's norm */

    for (int accumulate = 0; accumulate <= 1; accumulate++) {
        CLG_ASSERT_OK(clg_tensor_upload(ctx, &cv.buf, host));
        CLG_ASSERT_OK(clg_weightnorm_backward(ctx, &tdv, &tdg, &tdw, &tv, &tg, &tn, accumulate));
        CLG_ASSERT_OK(clg_tensor_download(ctx, &cv.buf, got));
        const size_t bwd_outs[2][2] = {{at_dv, nv}, {at_dg, (size_t)k}};
        check_untouched(got, host, total, bwd_outs, 2);
        for (int i = 0; i < k; i++) {
            ref[i] = dg[i] + (accumulate ? host[at_dg + i] : 0.0);
            scale[i] = dg_abs[i] + (accumulate ? fabs(host[at_dg + i]) : 0.0);
        }
        assert_close_scaled(got + at_dg, ref, scale, k, 4e-6, "dg");
        for (size_t i = 0; i < nv; i++) {
            const size_t r = i / cols;
            const double c_r = g[r] / norm[r], vn = v[i] / norm[r];
            ref[i] = c_r * (dw[i] - dg[r] * vn) + (accumulate ? host[at_dv + i] : 0.0);
            scale[i] = fabs(c_r) * (fabs(dw[i]) + dg_abs[r] * fabs(vn)) +
                       (accumulate ? fabs(host[at_dv + i]) : 0.0);
        }
        assert_close_scaled(got + at_dv, ref, scale, nv, 4e-6, "dv");
    }
    clg_tensor_free(ctx, &cv.buf);
    free(host), free(got), free(ref), free(scale), free(norm), free(dg), free(dg_abs);
}

static void test_forward_backward_vs_reference(void **state) {
    static const int shapes[][4] = {{1, 1, 1, 1}, {3, 5, 7, 1}, {1200, 3, 1, 1}, {7, 1000, 1, 1}};
    static const int small[][4] = {{1, 1, 1, 1}, {3, 5, 7, 1}, {65, 3, 1, 1}, {5, 257, 1, 1}};
    const int(*s)[4] = clg_test_small() ? small : shapes;
    for (int i = 0; i < 4; i++) run_rows(*state, s[i][0], s[i][1], s[i][2], s[i][3]);
    if (!clg_test_small()) run_rows(*state, 1200, 1000, 1, 1);
}

/* L_k(v, g) = sum_j dw_kj w_kj from the device forward, in double. */
static void row_losses(clg_ctx *ctx, const clg_tensor *w, const clg_tensor *nrm,
                       const clg_tensor *v, const clg_tensor *g, const float *dw, int k,
                       size_t cols, float *wbuf, double *loss) {
    CLG_ASSERT_OK(clg_weightnorm_forward(ctx, w, nrm, v, g));
    CLG_ASSERT_OK(clg_tensor_download(ctx, w, wbuf));
    for (int r = 0; r < k; r++) {
        loss[r] = 0;
        for (size_t j = 0; j < cols; j++) loss[r] += (double)dw[r * cols + j] * wbuf[r * cols + j];
    }
}

/* dv and dg from the backward vs central differences of sum(dw .* w(v, g)).
 * Rows are independent, so column j of every row is perturbed at once and
 * each row's loss gives its own partial derivative. */
static void run_fd(clg_ctx *ctx, int k, int c, int h, int w) {
    const size_t cols = (size_t)c * h * w, nv = (size_t)k * cols;
    const float step = 1e-2f;
    float *v = malloc(nv * sizeof *v), *dw = malloc(nv * sizeof *dw);
    float *vp = malloc(nv * sizeof *vp), *wbuf = malloc(nv * sizeof *wbuf);
    float *dv = malloc(nv * sizeof *dv), g[8], gp[8], dg[8];
    double *fd_v = malloc(nv * sizeof *fd_v), fd_g[8], lp[8], lm[8];
    assert_true(k <= 8);
    assert_non_null(v && dw && vp && wbuf && dv && fd_v);
    clg_test_fill_uniform(v, nv, 61 + nv, -1.0f, 1.0f);
    clg_test_fill_uniform(dw, nv, 62 + nv, -1.0f, 1.0f);
    clg_test_fill_uniform(g, k, 63, 0.5f, 2.0f);
    clg_tensor tv = clg_test_tensor(ctx, k, c, h, w, v);
    clg_tensor tw = clg_test_tensor(ctx, k, c, h, w, NULL);
    clg_tensor tg = clg_test_tensor(ctx, 1, k, 1, 1, g);
    clg_tensor tn = clg_test_tensor(ctx, 1, k, 1, 1, NULL);
    clg_tensor tdw = clg_test_tensor(ctx, k, c, h, w, dw);
    clg_tensor tdv = clg_test_tensor(ctx, k, c, h, w, NULL);
    clg_tensor tdg = clg_test_tensor(ctx, 1, k, 1, 1, NULL);

    for (size_t j = 0; j < cols; j++) {
        for (int sgn = 1; sgn >= -1; sgn -= 2) {
            memcpy(vp, v, nv * sizeof *vp);
            for (int r = 0; r < k; r++) vp[r * cols + j] += (float)sgn * step;
            CLG_ASSERT_OK(clg_tensor_upload(ctx, &tv, vp));
            row_losses(ctx, &tw, &tn, &tv, &tg, dw, k, cols, wbuf, sgn > 0 ? lp : lm);
        }
        for (int r = 0; r < k; r++) {
            const double dx = (double)(v[r * cols + j] + step) - (double)(v[r * cols + j] - step);
            fd_v[r * cols + j] = (lp[r] - lm[r]) / dx;
        }
    }
    CLG_ASSERT_OK(clg_tensor_upload(ctx, &tv, v));
    for (int sgn = 1; sgn >= -1; sgn -= 2) {
        for (int r = 0; r < k; r++) gp[r] = g[r] + (float)sgn * step;
        CLG_ASSERT_OK(clg_tensor_upload(ctx, &tg, gp));
        row_losses(ctx, &tw, &tn, &tv, &tg, dw, k, cols, wbuf, sgn > 0 ? lp : lm);
    }
    for (int r = 0; r < k; r++)
        fd_g[r] = (lp[r] - lm[r]) / ((double)(g[r] + step) - (double)(g[r] - step));

    CLG_ASSERT_OK(clg_tensor_upload(ctx, &tg, g));
    CLG_ASSERT_OK(clg_weightnorm_forward(ctx, &tw, &tn, &tv, &tg));
    CLG_ASSERT_OK(clg_weightnorm_backward(ctx, &tdv, &tdg, &tdw, &tv, &tg, &tn, 0));
    CLG_ASSERT_OK(clg_tensor_download(ctx, &tdv, dv));
    CLG_ASSERT_OK(clg_tensor_download(ctx, &tdg, dg));
    CLG_ASSERT_CLOSE(dv, fd_v, nv, 1e-3);
    CLG_ASSERT_CLOSE(dg, fd_g, k, 1e-3);
    clg_tensor_free(ctx, &tv), clg_tensor_free(ctx, &tw), clg_tensor_free(ctx, &tg);
    clg_tensor_free(ctx, &tn), clg_tensor_free(ctx, &tdw), clg_tensor_free(ctx, &tdv);
    clg_tensor_free(ctx, &tdg);
    free(v), free(dw), free(vp), free(wbuf), free(dv), free(fd_v);
}

static void test_backward_vs_finite_differences(void **state) {
    run_fd(*state, 3, 5, 7, 1);
    run_fd(*state, 1, 4, 1, 1);
}

/* Data init on pre (n, k, h, w) whose unit u has mean in [-2, 2) and spread
 * in [0.5, 3): g (random, > 0) and b vs the reference formula, then the
 * layer's new pre-activations (g_new / g_old) pre + b_new standardised. */
static void run_data_init(clg_ctx *ctx, int n, int k, int h, int w, float init_scale) {
    const size_t hw = (size_t)h * w, np = (size_t)n * k * hw;
    carver cv = {PAD, {0}};
    const size_t at_p = carve(&cv, np), at_g = carve(&cv, k), at_b = carve(&cv, k);
    const size_t total = cv.at;
    float *host = malloc(total * sizeof *host), *got = malloc(total * sizeof *got);
    float *centre = malloc(k * sizeof *centre), *spread = malloc(k * sizeof *spread);
    double *ref_g = malloc(k * sizeof *ref_g), *ref_b = malloc(k * sizeof *ref_b);
    assert_non_null(host && got && centre && spread && ref_g && ref_b);
    clg_test_fill_uniform(host, total, 900 + np, -1.0f, 1.0f);
    clg_test_fill_uniform(centre, k, 901, -2.0f, 2.0f);
    clg_test_fill_uniform(spread, k, 902, 0.5f, 3.0f);
    clg_test_fill_uniform(host + at_g, k, 903, 0.5f, 2.0f);
    float *pre = host + at_p;
    for (size_t i = 0; i < np; i++) {
        size_t u = (i / hw) % (size_t)k;
        pre[i] = centre[u] + spread[u] * pre[i];
    }
    cv.buf = clg_test_tensor(ctx, 1, (int)total, 1, 1, host);
    clg_tensor tp = slice(&cv, at_p, n, k, h, w);
    clg_tensor tg = slice(&cv, at_g, 1, k, 1, 1), tb = slice(&cv, at_b, k, 1, 1, 1);
    CLG_ASSERT_OK(clg_weightnorm_data_init(ctx, &tg, &tb, &tp, init_scale));
    CLG_ASSERT_OK(clg_tensor_download(ctx, &cv.buf, got));
    const size_t outs[2][2] = {{at_g, (size_t)k}, {at_b, (size_t)k}};
    check_untouched(got, host, total, outs, 2);

    const double count = (double)n * hw;
    for (int u = 0; u < k; u++) {
        double m = 0, var = 0;
        for (int i = 0; i < n; i++)
            for (size_t q = 0; q < hw; q++) m += pre[((size_t)i * k + u) * hw + q];
        m /= count;
        for (int i = 0; i < n; i++)
            for (size_t q = 0; q < hw; q++) {
                double d = pre[((size_t)i * k + u) * hw + q] - m;
                var += d * d;
            }
        var /= count;
        const double inv = init_scale / sqrt(var);
        ref_g[u] = host[at_g + u] * inv;
        ref_b[u] = -m * inv;

        /* standardised: the new layer output over the batch */
        const double ratio = (double)got[at_g + u] / host[at_g + u];
        double zm = 0, zv = 0;
        for (int i = 0; i < n; i++)
            for (size_t q = 0; q < hw; q++)
                zm += ratio * pre[((size_t)i * k + u) * hw + q] + got[at_b + u];
        zm /= count;
        for (int i = 0; i < n; i++)
            for (size_t q = 0; q < hw; q++) {
                double z = ratio * pre[((size_t)i * k + u) * hw + q] + got[at_b + u] - zm;
                zv += z * z;
            }
        const double zs = sqrt(zv / count);
        if (!(fabs(zm) <= 1e-5 * init_scale && fabs(zs - init_scale) <= 1e-5 * init_scale))
            fail_msg("unit %d of (%d, %d, %d, %d): after init mean %.3g, std %.9g (want 0, %g)",
                     u, n, k, h, w, zm, zs, (double)init_scale);
    }
    CLG_ASSERT_CLOSE(got + at_g, ref_g, k, 1e-5);
    CLG_ASSERT_CLOSE(got + at_b, ref_b, k, 1e-5);
    clg_tensor_free(ctx, &cv.buf);
    free(host), free(got), free(centre), free(spread), free(ref_g), free(ref_b);
}

static void test_data_init(void **state) {
    run_data_init(*state, 7, 3, 1, 1, 1.0f);
    run_data_init(*state, 2, 5, 3, 7, 0.1f);
    run_data_init(*state, 2, 1, 1, 1, 1.0f);
    run_data_init(*state, 1, 4, 2, 1, 0.5f); /* N = 1: the spread is over H x W */
    if (clg_test_small()) run_data_init(*state, 9, 33, 1, 1, 1.0f);
    else run_data_init(*state, 128, 1200, 1, 1, 1.0f);
}

static void expect_invalid(clg_status s, const char *needle) {
    assert_int_equal(s, CLG_ERR_INVALID_ARG);
    if (!strstr(clg_last_error(), needle))
        fail_msg("error \"%s\" does not mention \"%s\"", clg_last_error(), needle);
}

static void test_bad_args_rejected(void **state) {
    clg_ctx *ctx = *state;
    clg_tensor v = clg_test_tensor(ctx, 4, 6, 1, 1, NULL);
    clg_tensor w = clg_test_tensor(ctx, 4, 6, 1, 1, NULL);
    clg_tensor w_t = clg_test_tensor(ctx, 6, 4, 1, 1, NULL);
    clg_tensor g = clg_test_tensor(ctx, 1, 4, 1, 1, NULL);
    clg_tensor n3 = clg_test_tensor(ctx, 1, 3, 1, 1, NULL);
    clg_tensor pre1 = clg_test_tensor(ctx, 1, 4, 1, 1, NULL);
    expect_invalid(clg_weightnorm_forward(ctx, &w_t, &g, &v, &g),
                   "weightnorm_forward: w (6, 4, 1, 1) is not v (4, 6, 1, 1) as (K, Cin) rows");
    expect_invalid(clg_weightnorm_forward(ctx, &w, &n3, &v, &g),
                   "weightnorm_forward: norm (1, 3, 1, 1) has 3 elements, not K = 4");
    expect_invalid(clg_weightnorm_backward(ctx, &w, &g, &w_t, &v, &g, &g, 0),
                   "weightnorm_backward: dw (6, 4, 1, 1)");
    expect_invalid(clg_weightnorm_backward(ctx, &w, &n3, &w, &v, &g, &g, 1),
                   "weightnorm_backward: dg (1, 3, 1, 1)");
    expect_invalid(clg_weightnorm_backward(ctx, &w, &g, &w, &v, &g, &g, 2),
                   "accumulate is 2, not 0 or 1");
    expect_invalid(clg_weightnorm_data_init(ctx, &g, &n3, &v, 1.0f),
                   "weightnorm_data_init: g (1, 4, 1, 1) has 4 elements, not K = 6");
    expect_invalid(clg_weightnorm_data_init(ctx, &g, &g, &pre1, 1.0f),
                   "pre (1, 4, 1, 1) has fewer than 2 values per unit");
    expect_invalid(clg_weightnorm_data_init(ctx, &g, &g, &w_t, 0.0f), "init_scale must be");
    expect_invalid(clg_weightnorm_data_init(ctx, &g, &g, &w_t, NAN), "init_scale must be");
    CLG_ASSERT_OK(clg_ctx_finish(ctx));
    clg_tensor_free(ctx, &v), clg_tensor_free(ctx, &w), clg_tensor_free(ctx, &w_t);
    clg_tensor_free(ctx, &g), clg_tensor_free(ctx, &n3), clg_tensor_free(ctx, &pre1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forward_backward_vs_reference),
        cmocka_unit_test(test_backward_vs_finite_differences),
        cmocka_unit_test(test_data_init),
        cmocka_unit_test(test_bad_args_rejected),
    };
    return cmocka_run_group_tests_name("weightnorm", tests, clg_test_group_setup,
                                       clg_test_group_teardown);
}
