/* selfcheck.c: `clgan selfcheck`: builds every kernel family on the chosen
 * device and checks a few results against C, so a user learns at once
 * whether clgan works on their device. The thorough checks are the tests. */
#include "cli.h"
#include "elementwise.h"
#include "activation.h"
#include "batchnorm.h"
#include "conv.h"
#include "gemm.h"
#include "reduce.h"
#include "rng.h"
#include "softmax.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    clg_ctx *ctx;
    int failed;
} check_state;

static void report(check_state *st, const char *what, clg_status s, double err, double tol) {
    if (s != CLG_OK) {
        printf("  FAIL %-22s %s: %s\n", what, clg_status_to_string(s), clg_last_error());
        st->failed++;
    } else if (!(err <= tol)) {
        printf("  FAIL %-22s max relative error %.3g > %.3g\n", what, err, tol);
        st->failed++;
    } else {
        printf("  ok   %-22s max relative error %.3g\n", what, err);
    }
}

static double rel_err(const float *got, const double *ref, size_t n) {
    double scale = 1e-30, e = 0.0;
    for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(ref[i]));
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - ref[i]);
        if (!(d <= e)) e = d;
    }
    return e / scale;
}

enum { N = 4099 };

static void check_axpy(check_state *st) {
    clg_ctx *ctx = st->ctx;
    static float x[N], y[N], got[N];
    static double ref[N];
    for (int i = 0; i < N; i++) {
        x[i] = (float)sin(i * 0.37);
        y[i] = (float)cos(i * 0.11);
        ref[i] = y[i] + 0.5 * x[i];
    }
    clg_tensor tx = {0}, ty = {0};
    clg_status s = clg_tensor_create(ctx, &tx, 1, N, 1, 1, "selfcheck x");
    if (s == CLG_OK) s = clg_tensor_create(ctx, &ty, 1, N, 1, 1, "selfcheck y");
    if (s == CLG_OK) s = clg_tensor_upload(ctx, &tx, x);
    if (s == CLG_OK) s = clg_tensor_upload(ctx, &ty, y);
    if (s == CLG_OK) s = clg_axpy(ctx, &ty, 0.5f, &tx);
    if (s == CLG_OK) s = clg_tensor_download(ctx, &ty, got);
    report(st, "elementwise (axpy)", s, s == CLG_OK ? rel_err(got, ref, N) : 0, 1e-6);
    clg_tensor_free(ctx, &tx);
    clg_tensor_free(ctx, &ty);
}

static void check_gemm(check_state *st) {
    clg_ctx *ctx = st->ctx;
    enum { M = 37, K = 29, P = 41 };
    static float a[M * K], b[K * P], got[M * P];
    static double ref[M * P];
    for (int i = 0; i < M * K; i++) a[i] = (float)sin(i * 0.7);
    for (int i = 0; i < K * P; i++) b[i] = (float)cos(i * 0.3);
    for (int i = 0; i < M; i++)
        for (int j = 0; j < P; j++) {
            double acc = 0;
            for (int k = 0; k < K; k++) acc += (double)a[i * K + k] * b[k * P + j];
            ref[i * P + j] = acc;
        }
    clg_tensor ta = {0}, tb = {0}, tc = {0};
    clg_status s = clg_tensor_create(ctx, &ta, 1, M * K, 1, 1, "selfcheck A");
    if (s == CLG_OK) s = clg_tensor_create(ctx, &tb, 1, K * P, 1, 1, "selfcheck B");
    if (s == CLG_OK) s = clg_tensor_create(ctx, &tc, 1, M * P, 1, 1, "selfcheck C");
    if (s == CLG_OK) s = clg_tensor_upload(ctx, &ta, a);
    if (s == CLG_OK) s = clg_tensor_upload(ctx, &tb, b);
    if (s == CLG_OK) s = clg_gemm(ctx, 0, 0, M, P, K, 1.0f, &ta, K, &tb, P, 0.0f, &tc, P, NULL);
    if (s == CLG_OK) s = clg_tensor_download(ctx, &tc, got);
    report(st, "gemm (CLBlast)", s, s == CLG_OK ? rel_err(got, ref, M * P) : 0, 1e-5);
    clg_tensor_free(ctx, &ta);
    clg_tensor_free(ctx, &tb);
    clg_tensor_free(ctx, &tc);
}

