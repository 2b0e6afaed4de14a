/* sample.c: `clgan sample` (a grid of samples) and `clgan interpolate`
 * (rows of interpolations between random latent pairs) from a checkpoint. */
#include "checkpoint.h"
#include "cli.h"
#include "dataset.h"
#include "opts.h"
#include "rng.h"
#include "safetensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>

/* Run the checkpoint's generator on host latents z (n x nz) and labels (n,
 * or NULL); the images come back in *img (n x nc x size x size, malloc'd). */
static clg_status generate(clg_ctx *ctx, clg_model *m, int n, const float *z, const int32_t *labels,
                           int running, float **img, const clg_tensor **shape) {
    clg_tensor tz = {0};
    clg_itensor tl = {0};
    clg_status rc;
    if (labels && !m->classes) {
        rc = clg_fail(CLG_ERR_INVALID_ARG, "labels given, but this %s takes none", m->ops->kind);
        goto done;
    }
    CLG_TRY_GOTO(clg_tensor_create(ctx, &tz, n, m->nz, 1, 1, "noise"), done);
    CLG_TRY_GOTO(clg_tensor_upload(ctx, &tz, z), done);
    if (labels) {
        CLG_TRY_GOTO(clg_itensor_create(ctx, &tl, n, "labels"), done);
        CLG_TRY_GOTO(clg_itensor_upload_labels(ctx, &tl, labels, m->classes), done);
    }
    CLG_TRY_GOTO(m->ops->generate(ctx, m, &tz, labels ? &tl : NULL, running, shape), done);
    if (!(*img = malloc(clg_tensor_bytes(*shape)))) {
        rc = clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory");
        goto done;
    }
    rc = clg_tensor_download(ctx, *shape, *img);
done:
    clg_tensor_free(ctx, &tz);
    clg_itensor_free(ctx, &tl);
    return rc;
}

/* Generate and write the grid; tiles with blank[i] set are drawn empty. */
static clg_status render(clg_ctx *ctx, clg_model *m, int n, const float *z, const int32_t *labels,
                         int nrow, int running, int numbered, const unsigned char *blank,
                         const char *out) {
    float *img = NULL;
    const clg_tensor *o;
    clg_status rc = generate(ctx, m, n, z, labels, running, &img, &o);
    if (rc == CLG_OK) {
        size_t per = (size_t)o->c * o->h * o->w;
        for (int i = 0; blank && i < o->n; i++)
            if (blank[i])
                for (size_t j = 0; j < per; j++) img[(size_t)i * per + j] = -1.0f;
        rc = numbered ? clg_png_write_grid_numbered(out, img, o->n, o->c, o->h, o->w, nrow)
                      : clg_png_write_grid(out, img, o->n, o->c, o->h, o->w, nrow);
    }
    free(img);
    return rc;
}

/* n standard normals from Philox(seed), computed on the host. */
void cli_host_normals(float *z, size_t n, uint64_t seed) {
    const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    for (size_t b = 0; b < (n + 1) / 2; b++) {
        uint32_t ctr[4] = {(uint32_t)b, (uint32_t)((uint64_t)b >> 32), 0, 0}, w[4];
        clg_philox4x32_10(ctr, key, w);
        double u1 = clg_rng_u01(w[0]), u2 = clg_rng_u01(w[1]);
        double r = sqrt(-2.0 * log(u1));
        z[2 * b] = (float)(r * cos(6.283185307179586 * u2));
        if (2 * b + 1 < n) z[2 * b + 1] = (float)(r * sin(6.283185307179586 * u2));
    }
}

/* What one sample/interpolate invocation asks for. */
typedef struct {
    const char *what, *ckpt, *device, *out, *latents, *save;
    int n, nrow, running, raw, numbers, interp_steps; /* n, nrow 0: the default */
    uint64_t seed;
    int klass;   /* conditional models: -1 row k from class k, else every tile this class */
    int classes; /* the checkpoint's (0: unconditional) */
    int levels;  /* multi-scale models: every level of the first samples, a row each */
} sample_req;

#define LEVEL_ROWS 8

/* Row i: the levels of sample i, coarse to fine, each scaled up (nearest)
 * to the finest size. */
