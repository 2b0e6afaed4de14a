/* cli.h: the commands of build/clgan and their shared helpers. */
#ifndef CLG_CLI_H
#define CLG_CLI_H

#include "runtime.h"

#include <stddef.h>
#include <stdint.h>

int cli_devices(int argc, char **argv);
int cli_selfcheck(int argc, char **argv);
int cli_bench(int argc, char **argv);
int cli_train(int argc, char **argv);
int cli_sample(int argc, char **argv);
int cli_interpolate(int argc, char **argv);
int cli_eval(int argc, char **argv);
int cli_features(int argc, char **argv);
int cli_arith(int argc, char **argv);
/* n standard normals from Philox(seed) on the host: the latent vectors of
 * `clgan sample --seed`, row i of its grid being z[i nz .. (i + 1) nz). */
void cli_host_normals(float *z, size_t n, uint64_t seed);
/* Decode n latent vectors with a checkpoint's G (its trained weights when
 * `raw`, else their average if it keeps one) into a grid PNG; tiles with
 * blank[i] set (blank may be NULL) are drawn empty. */
int cli_render_latents(const char *ckpt, const char *device, int raw, const float *z, int n,
                       int nrow, const unsigned char *blank, const char *out);

#define CLI_RAW_WEIGHTS_HELP \
    "G's trained weights, not their average (of a run trained with --ema)"
/* Path of the shipped evaluation classifier. */
const char *cli_default_classifier(void);
int cli_tune(int argc, char **argv);

/* Print "clgan: WHAT failed: STATUS\n  message" and return 1. */
int cli_error(clg_status s, const char *what);
int cli_is_help(const char *arg);
/* clg_ctx_create, then the CLBlast GEMM parameters `clgan tune --gemm`
 * stored for the device (host/gemm_tune.h). Every command opens its device
 * through this; on failure *out is NULL. */
clg_status cli_ctx_create(clg_ctx **out, const char *device);
/* The quick conv tune (conv_quick.h) with a progress line on stderr, when
 * this device has none stored (or force); CLGAN_QUICK_TUNE=0 skips it. A
 * failure is a warning: the defaults run. */
void cli_quick_tune(clg_ctx *ctx, int force);
/* If argv[*i] is --device/-d (consuming its value) set *device and return 1;
 * 0 if it is not; -1 (after a message) if the value is missing. */
int cli_parse_device(int argc, char **argv, int *i, const char **device);

#endif