/* sigmoid forward + backward (from the output) and softmax, vs C in double. */
static void check_activation_softmax(check_state *st) {
    clg_ctx *ctx = st->ctx;
    enum { R = 7, C = 13, M = R * C };
    static float x[M], y[M], g[M];
    static double ry[M], rg[M], rp[M];
    for (int i = 0; i < M; i++) x[i] = (float)(8.0 * sin(i * 0.37));
    for (int r = 0; r < R; r++) {
        double m = -INFINITY, s = 0;
        for (int j = 0; j < C; j++) m = fmax(m, x[r * C + j]);
        for (int j = 0; j < C; j++) s += exp(x[r * C + j] - m);
        for (int j = 0; j < C; j++) rp[r * C + j] = exp(x[r * C + j] - m) / s;
    }
    for (int i = 0; i < M; i++) {
        ry[i] = 1.0 / (1.0 + exp(-(double)x[i]));
        rg[i] = 0.5 * ry[i] * (1.0 - ry[i]); /* dout = 0.5 */
    }
    clg_tensor tx = {0}, ty = {0}, tg = {0};
    clg_status s = clg_tensor_create(ctx, &tx, R, C, 1, 1, "selfcheck x");
    if (s == CLG_OK) s = clg_tensor_create(ctx, &ty, R, C, 1, 1, "selfcheck y");
    if (s == CLG_OK) s = clg_tensor_create(ctx, &tg, R, C, 1, 1, "selfcheck g");
    if (s == CLG_OK) s = clg_tensor_upload(ctx, &tx, x);
    if (s == CLG_OK) s = clg_act_forward(ctx, &ty, &tx, CLG_ACT_SIGMOID, 0.0f);
    if (s == CLG_OK) s = clg_tensor_fill(ctx, &tg, 0.5f);
    if (s == CLG_OK) s = clg_act_backward(ctx, &tg, &tg, &ty, CLG_ACT_SIGMOID, 0.0f);
    if (s == CLG_OK) s = clg_tensor_download(ctx, &ty, y);
    if (s == CLG_OK) s = clg_tensor_download(ctx, &tg, g);
    double e = s == CLG_OK ? fmax(rel_err(y, ry, M), rel_err(g, rg, M)) : 0;
    report(st, "activation (sigmoid)", s, e, 2e-6);
    if (s == CLG_OK) s = clg_softmax_forward(ctx, &ty, &tx);
    if (s == CLG_OK) s = clg_tensor_download(ctx, &ty, y);
    report(st, "softmax", s, s == CLG_OK ? rel_err(y, rp, M) : 0, 1e-5);
    clg_tensor_free(ctx, &tx);
    clg_tensor_free(ctx, &ty);
    clg_tensor_free(ctx, &tg);
}

/* Philox4x32-10 on the device against Random123's known answer, then
 * channel statistics of device normals against C in double. */
