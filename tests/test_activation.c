/* test_activation.c: identity, ReLU, leaky ReLU, tanh, sigmoid, softplus
 * forward and backward against plain C in double, on awkward sizes (1, 7, 1000003; 1031
 * under CLGAN_TEST_SMALL) placed at a non-zero offset inside a buffer.
 *
 * Tolerances, as max |got - ref| / max |ref| (clg_test_rel_err):
 *   forward and backward vs the double reference: 2e-6 (a few float ulps:
 *   OpenCL's exp and tanh are allowed 3 and 5 ulp);
 *   backward vs central finite differences of the device forward
 *   (h = 1e-3, inputs kept >= 0.05 away from the ReLU kink): 1e-3.
 * Extremes (|x| = 100 and 1e4) must give finite values of the right limit.
 * Softplus at x in {+-80, +-20, +-1, 0}: each value and gradient within 4e-6
 * of its OWN magnitude (not the tensor's), so softplus(-80) ~ 1.8e-35 and
 * its gradient must keep their digits (a few ulps of log1p, exp, expm1). */
#include "testutil.h"
#include "activation.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SLOPE 0.2f
#define PAD 5 /* guard floats before and after each tensor */

static const clg_act all_acts[] = {CLG_ACT_IDENTITY, CLG_ACT_RELU, CLG_ACT_LEAKY_RELU,
                                   CLG_ACT_TANH, CLG_ACT_SIGMOID, CLG_ACT_SOFTPLUS};
#define NACTS (sizeof all_acts / sizeof all_acts[0])

static double ref_f(clg_act a, double x) {
    switch (a) {
    case CLG_ACT_RELU: return x > 0 ? x : 0;
    case CLG_ACT_LEAKY_RELU: return x > 0 ? x : (double)SLOPE * x;
    case CLG_ACT_TANH: return tanh(x);
    case CLG_ACT_SIGMOID: return 1.0 / (1.0 + exp(-x));
    case CLG_ACT_SOFTPLUS: return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
    default: return x;
    }
}

/* f'(x) from x itself (not from the output), as an independent reference. */
static double ref_df(clg_act a, double x) {
    switch (a) {
    case CLG_ACT_RELU: return x > 0 ? 1 : 0;
    case CLG_ACT_LEAKY_RELU: return x > 0 ? 1 : (double)SLOPE;
    case CLG_ACT_TANH: return 1.0 - tanh(x) * tanh(x);
    case CLG_ACT_SIGMOID: {
        double s = 1.0 / (1.0 + exp(-x));
        return s * (1.0 - s);
    }
    case CLG_ACT_SOFTPLUS: return 1.0 / (1.0 + exp(-x));
    default: return 1;
    }
}

/* A device buffer of n + 2*PAD floats holding host[0..n+2*PAD); *view is the
 * n elements after the first PAD. */
static clg_tensor padded(clg_ctx *ctx, size_t n, const float *host, clg_tensor *view) {
    clg_tensor t = clg_test_tensor(ctx, 1, (int)(n + 2 * PAD), 1, 1, host);
    *view = clg_tensor_slice(&t, PAD, 1, (int)n, 1, 1);
    return t;
}

/* Downloads the whole padded buffer into got and checks the guards. */
static void download_checked(clg_ctx *ctx, const clg_tensor *t, float *got, const float *orig,
                             size_t n) {
    CLG_ASSERT_OK(clg_tensor_download(ctx, t, got));
    for (size_t i = 0; i < PAD; i++) {
        assert_true(got[i] == orig[i]);
        assert_true(got[PAD + n + i] == orig[PAD + n + i]);
    }
}

