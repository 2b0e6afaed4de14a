/* test_optim.c: Adam and SGD with momentum against a double C reference of
 * PyTorch's update rules, over several steps (so the bias corrections and
 * moments are exercised), sizes 1, 7, 1000003, with weight decay.
 * Tolerance: 1e-5 of the parameters' scale after 5 steps. */
#include "testutil.h"
#include "optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { STEPS = 5 };

static void run_adam(clg_ctx *ctx, size_t n, float wd) {
    float *p = malloc(n * sizeof *p), *g = malloc(n * sizeof *g), *got = malloc(n * sizeof *got);
    double *rp = malloc(n * sizeof *rp), *rm = calloc(n, sizeof *rm), *rv = calloc(n, sizeof *rv);
    assert_non_null(p && g && got && rp && rm && rv);
    clg_test_fill_uniform(p, n, 21, -1.0f, 1.0f);
    for (size_t i = 0; i < n; i++) rp[i] = p[i];
    clg_tensor tp = clg_test_tensor(ctx, 1, (int)n, 1, 1, p);
    clg_tensor tg = clg_test_tensor(ctx, 1, (int)n, 1, 1, NULL);
    clg_tensor tm = clg_test_tensor(ctx, 1, (int)n, 1, 1, NULL);
    clg_tensor tv = clg_test_tensor(ctx, 1, (int)n, 1, 1, NULL);
    CLG_ASSERT_OK(clg_tensor_zero(ctx, &tm));
    CLG_ASSERT_OK(clg_tensor_zero(ctx, &tv));
    clg_adam opt = clg_adam_default();
    opt.weight_decay = wd;
    for (int s = 1; s <= STEPS; s++) {
        clg_test_fill_uniform(g, n, 100 + (uint64_t)s, -0.5f, 0.5f);
        CLG_ASSERT_OK(clg_tensor_upload(ctx, &tg, g));
        CLG_ASSERT_OK(clg_adam_step(ctx, &opt, &tp, &tg, &tm, &tv));
        double b1 = opt.beta1, b2 = opt.beta2;
        double bc1 = 1.0 - pow(b1, s), bc2 = 1.0 - pow(b2, s);
        for (size_t i = 0; i < n; i++) {
            double gi = g[i] + (double)wd * rp[i];
            rm[i] = b1 * rm[i] + (1 - b1) * gi;
            rv[i] = b2 * rv[i] + (1 - b2) * gi * gi;
            rp[i] -= (double)opt.lr / bc1 * rm[i] / (sqrt(rv[i]) / sqrt(bc2) + (double)opt.eps);
        }
    }
    assert_int_equal(opt.step, STEPS);
    CLG_ASSERT_OK(clg_tensor_download(ctx, &tp, got));
    CLG_ASSERT_CLOSE(got, rp, n, 1e-5);
    /* The reference moved the parameters well past the tolerance, so a kernel
     * that did nothing would fail the comparison above. */
    double moved = 0;
    for (size_t i = 0; i < n; i++) moved = fmax(moved, fabs(rp[i] - p[i]));
    assert_true(moved > 1e-4);
    clg_tensor_free(ctx, &tp), clg_tensor_free(ctx, &tg);
    clg_tensor_free(ctx, &tm), clg_tensor_free(ctx, &tv);
    free(p), free(g), free(got), free(rp), free(rm), free(rv);
}

static size_t big(void) { return clg_test_small() ? 1031 : 1000003; }

static void test_adam(void **state) {
    run_adam(*state, 1, 0.0f);
    run_adam(*state, 7, 0.01f);
    run_adam(*state, big(), 0.0f);
}

static void test_sgd(void **state) {
    clg_ctx *ctx = *state;
    size_t sizes[3] = {1, 7, big()};
    for (int c = 0; c < 3; c++) {
        size_t n = sizes[c];
        float *p = malloc(n * sizeof *p), *g = malloc(n * sizeof *g), *got = malloc(n * sizeof *got);
        double *rp = malloc(n * sizeof *rp), *rb = calloc(n, sizeof *rb);
        clg_test_fill_uniform(p, n, 5, -1.0f, 1.0f);
        for (size_t i = 0; i < n; i++) rp[i] = p[i];
        clg_tensor tp = clg_test_tensor(ctx, 1, (int)n, 1, 1, p);
        clg_tensor tg = clg_test_tensor(ctx, 1, (int)n, 1, 1, NULL);
        clg_tensor tb = clg_test_tensor(ctx, 1, (int)n, 1, 1, NULL);
        CLG_ASSERT_OK(clg_tensor_zero(ctx, &tb));
        const float lr = 0.1f, mu = 0.9f, wd = 5e-4f;
        for (int s = 0; s < STEPS; s++) {
            clg_test_fill_uniform(g, n, 50 + (uint64_t)s, -1.0f, 1.0f);
            CLG_ASSERT_OK(clg_tensor_upload(ctx, &tg, g));
            CLG_ASSERT_OK(clg_sgd_step(ctx, &tp, &tg, &tb, lr, mu, wd));
            for (size_t i = 0; i < n; i++) {
                double gi = g[i] + (double)wd * rp[i];
                rb[i] = (double)mu * rb[i] + gi;
                rp[i] -= (double)lr * rb[i];
            }
        }
        CLG_ASSERT_OK(clg_tensor_download(ctx, &tp, got));
        CLG_ASSERT_CLOSE(got, rp, n, 1e-5);
        clg_tensor_free(ctx, &tp), clg_tensor_free(ctx, &tg), clg_tensor_free(ctx, &tb);
        free(p), free(g), free(got), free(rp), free(rb);
    }
}

static void test_bad_arguments(void **state) {
    clg_ctx *ctx = *state;
    clg_tensor a = clg_test_tensor(ctx, 1, 8, 1, 1, NULL), b = clg_test_tensor(ctx, 1, 9, 1, 1, NULL);
    clg_tensor s = clg_tensor_slice(&a, 1, 1, 7, 1, 1), t = clg_tensor_slice(&b, 2, 1, 7, 1, 1);
    clg_adam opt = clg_adam_default();
    assert_int_equal(clg_adam_step(ctx, &opt, &a, &b, &a, &a), CLG_ERR_INVALID_ARG);
    assert_int_equal(clg_adam_step(ctx, &opt, &s, &t, &s, &s), CLG_ERR_INVALID_ARG);
    assert_non_null(strstr(clg_last_error(), "same offset"));
    opt.lr = -1.0f;
    assert_int_equal(clg_adam_step(ctx, &opt, &a, &a, &a, &a), CLG_ERR_INVALID_ARG);
    assert_int_equal(opt.step, 0);
    clg_tensor_free(ctx, &a), clg_tensor_free(ctx, &b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_adam),
        cmocka_unit_test(test_sgd),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests_name("optim", tests, clg_test_group_setup,
                                       clg_test_group_teardown);
}
