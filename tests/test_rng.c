/* test_rng.c: Philox4x32-10 (host C and device) against Random123's known
 * answers, and the device streams against the stream definition in
 * kernels/rng.cl's banner, re-implemented here from clg_philox4x32_10.
 *
 * Tolerances:
 *   - Philox words: exact, host and device.
 *   - Uniforms: bit for bit equal to the C reference (integer ops, an exact
 *     float conversion and scaling, then one fma: correctly rounded on every
 *     OpenCL device).
 *   - Normals: within 1e-5 absolute of Box-Muller evaluated in double from
 *     the same u1, u2. Not bit for bit: OpenCL allows log, sqrt, sinpi and
 *     cospi a few ulps, so devices differ by ~1e-6 at |z| ~ 5.
 *   - Windows: a tensor filled in two calls ([0, k) and [k, N) at offset k,
 *     odd k) equals one filled at once, bit for bit (same device).
 *   - Moments of n samples: |mean - mu| and |var - sigma^2| within 5 standard
 *     errors: sd(mean) = sigma / sqrt(n); sd(var) = sqrt((mu4 - sigma^4) / n)
 *     with mu4 = 3 sigma^4 for a normal, 1/80 for U(0,1). For n = 10^6:
 *     normal mean 5.0e-3, var 7.1e-3; uniform mean 1.4e-3, var 3.7e-4.
 *     Seeds are fixed, so a pass is reproducible, and a wrong generator
 *     (bias, a wrong scale, a repeated block) misses by far more. */
#include "testutil.h"
#include "rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint32_t ctr[4], key[2], out[4];
} kat;

