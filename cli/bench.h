/* bench.h: the `clgan bench` harness. Each bench family adds records
 * {name, shape, impl, device, ms, gflops, gbps}; times are the best of
 * `reps` runs after a warm-up, measured with OpenCL profiling markers. */
#ifndef CLG_BENCH_H
#define CLG_BENCH_H

#include "tensor.h"

typedef struct {
    char name[64], shape[96], impl[32];
    double ms, gflops, gbps; /* gflops/gbps < 0: not applicable */
} bench_record;

typedef struct {
    clg_ctx *ctx;
    int reps;
    bench_record *recs;
    int n, cap;
    int no_refs; /* 1: time clgan's kernels alone, no CLBlast reference paths */
} bench_state;

/* Enqueues one run of the operation being timed. */
typedef clg_status (*bench_op)(clg_ctx *ctx, void *arg);

/* Best time in ms over st->reps runs of op, after one warm-up run. */
clg_status bench_time(bench_state *st, bench_op op, void *arg, double *best_ms);
/* Add a record; flops and bytes <= 0 leave gflops/gbps unset. */
clg_status bench_add(bench_state *st, const char *name, const char *shape, const char *impl,
                     double ms, double flops, double bytes);

/* max |a - b| / max |b| between two tensors of the same size. */
clg_status bench_rel_diff(clg_ctx *ctx, const clg_tensor *a, const clg_tensor *b, double *out);

/* Families: each adds the records whose name contains `filter` (NULL: all). */
clg_status bench_rooflines(bench_state *st, const char *filter); /* bench.c */
clg_status bench_conv(bench_state *st, const char *filter);      /* bench_conv.c */
clg_status bench_norm(bench_state *st, const char *filter);      /* bench_norm.c: norm, mbd */
clg_status bench_dnet(bench_state *st, const char *filter);      /* bench_dnet.c: D +- MBD */
clg_status bench_dense(bench_state *st, const char *filter);     /* bench_dense.c: linear */
/* `clgan tune --gemm` (tune_gemm.c): CLBlast Xgemm parameters for the device. */
clg_status tune_gemm(bench_state *st);
/* 1 when a benchmark named `name` passes the filter. */
int bench_wanted(const char *filter, const char *name);

#endif
