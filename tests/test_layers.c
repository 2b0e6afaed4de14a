/* test_layers.c: the layer ops outside the big families: dropout and
 * additive noise drawn from the Philox stream (exact masks against the host
 * reference of the stream), concatenation and split along channels, and
 * adaptive max pooling (forward and backward against C, overlapping bins).
 * Tolerances: exact for copies, masks and maxima; 1e-6 for scaled values. */
#include "testutil.h"
#include "elementwise.h"
#include "pool.h"
#include "rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static float host_u01(uint64_t seed, uint64_t e) {
    const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    const uint64_t b = e / 4;
    const uint32_t ctr[4] = {(uint32_t)b, (uint32_t)(b >> 32), 0, 0};
    uint32_t w[4];
    clg_philox4x32_10(ctr, key, w);
    return clg_rng_u01(w[e % 4]);
}

static void test_dropout(void **state) {
    clg_ctx *ctx = *state;
    size_t n = clg_test_small() ? 1031 : 100003;
    const float p = 0.3f;
    const uint64_t seed = 99, off = 12345;
    float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    double *ref = malloc(n * sizeof *ref);
    clg_test_fill_uniform(x, n, 1, -2.0f, 2.0f);
    clg_tensor tx = clg_test_tensor(ctx, 1, (int)n, 1, 1, x), ty = clg_test_tensor(ctx, 1, (int)n, 1, 1, NULL);
    CLG_ASSERT_OK(clg_dropout(ctx, &ty, &tx, seed, off, p));
    CLG_ASSERT_OK(clg_tensor_download(ctx, &ty, y));
    size_t dropped = 0;
    for (size_t i = 0; i < n; i++) {
        int keep = host_u01(seed, off + i) >= p;
        ref[i] = keep ? (double)x[i] / (1.0 - p) : 0.0;
        dropped += !keep;
    }
    CLG_ASSERT_CLOSE(y, ref, n, 1e-6);
    for (size_t i = 0; i < n; i++) assert_true((y[i] == 0.0f) == (ref[i] == 0.0));
    /* The dropped share is p within 5 standard deviations. */
    double frac = (double)dropped / n, sd = sqrt(p * (1 - p) / n);
    assert_true(fabs(frac - p) < 5 * sd);
    /* Backward: the same call on dout reproduces the mask. */
    CLG_ASSERT_OK(clg_dropout(ctx, &ty, &ty, seed, off, p));
    CLG_ASSERT_OK(clg_tensor_download(ctx, &ty, y));
    for (size_t i = 0; i < n; i++) ref[i] = ref[i] / (1.0 - p) * (ref[i] != 0.0);
    CLG_ASSERT_CLOSE(y, ref, n, 1e-6);
    assert_int_equal(clg_dropout(ctx, &ty, &tx, seed, off, 1.0f), CLG_ERR_INVALID_ARG);
    clg_tensor_free(ctx, &tx), clg_tensor_free(ctx, &ty);
    free(x), free(y), free(ref);
}

static void test_noise(void **state) {
    clg_ctx *ctx = *state;
    size_t n = 1031;
    float *zero = calloc(n, sizeof *zero), *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    clg_tensor tz = clg_test_tensor(ctx, 1, (int)n, 1, 1, zero);
    clg_tensor ta = clg_test_tensor(ctx, 1, (int)n, 1, 1, NULL), tb = clg_test_tensor(ctx, 1, (int)n, 1, 1, NULL);
    /* On zeros, the noise is exactly the stream's normals (same formula). */
    CLG_ASSERT_OK(clg_add_noise(ctx, &ta, &tz, 5, 7, 0.5f));
    CLG_ASSERT_OK(clg_rng_normal(ctx, &tb, 5, 7, 0.0f, 0.5f));
    CLG_ASSERT_OK(clg_tensor_download(ctx, &ta, a));
    CLG_ASSERT_OK(clg_tensor_download(ctx, &tb, b));
    assert_memory_equal(a, b, n * sizeof *a);
    /* Added to data: out - in is that noise. */
    float *x = malloc(n * sizeof *x);
    double *ref = malloc(n * sizeof *ref);
    clg_test_fill_uniform(x, n, 3, -1.0f, 1.0f);
    CLG_ASSERT_OK(clg_tensor_upload(ctx, &tz, x));
    CLG_ASSERT_OK(clg_add_noise(ctx, &ta, &tz, 5, 7, 0.5f));
    CLG_ASSERT_OK(clg_tensor_download(ctx, &ta, a));
    for (size_t i = 0; i < n; i++) ref[i] = (double)x[i] + b[i];
    CLG_ASSERT_CLOSE(a, ref, n, 1e-6);
    clg_tensor_free(ctx, &tz), clg_tensor_free(ctx, &ta), clg_tensor_free(ctx, &tb);
    free(zero), free(a), free(b), free(x), free(ref);
}

