/* features.c: `clgan features` (D's features + L2-SVM against a random-D
 * baseline) and `clgan arith` (latent vector arithmetic). */
#include "checkpoint.h"
#include "cli.h"
#include "dataset.h"
#include "dfeatures.h"
#include "opts.h"
#include "rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_features(int argc, char **argv) {
    int per_class = 0;
    double c = 0;
    const char *device = NULL;
    cli_opt opts[] = {
        {"--labels-per-class", NULL, OPT_INT, &per_class, "labelled examples per class (0: all)"},
        {"--svm-c", NULL, OPT_DOUBLE, &c, "the SVM's C (default: chosen from 1e-5..0.1 on a held-out tenth)"},
        {"--device", "-d", OPT_STR, &device, "P:D or part of a device name"},
    };
    const char *pos[1];
    int np;
    int r = cli_parse("features",
                      "usage: clgan features CKPT [--labels-per-class K]\n\n"
                      "Max-pools each of D's convolutional blocks to 4x4, trains a linear\n"
                      "L2-SVM on Fashion-MNIST's training set and reports test accuracy,\n"
                      "beside the same pipeline on a randomly initialised D.",
                      argc, argv, opts, (int)(sizeof opts / sizeof opts[0]), pos, 1, &np);
    if (r) return r < 0 ? 0 : r;
    if (np != 1 || per_class < 0 || c < 0) {
        fprintf(stderr, "clgan features: give one checkpoint; K >= 0, C > 0 (0: choose)\n");
        return 2;
    }
    clg_ctx *ctx;
    clg_status s = cli_ctx_create(&ctx, device);
    if (s != CLG_OK) return cli_error(s, "opening the device");
    clg_features_result res;
    s = clg_d_features_svm(ctx, pos[0], per_class, c, &res);
    clg_ctx_free(ctx);
    if (s != CLG_OK) return cli_error(s, "the feature evaluation");
    printf("D features: %d dims, %ld training examples\n", res.dims, res.train_n);
    if (res.held_out >= 0)
        printf("C chosen on a held-out tenth: trained D %g (%.4f), random D %g (%.4f)\n", res.c,
               res.held_out, res.random_c, res.random_held_out);
    printf("L2-SVM test accuracy: trained D %.4f (C %g), random D %.4f (C %g): %+.2f points\n",
           res.accuracy, res.c, res.random_accuracy, res.random_c,
           100.0 * (res.accuracy - res.random_accuracy));
    return 0;
}

/* Parse "i,j,k" into idx (at most 8), returning the count or -1. */
static int parse_indices(const char *s, int *idx) {
    int n = 0;
    while (*s) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || v < 0 || v > 4095 || n == 8) return -1;
        idx[n++] = (int)v;
        s = *end == ',' ? end + 1 : end;
        if (*end && *end != ',') return -1;
    }
    return n;
}

