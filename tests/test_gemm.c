/* test_gemm.c: clg_gemm (CLBlast SGEMM, row-major) against a double C
 * reference: every transpose combination, alpha and beta, matrices placed at
 * offsets inside their buffers with padded leading dimensions, awkward sizes.
 * Tolerance: 1e-5 of the result's scale (K <= 300 float products). */
#include "testutil.h"
#include "gemm.h"
#include "gemm_tune.h"
#include "program.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* C = alpha op(A) op(B) + beta C, all row-major with leading dims. */
static void ref_gemm(int ta, int tb, size_t m, size_t n, size_t k, double alpha,
                     const float *a, size_t lda, const float *b, size_t ldb, double beta,
                     const float *c0, double *c, size_t ldc) {
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            double acc = 0.0;
            for (size_t p = 0; p < k; p++) {
                double av = ta ? a[p * lda + i] : a[i * lda + p];
                double bv = tb ? b[j * ldb + p] : b[p * ldb + j];
                acc += av * bv;
            }
            c[i * n + j] = alpha * acc + beta * c0[i * ldc + j];
        }
}

static void run_case(clg_ctx *ctx, int ta, int tb, size_t m, size_t n, size_t k, float alpha,
                     float beta) {
    const size_t pad = 3, lpad = 2; /* offset into the buffer, extra row stride */
    size_t a_rows = ta ? k : m, a_cols = ta ? m : k;
    size_t b_rows = tb ? n : k, b_cols = tb ? k : n;
    size_t lda = a_cols + lpad, ldb = b_cols + lpad, ldc = n + lpad;
    size_t na = pad + a_rows * lda, nb = pad + b_rows * ldb, nc = pad + m * ldc;
    float *a = malloc(na * sizeof *a), *b = malloc(nb * sizeof *b);
    float *c = malloc(nc * sizeof *c), *got = malloc(nc * sizeof *got);
    double *ref = malloc(m * n * sizeof *ref);
    float *gotc = malloc(m * n * sizeof *gotc);
    assert_non_null(a && b && c && got && ref && gotc);
    clg_test_fill_uniform(a, na, 11 + m, -1.0f, 1.0f);
    clg_test_fill_uniform(b, nb, 12 + n, -1.0f, 1.0f);
    clg_test_fill_uniform(c, nc, 13 + k, -1.0f, 1.0f);
    clg_tensor ta_ = clg_test_tensor(ctx, 1, (int)na, 1, 1, a);
    clg_tensor tb_ = clg_test_tensor(ctx, 1, (int)nb, 1, 1, b);
    clg_tensor tc_ = clg_test_tensor(ctx, 1, (int)nc, 1, 1, c);
    clg_tensor va = clg_tensor_slice(&ta_, pad, 1, (int)(na - pad), 1, 1);
    clg_tensor vb = clg_tensor_slice(&tb_, pad, 1, (int)(nb - pad), 1, 1);
    clg_tensor vc = clg_tensor_slice(&tc_, pad, 1, (int)(nc - pad), 1, 1);
    CLG_ASSERT_OK(clg_gemm(ctx, ta, tb, m, n, k, alpha, &va, lda, &vb, ldb, beta, &vc, ldc, NULL));
    CLG_ASSERT_OK(clg_tensor_download(ctx, &tc_, got));
    ref_gemm(ta, tb, m, n, k, alpha, a + pad, lda, b + pad, ldb, beta, c + pad, ref, ldc);
    for (size_t i = 0; i < m; i++) memcpy(gotc + i * n, got + pad + i * ldc, n * sizeof(float));
    CLG_ASSERT_CLOSE(gotc, ref, m * n, 1e-5);
    /* Padding columns and the prefix are untouched. */
    for (size_t i = 0; i < pad; i++) assert_true(got[i] == c[i]);
    for (size_t i = 0; i < m; i++)
        for (size_t j = n; j < ldc; j++) assert_true(got[pad + i * ldc + j] == c[pad + i * ldc + j]);
    clg_tensor_free(ctx, &ta_);
    clg_tensor_free(ctx, &tb_);
    clg_tensor_free(ctx, &tc_);
    free(a), free(b), free(c), free(got), free(ref), free(gotc);
}

static void test_transposes(void **state) {
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) run_case(*state, ta, tb, 37, 29, 41, 1.0f, 0.0f);
}

static void test_alpha_beta(void **state) {
    run_case(*state, 0, 1, 17, 33, 9, -0.75f, 0.5f);
    run_case(*state, 1, 0, 5, 3, 64, 2.0f, 1.0f);
}

static void test_awkward_sizes(void **state) {
    run_case(*state, 0, 0, 1, 1, 1, 1.0f, 0.0f);
    run_case(*state, 0, 0, 1, 300, 7, 1.0f, 0.0f);
    run_case(*state, 1, 1, 65, 1, 129, 1.0f, 0.25f);
    if (!clg_test_small()) run_case(*state, 0, 0, 128, 100, 300, 1.0f, 0.0f);
}

static void test_bad_arguments(void **state) {
    clg_ctx *ctx = *state;
    clg_tensor t = clg_test_tensor(ctx, 1, 64, 1, 1, NULL);
    assert_int_equal(clg_gemm(ctx, 0, 0, 4, 4, 4, 1.0f, &t, 3, &t, 4, 0.0f, &t, 4, NULL),
                     CLG_ERR_INVALID_ARG);
    assert_non_null(strstr(clg_last_error(), "leading dimension"));
    assert_int_equal(clg_gemm(ctx, 0, 0, 9, 9, 9, 1.0f, &t, 9, &t, 9, 0.0f, &t, 9, NULL),
                     CLG_ERR_INVALID_ARG);
    assert_non_null(strstr(clg_last_error(), "extends past"));
    assert_int_equal(clg_gemm(ctx, 0, 0, 0, 4, 4, 1.0f, &t, 4, &t, 4, 0.0f, &t, 4, NULL),
                     CLG_ERR_INVALID_ARG);
    clg_tensor_free(ctx, &t);
    assert_string_equal(clg_clblast_status_name(-1016), "CLBlastInvalidLeadDimA");
    assert_string_equal(clg_clblast_status_name(-5), "CLBlastOpenCLOutOfResources");
}

