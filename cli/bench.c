/* bench.c: `clgan bench`: the timing harness, the table and JSON output, and
 * the device rooflines (copy bandwidth, CLBlast SGEMM) that every kernel
 * figure is compared against. */
#include "bench.h"
#include "cli.h"
#include "elementwise.h"
#include "gemm.h"
#include "json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The time between two markers brackets everything enqueued between them,
 * however many kernels a library call launches. */
clg_status bench_time(bench_state *st, bench_op op, void *arg, double *best_ms) {
    clg_ctx *ctx = st->ctx;
    CLG_TRY(op(ctx, arg)); /* warm-up: builds, first-touch */
    CL_CHECK(clFinish(ctx->queue));
    double best = 1e30;
    for (int r = 0; r < st->reps; r++) {
        cl_event e0, e1;
        CL_CHECK(clEnqueueMarkerWithWaitList(ctx->queue, 0, NULL, &e0));
        clg_status s = op(ctx, arg);
        if (s != CLG_OK) {
            clReleaseEvent(e0);
            return s;
        }
        cl_int err = clEnqueueMarkerWithWaitList(ctx->queue, 0, NULL, &e1);
        if (err != CL_SUCCESS) {
            clReleaseEvent(e0);
            CL_CHECK(err);
        }
        cl_ulong t0 = 0, t1 = 0;
        err = clFinish(ctx->queue);
        if (err == CL_SUCCESS)
            err = clGetEventProfilingInfo(e0, CL_PROFILING_COMMAND_END, sizeof t0, &t0, NULL);
        if (err == CL_SUCCESS)
            err = clGetEventProfilingInfo(e1, CL_PROFILING_COMMAND_END, sizeof t1, &t1, NULL);
        clReleaseEvent(e0);
        clReleaseEvent(e1);
        CL_CHECK(err);
        double ms = (double)(t1 - t0) * 1e-6;
        if (ms < best) best = ms;
    }
    *best_ms = best;
    return CLG_OK;
}

clg_status bench_add(bench_state *st, const char *name, const char *shape, const char *impl,
                     double ms, double flops, double bytes) {
    if (st->n == st->cap) {
        int cap = st->cap ? st->cap * 2 : 32;
        bench_record *r = realloc(st->recs, (size_t)cap * sizeof *r);
        if (!r) return clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory");
        st->recs = r;
        st->cap = cap;
    }
    bench_record *r = &st->recs[st->n++];
    memset(r, 0, sizeof *r);
    snprintf(r->name, sizeof r->name, "%s", name);
    snprintf(r->shape, sizeof r->shape, "%s", shape);
    snprintf(r->impl, sizeof r->impl, "%s", impl);
    r->ms = ms;
    r->gflops = flops > 0 && ms > 0 ? flops / (ms * 1e6) : -1.0;
    r->gbps = bytes > 0 && ms > 0 ? bytes / (ms * 1e6) : -1.0;
    printf("%-28s %-34s %-20s %10.4f ", r->name, r->shape, r->impl, r->ms);
    if (r->gflops >= 0) printf("%10.2f ", r->gflops); else printf("%10s ", "-");
    if (r->gbps >= 0) printf("%10.2f\n", r->gbps); else printf("%10s\n", "-");
    fflush(stdout);
    return CLG_OK;
}

/* ---- rooflines ---------------------------------------------------------- */

typedef struct {
    clg_tensor a, b;
} copy_arg;
static clg_status copy_op(clg_ctx *ctx, void *p) {
    copy_arg *c = p;
    return clg_copy(ctx, &c->b, &c->a);
}

typedef struct {
    clg_tensor a, b, c;
    size_t n;
} sgemm_arg;
static clg_status sgemm_op(clg_ctx *ctx, void *p) {
    sgemm_arg *g = p;
    return clg_gemm(ctx, 0, 0, g->n, g->n, g->n, 1.0f, &g->a, g->n, &g->b, g->n, 0.0f, &g->c,
                    g->n, NULL);
}

int bench_wanted(const char *filter, const char *name) {
    return !filter || !*filter || strstr(name, filter) != NULL;
}

