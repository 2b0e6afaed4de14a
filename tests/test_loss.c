/* test_loss.c: BCE with logits and softmax cross-entropy against double C
 * references (mean loss, mean sigmoid, accuracy) and their gradients against
 * the analytic form and central finite differences of the device forward.
 * The K+1 discriminator's loss (logsumexp, then BCE) likewise, with logits
 * of +-80. Batch sizes 1, 7, 64 and 300 (more rows than the reducing work-group).
 * Tolerances: 1e-5 relative for values; 2e-3 for finite differences. */
#include "testutil.h"
#include "loss.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static double ref_bce(const float *x, int n, double t, double *mean_sig) {
    double l = 0, p = 0;
    for (int i = 0; i < n; i++) {
        double xi = x[i];
        l += fmax(xi, 0) - xi * t + log1p(exp(-fabs(xi)));
        p += 1.0 / (1.0 + exp(-xi));
    }
    *mean_sig = p / n;
    return l / n;
}

static void bce_case(clg_ctx *ctx, int n, float target, float scale) {
    float *x = malloc((size_t)n * sizeof *x), *dx = malloc((size_t)n * sizeof *dx);
    double *rdx = malloc((size_t)n * sizeof *rdx);
    clg_test_fill_uniform(x, (size_t)n, (uint64_t)n, -scale, scale);
    if (n > 2) x[0] = 100.0f, x[1] = -100.0f; /* extremes stay finite */
    clg_tensor tx = clg_test_tensor(ctx, n, 1, 1, 1, x);
    clg_tensor tdx = clg_test_tensor(ctx, n, 1, 1, 1, NULL);
    clg_tensor st = clg_test_tensor(ctx, 1, 2, 1, 1, NULL);
    CLG_ASSERT_OK(clg_bce_logits_forward(ctx, &st, &tx, target));
    float got[2];
    CLG_ASSERT_OK(clg_tensor_download(ctx, &st, got));
    double want[2];
    want[0] = ref_bce(x, n, target, &want[1]);
    CLG_ASSERT_CLOSE(got, want, 2, 1e-5);
    CLG_ASSERT_OK(clg_bce_logits_backward(ctx, &tdx, &tx, target));
    CLG_ASSERT_OK(clg_tensor_download(ctx, &tdx, dx));
    for (int i = 0; i < n; i++) rdx[i] = (1.0 / (1.0 + exp(-(double)x[i])) - target) / n;
    CLG_ASSERT_CLOSE(dx, rdx, (size_t)n, 1e-5);
    /* Finite differences of the device forward for a few elements. The step
     * is large because the forward is a float mean: at n = 300 a nudge of
     * 1e-2 moves the loss by ~4e-6, near its rounding error (~1e-7), which
     * then shows as ~2e-3 in the gradient (it did, with SSE2 code from
     * PoCL). At 1e-1 rounding costs ~2e-4, and the central difference's
     * truncation error, h^2 / 6 times softplus's third derivative (< 0.1),
     * ~2e-4: well within 2e-3. */
    for (int i = (n > 2 ? 2 : 0); i < n && i < 6; i++) {
        const float h = 1e-1f;
        float xs = x[i], lp[2], lm[2];
        x[i] = xs + h;
        CLG_ASSERT_OK(clg_tensor_upload(ctx, &tx, x));
        CLG_ASSERT_OK(clg_bce_logits_forward(ctx, &st, &tx, target));
        CLG_ASSERT_OK(clg_tensor_download(ctx, &st, lp));
        x[i] = xs - h;
        CLG_ASSERT_OK(clg_tensor_upload(ctx, &tx, x));
        CLG_ASSERT_OK(clg_bce_logits_forward(ctx, &st, &tx, target));
        CLG_ASSERT_OK(clg_tensor_download(ctx, &st, lm));
        x[i] = xs;
        double fd = ((double)lp[0] - lm[0]) / (2.0 * h) * n; /* per-element scale */
        if (fabs(fd - rdx[i] * n) > 2e-3) fail_msg("bce fd[%d] %g vs %g", i, fd, rdx[i] * n);
    }
    clg_tensor_free(ctx, &tx), clg_tensor_free(ctx, &tdx), clg_tensor_free(ctx, &st);
    free(x), free(dx), free(rdx);
}

static void test_bce(void **state) {
    int ns[4] = {1, 7, 64, 300};
    for (int i = 0; i < 4; i++) {
        bce_case(*state, ns[i], 1.0f, 4.0f);
        bce_case(*state, ns[i], 0.0f, 4.0f);
        bce_case(*state, ns[i], 0.9f, 4.0f);
    }
}

/* huge: put a 1e4 logit in row 1 (finiteness); finite differences are then
 * skipped, as the loss is too large for float to see a 1e-2 nudge. */
