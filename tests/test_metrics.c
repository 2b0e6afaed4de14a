/* test_metrics.c: Inception Score, Fréchet distance and the L2-SVM on cases
 * with known answers: IS of one-hot predictions over K classes is K, of
 * identical predictions 1; FID of a set against itself is 0 and matches the
 * closed form for Gaussians (diagonal, shifted, and rotated covariances);
 * the SVM separates a linearly separable set. Host only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void test_inception_score(void **state) {
    (void)state;
    enum { K = 10, N = 1000 };
    static float p[N * K];
    memset(p, 0, sizeof p);
    for (int i = 0; i < N; i++) p[i * K + i % K] = 1.0f; /* confident, all classes */
    double m, s;
    assert_int_equal(clg_inception_score(p, N, K, 10, &m, &s), CLG_OK);
    assert_true(fabs(m - K) < 1e-9 && s < 1e-9);
    for (int i = 0; i < N * K; i++) p[i] = 0.1f; /* no information */
    assert_int_equal(clg_inception_score(p, N, K, 10, &m, &s), CLG_OK);
    assert_true(fabs(m - 1.0) < 1e-6);
    memset(p, 0, sizeof p);
    for (int i = 0; i < N; i++) p[i * K + 3] = 1.0f; /* mode collapse */
    assert_int_equal(clg_inception_score(p, N, K, 10, &m, &s), CLG_OK);
    assert_true(fabs(m - 1.0) < 1e-9);
    /* Half the classes, confidently: K/2. */
    for (int i = 0; i < N; i++) memset(p + i * K, 0, K * sizeof *p), p[i * K + i % 5] = 1.0f;
    assert_int_equal(clg_inception_score(p, N, K, 10, &m, &s), CLG_OK);
    assert_true(fabs(m - 5.0) < 1e-9);
    assert_int_equal(clg_inception_score(p, 5, K, 10, &m, &s), CLG_ERR_INVALID_ARG);
}

static void test_eigen(void **state) {
    (void)state;
    double a[9] = {4, 1, 2, 1, 3, 0, 2, 0, 5}, orig[9], w[3], v[9];
    memcpy(orig, a, sizeof a);
    assert_int_equal(clg_symmetric_eigen(a, 3, w, v), CLG_OK);
    for (int k = 0; k < 3; k++) /* A v_k = w_k v_k */
        for (int i = 0; i < 3; i++) {
            double av = 0;
            for (int j = 0; j < 3; j++) av += orig[i * 3 + j] * v[j * 3 + k];
            assert_true(fabs(av - w[k] * v[i * 3 + k]) < 1e-10);
        }
    assert_true(fabs(w[0] + w[1] + w[2] - 12.0) < 1e-10); /* the trace */
}

/* FID of N(mu1, S1) and N(mu2, S2) with S1 = a I: ||dmu||^2 + d a + Tr S2 -
 * 2 sqrt(a) sum sqrt(eig S2). */
static void test_frechet_closed_form(void **state) {
    (void)state;
    enum { D = 4 };
    double mu1[D] = {0, 1, 2, 3}, mu2[D] = {1, 1, 0, 3}, s1[D * D] = {0}, s2[D * D] = {0};
    double fid;
    for (int i = 0; i < D; i++) s1[i * D + i] = 2.0;
    assert_int_equal(clg_frechet_distance(mu1, s1, mu1, s1, D, &fid), CLG_OK);
    assert_true(fabs(fid) < 1e-9);
    /* S2 = R diag(1, 4, 9, 16) R^T with R a rotation in the (0, 1) and (2, 3) planes. */
    double e[D] = {1, 4, 9, 16}, c = cos(0.7), s = sin(0.7);
    double r[D * D] = {c, -s, 0, 0, s, c, 0, 0, 0, 0, c, -s, 0, 0, s, c};
    for (int i = 0; i < D; i++)
        for (int j = 0; j < D; j++)
            for (int k = 0; k < D; k++) s2[i * D + j] += r[i * D + k] * e[k] * r[j * D + k];
    assert_int_equal(clg_frechet_distance(mu1, s1, mu2, s2, D, &fid), CLG_OK);
    double dmu = 1 + 0 + 4 + 0, want = dmu + D * 2.0 + (1 + 4 + 9 + 16) -
                                       2 * sqrt(2.0) * (1 + 2 + 3 + 4);
    if (fabs(fid - want) > 1e-9) fail_msg("fid %.12g, want %.12g", fid, want);
    /* Translation: shifting every mean by t adds ||t||^2. */
    double mu3[D];
    for (int i = 0; i < D; i++) mu3[i] = mu2[i] + 0.5;
    double fid2;
    assert_int_equal(clg_frechet_distance(mu1, s1, mu3, s2, D, &fid2), CLG_OK);
    double shift = 0;
    for (int i = 0; i < D; i++) shift += (mu3[i] - mu1[i]) * (mu3[i] - mu1[i]) -
                                         (mu2[i] - mu1[i]) * (mu2[i] - mu1[i]);
    assert_true(fabs(fid2 - fid - shift) < 1e-9);
}

