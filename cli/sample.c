/* sample.c: `clgan sample` (a grid of samples) and `clgan interpolate`
 * (rows of interpolations between random latent pairs) from a checkpoint. */
#include "checkpoint.h"
#include "cli.h"
#include "dataset.h"
#include "opts.h"
#include "rng.h"

#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>

/* Build G for `n` images from the checkpoint and load its weights (their
 * average when the checkpoint keeps one, unless `raw`). */
static clg_status open_g(clg_ctx *ctx, const char *ckpt, int n, int raw, clg_net *g) {
    clg_dcgan_config cfg;
    CLG_TRY(clg_ckpt_read_config(ckpt, &cfg));
    /* The checkpoint's data channel count is part of its config. */
    CLG_TRY(clg_dcgan_build_g(g, &cfg, n));
    CLG_TRY(clg_net_alloc(ctx, g));
    return clg_ckpt_load_g(ctx, g, ckpt, raw, NULL);
}

/* Run G on host noise z (n x nz) and write the grid. */
static clg_status render(clg_ctx *ctx, clg_net *g, const float *z, int nrow, int running,
                         int numbered, const unsigned char *blank, const char *out) {
    clg_tensor tz = {0};
    float *img = NULL;
    clg_status rc;
    CLG_TRY_GOTO(clg_tensor_create(ctx, &tz, g->in[0], g->in[1], 1, 1, "noise"), done);
    CLG_TRY_GOTO(clg_tensor_upload(ctx, &tz, z), done);
    CLG_TRY_GOTO(clg_net_forward(ctx, g, &tz, running ? CLG_NET_EVAL : CLG_NET_BATCH_STATS),
                 done);
    const clg_tensor *o = clg_net_output(g);
    img = malloc(clg_tensor_bytes(o));
    if (!img) {
        rc = clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory");
        goto done;
    }
    CLG_TRY_GOTO(clg_tensor_download(ctx, o, img), done);
    size_t per = (size_t)o->c * o->h * o->w;
    for (int i = 0; blank && i < o->n; i++)
        if (blank[i])
            for (size_t j = 0; j < per; j++) img[(size_t)i * per + j] = -1.0f;
    rc = numbered ? clg_png_write_grid_numbered(out, img, o->n, o->c, o->h, o->w, nrow)
                  : clg_png_write_grid(out, img, o->n, o->c, o->h, o->w, nrow);
done:
    free(img);
    clg_tensor_free(ctx, &tz);
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

static int run_cmd(const char *what, const char *ckpt, const char *device, int n, int nrow,
                   int running, int raw, int numbers, const char *out, uint64_t seed,
                   int interp_steps) {
    clg_ctx *ctx;
    clg_status s = cli_ctx_create(&ctx, device);
    if (s != CLG_OK) return cli_error(s, "opening the device");
    clg_net g;
    memset(&g, 0, sizeof g);
    float *z = NULL;
    s = open_g(ctx, ckpt, n, raw, &g);
    if (s == CLG_OK) {
        int nz = g.in[1];
        z = malloc((size_t)n * nz * sizeof *z);
        if (!z) s = clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory");
        else if (interp_steps <= 1) cli_host_normals(z, (size_t)n * nz, seed);
        else {
            /* Row r: from z_a to z_b in interp_steps linear steps. */
            int rows = n / interp_steps;
            float *ends = malloc((size_t)2 * rows * nz * sizeof *ends);
            if (!ends) s = clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory");
            else {
                cli_host_normals(ends, (size_t)2 * rows * nz, seed);
                for (int r = 0; r < rows; r++)
                    for (int k = 0; k < interp_steps; k++) {
                        float t = (float)k / (float)(interp_steps - 1);
                        for (int j = 0; j < nz; j++)
                            z[((size_t)r * interp_steps + k) * nz + j] =
                                (1 - t) * ends[(size_t)(2 * r) * nz + j] +
                                t * ends[(size_t)(2 * r + 1) * nz + j];
                    }
                free(ends);
            }
        }
    }
    if (s == CLG_OK) s = render(ctx, &g, z, nrow, running, numbers && interp_steps <= 1, NULL, out);
    free(z);
    clg_net_free(ctx, &g);
    clg_ctx_free(ctx);
    if (s != CLG_OK) return cli_error(s, what);
    printf("%s\n", out);
    return 0;
}

int cli_sample(int argc, char **argv) {
    int n = 64, nrow = 8, running = 0, plain = 0, raw = 0;
    uint64_t seed = 1;
    const char *out = "samples.png", *device = NULL;
    cli_opt opts[] = {
        {"-n", NULL, OPT_INT, &n, "number of samples"},
        {"-o", "--out", OPT_STR, &out, "output PNG"},
        {"--nrow", NULL, OPT_INT, &nrow, "images per grid row"},
        {"--seed", NULL, OPT_U64, &seed, "seed of the latent vectors"},
        {"--running-stats", NULL, OPT_FLAG, &running,
         "BN with running statistics (default: the batch's own, as during training)"},
        {"--plain", NULL, OPT_FLAG, &plain, "no index numbers on the tiles"},
        {"--raw-weights", NULL, OPT_FLAG, &raw, CLI_RAW_WEIGHTS_HELP},
        {"--device", "-d", OPT_STR, &device, "P:D or part of a device name"},
    };
    const char *pos[1];
    int np;
    int r = cli_parse("sample", "usage: clgan sample CKPT [-n 64] [-o grid.png] [--seed S]\n\n"
                      "Draws n samples from a DCGAN checkpoint's generator into a PNG grid,\n"
                      "each tile numbered (row by row from 0) for clgan arith.",
                      argc, argv, opts, (int)(sizeof opts / sizeof opts[0]), pos, 1, &np);
    if (r) return r < 0 ? 0 : r;
    if (np != 1) {
        fprintf(stderr, "clgan sample: give one checkpoint (see clgan sample --help)\n");
        return 2;
    }
    if (n < 1 || n > 4096 || nrow < 1) {
        fprintf(stderr, "clgan sample: -n must be 1..4096 and --nrow positive\n");
        return 2;
    }
    return run_cmd("sampling", pos[0], device, n, nrow, running, raw, !plain, out, seed, 1);
}

int cli_interpolate(int argc, char **argv) {
    int rows = 8, steps = 10, running = 0, raw = 0;
    uint64_t seed = 1;
    const char *out = "interpolation.png", *device = NULL;
    cli_opt opts[] = {
        {"-o", "--out", OPT_STR, &out, "output PNG"},
        {"--rows", NULL, OPT_INT, &rows, "number of latent pairs"},
        {"--steps", NULL, OPT_INT, &steps, "images from one end to the other"},
        {"--seed", NULL, OPT_U64, &seed, "seed of the latent pairs"},
        {"--running-stats", NULL, OPT_FLAG, &running, "BN with running statistics"},
        {"--raw-weights", NULL, OPT_FLAG, &raw, CLI_RAW_WEIGHTS_HELP},
        {"--device", "-d", OPT_STR, &device, "P:D or part of a device name"},
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
    if (rows < 1 || steps < 2 || (long)rows * steps > 4096) {
        fprintf(stderr, "clgan interpolate: --rows >= 1, --steps >= 2, rows x steps <= 4096\n");
        return 2;
    }
    return run_cmd("interpolating", pos[0], device, rows * steps, steps, running, raw, 0, out,
                   seed, steps);
}

int cli_render_latents(const char *ckpt, const char *device, int raw, const float *z, int n,
                       int nrow, const unsigned char *blank, const char *out) {
    clg_ctx *ctx;
    clg_status s = cli_ctx_create(&ctx, device);
    if (s != CLG_OK) return cli_error(s, "opening the device");
    clg_net g;
    memset(&g, 0, sizeof g);
    s = open_g(ctx, ckpt, n, raw, &g);
    if (s == CLG_OK) s = render(ctx, &g, z, nrow, 0, 0, blank, out);
    clg_net_free(ctx, &g);
    clg_ctx_free(ctx);
    if (s != CLG_OK) return cli_error(s, "decoding");
    printf("%s\n", out);
    return 0;
}
