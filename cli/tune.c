/* tune.c: `clgan tune`: time every conv variant (and a few split-K factors)
 * on each DCGAN-64 / DCGAN-32 layer shape and direction on this device, and
 * store the fastest per shape (host/conv_tune.h), where plain conv calls
 * find it. Layers whose adjoint convolutions coincide are timed once. */
#include "bench.h"
#include "cli.h"
#include "conv.h"
#include "conv_tune.h"
#include "program.h"
#include "elementwise.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *name;
    int transposed, Cin, Cout, Hin, R, st, pad;
} tune_layer;

/* DCGAN-64 and DCGAN-32 (ngf = ndf = 64; nc = 3, and nc = 1 for 32). */
static const tune_layer tune_layers[] = {
    {"dcgan64_D1", 0, 3, 64, 64, 4, 2, 1},    {"dcgan64_D2", 0, 64, 128, 32, 4, 2, 1},
    {"dcgan64_D3", 0, 128, 256, 16, 4, 2, 1}, {"dcgan64_D4", 0, 256, 512, 8, 4, 2, 1},
    {"dcgan64_D5", 0, 512, 1, 4, 4, 1, 0},    {"dcgan64_G1", 1, 100, 512, 1, 4, 1, 0},
    {"dcgan64_G2", 1, 512, 256, 4, 4, 2, 1},  {"dcgan64_G3", 1, 256, 128, 8, 4, 2, 1},
    {"dcgan64_G4", 1, 128, 64, 16, 4, 2, 1},  {"dcgan64_G5", 1, 64, 3, 32, 4, 2, 1},
    {"dcgan32_D1", 0, 3, 64, 32, 4, 2, 1},    {"dcgan32_D1_nc1", 0, 1, 64, 32, 4, 2, 1},
    {"dcgan32_D2", 0, 64, 128, 16, 4, 2, 1},  {"dcgan32_D3", 0, 128, 256, 8, 4, 2, 1},
    {"dcgan32_D4", 0, 256, 1, 4, 4, 1, 0},    {"dcgan32_G1", 1, 100, 256, 1, 4, 1, 0},
    {"dcgan32_G2", 1, 256, 128, 4, 4, 2, 1},  {"dcgan32_G3", 1, 128, 64, 8, 4, 2, 1},
    {"dcgan32_G4", 1, 64, 3, 16, 4, 2, 1},    {"dcgan32_G4_nc1", 1, 64, 1, 16, 4, 2, 1},
    /* the demo's model (`clgan bench`'s fmnist32: ngf = ndf = 32, one channel) */
    {"fmnist32_D1", 0, 1, 32, 32, 4, 2, 1},   {"fmnist32_D2", 0, 32, 64, 16, 4, 2, 1},
    {"fmnist32_D3", 0, 64, 128, 8, 4, 2, 1},  {"fmnist32_D4", 0, 128, 1, 4, 4, 1, 0},
    {"fmnist32_G1", 1, 100, 128, 1, 4, 1, 0}, {"fmnist32_G2", 1, 128, 64, 4, 4, 2, 1},
    {"fmnist32_G3", 1, 64, 32, 8, 4, 2, 1},   {"fmnist32_G4", 1, 32, 1, 16, 4, 2, 1},
};
#define NTUNE (int)(sizeof tune_layers / sizeof tune_layers[0])

typedef struct {
    clg_conv_dir dir;
    clg_conv_algo algo;
    clg_conv_bufs b;
} tune_arg;

static clg_status tune_op(clg_ctx *ctx, void *p) {
    tune_arg *t = p;
    return clg_conv_run(ctx, t->dir, &t->algo, &t->b);
}

/* Time the candidates for one (shape, direction); store the fastest. */
static clg_status tune_one(bench_state *st, tune_arg *t, const char *label) {
    static const int splits[] = {0, 1, 4, 16};
    clg_conv_algo best = {0};
    double best_ms = 1e30;
    char an[64];
    for (int i = 0; i < clg_conv_algo_count(); i++)
        for (int s = 0; s < (int)(sizeof splits / sizeof *splits); s++) {
            if (splits[s] > 1 && t->dir != CLG_CONV_BWD_WEIGHT) continue;
            t->algo = *clg_conv_algo_at(i);
            t->algo.split = splits[s];
            clg_conv_algo_format(&t->algo, an, sizeof an);
            if (clg_conv_algo_check(st->ctx, &t->algo) != CLG_OK) {
                printf("  %-30s %-28s skipped: %s\n", label, an, clg_last_error());
                continue;
            }
            /* One timed run first; only contenders get the full repeats. */
            double ms;
            int reps = st->reps;
            st->reps = 1;
            clg_status s1 = bench_time(st, tune_op, t, &ms);
            st->reps = reps;
            CLG_TRY(s1);
            if (ms < 2.0 * best_ms && reps > 1) CLG_TRY(bench_time(st, tune_op, t, &ms));
            printf("  %-30s %-28s %10.3f ms %8.2f GFLOP/s\n", label, an, ms,
                   clg_conv_flops(&t->b.d) / (ms * 1e6));
            if (ms < best_ms) {
                best_ms = ms;
                best = t->algo;
            }
        }
    if (best_ms >= 1e30)
        return clg_fail(CLG_ERR_UNSUPPORTED, "tune: no variant runs for %s", label);
    clg_conv_algo_format(&best, an, sizeof an);
    printf("%-32s -> %s (%.3f ms)\n", label, an, best_ms);
    fflush(stdout);
    return clg_conv_tune_store(st->ctx, t->dir, &t->b.d, &best);
}

static int same_key(const tune_arg *a, const clg_conv_desc *d, clg_conv_dir dir) {
    return a->dir == dir && !memcmp(&a->b.d, d, sizeof *d);
}