static void xent_case(clg_ctx *ctx, int n, int k, int huge) {
    size_t m = (size_t)n * k;
    float *x = malloc(m * sizeof *x), *dx = malloc(m * sizeof *dx);
    double *rdx = malloc(m * sizeof *rdx);
    int *y = malloc((size_t)n * sizeof *y);
    clg_test_fill_uniform(x, m, m, -3.0f, 3.0f);
    for (int i = 0; i < n; i++) y[i] = (i * 7 + 3) % k;
    if (huge) x[k] = 1e4f;
    double loss = 0, hits = 0;
    for (int i = 0; i < n; i++) {
        const float *r = x + (size_t)i * k;
        double mx = r[0];
        int arg = 0;
        for (int j = 1; j < k; j++) {
            mx = fmax(mx, r[j]);
            if (r[j] > r[arg]) arg = j;
        }
        double s = 0;
        for (int j = 0; j < k; j++) s += exp(r[j] - mx);
        double lse = mx + log(s);
        loss += lse - r[y[i]];
        hits += arg == y[i];
        for (int j = 0; j < k; j++)
            rdx[(size_t)i * k + j] = (exp(r[j] - lse) - (j == y[i])) / n;
    }
    clg_itensor labels_t;
    CLG_ASSERT_OK(clg_itensor_create(ctx, &labels_t, n, "labels"));
    CLG_ASSERT_OK(clg_itensor_upload_labels(ctx, &labels_t, y, k));
    const clg_itensor *labels = &labels_t;
    clg_tensor tx = clg_test_tensor(ctx, n, k, 1, 1, x);
    clg_tensor tdx = clg_test_tensor(ctx, n, k, 1, 1, NULL);
    clg_tensor st = clg_test_tensor(ctx, 1, 2, 1, 1, NULL);
    CLG_ASSERT_OK(clg_xent_forward(ctx, &st, &tx, labels));
    float got[2];
    CLG_ASSERT_OK(clg_tensor_download(ctx, &st, got));
    double want[2] = {loss / n, hits / n};
    CLG_ASSERT_CLOSE(got, want, 2, 1e-5);
    CLG_ASSERT_OK(clg_xent_backward(ctx, &tdx, &tx, labels));
    CLG_ASSERT_OK(clg_tensor_download(ctx, &tdx, dx));
    CLG_ASSERT_CLOSE(dx, rdx, m, 1e-5);
    for (size_t i = 0; !huge && i < m && i < 5; i++) {
        const float h = 1e-2f;
        float xs = x[i], lp[2], lm[2];
        x[i] = xs + h;
        CLG_ASSERT_OK(clg_tensor_upload(ctx, &tx, x));
        CLG_ASSERT_OK(clg_xent_forward(ctx, &st, &tx, labels));
        CLG_ASSERT_OK(clg_tensor_download(ctx, &st, lp));
        x[i] = xs - h;
        CLG_ASSERT_OK(clg_tensor_upload(ctx, &tx, x));
        CLG_ASSERT_OK(clg_xent_forward(ctx, &st, &tx, labels));
        CLG_ASSERT_OK(clg_tensor_download(ctx, &st, lm));
        x[i] = xs;
        double fd = ((double)lp[0] - lm[0]) / (2.0 * h) * n;
        if (fabs(fd - rdx[i] * n) > 2e-3)
            fail_msg("xent fd[%zu] %g vs %g (%.9g %.9g)", i, fd, rdx[i] * n, lp[0], lm[0]);
    }
    clg_itensor_free(ctx, &labels_t);
    clg_tensor_free(ctx, &tx), clg_tensor_free(ctx, &tdx), clg_tensor_free(ctx, &st);
    free(x), free(dx), free(rdx), free(y);
}

static void test_xent(void **state) {
    xent_case(*state, 1, 1, 0);
    xent_case(*state, 1, 10, 0);
    xent_case(*state, 7, 11, 0);
    xent_case(*state, 7, 11, 1);
    xent_case(*state, 64, 10, 0);
    xent_case(*state, 300, 3, 0);
}

/* The K+1 loss in double: mean softplus(lse) - t lse, mean sigmoid(lse),
 * and scale x its gradient. */
static double ref_lse_bce(const float *x, int n, int k, double t, double scale, double *mean_d,
                          double *dx) {
    double l = 0, p = 0;
    for (int i = 0; i < n; i++) {
        const float *r = x + (size_t)i * k;
        double mx = r[0], s = 0;
        for (int j = 1; j < k; j++) mx = fmax(mx, r[j]);
        for (int j = 0; j < k; j++) s += exp(r[j] - mx);
        const double lse = mx + log(s), d = 1.0 / (1.0 + exp(-lse));
        l += fmax(lse, 0) + log1p(exp(-fabs(lse))) - t * lse;
        p += d;
        for (int j = 0; j < k; j++) dx[(size_t)i * k + j] = scale * (d - t) * exp(r[j] - lse) / n;
    }
    *mean_d = p / n;
    return l / n;
}

