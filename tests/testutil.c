/* testutil.c: shared test fixtures and error norms. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int clg_test_group_setup(void **state) {
    clg_ctx *ctx = NULL;
    clg_status s = clg_ctx_create(&ctx, NULL);
    if (s != CLG_OK) {
        fprintf(stderr, "no OpenCL context: %s\n", clg_last_error());
        return -1;
    }
    *state = ctx;
    return 0;
}

static int setup_norm(void **state, int path, int slices) {
    if (clg_test_group_setup(state) != 0) return -1;
    clg_ctx *ctx = *state;
    ctx->norm_path = path;
    ctx->norm_slices = slices;
    return 0;
}

int clg_test_group_setup_channel(void **state) { return setup_norm(state, CLG_NORM_CPU, 0); }
int clg_test_group_setup_split(void **state) { return setup_norm(state, CLG_NORM_GPU, 0); }
int clg_test_group_setup_split3(void **state) { return setup_norm(state, CLG_NORM_GPU, 3); }

int clg_test_group_teardown(void **state) {
    clg_ctx_free(*state);
    *state = NULL;
    return 0;
}

int clg_test_small(void) {
    const char *s = getenv("CLGAN_TEST_SMALL");
    return s && *s && strcmp(s, "0") != 0;
}

void clg_test_fill_uniform(float *x, size_t n, uint64_t seed, float lo, float hi) {
    uint64_t st = seed * 0x9E3779B97F4A7C15ULL + 1;
    for (size_t i = 0; i < n; i++) {
        st ^= st << 13;
        st ^= st >> 7;
        st ^= st << 17;
        x[i] = lo + (hi - lo) * (float)((st >> 40) * (1.0 / 16777216.0));
    }
}

double clg_test_rel_err(const float *got, const double *ref, size_t n, double floor) {
    double scale = floor, err = 0.0;
    for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(ref[i]));
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)got[i] - ref[i]);
        if (!(e <= err)) err = e; /* NaN propagates as a failure */
    }
    return err / scale;
}

void clg_test_assert_close(const float *got, const double *ref, size_t n, double tol,
                           const char *what, const char *file, int line) {
    double err = clg_test_rel_err(got, ref, n, 1e-30);
    if (err <= tol) return;
    size_t worst = 0;
    double we = -1.0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)got[i] - ref[i]);
        if (!(e <= we)) {
            we = e;
            worst = i;
        }
    }
    fail_msg("%s:%d: %s: relative error %.3g > %.3g (n=%zu, worst at %zu: got %.9g, want "
             "%.9g)",
             file, line, what, err, tol, n, worst, (double)got[worst], ref[worst]);
}

clg_tensor clg_test_tensor(clg_ctx *ctx, int n, int c, int h, int w, const float *host) {
    clg_tensor t;
    CLG_ASSERT_OK(clg_tensor_create(ctx, &t, n, c, h, w, "test tensor"));
    if (host) CLG_ASSERT_OK(clg_tensor_upload(ctx, &t, host));
    return t;
}

static char *dup_env(const char *name) {
    const char *v = getenv(name);
    return v ? strdup(v) : NULL;
}

static void put_env(const char *name, const char *v) {
    if (v) setenv(name, v, 1);
    else unsetenv(name);
}

void clg_test_cache_env_set(clg_test_cache_env *saved, const char *dir) {
    saved->xdg = dup_env("XDG_CACHE_HOME");
    saved->no_cache = dup_env("CLGAN_NO_CACHE");
    setenv("XDG_CACHE_HOME", dir, 1);
    unsetenv("CLGAN_NO_CACHE");
}

void clg_test_cache_env_restore(clg_test_cache_env *saved) {
    put_env("XDG_CACHE_HOME", saved->xdg);
    put_env("CLGAN_NO_CACHE", saved->no_cache);
    free(saved->xdg), free(saved->no_cache);
    saved->xdg = saved->no_cache = NULL;
}

unsigned char *clg_test_slurp(const char *path, long *len) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *len = ftell(f);
    rewind(f);
    unsigned char *b = malloc((size_t)*len + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)*len, f), (size_t)*len);
    b[*len] = 0; /* text files read as strings */
    fclose(f);
    return b;
}

int clg_test_run_in_tmpdir(const char *name, char *dir, size_t cap,
                           const struct CMUnitTest *tests, size_t count) {
    snprintf(dir, cap, "/tmp/clgan-test-%s-XXXXXX", name);
    if (!mkdtemp(dir)) return 1;
    int rc = _cmocka_run_group_tests(name, tests, count, clg_test_group_setup,
                                     clg_test_group_teardown);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) != 0 ? 1 : rc;
}

void clg_test_write_idx(const char *path, int n, int white) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    unsigned char hdr[16] = {0, 0, 8, 3, 0, 0, 0, (unsigned char)n, 0, 0, 0, 28, 0, 0, 0, 28};
    fwrite(hdr, 1, 16, f);
    for (int i = 0; i < n; i++)
        for (int p = 0; p < 784; p++)
            fputc(white ? 255 : ((p / 28 + i) % 5 == 0 || (p % 28) == (i % 28)) * 255, f);
    fclose(f);
}

void clg_test_assert_same_file(const char *pa, const char *pb) {
    long na, nb;
    unsigned char *x = clg_test_slurp(pa, &na), *y = clg_test_slurp(pb, &nb);
    assert_int_equal(na, nb);
    assert_memory_equal(x, y, (size_t)na);
    free(x), free(y);
}

void clg_test_write_labelled_idx(const char *dir, char *images, size_t cap, int n) {
    char lab[400];
    snprintf(images, cap, "%s/toy-images-idx3-ubyte", dir);
    snprintf(lab, sizeof lab, "%s/toy-labels-idx1-ubyte", dir);
    clg_test_write_idx(images, n, 0);
    FILE *f = fopen(lab, "wb");
    assert_non_null(f);
    const unsigned char hdr[8] = {0, 0, 8, 1, 0, 0, 0, (unsigned char)n};
    fwrite(hdr, 1, 8, f);
    for (int i = 0; i < n; i++) fputc(i % 10, f);
    assert_int_equal(fclose(f), 0);
}
