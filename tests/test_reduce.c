/* test_reduce.c: clg_channel_stats (per-channel sum, mean, biased variance)
 * against a plain C reference in double, on awkward shapes (single element,
 * odd sizes, HW = 1, channels larger than the work-group) with the input
 * and every output at non-zero offsets inside their buffers, in both kernel
 * layouts (strided for GPUs, contiguous for CPUs) and the device's default.
 *
 * Tolerances, as clg_test_rel_err (max abs error / max |ref|):
 *   sum, mean: 1e-5; var: 1e-5 on data uniform in [-1, 3] (float partials
 *   over up to 333k elements per channel, then a tree: errors stay ~1e-7).
 *   Stability: at mean 1e3, std 1e-2 the relative error of each channel's
 *   var must be <= 1e-3 (a naive E[x^2] - E[x]^2 in float loses it all). */
#include "testutil.h"
#include "reduce.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int n, c, h, w;
} shape4;

/* Reference in double: mean first, then the sum of squared deviations. */
static void ref_stats(const float *x, shape4 s, double *sum, double *mean, double *var) {
    const size_t hw = (size_t)s.h * s.w, m = (size_t)s.n * hw;
    for (int c = 0; c < s.c; c++) {
        double acc = 0.0;
        for (int n = 0; n < s.n; n++)
            for (size_t j = 0; j < hw; j++) acc += x[((size_t)n * s.c + c) * hw + j];
        const double mu = acc / (double)m;
        double sq = 0.0;
        for (int n = 0; n < s.n; n++)
            for (size_t j = 0; j < hw; j++) {
                double d = x[((size_t)n * s.c + c) * hw + j] - mu;
                sq += d * d;
            }
        sum[c] = acc;
        mean[c] = mu;
        var[c] = sq / (double)m;
    }
}

/* Runs clg_channel_stats on x (shape s) placed `pad` floats into its buffer,
 * with sum, mean, var as views into one buffer at offsets pad, pad + C + 3,
 * pad + 2C + 6. Returns the downloaded outputs in got_{sum,mean,var}. */
static void run_stats(clg_ctx *ctx, shape4 s, clg_reduce_layout layout, const float *x,
                      float *got_sum, float *got_mean, float *got_var) {
    const size_t pad = 3, numel = (size_t)s.n * s.c * s.h * s.w, c = (size_t)s.c;
    float *xb = malloc((numel + pad) * sizeof *xb);
    const size_t ob_n = pad + 3 * (c + 3);
    float *ob = malloc(ob_n * sizeof *ob), *og = malloc(ob_n * sizeof *og);
    assert_non_null(xb && ob && og);
    for (size_t i = 0; i < pad; i++) xb[i] = 1e30f; /* poison: must not be read */
    memcpy(xb + pad, x, numel * sizeof *x);
    for (size_t i = 0; i < ob_n; i++) ob[i] = -7.0f;
    clg_tensor tx = clg_test_tensor(ctx, 1, (int)(numel + pad), 1, 1, xb);
    clg_tensor to = clg_test_tensor(ctx, 1, (int)ob_n, 1, 1, ob);
    clg_tensor vx = clg_tensor_slice(&tx, pad, s.n, s.c, s.h, s.w);
    clg_tensor vsum = clg_tensor_slice(&to, pad, 1, s.c, 1, 1);
    clg_tensor vmean = clg_tensor_slice(&to, pad + c + 3, s.c, 1, 1, 1); /* any shape */
    clg_tensor vvar = clg_tensor_slice(&to, pad + 2 * (c + 3), 1, 1, 1, s.c);
    if (layout == CLG_REDUCE_AUTO)
        CLG_ASSERT_OK(clg_channel_stats(ctx, &vsum, &vmean, &vvar, &vx));
    else
        CLG_ASSERT_OK(clg_channel_stats_layout(ctx, &vsum, &vmean, &vvar, &vx, layout));
    CLG_ASSERT_OK(clg_tensor_download(ctx, &to, og));
    /* Everything outside the three outputs is untouched. */
    for (size_t i = 0; i < ob_n; i++) {
        size_t r = i < pad ? c + 1 : (i - pad) % (c + 3);
        if (r >= c) assert_true(og[i] == -7.0f);
    }
    memcpy(got_sum, og + pad, c * sizeof *og);
    memcpy(got_mean, og + pad + c + 3, c * sizeof *og);
    memcpy(got_var, og + pad + 2 * (c + 3), c * sizeof *og);
    clg_tensor_free(ctx, &tx);
    clg_tensor_free(ctx, &to);
    free(xb), free(ob), free(og);
}