/* Forward then backward of one activation on n elements, vs double. */
static void run_act(clg_ctx *ctx, clg_act act, size_t n) {
    const size_t tot = n + 2 * PAD;
    float *x = malloc(tot * sizeof *x), *g = malloc(tot * sizeof *g);
    float *junk = malloc(tot * sizeof *junk), *y = malloc(tot * sizeof *y);
    float *dx = malloc(tot * sizeof *dx);
    double *ref = malloc(n * sizeof *ref);
    assert_non_null(x && g && junk && y && dx && ref);
    clg_test_fill_uniform(x, tot, 11 + n, -4.0f, 4.0f);
    clg_test_fill_uniform(g, tot, 12 + n, -2.0f, 2.0f);
    clg_test_fill_uniform(junk, tot, 13 + n, -9.0f, 9.0f);
    clg_tensor vx, vy, vg, vd;
    clg_tensor tx = padded(ctx, n, x, &vx), ty = padded(ctx, n, junk, &vy);
    clg_tensor tg = padded(ctx, n, g, &vg), td = padded(ctx, n, junk, &vd);

    CLG_ASSERT_OK(clg_act_forward(ctx, &vy, &vx, act, SLOPE));
    download_checked(ctx, &ty, y, junk, n);
    for (size_t i = 0; i < n; i++) ref[i] = ref_f(act, x[PAD + i]);
    CLG_ASSERT_CLOSE(y + PAD, ref, n, 2e-6);

    CLG_ASSERT_OK(clg_act_backward(ctx, &vd, &vg, &vy, act, SLOPE));
    download_checked(ctx, &td, dx, junk, n);
    for (size_t i = 0; i < n; i++) ref[i] = (double)g[PAD + i] * ref_df(act, x[PAD + i]);
    CLG_ASSERT_CLOSE(dx + PAD, ref, n, 2e-6);

    clg_tensor_free(ctx, &tx), clg_tensor_free(ctx, &ty);
    clg_tensor_free(ctx, &tg), clg_tensor_free(ctx, &td);
    free(x), free(g), free(junk), free(y), free(dx), free(ref);
}

static void test_forward_backward_vs_reference(void **state) {
    static const size_t full[] = {1, 7, 1000003}, small[] = {1, 7, 1031};
    const size_t *sizes = clg_test_small() ? small : full;
    for (size_t a = 0; a < NACTS; a++)
        for (size_t i = 0; i < 3; i++) run_act(*state, all_acts[a], sizes[i]);
}

/* din from the device backward vs (f(x + h) - f(x - h)) / 2h * dout, with
 * f the device forward: the Jacobian is diagonal, so one perturbation of
 * every element at once gives every partial derivative. */
static void test_backward_vs_finite_differences(void **state) {
    clg_ctx *ctx = *state;
    enum { N = 61 };
    const float h = 1e-3f;
    float x[N], xp[N], xm[N], g[N], y[N], yp[N], ym[N], dx[N];
    double fd[N];
    clg_test_fill_uniform(x, N, 21, -3.0f, 3.0f);
    clg_test_fill_uniform(g, N, 22, -2.0f, 2.0f);
    for (int i = 0; i < N; i++) {
        if (fabsf(x[i]) < 0.05f) x[i] = x[i] < 0 ? -0.05f : 0.05f; /* off the kink */
        xp[i] = x[i] + h;
        xm[i] = x[i] - h;
    }
    clg_tensor tx = clg_test_tensor(ctx, 1, N, 1, 1, x);
    clg_tensor ty = clg_test_tensor(ctx, 1, N, 1, 1, NULL);
    clg_tensor tg = clg_test_tensor(ctx, 1, N, 1, 1, g);
    clg_tensor td = clg_test_tensor(ctx, 1, N, 1, 1, NULL);
    for (size_t a = 0; a < NACTS; a++) {
        clg_act act = all_acts[a];
        CLG_ASSERT_OK(clg_tensor_upload(ctx, &tx, xp));
        CLG_ASSERT_OK(clg_act_forward(ctx, &ty, &tx, act, SLOPE));
        CLG_ASSERT_OK(clg_tensor_download(ctx, &ty, yp));
        CLG_ASSERT_OK(clg_tensor_upload(ctx, &tx, xm));
        CLG_ASSERT_OK(clg_act_forward(ctx, &ty, &tx, act, SLOPE));
        CLG_ASSERT_OK(clg_tensor_download(ctx, &ty, ym));
        CLG_ASSERT_OK(clg_tensor_upload(ctx, &tx, x));
        CLG_ASSERT_OK(clg_act_forward(ctx, &ty, &tx, act, SLOPE));
        CLG_ASSERT_OK(clg_tensor_download(ctx, &ty, y));
        CLG_ASSERT_OK(clg_act_backward(ctx, &td, &tg, &ty, act, SLOPE));
        CLG_ASSERT_OK(clg_tensor_download(ctx, &td, dx));
        for (int i = 0; i < N; i++)
            fd[i] = (double)g[i] * ((double)yp[i] - ym[i]) / ((double)xp[i] - xm[i]);
        CLG_ASSERT_CLOSE(dx, fd, N, 1e-3);
    }
    clg_tensor_free(ctx, &tx), clg_tensor_free(ctx, &ty);
    clg_tensor_free(ctx, &tg), clg_tensor_free(ctx, &td);
}