clg_status bench_rooflines(bench_state *st, const char *filter) {
    clg_ctx *ctx = st->ctx;
    clg_status rc = CLG_OK;
    char shape[96];
    if (bench_wanted(filter, "copy")) {
        /* Large enough to leave every cache: 64 MiB each way (256 MiB on GPUs). */
        size_t n = (ctx->dev.type & CL_DEVICE_TYPE_GPU) ? (64u << 20) : (16u << 20);
        while (n * 4 > ctx->dev.max_alloc / 2) n /= 2;
        copy_arg c = {{0}, {0}};
        CLG_TRY_GOTO(clg_tensor_create(ctx, &c.a, 1, (int)n, 1, 1, "bench copy src"), copy_done);
        CLG_TRY_GOTO(clg_tensor_create(ctx, &c.b, 1, (int)n, 1, 1, "bench copy dst"), copy_done);
        CLG_TRY_GOTO(clg_fill(ctx, &c.a, 1.0f), copy_done);
        double ms;
        CLG_TRY_GOTO(bench_time(st, copy_op, &c, &ms), copy_done);
        snprintf(shape, sizeof shape, "n=%zu", n);
        CLG_TRY_GOTO(bench_add(st, "copy", shape, "clgan", ms, 0, 2.0 * 4.0 * (double)n),
                     copy_done);
    copy_done:
        clg_tensor_free(ctx, &c.a);
        clg_tensor_free(ctx, &c.b);
        if (rc != CLG_OK) return rc;
    }
    if (bench_wanted(filter, "sgemm")) {
        sgemm_arg g = {{0}, {0}, {0}, 1024};
        int nn = (int)(g.n * g.n);
        CLG_TRY_GOTO(clg_tensor_create(ctx, &g.a, 1, nn, 1, 1, "bench sgemm A"), gemm_done);
        CLG_TRY_GOTO(clg_tensor_create(ctx, &g.b, 1, nn, 1, 1, "bench sgemm B"), gemm_done);
        CLG_TRY_GOTO(clg_tensor_create(ctx, &g.c, 1, nn, 1, 1, "bench sgemm C"), gemm_done);
        CLG_TRY_GOTO(clg_fill(ctx, &g.a, 0.5f), gemm_done);
        CLG_TRY_GOTO(clg_fill(ctx, &g.b, 0.25f), gemm_done);
        double ms;
        CLG_TRY_GOTO(bench_time(st, sgemm_op, &g, &ms), gemm_done);
        snprintf(shape, sizeof shape, "m=n=k=%zu", g.n);
        double n3 = (double)g.n * (double)g.n * (double)g.n;
        CLG_TRY_GOTO(bench_add(st, "sgemm", shape, "clblast", ms, 2.0 * n3,
                               3.0 * 4.0 * (double)nn),
                     gemm_done);
    gemm_done:
        clg_tensor_free(ctx, &g.a);
        clg_tensor_free(ctx, &g.b);
        clg_tensor_free(ctx, &g.c);
    }
    return rc;
}

/* ---- the command ---------------------------------------------------------- */

static int write_json(const char *path, const bench_state *st) {
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        perror(path);
        return -1;
    }
    fprintf(f, "[\n");
    for (int i = 0; i < st->n; i++) {
        const bench_record *r = &st->recs[i];
        fprintf(f, "  {\"name\": ");
        clg_json_write_string(f, r->name);
        fprintf(f, ", \"shape\": ");
        clg_json_write_string(f, r->shape);
        fprintf(f, ", \"impl\": ");
        clg_json_write_string(f, r->impl);
        fprintf(f, ", \"device\": ");
        clg_json_write_string(f, st->ctx->dev.name);
        fprintf(f, ", \"ms\": %.6f, \"gflops\": ", r->ms);
        if (r->gflops >= 0) fprintf(f, "%.4f", r->gflops); else fprintf(f, "null");
        fprintf(f, ", \"gbps\": ");
        if (r->gbps >= 0) fprintf(f, "%.4f", r->gbps); else fprintf(f, "null");
        fprintf(f, "}%s\n", i + 1 < st->n ? "," : "");
    }
    fprintf(f, "]\n");
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        perror(path);
        remove(tmp);
        return -1;
    }
    return 0;
}

