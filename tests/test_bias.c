/* test_bias.c: kernels/bias.cl: per-channel bias add and its gradient
 * against C in double, on NCHW shapes with awkward sizes and at offsets.
 * Tolerance: 1e-6 (add: one rounding) and 1e-5 (sums of up to 1e5 terms). */
#include "testutil.h"
#include "bias.h"

#include <stdlib.h>
#include <string.h>

static void run_case(clg_ctx *ctx, int n, int c, int h, int w) {
    size_t m = (size_t)n * c * h * w;
    float *x = malloc((m + 3) * sizeof *x), *got = malloc(m * sizeof *got);
    float b[64], db[64 + 2], dbgot[64 + 2];
    double *ref = malloc(m * sizeof *ref), dref[64];
    clg_test_fill_uniform(x, m + 3, m, -1.0f, 1.0f);
    clg_test_fill_uniform(b, (size_t)c, 7, -1.0f, 1.0f);
    clg_test_fill_uniform(db, (size_t)c + 2, 8, -1.0f, 1.0f);
    for (size_t i = 0; i < m; i++) ref[i] = (double)x[3 + i] + b[(i / ((size_t)h * w)) % c];
    for (int k = 0; k < c; k++) dref[k] = db[2 + k];
    for (size_t i = 0; i < m; i++) dref[(i / ((size_t)h * w)) % c] += x[3 + i];
    clg_tensor tx = clg_test_tensor(ctx, 1, (int)m + 3, 1, 1, x);
    clg_tensor tb = clg_test_tensor(ctx, 1, c, 1, 1, b);
    clg_tensor tdb = clg_test_tensor(ctx, 1, c + 2, 1, 1, db);
    clg_tensor vx = clg_tensor_slice(&tx, 3, n, c, h, w);
    clg_tensor vdb = clg_tensor_slice(&tdb, 2, 1, c, 1, 1);
    /* Gradient first (reads x as dout), then the add in place. */
    CLG_ASSERT_OK(clg_bias_backward(ctx, &vdb, &vx));
    CLG_ASSERT_OK(clg_bias_forward(ctx, &vx, &tb));
    CLG_ASSERT_OK(clg_tensor_download(ctx, &vx, got));
    CLG_ASSERT_CLOSE(got, ref, m, 1e-6);
    CLG_ASSERT_OK(clg_tensor_download(ctx, &tdb, dbgot));
    assert_true(dbgot[0] == db[0] && dbgot[1] == db[1]);
    CLG_ASSERT_CLOSE(dbgot + 2, dref, (size_t)c, 1e-5);
    clg_tensor_free(ctx, &tx), clg_tensor_free(ctx, &tb), clg_tensor_free(ctx, &tdb);
    free(x), free(got), free(ref);
}

static void test_bias(void **state) {
    run_case(*state, 1, 1, 1, 1);
    run_case(*state, 3, 7, 5, 3);
    run_case(*state, 64, 10, 1, 1);
    run_case(*state, 2, 64, clg_test_small() ? 9 : 33, 33);
}

static void test_bias_shape_mismatch(void **state) {
    clg_ctx *ctx = *state;
    clg_tensor x = clg_test_tensor(ctx, 2, 3, 1, 1, NULL), b = clg_test_tensor(ctx, 1, 4, 1, 1, NULL);
    assert_int_equal(clg_bias_forward(ctx, &x, &b), CLG_ERR_INVALID_ARG);
    assert_non_null(strstr(clg_last_error(), "4 elements for 3 channels"));
    clg_tensor_free(ctx, &x), clg_tensor_free(ctx, &b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bias),
        cmocka_unit_test(test_bias_shape_mismatch),
    };
    return cmocka_run_group_tests_name("bias", tests, clg_test_group_setup,
                                       clg_test_group_teardown);
}
