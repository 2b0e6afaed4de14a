/* test_softmax.c: row-wise softmax and log-softmax against plain C in double
 * on awkward (rows, cols): (1,1), (3,7), (64,10), (129,11), (4, 3*5*7) and
 * one long row pair (2,100003) (2,1031 under CLGAN_TEST_SMALL), each placed
 * at a non-zero offset inside a buffer whose guard floats must survive.
 *
 * Tolerances, as max |got - ref| / max |ref| (clg_test_rel_err): 1e-5 for
 * softmax and log-softmax (exp's argument x - m carries one float rounding,
 * the row sum a float accumulation). Every row of softmax sums to 1 within
 * 1e-5 (absolute). log(softmax) matches log_softmax within 1e-5 absolute. */
#include "testutil.h"
#include "elementwise.h"
#include "softmax.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PAD 3 /* guard floats before and after each tensor */

/* ref[r, j] = softmax or log-softmax of x's row r, in double. */
static void ref_softmax(const float *x, double *ref, size_t rows, size_t cols, int log_mode) {
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols;
        double m = -INFINITY, s = 0.0;
        for (size_t j = 0; j < cols; j++) m = fmax(m, xr[j]);
        for (size_t j = 0; j < cols; j++) s += exp(xr[j] - m);
        for (size_t j = 0; j < cols; j++)
            ref[r * cols + j] = log_mode ? (xr[j] - m) - log(s) : exp(xr[j] - m) / s;
    }
}

/* Runs softmax (log_mode 0) or log-softmax (1) on x (rows x cols, shaped
 * n = rows, c * h * w = cols) into got, checking the guards. */
static void run_device(clg_ctx *ctx, const float *x, float *got, int rows, int c, int h, int w,
                       int log_mode) {
    const size_t n = (size_t)rows * c * h * w, tot = n + 2 * PAD;
    float *buf = malloc(tot * sizeof *buf), *junk = malloc(tot * sizeof *junk);
    assert_non_null(buf && junk);
    clg_test_fill_uniform(junk, tot, 99, -9.0f, 9.0f);
    memcpy(buf, junk, tot * sizeof *buf);
    memcpy(buf + PAD, x, n * sizeof *x);
    clg_tensor tin = clg_test_tensor(ctx, 1, (int)tot, 1, 1, buf);
    clg_tensor tout = clg_test_tensor(ctx, 1, (int)tot, 1, 1, junk);
    clg_tensor vin = clg_tensor_slice(&tin, PAD, rows, c, h, w);
    clg_tensor vout = clg_tensor_slice(&tout, PAD, rows, c, h, w);
    CLG_ASSERT_OK(log_mode ? clg_log_softmax_forward(ctx, &vout, &vin)
                           : clg_softmax_forward(ctx, &vout, &vin));
    CLG_ASSERT_OK(clg_tensor_download(ctx, &tout, buf));
    for (size_t i = 0; i < PAD; i++) {
        assert_true(buf[i] == junk[i]);
        assert_true(buf[PAD + n + i] == junk[PAD + n + i]);
    }
    memcpy(got, buf + PAD, n * sizeof *got);
    clg_tensor_free(ctx, &tin);
    clg_tensor_free(ctx, &tout);
    free(buf), free(junk);
}

/* Both functions on one shape and input, vs the reference; row sums; and
 * log(softmax) vs log_softmax. */
static void check_shape(clg_ctx *ctx, const float *x, int rows, int c, int h, int w) {
    const size_t cols = (size_t)c * h * w, n = rows * cols;
    float *p = malloc(n * sizeof *p), *lp = malloc(n * sizeof *lp);
    double *ref = malloc(n * sizeof *ref);
    assert_non_null(p && lp && ref);

    run_device(ctx, x, p, rows, c, h, w, 0);
    ref_softmax(x, ref, rows, cols, 0);
    CLG_ASSERT_CLOSE(p, ref, n, 1e-5);
    for (int r = 0; r < rows; r++) {
        double s = 0.0;
        for (size_t j = 0; j < cols; j++) s += p[r * cols + j];
        if (!(fabs(s - 1.0) <= 1e-5))
            fail_msg("(%d, %zu): row %d sums to %.9g", rows, cols, r, s);
    }

    run_device(ctx, x, lp, rows, c, h, w, 1);
    ref_softmax(x, ref, rows, cols, 1);
    CLG_ASSERT_CLOSE(lp, ref, n, 1e-5);

    /* log(softmax) where softmax is not tiny (its relative error is the
     * absolute error of its log) against log_softmax from the device. */
    for (size_t i = 0; i < n; i++) {
        if (p[i] > 1e-6f) {
            double d = fabs(log((double)p[i]) - lp[i]);
            if (!(d <= 1e-5))
                fail_msg("(%d, %zu) at %zu: log(softmax) %.9g vs log_softmax %.9g", rows, cols,
                         i, log((double)p[i]), (double)lp[i]);
        }
    }
    free(p), free(lp), free(ref);
}

