/* selfcheck.c: `clgan selfcheck`: builds every kernel family on the chosen
 * device and checks a few results against C, so a user learns at once
 * whether clgan works on their device. The thorough checks are the tests. */
#include "cli.h"
#include "elementwise.h"
#include "gemm.h"

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
    clg_status s = clg_ctx_create(&ctx, device);
    if (s != CLG_OK) return cli_error(s, "opening the device");
    printf("selfcheck on %d:%d %s (%s)\n", ctx->dev.platform_index, ctx->dev.device_index,
           ctx->dev.name, ctx->dev.platform_name);
    check_state st = {ctx, 0};
    check_axpy(&st);
    check_gemm(&st);
    printf("program cache: %llu hits, %llu builds, %llu rejected entries\n",
           (unsigned long long)ctx->stats.cache_hits, (unsigned long long)ctx->stats.cache_misses,
           (unsigned long long)ctx->stats.cache_rejects);
    printf(st.failed ? "selfcheck: %d check(s) FAILED\n" : "selfcheck: all checks passed\n",
           st.failed);
    clg_ctx_free(ctx);
    return st.failed ? 1 : 0;
}