static clg_status tune_all(bench_state *st, const char *filter, int batch) {
    clg_ctx *ctx = st->ctx;
    static const char *dir_of_layer[3] = {"fwd", "bwd_data", "bwd_weight"};
    tune_arg done[NTUNE * 3];
    int ndone = 0, nwanted = 0;
    for (int li = 0; li < NTUNE; li++) {
        const tune_layer *l = &tune_layers[li];
        clg_conv_desc d;
        if (l->transposed)
            CLG_TRY(clg_conv_transpose_desc_init(&d, batch, l->Cin, l->Hin, l->Hin, l->Cout,
                                                 l->R, l->R, l->st, l->pad));
        else
            CLG_TRY(clg_conv_desc_init(&d, batch, l->Cin, l->Hin, l->Hin, l->Cout, l->R, l->R,
                                       l->st, l->pad));
        for (int i = 0; i < 3; i++) {
            char name[96];
            snprintf(name, sizeof name, "conv_%s_%s", l->name, dir_of_layer[i]);
            if (!bench_wanted(filter, name)) continue;
            nwanted++;
            clg_conv_dir dir = i == 2 ? CLG_CONV_BWD_WEIGHT
                             : (i == 0) != (l->transposed != 0) ? CLG_CONV_FWD
                                                                : CLG_CONV_BWD_DATA;
            int seen = 0;
            for (int k = 0; k < ndone; k++) seen |= same_key(&done[k], &d, dir);
            if (seen) {
                printf("%-32s (same convolution as one tuned above)\n", name);
                continue;
            }
            tune_arg t;
            memset(&t, 0, sizeof t);
            t.dir = dir;
            CLG_TRY(clg_conv_bufs_create(ctx, &t.b, &d));
            clg_status rc = tune_one(st, &t, name);
            clg_conv_bufs_free(ctx, &t.b);
            if (rc != CLG_OK) return rc;
            done[ndone++] = t;
        }
    }
    if (nwanted == 0)
        return clg_fail(CLG_ERR_INVALID_ARG, "tune: no layer matches --filter '%s'", filter);
    return CLG_OK;
}

int cli_tune(int argc, char **argv) {
    const char *filter = NULL, *device = NULL;
    int reps = 3, batch = 64, gemm_only = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int dv = cli_parse_device(argc, argv, &i, &device);
        if (dv < 0) return 2;
        if (dv) continue;
        if (cli_is_help(a)) {
            printf("usage: clgan tune [--filter NAME | --gemm] [--batch N] [--reps N] "
                   "[--device D]\n\n"
                   "Runs the quick tune again (the device's default variants, which\n"
                   "clgan train and bench run once per device by themselves), then times\n"
                   "every convolution variant on each DCGAN-64 and DCGAN-32 layer and\n"
                   "the demo's (fmnist32: width 32, one channel)\n"
                   "(conv_<net>_<layer>_<fwd|bwd_data|bwd_weight>, batch N, default 64) on\n"
                   "the device and stores the fastest per shape under the cache directory,\n"
                   "keyed by device and driver; later runs use it. Then times CLBlast's\n"
                   "GEMM with a few sets of its Xgemm parameters on clgan's GEMM shapes\n"
                   "and stores the best if it beats the current ones by 5%%. --filter\n"
                   "keeps the conv names containing NAME ('conv' keeps all; no GEMM);\n"
                   "--gemm tunes only the GEMM. Best of N runs (default 3).\n");
            return 0;
        }
        if ((!strcmp(a, "--filter") || !strcmp(a, "--reps") || !strcmp(a, "--batch")) &&
            i + 1 >= argc) {
            fprintf(stderr, "clgan tune: %s needs a value\n", a);
            return 2;
        }
        if (!strcmp(a, "--gemm")) {
            gemm_only = 1;
        } else if (!strcmp(a, "--filter")) {
            filter = argv[++i];
        } else if (!strcmp(a, "--reps") || !strcmp(a, "--batch")) {
            char *end;
            long v = strtol(argv[++i], &end, 10);
            if (*end || v < 1 || v > 4096) {
                fprintf(stderr, "clgan tune: %s wants a count from 1 to 4096, not '%s'\n", a,
                        argv[i]);
                return 2;
            }
            if (!strcmp(a, "--reps")) reps = (int)v;
            else batch = (int)v;
        } else {
            fprintf(stderr, "clgan tune: unknown option '%s' (see clgan tune --help)\n", a);
            return 2;
        }
    }
    clg_ctx *ctx;
    clg_status s = cli_ctx_create(&ctx, device);
    if (s != CLG_OK) return cli_error(s, "opening the device");
    char path[4096];
    s = clg_conv_tune_path(ctx, path, sizeof path);
    if (s == CLG_OK && !path[0])
        s = clg_fail(CLG_ERR_INVALID_ARG, "tune: the cache is disabled (CLGAN_NO_CACHE), "
                                          "nowhere to store results");
    int rc = 0;
    if (s == CLG_OK) {
        char gpath[4096];
        s = clg_device_file(ctx, "gemm-tune", gpath, sizeof gpath);
        printf("device: %s (%s, driver %s)\nconv choices: %s\nGEMM choice: %s\n",
               ctx->dev.name, ctx->dev.platform_name, ctx->dev.driver, path, gpath);
        bench_state st = {ctx, reps, NULL, 0, 0, 0};
        if (!gemm_only && !filter) cli_quick_tune(ctx, 1);
        if (!gemm_only) s = tune_all(&st, filter, batch);
        if (s == CLG_OK && !filter) s = tune_gemm(&st);
        free(st.recs);
    }
    if (s != CLG_OK) rc = cli_error(s, "tune");
    clg_ctx_free(ctx);
    return rc;
}
