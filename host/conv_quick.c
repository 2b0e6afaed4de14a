/* conv_quick.c: the quick per-device tune (conv_quick.h). */
#include "conv_quick.h"
#include "conv_tune.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_SHAPES 16
#define MAX_CANDIDATES 32
#define QUICK_MARGIN 0.95

/* DCGAN-32's D2 and D3 at both widths (ndf 64 and 32; G2 and G3 run the
 * same three GEMMs with the roles exchanged) at batch 32, every direction:
 * 32 to 256 GEMM rows, both row classes of the CPU defaults. */
#define QUICK_SHAPES 12
static clg_status quick_shapes(clg_conv_desc *d, clg_conv_dir *dir) {
    static const int layers[][3] = {{64, 128, 16}, {128, 256, 8}, {32, 64, 16}, {64, 128, 8}};
    int n = 0;
    for (int l = 0; l < 4; l++)
        for (int k = 0; k < CLG_CONV_DIR_COUNT; k++) {
            CLG_TRY(clg_conv_desc_init(&d[n], 32, layers[l][0], layers[l][2], layers[l][2],
                                       layers[l][1], 4, 4, 2, 1));
            dir[n++] = (clg_conv_dir)k;
        }
    return CLG_OK;
}

int clg_conv_quick_done(clg_ctx *ctx) {
    char path[4096];
    clg_conv_desc d[QUICK_SHAPES];
    clg_conv_dir dir[QUICK_SHAPES];
    if (clg_conv_tune_path(ctx, path, sizeof path) != CLG_OK || quick_shapes(d, dir) != CLG_OK) {
        clg_clear_error();
        return 1;
    }
    if (!path[0]) return 1;
    /* Every default these shapes take here has its line (another vector
     * width, say, has other defaults). */
    for (int i = 0; i < QUICK_SHAPES; i++) {
        clg_conv_algo def, to;
        int found = 0;
        clg_conv_algo_default(ctx, dir[i], &d[i], &def);
        if (clg_conv_tune_default_lookup(ctx, dir[i], &def, &to, &found) != CLG_OK) {
            clg_clear_error();
            return 1; /* an unreadable table: nothing to gain by tuning into it */
        }
        if (!found) return 0;
    }
    return 1;
}

/* def first, then the listed variants of def's kind (mvec at def's vector
 * width), each once; whether the device runs them is asked when they are
 * timed (that builds their programs, under the progress line). */