static void check_rng_stats(check_state *st) {
    clg_ctx *ctx = st->ctx;
    const uint32_t ctr[4] = {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344};
    const uint32_t key[2] = {0xa4093822, 0x299f31d0};
    const uint32_t want[4] = {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1};
    uint32_t got[4] = {0};
    clg_status s = clg_rng_raw(ctx, ctr, key, got);
    int wrong = memcmp(got, want, sizeof want) != 0;
    report(st, "rng (Philox KAT)", s, wrong ? 1.0 : 0.0, 0.0);
    enum { SN = 8, SC = 3, SH = 17, SW = 19, HW = SH * SW };
    static float x[SN * SC * HW];
    float stats[3 * SC]; /* sum, mean, var */
    double ref[3 * SC] = {0}, err = 0.0;
    clg_tensor tx = {0}, ts = {0};
    s = clg_tensor_create(ctx, &tx, SN, SC, SH, SW, "selfcheck x");
    if (s == CLG_OK) s = clg_tensor_create(ctx, &ts, 1, 3 * SC, 1, 1, "selfcheck stats");
    clg_tensor vs = clg_tensor_slice(&ts, 0, 1, SC, 1, 1);
    clg_tensor vm = clg_tensor_slice(&ts, SC, 1, SC, 1, 1);
    clg_tensor vv = clg_tensor_slice(&ts, 2 * SC, 1, SC, 1, 1);
    if (s == CLG_OK) s = clg_rng_normal(ctx, &tx, 7, 0, 1.0f, 2.0f);
    if (s == CLG_OK) s = clg_channel_stats(ctx, &vs, &vm, &vv, &tx);
    if (s == CLG_OK) s = clg_tensor_download(ctx, &tx, x);
    if (s == CLG_OK) s = clg_tensor_download(ctx, &ts, stats);
    for (int c = 0; s == CLG_OK && c < SC; c++) {
        for (int i = 0; i < SN * HW; i++) ref[c] += x[(i / HW * SC + c) * HW + i % HW];
        ref[SC + c] = ref[c] / (SN * HW);
        for (int i = 0; i < SN * HW; i++) {
            double d = x[(i / HW * SC + c) * HW + i % HW] - ref[SC + c];
            ref[2 * SC + c] += d * d / (SN * HW);
        }
    }
    for (int k = 0; s == CLG_OK && k < 3; k++)
        err = fmax(err, rel_err(stats + k * SC, ref + k * SC, SC));
    report(st, "channel stats", s, err, 1e-5);
    clg_tensor_free(ctx, &tx);
    clg_tensor_free(ctx, &ts);
}

/* A strided, padded convolution with bias, and batch norm's training
 * forward, each against C in double. */