static clg_status render_levels(clg_ctx *ctx, clg_model *m, int n, const char *out) {
    const clg_tensor *lv[8];
    int nl = m->ops->levels ? m->ops->levels(m, lv, 8) : 0;
    if (nl < 1)
        return clg_fail(CLG_ERR_INVALID_ARG, "--levels: a %s has no levels", m->ops->kind);
    const clg_tensor *fine = lv[nl - 1];
    int rows = n < LEVEL_ROWS ? n : LEVEL_ROWS, c = fine->c, s = fine->h;
    size_t per = (size_t)c * s * s;
    float *grid = malloc((size_t)rows * nl * per * sizeof *grid), *buf = malloc(clg_tensor_bytes(fine));
    clg_status rc = grid && buf ? CLG_OK : clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory");
    for (int k = 0; k < nl && rc == CLG_OK; k++) {
        int ls = lv[k]->h, f = s / ls;
        if ((rc = clg_tensor_download(ctx, lv[k], buf)) != CLG_OK) break;
        for (int r = 0; r < rows; r++)
            for (int ch = 0; ch < c; ch++)
                for (int y = 0; y < s; y++)
                    for (int x = 0; x < s; x++)
                        grid[((size_t)(r * nl + k) * c + ch) * s * s + (size_t)y * s + x] =
                            buf[(((size_t)r * c + ch) * ls + y / f) * ls + x / f];
    }
    if (rc == CLG_OK) rc = clg_png_write_grid(out, grid, rows * nl, c, s, s, nl);
    free(grid), free(buf);
    return rc;
}

/* Latents: random (n x nz from the seed), rows of linear interpolations
 * between random pairs, or given in a safetensors file ("z" (n, nz), and
 * "labels" (n) for conditional models). */
static clg_status make_latents(const sample_req *q, int nz, int *n, float **z, int32_t **labels);

/* The generated images and their inputs into a safetensors file. */
static clg_status save_tensors(const char *path, const char *ckpt, int n, int nz, const float *z,
                               const int32_t *labels, const float *img, const clg_tensor *o) {
    float *lf = NULL;
    clg_st_write_entry e[3] = {{"z", z, 2, {n, nz}}, {"images", img, 4, {o->n, o->c, o->h, o->w}}};
    int count = 2;
    if (labels) {
        if (!(lf = malloc((size_t)n * sizeof *lf)))
            return clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory");
        for (int i = 0; i < n; i++) lf[i] = (float)labels[i];
        e[count++] = (clg_st_write_entry){"labels", lf, 1, {n}};
    }
    const char *meta[] = {"format", "clgan-samples-1", "checkpoint", ckpt};
    clg_status rc = clg_safetensors_write(path, e, count, meta, 2);
    free(lf);
    return rc;
}

/* The grid's defaults from the checkpoint's kind: 64 samples 8 a row, or for
 * a conditional model one row of 10 per class (8 rows of --class K). */
static clg_status plan(sample_req *q) {
    const clg_model_ops *ops;
    void *cfg;
    clg_model_common c;
    CLG_TRY(clg_ckpt_read_config(q->ckpt, &ops, &cfg));
    ops->common(cfg, &c);
    free(cfg);
    q->classes = c.classes;
    if (q->klass >= 0 && (q->klass >= c.classes))
        return clg_fail(CLG_ERR_INVALID_ARG, "--class %d: %s", q->klass, c.classes ?
                        "past the model's classes" : "the model is not conditional");
    int cond_rows = c.classes > 0 && q->interp_steps <= 1;
    if (!q->nrow) q->nrow = cond_rows ? 10 : 8;
    if (!q->n) q->n = cond_rows ? q->nrow * (q->klass >= 0 ? 8 : c.classes) : 64;
    if (q->n > 4096) return clg_fail(CLG_ERR_INVALID_ARG, "%d samples: at most 4096", q->n);
    return CLG_OK;
}

static clg_status sample_run(clg_ctx *ctx, sample_req *q) {
    clg_model *m = NULL;
    float *z = NULL, *img = NULL;
    int32_t *labels = NULL;
    const clg_tensor *o;
    clg_status rc;
    CLG_TRY(plan(q));
    int n = q->n;
    if (q->latents) { /* the file decides n: read it before building */
        CLG_TRY(make_latents(q, -1, &n, &z, &labels));
        free(z), free(labels), z = NULL, labels = NULL;
    }
    CLG_TRY_GOTO(clg_ckpt_open_generator(ctx, q->ckpt, n, q->raw, &m, NULL), done);
    CLG_TRY_GOTO(make_latents(q, m->nz, &n, &z, &labels), done);
    if (q->save) {
        CLG_TRY_GOTO(generate(ctx, m, n, z, labels, q->running, &img, &o), done);
        CLG_TRY_GOTO(save_tensors(q->save, q->ckpt, n, m->nz, z, labels, img, o), done);
    }
    if (q->levels) {
        CLG_TRY_GOTO(generate(ctx, m, n, z, labels, q->running, &img, &o), done);
        rc = render_levels(ctx, m, n, q->out);
    } else {
        rc = render(ctx, m, n, z, labels, q->nrow, q->running,
                    q->numbers && q->interp_steps <= 1, NULL, q->out);
    }
done:
    if (m) m->ops->destroy(ctx, m);
    free(z), free(labels), free(img);
    return rc;
}