static int candidates(const clg_conv_algo *def, clg_conv_algo *out, int max) {
    int n = 0;
    out[n++] = *def;
    for (int i = 0; i < clg_conv_algo_count() && n < max; i++) {
        clg_conv_algo a = *clg_conv_algo_at(i);
        if (a.kind != def->kind) continue;
        if (a.kind == CLG_CONV_MVEC) a.vw = def->vw;
        int dup = 0;
        for (int k = 0; k < n; k++) dup |= clg_conv_algo_same(&out[k], &a);
        if (!dup && clg_conv_algo_valid(&a)) out[n++] = a;
    }
    return n;
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

/* Best of 3 wall times of a's passes over the group's shapes, after one
 * untimed run (which builds the program). */
static clg_status time_group(clg_ctx *ctx, const clg_conv_algo *a, const clg_conv_bufs *b,
                             const clg_conv_dir *dir, const int *group, int ng, double *ms) {
    *ms = 1e30;
    for (int rep = 0; rep < 4; rep++) {
        double t0 = now_ms();
        for (int g = 0; g < ng; g++) CLG_TRY(clg_conv_run(ctx, dir[group[g]], a, &b[group[g]]));
        CLG_TRY(clg_ctx_finish(ctx));
        double t = now_ms() - t0;
        if (rep > 0 && t < *ms) *ms = t;
    }
    return CLG_OK;
}

/* Times the candidates of default def over the shapes in group (one
 * direction); stores the fastest for that direction. */
static clg_status tune_group(clg_ctx *ctx, const clg_conv_algo *def, const clg_conv_bufs *b,
                             const clg_conv_dir *dir, const int *group, int ng, int maxc,
                             clg_progress_fn fn, void *user, int *done, int total) {
    clg_conv_algo c[MAX_CANDIDATES];
    int nc = candidates(def, c, maxc);
    int best = 0;
    double best_ms = 1e30, def_ms = 1e30;
    for (int i = 0; i < nc; i++) {
        double ms = 1e30; /* a variant the device cannot run is never chosen */
        if (clg_conv_algo_check(ctx, &c[i]) == CLG_OK)
            CLG_TRY(time_group(ctx, &c[i], b, dir, group, ng, &ms));
        clg_clear_error();
        if (i == 0) def_ms = ms; /* c[0] is the default */
        if (ms < best_ms) best_ms = ms, best = i;
        if (fn) fn(user, ++*done, total);
    }
    /* A shared machine's timings swing by several percent from run to
     * run: the default stays unless another beats it by 5%. */
    if (best_ms > QUICK_MARGIN * def_ms) best = 0;
    return clg_conv_tune_default_store(ctx, dir[group[0]], def, &c[best]);
}

/* Shapes i and k are tuned together: the same default in the same direction. */
static int same_group(const clg_conv_algo *def, const clg_conv_dir *dir, int i, int k) {
    return dir[i] == dir[k] && clg_conv_algo_same(&def[i], &def[k]);
}

static int first_of_group(const clg_conv_algo *def, const clg_conv_dir *dir, int i) {
    for (int k = 0; k < i; k++)
        if (same_group(def, dir, i, k)) return 0;
    return 1;
}

clg_status clg_conv_quick_tune_shapes(clg_ctx *ctx, const clg_conv_desc *d,
                                      const clg_conv_dir *dir, int n, int max_candidates,
                                      clg_progress_fn fn, void *user) {
    if (n < 1 || n > MAX_SHAPES)
        return clg_fail(CLG_ERR_INVALID_ARG, "conv quick tune: %d shapes (1 to %d)", n,
                        MAX_SHAPES);
    int maxc = max_candidates > 0 && max_candidates < MAX_CANDIDATES ? max_candidates
                                                                      : MAX_CANDIDATES;
    clg_conv_algo def[MAX_SHAPES];
    clg_conv_bufs b[MAX_SHAPES];
    int nb = 0, total = 0, done = 0;
    clg_status rc = CLG_OK;
    for (int i = 0; i < n; i++) clg_conv_algo_default(ctx, dir[i], &d[i], &def[i]);
    for (int i = 0; i < n; i++) { /* the candidates to time, for the progress line */
        if (first_of_group(def, dir, i)) {
            clg_conv_algo c[MAX_CANDIDATES];
            total += candidates(&def[i], c, maxc);
        }
    }
    for (nb = 0; nb < n; nb++) CLG_TRY_GOTO(clg_conv_bufs_create(ctx, &b[nb], &d[nb]), out);
    for (int i = 0; i < n; i++) {
        int group[MAX_SHAPES], ng = 0;
        if (!first_of_group(def, dir, i)) continue;
        for (int k = i; k < n; k++)
            if (same_group(def, dir, i, k)) group[ng++] = k;
        CLG_TRY_GOTO(tune_group(ctx, &def[i], b, dir, group, ng, maxc, fn, user, &done, total),
                     out);
    }
out:
    for (int i = 0; i < nb; i++) clg_conv_bufs_free(ctx, &b[i]);
    return rc;
}

clg_status clg_conv_quick_tune(clg_ctx *ctx, clg_progress_fn fn, void *user) {
    clg_conv_desc d[QUICK_SHAPES];
    clg_conv_dir dir[QUICK_SHAPES];
    CLG_TRY(quick_shapes(d, dir));
    return clg_conv_quick_tune_shapes(ctx, d, dir, QUICK_SHAPES, 0, fn, user);
}