static void test_frechet_from_samples(void **state) {
    (void)state;
    enum { N = 4000, D = 3 };
    static float f[N * D], g[N * D];
    uint64_t st = 42;
    for (int i = 0; i < N * D; i++) { /* uniforms, then g = f + 1 */
        st ^= st << 13, st ^= st >> 7, st ^= st << 17;
        f[i] = (float)((st >> 11) * 0x1.0p-53);
        g[i] = f[i] + 1.0f;
    }
    double mu1[D], c1[D * D], mu2[D], c2[D * D], fid;
    assert_int_equal(clg_feature_stats(f, N, D, mu1, c1), CLG_OK);
    assert_int_equal(clg_feature_stats(g, N, D, mu2, c2), CLG_OK);
    for (int j = 0; j < D; j++) assert_true(fabs(c1[j * D + j] - 1.0 / 12) < 0.01);
    assert_int_equal(clg_frechet_distance(mu1, c1, mu1, c1, D, &fid), CLG_OK);
    assert_true(fabs(fid) < 1e-9); /* a set against itself */
    assert_int_equal(clg_frechet_distance(mu1, c1, mu2, c2, D, &fid), CLG_OK);
    assert_true(fabs(fid - D) < 1e-6); /* same shape, shifted by 1 per dim */
}

static void test_svm_separable(void **state) {
    (void)state;
    enum { N = 600, D = 5, K = 3 };
    static float x[N * D];
    static unsigned char y[N];
    uint64_t st = 7;
    for (int i = 0; i < N; i++) {
        y[i] = (unsigned char)(i % K);
        for (int j = 0; j < D; j++) {
            st ^= st << 13, st ^= st >> 7, st ^= st << 17;
            double u = (double)(st >> 11) * 0x1.0p-53 - 0.5;
            /* Class centres 4 apart along different axes, spread 1. */
            x[i * D + j] = (float)(u + (j == y[i] ? 4.0 : 0.0));
        }
    }
    clg_svm svm;
    assert_int_equal(clg_svm_train(&svm, x, y, N, D, K, 1.0, 50), CLG_OK);
    int right = 0;
    for (int i = 0; i < N; i++) right += clg_svm_predict(&svm, x + i * D) == y[i];
    assert_int_equal(right, N);
    /* A point near a centre goes to its class. */
    float probe[D] = {0, 0, 3.5f, 0.2f, -0.1f};
    assert_int_equal(clg_svm_predict(&svm, probe), 2);
    clg_svm_free(&svm);
    assert_int_equal(clg_svm_train(&svm, x, y, N, D, 1, 1.0, 5), CLG_ERR_INVALID_ARG);
}

/* Choosing C on held-out rows: two classes 0.5 apart at x = 10 (+- 0.2).
 * A tiny C shrinks the weights and the bias (a constant feature, also
 * regularised) towards sum_i y_i x_i, which puts everything in one class;
 * a large C fits the bias and separates them. The chooser must see that on
 * the tenth it holds out. */
static void test_svm_select_c(void **state) {
    (void)state;
    enum { N = 400, K = 2 };
    static float x[N];
    static unsigned char y[N];
    uint64_t st = 11;
    for (int i = 0; i < N; i++) {
        st ^= st << 13, st ^= st >> 7, st ^= st << 17;
        double u = (double)(st >> 11) * 0x1.0p-53 - 0.5;
        y[i] = (unsigned char)((i / 3) % K);
        x[i] = (float)(10.0 + 0.5 * y[i] + 0.4 * u);
    }
    const double grid[] = {1e-4, 100.0};
    double best_c = 0, best_acc = 0;
    assert_int_equal(clg_svm_select_c(x, y, N, 1, K, grid, 2, 500, &best_c, &best_acc), CLG_OK);
    assert_true(best_c == 100.0);
    assert_true(best_acc >= 0.95);
    /* The tiny C really does fail here (so the choice above means something). */
    clg_svm svm;
    assert_int_equal(clg_svm_train(&svm, x, y, N, 1, K, 1e-4, 500), CLG_OK);
    int right = 0;
    for (int i = 0; i < N; i++) right += clg_svm_predict(&svm, x + i) == y[i];
    clg_svm_free(&svm);
    assert_true(right < 0.6 * N);
    assert_int_equal(clg_svm_select_c(x, y, 5, 1, K, grid, 2, 5, &best_c, &best_acc),
                     CLG_ERR_INVALID_ARG);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inception_score),   cmocka_unit_test(test_eigen),
        cmocka_unit_test(test_frechet_closed_form), cmocka_unit_test(test_frechet_from_samples),
        cmocka_unit_test(test_svm_separable), cmocka_unit_test(test_svm_select_c),
    };
    return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