static int run_cmd(sample_req *q) {
    clg_ctx *ctx;
    clg_status s = cli_ctx_create(&ctx, q->device);
    if (s != CLG_OK) return cli_error(s, "opening the device");
    s = sample_run(ctx, q);
    clg_ctx_free(ctx);
    if (s != CLG_OK) return cli_error(s, q->what);
    printf("%s\n", q->out);
    if (q->save) printf("%s\n", q->save);
    return 0;
}

/* Row r: from z_a to z_b in `steps` linear steps. */
static clg_status interpolations(float *z, int n, int nz, int steps, uint64_t seed) {
    int rows = n / steps;
    float *ends = malloc((size_t)2 * rows * nz * sizeof *ends);
    if (!ends) return clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory");
    cli_host_normals(ends, (size_t)2 * rows * nz, seed);
    for (int r = 0; r < rows; r++)
        for (int k = 0; k < steps; k++) {
            float t = (float)k / (float)(steps - 1);
            for (int j = 0; j < nz; j++)
                z[((size_t)r * steps + k) * nz + j] = (1 - t) * ends[(size_t)(2 * r) * nz + j] +
                                                      t * ends[(size_t)(2 * r + 1) * nz + j];
        }
    free(ends);
    return CLG_OK;
}

/* "z" (n, nz) or (n, nz, 1, 1), "labels" (n) whole numbers; nz < 0: only n. */
static clg_status read_latents(const char *path, int nz, int *n, float **z, int32_t **labels) {
    clg_safetensors st;
    CLG_TRY(clg_safetensors_read(path, &st));
    clg_status rc = CLG_OK;
    const clg_st_entry *ez = clg_safetensors_find(&st, "z"), *el = clg_safetensors_find(&st, "labels");
    int ok = ez && (ez->ndim == 2 || (ez->ndim == 4 && ez->shape[2] == 1 && ez->shape[3] == 1)) &&
             ez->shape[0] >= 1 && ez->shape[0] <= 4096 && (nz < 0 || ez->shape[1] == nz);
    if (!ok) {
        rc = clg_fail(CLG_ERR_FORMAT, "%s: needs a tensor 'z' of shape (n, %d) with n in 1..4096",
                      path, nz);
        goto done;
    }
    *n = (int)ez->shape[0];
    if (el && (el->ndim != 1 || el->shape[0] != *n)) {
        rc = clg_fail(CLG_ERR_FORMAT, "%s: 'labels' must have shape (%d)", path, *n);
        goto done;
    }
    *z = malloc(ez->numel * sizeof **z);
    *labels = el ? malloc((size_t)*n * sizeof **labels) : NULL;
    if (!*z || (el && !*labels)) {
        rc = clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory");
        goto done;
    }
    memcpy(*z, ez->data, ez->numel * sizeof **z);
    for (int i = 0; el && i < *n; i++) {
        float v = el->data[i];
        if (!(v >= 0 && v <= 1e6f && v == (float)(int32_t)v)) {
            rc = clg_fail(CLG_ERR_FORMAT, "%s: labels[%d] = %g is not a class index", path, i, v);
            goto done;
        }
        (*labels)[i] = (int32_t)v;
    }
done:
    clg_safetensors_free(&st);
    return rc;
}

static clg_status make_latents(const sample_req *q, int nz, int *n, float **z, int32_t **labels) {
    *labels = NULL;
    if (q->latents) return read_latents(q->latents, nz, n, z, labels);
    *n = q->n;
    if (!(*z = malloc((size_t)*n * nz * sizeof **z)))
        return clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory");
    if (q->classes > 0) { /* row r of the grid from class r, or all from --class */
        if (!(*labels = malloc((size_t)*n * sizeof **labels)))
            return clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory");
        for (int i = 0; i < *n; i++)
            (*labels)[i] = q->klass >= 0 ? q->klass : (i / q->nrow) % q->classes;
    }
    if (q->interp_steps > 1) return interpolations(*z, *n, nz, q->interp_steps, q->seed);
    cli_host_normals(*z, (size_t)*n * nz, q->seed);
    return CLG_OK;
}