/* |x| = 100 and 1e4: every output and gradient finite and at its limit;
 * sigmoid(-100) ~ 0 (not NaN from inf/inf), sigmoid(100) = 1, tanh = +-1. */
static void test_extremes_finite(void **state) {
    clg_ctx *ctx = *state;
    enum { N = 6 };
    const float x[N] = {-100.0f, 100.0f, -1e4f, 1e4f, -88.5f, 88.5f};
    float y[N], dx[N], g[N] = {1, 1, 1, 1, 1, 1};
    clg_tensor tx = clg_test_tensor(ctx, 1, N, 1, 1, x);
    clg_tensor ty = clg_test_tensor(ctx, 1, N, 1, 1, NULL);
    clg_tensor tg = clg_test_tensor(ctx, 1, N, 1, 1, g);
    clg_tensor td = clg_test_tensor(ctx, 1, N, 1, 1, NULL);
    for (size_t a = 0; a < NACTS; a++) {
        clg_act act = all_acts[a];
        CLG_ASSERT_OK(clg_act_forward(ctx, &ty, &tx, act, SLOPE));
        CLG_ASSERT_OK(clg_act_backward(ctx, &td, &tg, &ty, act, SLOPE));
        CLG_ASSERT_OK(clg_tensor_download(ctx, &ty, y));
        CLG_ASSERT_OK(clg_tensor_download(ctx, &td, dx));
        for (int i = 0; i < N; i++) {
            if (!isfinite(y[i]) || !isfinite(dx[i]))
                fail_msg("%s(%g) = %g, gradient %g: not finite", clg_act_name(act), (double)x[i],
                         (double)y[i], (double)dx[i]);
            double want = ref_f(act, x[i]), dwant = ref_df(act, x[i]);
            if (fabs(y[i] - want) > 1e-6 * fmax(1.0, fabs(want)) || fabs(dx[i] - dwant) > 1e-6)
                fail_msg("%s(%g) = %g (want %g), gradient %g (want %g)", clg_act_name(act),
                         (double)x[i], (double)y[i], want, (double)dx[i], dwant);
        }
    }
    clg_tensor_free(ctx, &tx), clg_tensor_free(ctx, &ty);
    clg_tensor_free(ctx, &tg), clg_tensor_free(ctx, &td);
}

/* Softplus where a naive log(1 + exp(x)) fails: x = -80 and -20 (1 + exp(x)
 * rounds to 1 in float), 80 (exp overflows past 88), and 0 (log 2, 1/2). */