int cli_bench(int argc, char **argv) {
    const char *filter = NULL, *json = NULL, *device = NULL;
    int reps = 10, no_refs = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int d = cli_parse_device(argc, argv, &i, &device);
        if (d < 0) return 2;
        if (d) continue;
        if (cli_is_help(a)) {
            printf("usage: clgan bench [--filter NAME] [--json FILE] [--reps N] [--no-reference]\n"
                   "                   [--device D]\n\n"
                   "Times kernels on one device: best of N runs (default 10) after a\n"
                   "warm-up, from OpenCL profiling markers. Rooflines measured in the\n"
                   "same run: 'copy' (bandwidth, read + write) and 'sgemm' (CLBlast,\n"
                   "n = 1024). --filter keeps the benchmarks whose name contains NAME.\n"
                   "--json writes an array of {name, shape, impl, device, ms, gflops, gbps}.\n"
                   "--no-reference times clgan's conv kernels alone, without CLBlast's\n"
                   "paths (scripts/compare-pytorch.py compares them with PyTorch).\n"
                   "Families (names start so): conv_ (DCGAN layers), bn_/vbn_ (batch\n"
                   "norms), mbd_, dnet_ (D with and without MBD), dense_ (train ssl's\n"
                   "fully connected layers: clgan's 1x1 convolutions and CLBlast's SGEMM).\n");
            return 0;
        }
        if ((!strcmp(a, "--filter") || !strcmp(a, "--json") || !strcmp(a, "--reps")) &&
            i + 1 >= argc) {
            fprintf(stderr, "clgan bench: %s needs a value\n", a);
            return 2;
        }
        if (!strcmp(a, "--no-reference")) no_refs = 1;
        else if (!strcmp(a, "--filter")) filter = argv[++i];
        else if (!strcmp(a, "--json")) json = argv[++i];
        else if (!strcmp(a, "--reps")) {
            char *end;
            long r = strtol(argv[++i], &end, 10);
            if (*end || r < 1 || r > 100000) {
                fprintf(stderr, "clgan bench: --reps wants a count from 1 to 100000, not '%s'\n",
                        argv[i]);
                return 2;
            }
            reps = (int)r;
        } else {
            fprintf(stderr, "clgan bench: unknown option '%s' (see clgan bench --help)\n", a);
            return 2;
        }
    }
    clg_ctx *ctx;
    clg_status s = cli_ctx_create(&ctx, device);
    if (s != CLG_OK) return cli_error(s, "opening the device");
    cli_quick_tune(ctx, 0); /* time the kernels a plain run would use */
    bench_state st = {ctx, reps, NULL, 0, 0, no_refs};
    printf("device: %s (%s, driver %s)\n", ctx->dev.name, ctx->dev.platform_name,
           ctx->dev.driver);
    printf("%-28s %-34s %-20s %10s %10s %10s\n", "name", "shape", "impl", "ms", "GFLOP/s",
           "GB/s");
    int rc = 0;
    /* Rooflines always run: every kernel figure is read against them. */
    s = bench_rooflines(&st, NULL);
    if (s == CLG_OK) s = bench_conv(&st, filter);
    if (s == CLG_OK) s = bench_norm(&st, filter);
    if (s == CLG_OK) s = bench_dnet(&st, filter);
    if (s == CLG_OK) s = bench_dense(&st, filter);
    if (s != CLG_OK) rc = cli_error(s, "bench");
    if (rc == 0 && st.n == 2 && filter && !bench_wanted(filter, "copy") &&
        !bench_wanted(filter, "sgemm")) {
        fprintf(stderr, "clgan bench: no benchmark matches --filter '%s'\n", filter);
        rc = 2;
    }
    if (rc == 0 && json && write_json(json, &st) != 0) rc = 1;
    free(st.recs);
    clg_ctx_free(ctx);
    return rc;
}

/* max |a - b| / max |b| between two tensors of the same size. */
clg_status bench_rel_diff(clg_ctx *ctx, const clg_tensor *a, const clg_tensor *b, double *out) {
    size_t n = clg_tensor_numel(a);
    float *ha = malloc(n * sizeof *ha), *hb = malloc(n * sizeof *hb);
    clg_status rc = CLG_OK;
    if (!ha || !hb) {
        rc = clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory");
        goto done;
    }
    CLG_TRY_GOTO(clg_tensor_download(ctx, a, ha), done);
    CLG_TRY_GOTO(clg_tensor_download(ctx, b, hb), done);
    double err = 0, scale = 1e-30;
    for (size_t i = 0; i < n; i++) {
        scale = fmax(scale, fabs(hb[i]));
        double e = fabs((double)ha[i] - hb[i]);
        if (!(e <= err)) err = e;
    }
    *out = err / scale;
done:
    free(ha);
    free(hb);
    return rc;
}