/* CLBlast's Xgemm compiled with tuner candidates (host/gemm_tune.h) gives
 * the same results as with its defaults: on a product above CLBlast's
 * direct-kernel size limit (so Xgemm itself runs) with both operands
 * transposed, as minibatch discrimination calls it, and on a small one.
 * Runs last: the stored choice, if any, is put back at the end. */
static void test_tuned_parameters(void **state) {
    clg_ctx *ctx = *state;
    const int picks[2] = {2, clg_gemm_candidate_count() - 2};
    for (int i = 0; i < 2; i++) {
        CLG_ASSERT_OK(clg_gemm_override(ctx, clg_gemm_candidate(picks[i])));
        run_case(ctx, 1, 1, 129, 257, 1800, 1.0f, 0.0f); /* 59.7M > 384^3 multiply-adds */
        run_case(ctx, 0, 1, 17, 33, 9, -0.75f, 0.5f);
    }
    clg_gemm_params bad = {64, 64, 32, 8, 8, 16, 8, 2}; /* MWG not a multiple of MDIMC VWM */
    assert_int_equal(clg_gemm_override(ctx, &bad), CLG_ERR_INVALID_ARG);
    assert_non_null(strstr(clg_last_error(), "constraints"));
    CLG_ASSERT_OK(clg_gemm_tune_apply(ctx, NULL));
}

/* The stored choice: absent, stored, found again; a damaged file is
 * ignored; nothing is stored or found with the cache disabled. */
/* One stored line (what fuzz_tune feeds): parsed only when Xgemm's
 * constraints hold; otherwise *p is left as it was. */
static void test_params_parse(void **state) {
    (void)state;
    clg_gemm_params p = {0};
    assert_int_equal(clg_gemm_params_parse("Xgemm 64 32 32 8 8 8 4 2\n", &p), 1);
    assert_int_equal(p.mwg, 64);
    assert_int_equal(p.nwg, 32);
    assert_int_equal(p.kwi, 2);
    const char *bad[] = {"Xgemm 64 64 32 8 8 16 8 2", "Xgemm 64 64 32 8 8 4 4",
                         "Xgemm 0 64 32 8 8 4 4 2", "Xgemm 512 64 32 8 8 4 4 2", "# none"};
    for (int i = 0; i < 5; i++) assert_int_equal(clg_gemm_params_parse(bad[i], &p), 0);
    assert_int_equal(p.mwg, 64);
}

static void test_tune_store(void **state) {
    clg_ctx *ctx = *state;
    char dir[] = "/tmp/clgan-gemm-tune-XXXXXX";
    assert_non_null(mkdtemp(dir));
    clg_test_cache_env env;
    clg_test_cache_env_set(&env, dir);
    clg_gemm_params got;
    int found = 1, applied = 1;
    CLG_ASSERT_OK(clg_gemm_tune_lookup(ctx, &got, &found));
    assert_int_equal(found, 0);
    CLG_ASSERT_OK(clg_gemm_tune_apply(ctx, &applied));
    assert_int_equal(applied, 0);
    const clg_gemm_params *want = clg_gemm_candidate(4);
    CLG_ASSERT_OK(clg_gemm_tune_store(ctx, want));
    CLG_ASSERT_OK(clg_gemm_tune_lookup(ctx, &got, &found));
    assert_int_equal(found, 1);
    assert_memory_equal(&got, want, sizeof got);
    char path[4096];
    CLG_ASSERT_OK(clg_device_file(ctx, "gemm-tune", path, sizeof path));
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("Xgemm 64 64 32 8 8 16 8 2\n", f); /* parses, breaks the constraints */
    fclose(f);
    CLG_ASSERT_OK(clg_gemm_tune_lookup(ctx, &got, &found));
    assert_int_equal(found, 0);
    setenv("CLGAN_NO_CACHE", "1", 1);
    CLG_ASSERT_OK(clg_gemm_tune_store(ctx, want));
    CLG_ASSERT_OK(clg_gemm_tune_lookup(ctx, &got, &found));
    assert_int_equal(found, 0);
    assert_int_equal(remove(path), 0);
    char sub[4200];
    snprintf(sub, sizeof sub, "%s/clgan", dir);
    rmdir(sub), rmdir(dir);
    clg_test_cache_env_restore(&env);
}

/* The context as the CLI makes it: the stored GEMM choice applied, which
 * test_tuned_parameters puts back at the end. */
static int gemm_group_setup(void **state) {
    if (clg_test_group_setup(state) != 0) return -1;
    if (clg_gemm_tune_apply(*state, NULL) != CLG_OK) {
        fprintf(stderr, "applying the stored GEMM choice: %s\n", clg_last_error());
        clg_test_group_teardown(state);
        return -1;
    }
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transposes),
        cmocka_unit_test(test_alpha_beta),
        cmocka_unit_test(test_awkward_sizes),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_params_parse),
        cmocka_unit_test(test_tune_store),
        cmocka_unit_test(test_tuned_parameters),
    };
    return cmocka_run_group_tests_name("gemm", tests, gemm_group_setup,
                                       clg_test_group_teardown);
}