int cli_arith(int argc, char **argv) {
    uint64_t seed = 1;
    const char *a = NULL, *b = NULL, *c = NULL, *out = "arith.png", *device = NULL;
    int raw = 0;
    cli_opt opts[] = {
        {"--seed", NULL, OPT_U64, &seed, "the seed given to clgan sample"},
        {"--a", NULL, OPT_STR, &a, "indices of group A in that sample grid (i,j,k)"},
        {"--b", NULL, OPT_STR, &b, "indices of group B"},
        {"--c", NULL, OPT_STR, &c, "indices of group C"},
        {"-o", "--out", OPT_STR, &out, "output PNG"},
        {"--raw-weights", NULL, OPT_FLAG, &raw, CLI_RAW_WEIGHTS_HELP},
        {"--device", "-d", OPT_STR, &device, "P:D or part of a device name"},
    };
    const char *pos[1];
    int np;
    int r = cli_parse("arith",
                      "usage: clgan arith CKPT --seed S --a i,j,k --b ... --c ... -o out.png\n\n"
                      "Indices number the grid of `clgan sample CKPT --seed S` row by row from\n"
                      "0. Decodes mean(A) - mean(B) + mean(C) and 8 neighbours (z + 0.25 N(0,1));\n"
                      "rows of the output: A's images and their mean, B's, C's, then the result.",
                      argc, argv, opts, (int)(sizeof opts / sizeof opts[0]), pos, 1, &np);
    if (r) return r < 0 ? 0 : r;
    int ia[8], ib[8], ic[8];
    int na = a ? parse_indices(a, ia) : -1, nb = b ? parse_indices(b, ib) : -1;
    int nc = c ? parse_indices(c, ic) : -1;
    if (np != 1 || na < 1 || nb < 1 || nc < 1) {
        fprintf(stderr, "clgan arith: give a checkpoint and --a, --b, --c as 1 to 8 indices\n");
        return 2;
    }
    int maxi = 0;
    for (int i = 0; i < na; i++) maxi = ia[i] > maxi ? ia[i] : maxi;
    for (int i = 0; i < nb; i++) maxi = ib[i] > maxi ? ib[i] : maxi;
    for (int i = 0; i < nc; i++) maxi = ic[i] > maxi ? ic[i] : maxi;
    const clg_model_ops *ops;
    void *mcfg = NULL;
    clg_model_common cfg = {0};
    clg_status s = clg_ckpt_read_config(pos[0], &ops, &mcfg);
    if (s == CLG_OK && !ops->generates)
        s = clg_fail(CLG_ERR_INVALID_ARG, "%s holds a %s, which does not generate", pos[0], ops->kind);
    if (s == CLG_OK) ops->common(mcfg, &cfg);
    free(mcfg);
    if (s != CLG_OK) return cli_error(s, "reading the checkpoint");
    const int nz = cfg.nz, cols = 9, rows = 4, total = cols * rows;
    float *z_all = malloc((size_t)(maxi + 1) * nz * sizeof *z_all);
    float *z = calloc((size_t)total * nz, sizeof *z);
    float *noise = malloc((size_t)cols * nz * sizeof *noise);
    if (!z_all || !z || !noise) {
        free(z_all), free(z), free(noise);
        return cli_error(CLG_ERR_OUT_OF_MEMORY, "arith");
    }
    cli_host_normals(z_all, (size_t)(maxi + 1) * nz, seed);
    cli_host_normals(noise, (size_t)cols * nz, seed ^ 0xa5a5a5a5ULL);
    /* Unused tiles get random latents, so the batch statistics BN normalises
     * with look like a sample batch's, then are drawn empty. */
    unsigned char blank[36] = {0};
    float *filler = malloc((size_t)total * nz * sizeof *filler);
    if (!filler) {
        free(z_all), free(z), free(noise);
        return cli_error(CLG_ERR_OUT_OF_MEMORY, "arith");
    }
    cli_host_normals(filler, (size_t)total * nz, seed ^ 0x5a5a5a5aULL);
    for (int i = 0; i < 3 * cols; i++)
        if (i % cols != cols - 1 && i % cols >= (i / cols == 0 ? na : i / cols == 1 ? nb : nc)) {
            memcpy(z + (size_t)i * nz, filler + (size_t)i * nz, (size_t)nz * sizeof *z);
            blank[i] = 1;
        }
    free(filler);
    const int *groups[3] = {ia, ib, ic};
    const int counts[3] = {na, nb, nc};
    double *mean = calloc((size_t)3 * nz, sizeof *mean);
    for (int g = 0; g < 3; g++) {
        for (int i = 0; i < counts[g]; i++)
            for (int j = 0; j < nz; j++) {
                float v = z_all[(size_t)groups[g][i] * nz + j];
                z[((size_t)g * cols + i) * nz + j] = v;
                mean[(size_t)g * nz + j] += v / counts[g];
            }
        for (int j = 0; j < nz; j++) z[((size_t)g * cols + cols - 1) * nz + j] = (float)mean[(size_t)g * nz + j];
    }
    for (int k = 0; k < cols; k++)
        for (int j = 0; j < nz; j++) {
            double v = mean[j] - mean[nz + j] + mean[2 * nz + j];
            z[((size_t)3 * cols + k) * nz + j] = (float)(v + (k ? 0.25 * noise[(size_t)k * nz + j] : 0));
        }
    free(mean);
    int rc = cli_render_latents(pos[0], device, raw, z, total, cols, blank, out);
    free(z_all), free(z), free(noise);
    return rc;
}
