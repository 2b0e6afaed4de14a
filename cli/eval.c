/* eval.c: `clgan eval`: Inception Score, FID and the class histogram of a
 * generator's samples, with the real data's numbers as the reference line. */
#include "cli.h"
#include "evaluate.h"
#include "opts.h"

#include <libgen.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The shipped classifier: $CLGAN_CLASSIFIER, else models/ beside build/. */
const char *cli_default_classifier(void) {
    static char path[4200];
    const char *env = getenv("CLGAN_CLASSIFIER");
    if (env && *env) return env;
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        snprintf(path, sizeof path, "%s/../models/fashion-mnist-classifier.safetensors",
                 dirname(exe));
        if (access(path, R_OK) == 0) return path;
    }
    return "models/fashion-mnist-classifier.safetensors";
}

int cli_eval(int argc, char **argv) {
    long n = 10000;
    uint64_t seed = 1;
    int real = 0, raw = 0;
    const char *json = NULL, *device = NULL, *classifier = cli_default_classifier();
    const char *test_data = "fashion-mnist-test";
    cli_opt opts[] = {
        {"-n", NULL, OPT_LONG, &n, "samples to score"},
        {"--seed", NULL, OPT_U64, &seed, "seed of the samples' latent vectors"},
        {"--real", NULL, OPT_FLAG, &real, "score only the real data (no checkpoint)"},
        {"--classifier", NULL, OPT_STR, &classifier, "the evaluation classifier"},
        {"--json", NULL, OPT_STR, &json, "also write the numbers as JSON"},
        {"--raw-weights", NULL, OPT_FLAG, &raw, CLI_RAW_WEIGHTS_HELP},
        {"--test-data", NULL, OPT_STR, &test_data,
         "held-out labelled data for models that classify (ssl)"},
        {"--device", "-d", OPT_STR, &device, "P:D or part of a device name"},
    };
    const char *pos[1];
    int np;
    int r = cli_parse("eval",
                      "usage: clgan eval CKPT [-n 10000] [--json FILE] | clgan eval --real\n\n"
                      "Inception Score (10 splits) and FID in the evaluation classifier's\n"
                      "feature space against the Fashion-MNIST test set; the real data's own\n"
                      "IS and FID (10,000 training images vs the test set) as the reference.",
                      argc, argv, opts, (int)(sizeof opts / sizeof opts[0]), pos, 1, &np);
    if (r) return r < 0 ? 0 : r;
    if ((np == 0) != (real != 0) || n < 10 || n > 1000000) {
        fprintf(stderr, "clgan eval: give a checkpoint or --real (not both), and -n 10..1000000\n");
        return 2;
    }
    clg_ctx *ctx;
    clg_status s = cli_ctx_create(&ctx, device);
    if (s != CLG_OK) return cli_error(s, "opening the device");
    clg_eval_result res;
    s = clg_evaluate(ctx, real ? NULL : pos[0], classifier, n, seed, raw, test_data, &res);
    clg_ctx_free(ctx);
    if (s != CLG_OK) return cli_error(s, "evaluating");
    printf("classifier: %s\n", classifier);
    printf("real data:  IS %.3f +- %.3f   FID %.3f (train[:10000] vs test)   classifier "
           "accuracy on test %.4f\n", res.real_is_mean, res.real_is_std, res.real_fid,
           res.real_acc);
    if (!real) {
        printf("samples:    IS %.3f +- %.3f   FID %.3f (%ld samples vs test; G's %s weights)\n",
               res.is_mean, res.is_std, res.fid, res.n, res.averaged ? "averaged" : "trained");
        printf("class histogram of the samples:");
        for (int c = 0; c < res.classes && c < 64; c++) printf(" %ld", res.histogram[c]);
        printf("\n");
        if (res.cond_acc >= 0)
            printf("conditional accuracy: %.4f of the samples drawn for class k classified as k "
                   "(real test images: %.4f)\n", res.cond_acc, res.real_acc);
        if (res.model_n > 0)
            printf("the model's own test accuracy: %.4f (%ld errors in %ld test images; D's "
                   "weight average)\n", res.model_acc, res.model_errors, res.model_n);
    }
    if (json) {
        FILE *f = fopen(json, "w");
        if (!f) {
            perror(json);
            return 1;
        }
        fprintf(f, "{\"real_is_mean\": %.6f, \"real_is_std\": %.6f, \"real_fid\": %.6f, "
                "\"real_accuracy\": %.6f", res.real_is_mean, res.real_is_std, res.real_fid,
                res.real_acc);
        if (!real) {
            fprintf(f, ", \"is_mean\": %.6f, \"is_std\": %.6f, \"fid\": %.6f, \"n\": %ld, "
                    "\"averaged_weights\": %s, \"histogram\": [", res.is_mean, res.is_std,
                    res.fid, res.n, res.averaged ? "true" : "false");
            for (int c = 0; c < res.classes && c < 64; c++)
                fprintf(f, "%s%ld", c ? ", " : "", res.histogram[c]);
            fprintf(f, "]");
            if (res.cond_acc >= 0) fprintf(f, ", \"conditional_accuracy\": %.6f", res.cond_acc);
            if (res.model_n > 0)
                fprintf(f, ", \"test_accuracy\": %.6f, \"test_errors\": %ld, \"test_n\": %ld",
                        res.model_acc, res.model_errors, res.model_n);
        }
        fprintf(f, "}\n");
        if (fclose(f) != 0) {
            perror(json);
            return 1;
        }
    }
    return 0;
}