int cli_sample(int argc, char **argv) {
    sample_req q = {"sampling", NULL, NULL, "samples.png", NULL, NULL, 0, 0, 0, 0, 1, 1, 1, -1, 0, 0};
    int plain = 0;
    cli_opt opts[] = {
        {"-n", NULL, OPT_INT, &q.n,
         "number of samples (0: 64, or for a conditional model 10 per class)"},
        {"-o", "--out", OPT_STR, &q.out, "output PNG"},
        {"--nrow", NULL, OPT_INT, &q.nrow, "images per grid row (0: 8, conditional 10)"},
        {"--class", NULL, OPT_INT, &q.klass,
         "conditional models: every sample from this class (-1: row k from class k)"},
        {"--levels", NULL, OPT_FLAG, &q.levels,
         "LAPGAN: every pyramid level (coarse to fine) of the first 8 samples, a row each"},
        {"--seed", NULL, OPT_U64, &q.seed, "seed of the latent vectors"},
        {"--latents", NULL, OPT_STR, &q.latents,
         "take the latents from this safetensors file ('z' (n, nz); 'labels' (n) for "
         "conditional models) instead of the seed"},
        {"--save-tensors", NULL, OPT_STR, &q.save,
         "also write z, labels and the raw images (n, c, h, w) in [-1, 1] to this safetensors file"},
        {"--running-stats", NULL, OPT_FLAG, &q.running,
         "BN with running statistics (default: the batch's own, as during training)"},
        {"--plain", NULL, OPT_FLAG, &plain, "no index numbers on the tiles"},
        {"--raw-weights", NULL, OPT_FLAG, &q.raw, CLI_RAW_WEIGHTS_HELP},
        {"--device", "-d", OPT_STR, &q.device, "P:D or part of a device name"},
    };
    const char *pos[1];
    int np;
    int r = cli_parse("sample", "usage: clgan sample CKPT [-n 64] [-o grid.png] [--seed S]\n\n"
                      "Draws n samples from a checkpoint's generator into a PNG grid,\n"
                      "each tile numbered (row by row from 0) for clgan arith. For a\n"
                      "conditional model (cgan) row k of the grid is class k.",
                      argc, argv, opts, (int)(sizeof opts / sizeof opts[0]), pos, 1, &np);
    if (r) return r < 0 ? 0 : r;
    if (np != 1) {
        fprintf(stderr, "clgan sample: give one checkpoint (see clgan sample --help)\n");
        return 2;
    }
    if (q.n < 0 || q.n > 4096 || q.nrow < 0 || q.klass < -1 || !*q.out ||
        (q.save && !*q.save) || (q.latents && !*q.latents)) {
        fprintf(stderr, "clgan sample: -n must be 0..4096, --nrow and --class not negative, "
                "paths not empty\n");
        return 2;
    }
    q.ckpt = pos[0];
    q.numbers = !plain;
    return run_cmd(&q);
}

int cli_interpolate(int argc, char **argv) {
    int rows = 8, steps = 10;
    sample_req q = {"interpolating", NULL, NULL, "interpolation.png", NULL, NULL, 0, 0, 0, 0,
                    0, 0, 1, -1, 0, 0};
    cli_opt opts[] = {
        {"-o", "--out", OPT_STR, &q.out, "output PNG"},
        {"--rows", NULL, OPT_INT, &rows, "number of latent pairs"},
        {"--steps", NULL, OPT_INT, &steps, "images from one end to the other"},
        {"--seed", NULL, OPT_U64, &q.seed, "seed of the latent pairs"},
        {"--running-stats", NULL, OPT_FLAG, &q.running, "BN with running statistics"},
        {"--raw-weights", NULL, OPT_FLAG, &q.raw, CLI_RAW_WEIGHTS_HELP},
        {"--device", "-d", OPT_STR, &q.device, "P:D or part of a device name"},
    };
    const char *pos[1];
    int np;
    int r = cli_parse("interpolate",
                      "usage: clgan interpolate CKPT [-o strip.png] [--rows 8] [--steps 10]\n\n"
                      "Each row walks linearly between two random latent vectors.",
                      argc, argv, opts, (int)(sizeof opts / sizeof opts[0]), pos, 1, &np);
    if (r) return r < 0 ? 0 : r;
    if (np != 1) {
        fprintf(stderr, "clgan interpolate: give one checkpoint\n");
        return 2;
    }
    if (rows < 1 || steps < 2 || (long)rows * steps > 4096 || !*q.out) {
        fprintf(stderr, "clgan interpolate: --rows >= 1, --steps >= 2, rows x steps <= 4096\n");
        return 2;
    }
    q.ckpt = pos[0], q.n = rows * steps, q.nrow = steps, q.interp_steps = steps;
    return run_cmd(&q);
}

int cli_render_latents(const char *ckpt, const char *device, int raw, const float *z, int n,
                       int nrow, const unsigned char *blank, const char *out) {
    clg_ctx *ctx;
    clg_status s = cli_ctx_create(&ctx, device);
    if (s != CLG_OK) return cli_error(s, "opening the device");
    clg_model *m = NULL;
    s = clg_ckpt_open_generator(ctx, ckpt, n, raw, &m, NULL);
    if (s == CLG_OK) s = render(ctx, m, n, z, NULL, nrow, 0, 0, blank, out);
    if (m) m->ops->destroy(ctx, m);
    clg_ctx_free(ctx);
    if (s != CLG_OK) return cli_error(s, "decoding");
    printf("%s\n", out);
    return 0;
}