/* Random123 kat_vectors, philox4x32 10. */
static const kat kats[] = {
    {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
    {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
     {0xffffffff, 0xffffffff},
     {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
    {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
     {0xa4093822, 0x299f31d0},
     {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
};
enum { NKATS = sizeof kats / sizeof kats[0] };

static void check_words(const uint32_t got[4], const uint32_t want[4], const char *who, int v) {
    for (int i = 0; i < 4; i++)
        if (got[i] != want[i])
            fail_msg("%s, vector %d, word %d: got 0x%08x, want 0x%08x", who, v, i, got[i],
                     want[i]);
}

static void test_philox_kat_host(void **state) {
    (void)state;
    for (int v = 0; v < NKATS; v++) {
        uint32_t got[4];
        clg_philox4x32_10(kats[v].ctr, kats[v].key, got);
        check_words(got, kats[v].out, "host", v);
    }
}

static void test_philox_kat_device(void **state) {
    for (int v = 0; v < NKATS; v++) {
        uint32_t got[4] = {0};
        CLG_ASSERT_OK(clg_rng_raw(*state, kats[v].ctr, kats[v].key, got));
        check_words(got, kats[v].out, "device", v);
    }
}

/* The stream, from the definition: the word for element e of seed. */
static uint32_t stream_word(uint64_t seed, uint64_t e, uint32_t blk[4]) {
    const uint64_t b = e / 4;
    const uint32_t ctr[4] = {(uint32_t)b, (uint32_t)(b >> 32), 0, 0};
    const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    clg_philox4x32_10(ctr, key, blk);
    return blk[e % 4];
}

static float ref_uniform(uint64_t seed, uint64_t e, float lo, float hi) {
    uint32_t blk[4];
    return fmaf(hi - lo, clg_rng_u01(stream_word(seed, e, blk)), lo);
}

static double ref_normal(uint64_t seed, uint64_t e, double mean, double std) {
    uint32_t blk[4];
    stream_word(seed, e, blk);
    const unsigned p = (unsigned)(e % 4) / 2;
    const double u1 = clg_rng_u01(blk[2 * p]), u2 = clg_rng_u01(blk[2 * p + 1]);
    const double r = sqrt(-2.0 * log(u1)), a = 2.0 * 3.14159265358979323846 * u2;
    return mean + std * (e % 2 == 0 ? r * cos(a) : r * sin(a));
}

/* Fills n floats placed `pad` into a buffer whose padding is poisoned, by a
 * uniform (normal = 0) or normal (normal = 1) call; checks the padding and
 * returns the n values (malloc'd). */
static float *gen(clg_ctx *ctx, int normal, size_t n, uint64_t seed, uint64_t offset, float a,
                  float b) {
    const size_t pad = 3;
    float *h = malloc((n + 2 * pad) * sizeof *h);
    assert_non_null(h);
    for (size_t i = 0; i < n + 2 * pad; i++) h[i] = -99.0f;
    clg_tensor t = clg_test_tensor(ctx, 1, (int)(n + 2 * pad), 1, 1, h);
    clg_tensor v = clg_tensor_slice(&t, pad, 1, 1, 1, (int)n);
    if (normal)
        CLG_ASSERT_OK(clg_rng_normal(ctx, &v, seed, offset, a, b));
    else
        CLG_ASSERT_OK(clg_rng_uniform(ctx, &v, seed, offset, a, b));
    CLG_ASSERT_OK(clg_tensor_download(ctx, &t, h));
    for (size_t i = 0; i < pad; i++) {
        assert_true(h[i] == -99.0f);
        assert_true(h[pad + n + i] == -99.0f);
    }
    memmove(h, h + pad, n * sizeof *h);
    clg_tensor_free(ctx, &t);
    return h;
}

static size_t big_n(void) { return clg_test_small() ? 1031 : 1000003; }

/* (seed, offset) pairs: zero, odd offsets, high words of both in use. */
static const uint64_t seeds[] = {0, 42, 0x123456789abcdefULL};
static const uint64_t offsets[] = {0, 5, (1ULL << 34) + 3};

static void test_uniform_matches_reference(void **state) {
    clg_ctx *ctx = *state;
    const size_t sizes[] = {1, 7, big_n()};
    for (int si = 0; si < 3; si++)
        for (int k = 0; k < 3; k++) {
            const size_t n = sizes[si];
            const float lo = k == 1 ? -2.5f : 0.0f, hi = k == 1 ? 0.75f : 1.0f;
            float *got = gen(ctx, 0, n, seeds[k], offsets[k], lo, hi);
            for (size_t i = 0; i < n; i++) {
                const float want = ref_uniform(seeds[k], offsets[k] + i, lo, hi);
                if (memcmp(&got[i], &want, sizeof want) != 0)
                    fail_msg("n=%zu seed=%llu offset=%llu: element %zu is %.9g, want %.9g", n,
                             (unsigned long long)seeds[k], (unsigned long long)offsets[k], i,
                             (double)got[i], (double)want);
                if (k != 1) assert_true(got[i] > 0.0f && got[i] < 1.0f);
            }
            free(got);
        }
}

static void check_normals(clg_ctx *ctx, size_t n, uint64_t seed, uint64_t offset, float mean,
                          float std) {
    float *got = gen(ctx, 1, n, seed, offset, mean, std);
    double worst = 0.0;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        const double e = fabs(got[i] - ref_normal(seed, offset + i, mean, std));
        if (!(e <= worst)) worst = e, at = i;
    }
    if (!(worst <= 1e-5))
        fail_msg("normal n=%zu seed=%llu offset=%llu mean=%g std=%g: element %zu is %.9g, "
                 "want %.9g (error %.3g > 1e-5)",
                 n, (unsigned long long)seed, (unsigned long long)offset, mean, std, at,
                 (double)got[at], ref_normal(seed, offset + at, mean, std), worst);
    free(got);
}

static void test_normal_matches_reference(void **state) {
    const size_t sizes[] = {1, 7, big_n()};
    for (int si = 0; si < 3; si++)
        for (int k = 0; k < 3; k++) check_normals(*state, sizes[si], seeds[k], offsets[k], 0, 1);
}

static void test_normal_scaled(void **state) {
    check_normals(*state, 7, 9, 1, 3.0f, 0.5f);
    check_normals(*state, big_n(), 9, 0, 3.0f, 0.5f);
}

/* [0, N) at once equals [0, k) then [k, N) at offset k, bit for bit. */
static void test_windows_consistent(void **state) {
    clg_ctx *ctx = *state;
    const size_t n = big_n();
    const size_t splits[] = {1, 3, 77, n / 2 | 1, n - 2};
    const uint64_t seed = 0xfeedf00d12345ULL, base = 1ULL << 33;
    for (int normal = 0; normal < 2; normal++) {
        float *whole = gen(ctx, normal, n, seed, base, 0.0f, 1.0f);
        for (int s = 0; s < 5; s++) {
            const size_t k = splits[s];
            float *a = gen(ctx, normal, k, seed, base, 0.0f, 1.0f);
            float *b = gen(ctx, normal, n - k, seed, base + k, 0.0f, 1.0f);
            if (memcmp(whole, a, k * sizeof *a) != 0 ||
                memcmp(whole + k, b, (n - k) * sizeof *b) != 0)
                fail_msg("%s: split at %zu of %zu differs from one call",
                         normal ? "normal" : "uniform", k, n);
            free(a), free(b);
        }
        free(whole);
    }
}

static void moments(const float *x, size_t n, double *mean, double *var) {
    double s = 0.0, q = 0.0;
    for (size_t i = 0; i < n; i++) s += x[i];
    *mean = s / (double)n;
    for (size_t i = 0; i < n; i++) q += (x[i] - *mean) * (x[i] - *mean);
    *var = q / (double)n;
}

static void check_moments(const char *what, const float *x, size_t n, double mu, double var,
                          double mu4) {
    double m, v;
    moments(x, n, &m, &v);
    const double tm = 5.0 * sqrt(var / (double)n), tv = 5.0 * sqrt((mu4 - var * var) / (double)n);
    if (!(fabs(m - mu) <= tm)) fail_msg("%s: mean %.6g, want %.6g +- %.3g", what, m, mu, tm);
    if (!(fabs(v - var) <= tv)) fail_msg("%s: var %.6g, want %.6g +- %.3g", what, v, var, tv);
}

static void test_moments(void **state) {
    clg_ctx *ctx = *state;
    const size_t n = clg_test_small() ? 1u << 14 : 1000000;
    float *u = gen(ctx, 0, n, 2024, 0, 0.0f, 1.0f);
    check_moments("uniform(0, 1)", u, n, 0.5, 1.0 / 12.0, 1.0 / 80.0);
    free(u);
    float *z = gen(ctx, 1, n, 2025, 0, 0.0f, 1.0f);
    check_moments("normal(0, 1)", z, n, 0.0, 1.0, 3.0);
    free(z);
    z = gen(ctx, 1, n, 2026, 12345, 3.0f, 0.5f);
    check_moments("normal(3, 0.5)", z, n, 3.0, 0.25, 3.0 * 0.0625);
    free(z);
}

static void test_offset_overflow_rejected(void **state) {
    clg_ctx *ctx = *state;
    clg_tensor t = clg_test_tensor(ctx, 1, 8, 1, 1, NULL);
    assert_int_equal(clg_rng_uniform(ctx, &t, 1, UINT64_MAX - 3, 0.0f, 1.0f),
                     CLG_ERR_INVALID_ARG);
    assert_non_null(strstr(clg_last_error(), "overflows"));
    /* The last 8 elements of the stream are fine. */
    CLG_ASSERT_OK(clg_rng_uniform(ctx, &t, 1, UINT64_MAX - 8, 0.0f, 1.0f));
    float got[8];
    CLG_ASSERT_OK(clg_tensor_download(ctx, &t, got));
    for (int i = 0; i < 8; i++) assert_true(got[i] == ref_uniform(1, UINT64_MAX - 8 + i, 0, 1));
    clg_tensor_free(ctx, &t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_philox_kat_host),
        cmocka_unit_test(test_philox_kat_device),
        cmocka_unit_test(test_uniform_matches_reference),
        cmocka_unit_test(test_normal_matches_reference),
        cmocka_unit_test(test_normal_scaled),
        cmocka_unit_test(test_windows_consistent),
        cmocka_unit_test(test_moments),
        cmocka_unit_test(test_offset_overflow_rejected),
    };
    return cmocka_run_group_tests_name("rng", tests, clg_test_group_setup,
                                       clg_test_group_teardown);
}
