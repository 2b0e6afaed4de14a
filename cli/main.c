/* main.c: the clgan command line. Each command parses its own flags, calls
 * the library, and turns a status into a message and an exit code; the
 * library itself never prints or exits. */
#include "cli.h"
#include "conv_quick.h"
#include "gemm_tune.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"devices", cli_devices, "list OpenCL platforms and devices"},
    {"selfcheck", cli_selfcheck, "run every kernel once against a C reference"},
    {"bench", cli_bench, "measure the device's rooflines and clgan's kernels"},
    {"train", cli_train, "train a model on a dataset (clgan train --help lists them)"},
    {"sample", cli_sample, "draw a grid of samples from a checkpoint"},
    {"interpolate", cli_interpolate, "interpolate between latent vectors of a checkpoint"},
    {"eval", cli_eval, "Inception Score and FID of a checkpoint's samples"},
    {"features", cli_features, "D's features + linear SVM against a random-D baseline"},
    {"arith", cli_arith, "latent arithmetic: mean(A) - mean(B) + mean(C)"},
    {"tune", cli_tune, "time the conv kernel variants per layer shape and keep the fastest"},
};
#define NCOMMANDS (int)(sizeof commands / sizeof commands[0])

static void usage(FILE *f) {
    fprintf(f,
            "clgan %s: generative adversarial networks on OpenCL\n\n"
            "usage: clgan COMMAND [options]   (clgan COMMAND --help for its options)\n\n"
            "commands:\n",
            CLG_VERSION);
    for (int i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nenvironment:\n"
               "  CLGAN_DEVICE      default device (P:D or part of its name)\n"
               "  CLGAN_KERNEL_DIR  read kernels/*.cl from this directory\n"
               "  CLGAN_NO_CACHE=1  do not use the program binary cache\n"
               "  XDG_CACHE_HOME    cache root (default ~/.cache); clgan uses clgan/ under it\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        printf("clgan %s\n", CLG_VERSION);
        return 0;
    }
    for (int i = 0; i < NCOMMANDS; i++)
        if (!strcmp(cmd, commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "clgan: unknown command '%s'\n\n", cmd);
    usage(stderr);
    return 2;
}

int cli_error(clg_status s, const char *what) {
    fprintf(stderr, "clgan: %s failed: %s\n  %s\n", what, clg_status_to_string(s),
            clg_last_error());
    return 1;
}

clg_status cli_ctx_create(clg_ctx **out, const char *device) {
    CLG_TRY(clg_ctx_create(out, device));
    clg_status s = clg_gemm_tune_apply(*out, NULL);
    if (s != CLG_OK) {
        clg_ctx_free(*out);
        *out = NULL;
    }
    return s;
}

static void quick_progress(void *user, int done, int total) {
    (void)user;
    fprintf(stderr, "\rtuning the convolution kernels for this device (once, cached): %d/%d",
            done, total);
    fflush(stderr);
}

void cli_quick_tune(clg_ctx *ctx, int force) {
    const char *e = getenv("CLGAN_QUICK_TUNE");
    if (!force && ((e && !strcmp(e, "0")) || clg_conv_quick_done(ctx))) return;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    clg_status s = clg_conv_quick_tune(ctx, quick_progress, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double sec = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    if (s == CLG_OK) {
        fprintf(stderr, " in %.0f s\n", sec);
        return;
    }
    /* The defaults still run: a failed tune costs speed, not the command. */
    fprintf(stderr, "\nclgan: warning: the quick conv tune failed (%s: %s); using the "
                    "defaults\n", clg_status_to_string(s), clg_last_error());
    clg_clear_error();
}

int cli_is_help(const char *arg) { return !strcmp(arg, "-h") || !strcmp(arg, "--help"); }

int cli_parse_device(int argc, char **argv, int *i, const char **device) {
    const char *a = argv[*i];
    if (!strcmp(a, "--device") || !strcmp(a, "-d")) {
        if (*i + 1 >= argc) {
            fprintf(stderr, "clgan: %s needs a value (P:D or part of a device name)\n", a);
            return -1;
        }
        *device = argv[++*i];
        return 1;
    }
    if (!strncmp(a, "--device=", 9)) {
        *device = a + 9;
        return 1;
    }
    return 0;
}