static void check_shape(clg_ctx *ctx, shape4 s, uint64_t seed) {
    const size_t numel = (size_t)s.n * s.c * s.h * s.w, c = (size_t)s.c;
    float *x = malloc(numel * sizeof *x);
    float *gs = malloc(c * sizeof *gs), *gm = malloc(c * sizeof *gm), *gv = malloc(c * sizeof *gv);
    double *rs = malloc(c * sizeof *rs), *rm = malloc(c * sizeof *rm), *rv = malloc(c * sizeof *rv);
    assert_non_null(x && gs && gm && gv && rs && rm && rv);
    clg_test_fill_uniform(x, numel, seed, -1.0f, 3.0f);
    ref_stats(x, s, rs, rm, rv);
    for (int layout = CLG_REDUCE_AUTO; layout <= CLG_REDUCE_CONTIGUOUS; layout++) {
        run_stats(ctx, s, (clg_reduce_layout)layout, x, gs, gm, gv);
        CLG_ASSERT_CLOSE(gs, rs, c, 1e-5);
        CLG_ASSERT_CLOSE(gm, rm, c, 1e-5);
        CLG_ASSERT_CLOSE(gv, rv, c, 1e-5);
        if (numel == c)
            for (size_t i = 0; i < c; i++) assert_true(gv[i] == 0.0f); /* one element each */
    }
    free(x), free(gs), free(gm), free(gv), free(rs), free(rm), free(rv);
}

static void test_shapes(void **state) {
    static const shape4 full[] = {{1, 1, 1, 1},     {3, 17, 5, 7}, {64, 64, 8, 8},
                                  {1, 3, 577, 577}, {7, 1, 1, 1},  {300, 5, 1, 1}};
    static const shape4 small[] = {{1, 1, 1, 1},   {3, 17, 5, 7}, {4, 6, 8, 8},
                                   {1, 3, 37, 29}, {7, 1, 1, 1},  {300, 5, 1, 1}};
    const shape4 *s = clg_test_small() ? small : full;
    for (int i = 0; i < 6; i++) check_shape(*state, s[i], 11 + (uint64_t)i);
}

/* Mean 1e3, std 1e-2: a mean/std ratio of 1e5, where float sums of x lose
 * the variance entirely. The reference is computed from the stored floats. */
static void test_large_mean_small_std(void **state) {
    clg_ctx *ctx = *state;
    shape4 s = clg_test_small() ? (shape4){2, 3, 16, 16} : (shape4){4, 3, 256, 256};
    const size_t numel = (size_t)s.n * s.c * s.h * s.w, c = (size_t)s.c;
    float *x = malloc(numel * sizeof *x);
    float gs[3], gm[3], gv[3];
    double rs[3], rm[3], rv[3];
    assert_non_null(x);
    /* uniform in [-sqrt(3), sqrt(3)] has std 1 */
    clg_test_fill_uniform(x, numel, 99, -1.7320508f, 1.7320508f);
    for (size_t i = 0; i < numel; i++) x[i] = 1e3f + 1e-2f * x[i];
    /* Channel 1 starts with an outlier, so the kernel's shift (the first
     * element) is far from the mean there. */
    x[1 * (size_t)s.h * s.w] = 1e3f + 0.5f;
    ref_stats(x, s, rs, rm, rv);
    for (int layout = CLG_REDUCE_STRIDED; layout <= CLG_REDUCE_CONTIGUOUS; layout++) {
        run_stats(ctx, s, (clg_reduce_layout)layout, x, gs, gm, gv);
        for (size_t i = 0; i < c; i++) {
            double rel = fabs(gv[i] - rv[i]) / rv[i];
            if (!(rel <= 1e-3))
                fail_msg("layout %d, channel %zu: var %.9g, want %.9g (relative error %.3g > "
                         "1e-3)",
                         layout, i, (double)gv[i], rv[i], rel);
            /* the mean within one float ulp of 1e3 (6.1e-5: float cannot do better) */
            assert_true(fabs(gm[i] - rm[i]) <= 1e3 * FLT_EPSILON);
            assert_true(fabs(gs[i] - rs[i]) <= 1e-6 * fabs(rs[i]));
        }
    }
    free(x);
}

static void test_bad_shapes_rejected(void **state) {
    clg_ctx *ctx = *state;
    clg_tensor x = clg_test_tensor(ctx, 2, 5, 3, 3, NULL);
    clg_tensor ok = clg_test_tensor(ctx, 1, 5, 1, 1, NULL);
    clg_tensor bad = clg_test_tensor(ctx, 1, 4, 1, 1, NULL);
    assert_int_equal(clg_channel_stats(ctx, &ok, &ok, &bad, &x), CLG_ERR_INVALID_ARG);
    assert_non_null(strstr(clg_last_error(), "var has 4 elements"));
    assert_int_equal(clg_channel_stats(ctx, &bad, &ok, &ok, &x), CLG_ERR_INVALID_ARG);
    assert_non_null(strstr(clg_last_error(), "sum has 4 elements"));
    clg_tensor_free(ctx, &x);
    clg_tensor_free(ctx, &ok);
    clg_tensor_free(ctx, &bad);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shapes),
        cmocka_unit_test(test_large_mean_small_std),
        cmocka_unit_test(test_bad_shapes_rejected),
    };
    return cmocka_run_group_tests_name("reduce", tests, clg_test_group_setup,
                                       clg_test_group_teardown);
}