static void test_softplus_values(void **state) {
    clg_ctx *ctx = *state;
    enum { N = 7 };
    const float x[N] = {-80.0f, -20.0f, -1.0f, 0.0f, 1.0f, 20.0f, 80.0f};
    float y[N], dx[N], g[N] = {1, 1, 1, 1, 1, 1, 1};
    clg_tensor tx = clg_test_tensor(ctx, 1, N, 1, 1, x);
    clg_tensor ty = clg_test_tensor(ctx, 1, N, 1, 1, NULL);
    clg_tensor tg = clg_test_tensor(ctx, 1, N, 1, 1, g);
    clg_tensor td = clg_test_tensor(ctx, 1, N, 1, 1, NULL);
    CLG_ASSERT_OK(clg_act_forward(ctx, &ty, &tx, CLG_ACT_SOFTPLUS, 0.0f));
    CLG_ASSERT_OK(clg_act_backward(ctx, &td, &tg, &ty, CLG_ACT_SOFTPLUS, 0.0f));
    CLG_ASSERT_OK(clg_tensor_download(ctx, &ty, y));
    CLG_ASSERT_OK(clg_tensor_download(ctx, &td, dx));
    for (int i = 0; i < N; i++) {
        double want = ref_f(CLG_ACT_SOFTPLUS, x[i]), dwant = ref_df(CLG_ACT_SOFTPLUS, x[i]);
        if (!(fabs(y[i] - want) <= 4e-6 * want) || !(fabs(dx[i] - dwant) <= 4e-6 * dwant))
            fail_msg("softplus(%g) = %.9g (want %.9g), gradient %.9g (want %.9g)", (double)x[i],
                     (double)y[i], want, (double)dx[i], dwant);
    }
    assert_true(y[3] == (float)log(2.0) && dx[3] == 0.5f);
    clg_tensor_free(ctx, &tx), clg_tensor_free(ctx, &ty);
    clg_tensor_free(ctx, &tg), clg_tensor_free(ctx, &td);
}

/* out == in: each activation applied in place, then its backward with
 * din == dout, both vs the reference. */
static void test_in_place(void **state) {
    clg_ctx *ctx = *state;
    enum { N = 1001 };
    static float x[N], g[N], got[N];
    static double ref[N];
    clg_tensor t = clg_test_tensor(ctx, 1, N, 1, 1, NULL);
    clg_tensor tg = clg_test_tensor(ctx, 1, N, 1, 1, NULL);
    for (size_t a = 0; a < NACTS; a++) {
        clg_act act = all_acts[a];
        clg_test_fill_uniform(x, N, 31 + a, -4.0f, 4.0f);
        clg_test_fill_uniform(g, N, 41 + a, -2.0f, 2.0f);
        CLG_ASSERT_OK(clg_tensor_upload(ctx, &t, x));
        CLG_ASSERT_OK(clg_tensor_upload(ctx, &tg, g));
        CLG_ASSERT_OK(clg_act_forward(ctx, &t, &t, act, SLOPE));
        CLG_ASSERT_OK(clg_tensor_download(ctx, &t, got));
        for (int i = 0; i < N; i++) ref[i] = ref_f(act, x[i]);
        CLG_ASSERT_CLOSE(got, ref, N, 2e-6);
        CLG_ASSERT_OK(clg_act_backward(ctx, &tg, &tg, &t, act, SLOPE));
        CLG_ASSERT_OK(clg_tensor_download(ctx, &tg, got));
        for (int i = 0; i < N; i++) ref[i] = (double)g[i] * ref_df(act, x[i]);
        CLG_ASSERT_CLOSE(got, ref, N, 2e-6);
    }
    clg_tensor_free(ctx, &t), clg_tensor_free(ctx, &tg);
}