static void check_uniform(clg_ctx *ctx, int rows, int c, int h, int w, float lo, float hi) {
    const size_t n = (size_t)rows * c * h * w;
    float *x = malloc(n * sizeof *x);
    assert_non_null(x);
    clg_test_fill_uniform(x, n, 7 + n, lo, hi);
    check_shape(ctx, x, rows, c, h, w);
    free(x);
}

static void test_shapes(void **state) {
    clg_ctx *ctx = *state;
    check_uniform(ctx, 1, 1, 1, 1, -5.0f, 5.0f);
    check_uniform(ctx, 3, 7, 1, 1, -5.0f, 5.0f);
    check_uniform(ctx, 64, 10, 1, 1, -5.0f, 5.0f);
    check_uniform(ctx, 129, 1, 1, 11, -5.0f, 5.0f);
    check_uniform(ctx, 4, 3, 5, 7, -5.0f, 5.0f);
    check_uniform(ctx, 2, clg_test_small() ? 1031 : 100003, 1, 1, -5.0f, 5.0f);
}

/* Offsets of +-1e4 (exp would overflow without the max) and a row mixing
 * 1e4, -1e4 and 0: finite, and as exact as the reference. */
static void test_large_inputs(void **state) {
    clg_ctx *ctx = *state;
    check_uniform(ctx, 5, 37, 1, 1, 1e4f - 5.0f, 1e4f + 5.0f);
    check_uniform(ctx, 5, 300, 1, 1, -1e4f - 5.0f, -1e4f + 5.0f);
    enum { C = 9 };
    const float x[2 * C] = {1e4f, -1e4f, 0.0f, 1e4f, 9999.0f, -1e30f, 1e30f, 1.0f, 2.0f,
                            -1e4f, -1e4f, -1e4f, -1e4f, -1e4f, -1e4f, -1e4f, -1e4f, -1e4f};
    float p[2 * C], lp[2 * C];
    run_device(ctx, x, p, 2, C, 1, 1, 0);
    run_device(ctx, x, lp, 2, C, 1, 1, 1);
    for (int i = 0; i < 2 * C; i++)
        if (!isfinite(p[i]) || !isfinite(lp[i]))
            fail_msg("element %d (x = %g): softmax %g, log_softmax %g", i, (double)x[i],
                     (double)p[i], (double)lp[i]);
    /* row 0: all mass on the 1e30 entry; row 1: uniform */
    assert_true(p[6] == 1.0f && lp[6] == 0.0f);
    for (int j = 0; j < C; j++) {
        if (j != 6) assert_true(p[j] == 0.0f);
        assert_true(fabs(p[C + j] - 1.0 / C) <= 1e-7);
        assert_true(fabs(lp[C + j] + log((double)C)) <= 1e-6);
    }
}

/* out == in for both functions. */
static void test_in_place(void **state) {
    clg_ctx *ctx = *state;
    enum { R = 6, C = 300 };
    static float x[R * C], got[R * C];
    static double ref[R * C];
    clg_test_fill_uniform(x, R * C, 5, -6.0f, 6.0f);
    clg_tensor t = clg_test_tensor(ctx, R, C, 1, 1, NULL);
    for (int log_mode = 0; log_mode < 2; log_mode++) {
        CLG_ASSERT_OK(clg_tensor_upload(ctx, &t, x));
        CLG_ASSERT_OK(log_mode ? clg_log_softmax_forward(ctx, &t, &t)
                               : clg_softmax_forward(ctx, &t, &t));
        CLG_ASSERT_OK(clg_tensor_download(ctx, &t, got));
        ref_softmax(x, ref, R, C, log_mode);
        CLG_ASSERT_CLOSE(got, ref, R * C, 1e-5);
    }
    clg_tensor_free(ctx, &t);
}

static void test_bad_shapes_rejected(void **state) {
    clg_ctx *ctx = *state;
    clg_tensor a = clg_test_tensor(ctx, 4, 6, 1, 1, NULL);
    CLG_ASSERT_OK(clg_fill(ctx, &a, 0.5f)); /* the valid call below reads it */
    clg_tensor b = clg_tensor_view(a.buf, 0, 6, 4, 1, 1); /* same numel, other rows */
    clg_tensor c = clg_tensor_view(a.buf, 0, 4, 5, 1, 1); /* same rows, other numel */
    assert_int_equal(clg_softmax_forward(ctx, &b, &a), CLG_ERR_INVALID_ARG);
    assert_non_null(strstr(clg_last_error(), "differ in rows or element count"));
    assert_int_equal(clg_log_softmax_forward(ctx, &c, &a), CLG_ERR_INVALID_ARG);
    assert_non_null(strstr(clg_last_error(), "log_softmax_forward"));
    clg_tensor d = clg_tensor_view(a.buf, 0, 4, 3, 2, 1); /* same rows and numel: fine */
    CLG_ASSERT_OK(clg_softmax_forward(ctx, &d, &a));
    CLG_ASSERT_OK(clg_ctx_finish(ctx));
    clg_tensor_free(ctx, &a);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shapes),
        cmocka_unit_test(test_large_inputs),
        cmocka_unit_test(test_in_place),
        cmocka_unit_test(test_bad_shapes_rejected),
    };
    return cmocka_run_group_tests_name("softmax", tests, clg_test_group_setup,
                                       clg_test_group_teardown);
}