/* Rows 0 and 1 hold logits of +80 and -80 (exp(80) overflows float when
 * summed naively; sigmoid(-80) underflows): the results stay finite and
 * match the double reference. */
static void lse_bce_case(clg_ctx *ctx, int n, int k, float target, float scale) {
    size_t m = (size_t)n * k;
    float *x = malloc(m * sizeof *x), *dx = malloc(m * sizeof *dx);
    double *rdx = malloc(m * sizeof *rdx), want[2];
    clg_test_fill_uniform(x, m, m + 17, -4.0f, 4.0f);
    if (n > 2)
        for (int j = 0; j < k; j++) x[j] = 80.0f - (float)j, x[k + j] = -80.0f + (float)(j % 3);
    want[0] = ref_lse_bce(x, n, k, target, scale, &want[1], rdx);
    clg_tensor tx = clg_test_tensor(ctx, n, k, 1, 1, x), tdx = clg_test_tensor(ctx, n, k, 1, 1, NULL);
    clg_tensor st = clg_test_tensor(ctx, 1, 2, 1, 1, NULL);
    float got[2];
    CLG_ASSERT_OK(clg_lse_bce_forward(ctx, &st, &tx, target));
    CLG_ASSERT_OK(clg_tensor_download(ctx, &st, got));
    CLG_ASSERT_CLOSE(got, want, 2, 1e-5);
    CLG_ASSERT_OK(clg_lse_bce_backward(ctx, &tdx, &tx, target, scale));
    CLG_ASSERT_OK(clg_tensor_download(ctx, &tdx, dx));
    for (size_t i = 0; i < m; i++)
        if (!isfinite(dx[i]) || fabs(dx[i] - rdx[i]) > 1e-6 + 1e-5 * fabs(rdx[i]))
            fail_msg("lse_bce dx[%zu] %g vs %g", i, dx[i], rdx[i]);
    /* Central differences of the device forward, on rows of moderate logits
     * (small batches: a float mean over many rows cannot resolve the nudge). */
    const size_t first = (size_t)(n > 2 ? 2 * k : 0);
    for (size_t i = first; n <= 8 && i < m && i < first + 6; i++) {
        const float h = 1e-2f, xs = x[i];
        float lp[2], lm[2];
        x[i] = xs + h;
        CLG_ASSERT_OK(clg_tensor_upload(ctx, &tx, x));
        CLG_ASSERT_OK(clg_lse_bce_forward(ctx, &st, &tx, target));
        CLG_ASSERT_OK(clg_tensor_download(ctx, &st, lp));
        x[i] = xs - h;
        CLG_ASSERT_OK(clg_tensor_upload(ctx, &tx, x));
        CLG_ASSERT_OK(clg_lse_bce_forward(ctx, &st, &tx, target));
        CLG_ASSERT_OK(clg_tensor_download(ctx, &st, lm));
        x[i] = xs;
        double fd = scale * ((double)lp[0] - lm[0]) / (2.0 * h);
        if (fabs(fd - rdx[i]) * n > 2e-3) fail_msg("lse_bce fd[%zu] %g vs %g", i, fd, rdx[i]);
    }
    clg_tensor_free(ctx, &tx), clg_tensor_free(ctx, &tdx), clg_tensor_free(ctx, &st);
    free(x), free(dx), free(rdx);
}

static void test_lse_bce(void **state) {
    lse_bce_case(*state, 1, 10, 1.0f, 1.0f);
    lse_bce_case(*state, 7, 10, 1.0f, 0.5f);
    lse_bce_case(*state, 7, 10, 0.0f, 0.5f);
    lse_bce_case(*state, 100, 10, 0.0f, 2.0f);
    lse_bce_case(*state, 300, 3, 1.0f, 1.0f);
}

static void test_bad_stats(void **state) {
    clg_ctx *ctx = *state;
    clg_tensor x = clg_test_tensor(ctx, 4, 1, 1, 1, NULL), st = clg_test_tensor(ctx, 1, 3, 1, 1, NULL);
    assert_int_equal(clg_bce_logits_forward(ctx, &st, &x, 1.0f), CLG_ERR_INVALID_ARG);
    assert_non_null(strstr(clg_last_error(), "2 elements"));
    clg_tensor_free(ctx, &x), clg_tensor_free(ctx, &st);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bce),
        cmocka_unit_test(test_xent),
        cmocka_unit_test(test_lse_bce),
        cmocka_unit_test(test_bad_stats),
    };
    return cmocka_run_group_tests_name("loss", tests, clg_test_group_setup,
                                       clg_test_group_teardown);
}