static void check_conv_bn(check_state *st) {
    clg_ctx *ctx = st->ctx;
    enum { NB = 2, NC = 3, IH = 9, IW = 7, NK = 5, KR = 4, STR = 2, PAD = 1 };
    clg_conv_desc d;
    clg_status s = clg_conv_desc_init(&d, NB, NC, IH, IW, NK, KR, KR, STR, PAD);
    const int P = d.P, Q = d.Q;
    static float x[NB * NC * IH * IW], w[NK * NC * KR * KR], b[NK], y[NB * NK * 5 * 4];
    static double ref[NB * NK * 5 * 4];
    for (int i = 0; i < NB * NC * IH * IW; i++) x[i] = (float)sin(i * 0.7);
    for (int i = 0; i < NK * NC * KR * KR; i++) w[i] = (float)cos(i * 0.3);
    for (int i = 0; i < NK; i++) b[i] = 0.1f * (float)i;
    for (int n = 0; n < NB; n++)
        for (int k = 0; k < NK; k++)
            for (int p = 0; p < P; p++)
                for (int q = 0; q < Q; q++) {
                    double acc = b[k];
                    for (int c = 0; c < NC; c++)
                        for (int r = 0; r < KR; r++)
                            for (int t = 0; t < KR; t++) {
                                int h = p * STR - PAD + r, ww = q * STR - PAD + t;
                                if (h >= 0 && h < IH && ww >= 0 && ww < IW)
                                    acc += (double)x[((n * NC + c) * IH + h) * IW + ww] *
                                           w[((k * NC + c) * KR + r) * KR + t];
                            }
                    ref[((n * NK + k) * P + p) * Q + q] = acc;
                }
    clg_tensor tx = {0}, tw = {0}, tb = {0}, ty = {0}, tm = {0}, tr = {0};
    if (s == CLG_OK) s = clg_tensor_create(ctx, &tx, NB, NC, IH, IW, "selfcheck x");
    if (s == CLG_OK) s = clg_tensor_create(ctx, &tw, NK, NC, KR, KR, "selfcheck w");
    if (s == CLG_OK) s = clg_tensor_create(ctx, &tb, 1, NK, 1, 1, "selfcheck b");
    if (s == CLG_OK) s = clg_tensor_create(ctx, &ty, NB, NK, P, Q, "selfcheck y");
    if (s == CLG_OK) s = clg_tensor_upload(ctx, &tx, x);
    if (s == CLG_OK) s = clg_tensor_upload(ctx, &tw, w);
    if (s == CLG_OK) s = clg_tensor_upload(ctx, &tb, b);
    if (s == CLG_OK) s = clg_conv2d_forward(ctx, &ty, &tx, &tw, &tb, &d);
    if (s == CLG_OK) s = clg_tensor_download(ctx, &ty, y);
    const int M = NB * NK * P * Q;
    report(st, "conv2d (k4 s2 p1)", s, s == CLG_OK ? rel_err(y, ref, M) : 0, 1e-5);
    /* Batch norm of the convolution's output, no affine. */
    for (int k = 0; k < NK; k++) {
        double m = 0, v = 0;
        for (int n = 0; n < NB; n++)
            for (int i = 0; i < P * Q; i++) m += ref[(n * NK + k) * P * Q + i];
        m /= NB * P * Q;
        for (int n = 0; n < NB; n++)
            for (int i = 0; i < P * Q; i++) {
                double e = ref[(n * NK + k) * P * Q + i] - m;
                v += e * e;
            }
        v /= NB * P * Q;
        for (int n = 0; n < NB; n++)
            for (int i = 0; i < P * Q; i++)
                ref[(n * NK + k) * P * Q + i] = (ref[(n * NK + k) * P * Q + i] - m) / sqrt(v + 1e-5);
    }
    if (s == CLG_OK) s = clg_tensor_create(ctx, &tm, 1, NK, 1, 1, "selfcheck mean");
    if (s == CLG_OK) s = clg_tensor_create(ctx, &tr, 1, NK, 1, 1, "selfcheck rstd");
    if (s == CLG_OK)
        s = clg_batchnorm_forward(ctx, &ty, &tm, &tr, &ty, NULL, NULL, NULL, NULL, 0.1f, 1e-5f);
    if (s == CLG_OK) s = clg_tensor_download(ctx, &ty, y);
    report(st, "batch norm", s, s == CLG_OK ? rel_err(y, ref, M) : 0, 1e-4);
    clg_tensor *all[] = {&tx, &tw, &tb, &ty, &tm, &tr};
    for (int i = 0; i < 6; i++) clg_tensor_free(ctx, all[i]);
}

int cli_selfcheck(int argc, char **argv) {
    const char *device = NULL;
    for (int i = 1; i < argc; i++) {
        int d = cli_parse_device(argc, argv, &i, &device);
        if (d < 0) return 2;
        if (d) continue;
        if (cli_is_help(argv[i])) {
            printf("usage: clgan selfcheck [--device D]\n\n"
                   "Builds the kernels on the device and checks each family's result\n"
                   "against a C reference. Exits non-zero if any check fails.\n");
            return 0;
        }
        fprintf(stderr, "clgan selfcheck: unknown option '%s'\n", argv[i]);
        return 2;
    }
    clg_ctx *ctx;
    clg_status s = cli_ctx_create(&ctx, device);
    if (s != CLG_OK) return cli_error(s, "opening the device");
    printf("selfcheck on %d:%d %s (%s)\n", ctx->dev.platform_index, ctx->dev.device_index,
           ctx->dev.name, ctx->dev.platform_name);
    check_state st = {ctx, 0};
    check_axpy(&st);
    check_gemm(&st);
    check_activation_softmax(&st);
    check_rng_stats(&st);
    check_conv_bn(&st);
    printf("program cache: %llu hits, %llu builds, %llu rejected entries\n",
           (unsigned long long)ctx->stats.cache_hits, (unsigned long long)ctx->stats.cache_misses,
           (unsigned long long)ctx->stats.cache_rejects);
    printf(st.failed ? "selfcheck: %d check(s) FAILED\n" : "selfcheck: all checks passed\n",
           st.failed);
    clg_ctx_free(ctx);
    return st.failed ? 1 : 0;
}