static void test_bad_args_rejected(void **state) {
    clg_ctx *ctx = *state;
    clg_tensor a = clg_test_tensor(ctx, 1, 10, 1, 1, NULL);
    clg_tensor b = clg_test_tensor(ctx, 1, 10, 1, 1, NULL);
    clg_tensor c = clg_test_tensor(ctx, 1, 11, 1, 1, NULL);
    const float bad[] = {0.0f, -0.1f, NAN};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(clg_act_forward(ctx, &a, &b, CLG_ACT_LEAKY_RELU, bad[i]),
                         CLG_ERR_INVALID_ARG);
        assert_non_null(strstr(clg_last_error(), "slope must be > 0"));
        assert_int_equal(clg_act_backward(ctx, &a, &b, &b, CLG_ACT_LEAKY_RELU, bad[i]),
                         CLG_ERR_INVALID_ARG);
        assert_non_null(strstr(clg_last_error(), "slope must be > 0"));
    }
    /* slope is ignored by the other activations */
    CLG_ASSERT_OK(clg_act_forward(ctx, &a, &b, CLG_ACT_RELU, 0.0f));
    assert_int_equal(clg_act_forward(ctx, &a, &b, (clg_act)99, SLOPE), CLG_ERR_INVALID_ARG);
    assert_non_null(strstr(clg_last_error(), "unknown activation"));
    assert_int_equal(clg_act_forward(ctx, &a, &c, CLG_ACT_TANH, SLOPE), CLG_ERR_INVALID_ARG);
    assert_non_null(strstr(clg_last_error(), "element counts differ"));
    assert_int_equal(clg_act_backward(ctx, &a, &b, &c, CLG_ACT_TANH, SLOPE),
                     CLG_ERR_INVALID_ARG);
    assert_non_null(strstr(clg_last_error(), "element counts differ"));
    CLG_ASSERT_OK(clg_ctx_finish(ctx));
    assert_string_equal(clg_act_name(CLG_ACT_LEAKY_RELU), "leaky_relu");
    assert_string_equal(clg_act_name(CLG_ACT_SOFTPLUS), "softplus");
    assert_string_equal(clg_act_name((clg_act)99), "unknown");
    clg_tensor_free(ctx, &a), clg_tensor_free(ctx, &b), clg_tensor_free(ctx, &c);
}

/* A view past element 2^32 - 1 is rejected before any launch (see
 * test_elementwise's test_offsets_past_32_bits_rejected). */
static void test_offsets_past_32_bits_rejected(void **state) {
    clg_ctx *ctx = *state;
    clg_tensor a = clg_test_tensor(ctx, 1, 10, 1, 1, NULL);
    clg_tensor far = clg_tensor_view(a.buf, (((size_t)1 << 32) - 4) * sizeof(float), 1, 10, 1, 1);
    ctx->profile = 1;
    const int launched = ctx->prof_n;
    assert_int_equal(clg_act_forward(ctx, &a, &far, CLG_ACT_TANH, SLOPE), CLG_ERR_INVALID_ARG);
    assert_non_null(strstr(clg_last_error(), "kernel act_fwd_tanh"));
    assert_non_null(strstr(clg_last_error(), "32-bit indexing"));
    assert_int_equal(clg_act_backward(ctx, &a, &a, &far, CLG_ACT_RELU, SLOPE),
                     CLG_ERR_INVALID_ARG);
    assert_non_null(strstr(clg_last_error(), "kernel act_bwd_relu"));
    assert_int_equal(ctx->prof_n, launched);
    ctx->profile = 0;
    CLG_ASSERT_OK(clg_profile_collect(ctx));
    clg_tensor_free(ctx, &a);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forward_backward_vs_reference),
        cmocka_unit_test(test_backward_vs_finite_differences),
        cmocka_unit_test(test_extremes_finite),
        cmocka_unit_test(test_softplus_values),
        cmocka_unit_test(test_in_place),
        cmocka_unit_test(test_bad_args_rejected),
        cmocka_unit_test(test_offsets_past_32_bits_rejected),
    };
    return cmocka_run_group_tests_name("activation", tests, clg_test_group_setup,
                                       clg_test_group_teardown);
}