static void test_concat_split(void **state) {
    clg_ctx *ctx = *state;
    enum { N = 3, CA = 2, CB = 5, H = 3, W = 7, HW = H * W };
    float a[N * CA * HW], b[N * CB * HW], got[N * (CA + CB) * HW], ra[N * CA * HW], rb[N * CB * HW];
    clg_test_fill_uniform(a, sizeof a / 4, 1, -1, 1);
    clg_test_fill_uniform(b, sizeof b / 4, 2, -1, 1);
    clg_tensor ta = clg_test_tensor(ctx, N, CA, H, W, a), tb = clg_test_tensor(ctx, N, CB, H, W, b);
    clg_tensor to = clg_test_tensor(ctx, N, CA + CB, H, W, NULL);
    CLG_ASSERT_OK(clg_concat_channels(ctx, &to, &ta, &tb));
    CLG_ASSERT_OK(clg_tensor_download(ctx, &to, got));
    for (int n = 0; n < N; n++)
        for (int c = 0; c < CA + CB; c++)
            for (int p = 0; p < HW; p++) {
                float want = c < CA ? a[(n * CA + c) * HW + p] : b[(n * CB + c - CA) * HW + p];
                assert_true(got[(n * (CA + CB) + c) * HW + p] == want);
            }
    clg_tensor da = clg_test_tensor(ctx, N, CA, H, W, NULL), db = clg_test_tensor(ctx, N, CB, H, W, NULL);
    CLG_ASSERT_OK(clg_split_channels(ctx, &da, &db, &to));
    CLG_ASSERT_OK(clg_tensor_download(ctx, &da, ra));
    CLG_ASSERT_OK(clg_tensor_download(ctx, &db, rb));
    assert_memory_equal(ra, a, sizeof a);
    assert_memory_equal(rb, b, sizeof b);
    assert_int_equal(clg_concat_channels(ctx, &to, &ta, &ta), CLG_ERR_INVALID_ARG);
    clg_tensor_free(ctx, &ta), clg_tensor_free(ctx, &tb), clg_tensor_free(ctx, &to);
    clg_tensor_free(ctx, &da), clg_tensor_free(ctx, &db);
}

static void pool_case(clg_ctx *ctx, int n, int c, int h, int w, int oh, int ow) {
    size_t ni = (size_t)n * c * h * w, no = (size_t)n * c * oh * ow;
    float *x = malloc(ni * sizeof *x), *y = malloc(no * sizeof *y), *g = malloc(no * sizeof *g);
    float *dx = malloc(ni * sizeof *dx);
    double *ry = malloc(no * sizeof *ry), *rdx = calloc(ni, sizeof *rdx);
    clg_test_fill_uniform(x, ni, (uint64_t)ni, -1, 1);
    clg_test_fill_uniform(g, no, 17, -1, 1);
    for (int pl = 0; pl < n * c; pl++)
        for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++) {
                int y0 = oy * h / oh, y1 = ((oy + 1) * h + oh - 1) / oh;
                int x0 = ox * w / ow, x1 = ((ox + 1) * w + ow - 1) / ow;
                int best = y0 * w + x0;
                for (int yy = y0; yy < y1; yy++)
                    for (int xx = x0; xx < x1; xx++)
                        if (x[(size_t)pl * h * w + yy * w + xx] > x[(size_t)pl * h * w + best])
                            best = yy * w + xx;
                size_t o = ((size_t)pl * oh + oy) * ow + ox;
                ry[o] = x[(size_t)pl * h * w + best];
                rdx[(size_t)pl * h * w + best] += g[o];
            }
    clg_tensor tx = clg_test_tensor(ctx, n, c, h, w, x), ty = clg_test_tensor(ctx, n, c, oh, ow, NULL);
    clg_tensor tg = clg_test_tensor(ctx, n, c, oh, ow, g), tdx = clg_test_tensor(ctx, n, c, h, w, NULL);
    cl_mem arg;
    CLG_ASSERT_OK(clg_buffer_create(ctx, (no + 3) * sizeof(cl_int), "argmax", &arg));
    CLG_ASSERT_OK(clg_adaptive_max_pool_forward(ctx, &ty, arg, 3, &tx));
    CLG_ASSERT_OK(clg_adaptive_max_pool_backward(ctx, &tdx, &tg, arg, 3));
    CLG_ASSERT_OK(clg_tensor_download(ctx, &ty, y));
    CLG_ASSERT_OK(clg_tensor_download(ctx, &tdx, dx));
    CLG_ASSERT_CLOSE(y, ry, no, 0.0);
    CLG_ASSERT_CLOSE(dx, rdx, ni, 1e-6);
    clg_buffer_release(ctx, arg, (no + 3) * sizeof(cl_int));
    clg_tensor_free(ctx, &tx), clg_tensor_free(ctx, &ty), clg_tensor_free(ctx, &tg), clg_tensor_free(ctx, &tdx);
    free(x), free(y), free(g), free(dx), free(ry), free(rdx);
}

static void test_adaptive_max_pool(void **state) {
    pool_case(*state, 2, 3, 7, 5, 4, 4);  /* overlapping bins */
    pool_case(*state, 1, 2, 8, 8, 4, 4);  /* exact 2x2 bins */
    pool_case(*state, 3, 1, 4, 4, 4, 4);  /* identity */
    pool_case(*state, 2, 64, 16, 16, 4, 4);
    pool_case(*state, 1, 5, 9, 13, 1, 1); /* global max */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dropout),
        cmocka_unit_test(test_noise),
        cmocka_unit_test(test_concat_split),
        cmocka_unit_test(test_adaptive_max_pool),
    };
    return cmocka_run_group_tests_name("layers", tests, clg_test_group_setup,
                                       clg_test_group_teardown);
}
