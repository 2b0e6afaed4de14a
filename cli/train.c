/* train.c: `clgan train dcgan`: flags, progress display, profile report. */
#include "cli.h"
#include "opts.h"
#include "train.h"
#include "classifier.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    int tty;
} progress_state;

static void fmt_time(double s, char *buf, size_t cap) {
    if (s < 0) snprintf(buf, cap, "?");
    else if (s < 3600) snprintf(buf, cap, "%dm%02ds", (int)s / 60, (int)s % 60);
    else snprintf(buf, cap, "%dh%02dm", (int)s / 3600, ((int)s / 60) % 60);
}

static void on_start(void *user, const char *msg) {
    progress_state *ps = user;
    if (ps->tty) printf("\r\033[K");
    printf("%s\n", msg);
    fflush(stdout);
}

static void on_progress(void *user, const clg_progress *p) {
    progress_state *ps = user;
    char eta[32], total[32];
    fmt_time(p->eta_s, eta, sizeof eta);
    if (p->total_steps) snprintf(total, sizeof total, "/%ld", p->total_steps);
    else total[0] = '\0';
    printf("%sepoch %ld step %ld%s | %.1f img/s | ETA %s | loss_D %.4f loss_G %.4f | D(x) %.3f "
           "D(G(z)) %.3f / %.3f%s",
           ps->tty ? "\r\033[K" : "", p->epoch, p->step, total, p->images_per_s, eta,
           p->m.loss_d, p->m.loss_g, p->m.d_x, p->m.d_g_z1, p->m.d_g_z2, ps->tty ? "" : "\n");
    fflush(stdout);
}

static void on_classifier(void *user, const clg_classifier_progress *p) {
    (void)user;
    printf("epoch %ld step %ld | %.1f img/s | loss %.4f | train acc %.4f", p->epoch, p->step,
           p->images_per_s, p->loss, p->train_acc);
    if (p->test_acc >= 0) printf(" | test acc %.4f", p->test_acc);
    printf("\n");
    fflush(stdout);
}

static int train_classifier(int argc, char **argv) {
    clg_classifier_config c = clg_classifier_config_default();
    const char *data = "fashion-mnist", *test = "fashion-mnist-test", *out = "classifier.safetensors";
    const char *device = NULL;
    long epochs = 6, log_every = 100;
    cli_opt opts[] = {
        {"--data", NULL, OPT_STR, &data, "labelled training data"},
        {"--test-data", NULL, OPT_STR, &test, "labelled test data"},
        {"--epochs", NULL, OPT_LONG, &epochs, "passes over the training data"},
        {"--batch-size", "--batchSize", OPT_INT, &c.batch, "images per batch"},
        {"--width", NULL, OPT_INT, &c.width, "channels of the first convolution"},
        {"--lr", NULL, OPT_FLOAT, &c.lr, "Adam learning rate (a tenth for the last third)"},
        {"--dropout", NULL, OPT_FLOAT, &c.dropout, "dropout before the last layer"},
        {"--seed", NULL, OPT_U64, &c.seed, "seed of weights, dropout and data order"},
        {"--out", "-o", OPT_STR, &out, "where to save the classifier"},
        {"--log-every", NULL, OPT_LONG, &log_every, "steps between log lines"},
        {"--device", "-d", OPT_STR, &device, "P:D or part of a device name"},
    };
    int npos;
    int r = cli_parse("train classifier",
                      "usage: clgan train classifier [options]\n\n"
                      "Trains the evaluation CNN (models/classifier.h) whose softmax and\n"
                      "features give the Inception Score and FID of `clgan eval`.",
                      argc, argv, opts, (int)(sizeof opts / sizeof opts[0]), NULL, 0, &npos);
    if (r) return r < 0 ? 0 : r;
    if (epochs < 1 || c.batch < 2 || c.width < 1 || !(c.lr > 0) || !(c.dropout >= 0 && c.dropout < 1)) {
        fprintf(stderr, "clgan train classifier: bad --epochs, --batch-size, --width, --lr or --dropout\n");
        return 2;
    }
    clg_ctx *ctx;
    clg_status s = cli_ctx_create(&ctx, device);
    if (s != CLG_OK) return cli_error(s, "opening the device");
    printf("device: %d:%d %s\n", ctx->dev.platform_index, ctx->dev.device_index, ctx->dev.name);
    clg_classifier_hooks hooks = {on_classifier, NULL};
    float acc = 0;
    s = clg_classifier_train(ctx, &c, data, test, epochs, log_every, out, &hooks, &acc);
    clg_ctx_free(ctx);
    if (s != CLG_OK) return cli_error(s, "training the classifier");
    printf("test accuracy %.4f; saved %s\n", acc, out);
    return 0;
}

int cli_train(int argc, char **argv) {
    if (argc >= 2 && !strcmp(argv[1], "classifier")) return train_classifier(argc - 1, argv + 1);
    if (argc < 2 || (strcmp(argv[1], "dcgan") != 0 && !cli_is_help(argv[1]))) {
        fprintf(stderr, "usage: clgan train dcgan|classifier [options]   (clgan train dcgan --help)\n");
        if (argc >= 2)
            fprintf(stderr, "clgan train: unknown model '%s' (available: dcgan, classifier)\n",
                    argv[1]);
        return 2;
    }
    if (cli_is_help(argv[1])) {
        printf("usage: clgan train MODEL [options]\nmodels: dcgan, classifier "
               "(clgan train MODEL --help)\n");
        return 0;
    }
    clg_train_opts o;
    memset(&o, 0, sizeof o);
    o.cfg = clg_dcgan_config_default();
    o.data = "fashion-mnist";
    o.out = "out";
    o.sample_every = 200;
    o.ckpt_every = 500;
    o.log_every = 10;
    const char *device = NULL;
    int no_affine = 0;
    float real_label = 1.0f;
    cli_opt opts[] = {
        {"--data", NULL, OPT_STR, &o.data,
         "fashion-mnist, an IDX file, a CIFAR-10 binary folder or a folder of PNGs"},
        {"--image-size", "--imageSize", OPT_INT, &o.cfg.image_size, "32 or 64"},
        {"--batch-size", "--batchSize", OPT_INT, &o.cfg.batch, "images per batch"},
        {"--nz", NULL, OPT_INT, &o.cfg.nz, "latent size"},
        {"--ngf", NULL, OPT_INT, &o.cfg.ngf, "G width"},
        {"--ndf", NULL, OPT_INT, &o.cfg.ndf, "D width"},
        {"--epochs", "--niter", OPT_LONG, &o.epochs, "stop after this many epochs (0: no limit)"},
        {"--steps", NULL, OPT_LONG, &o.steps, "stop at this step of the whole run (0: no limit)"},
        {"--minutes", NULL, OPT_DOUBLE, &o.minutes, "stop after this much wall time (0: none)"},
        {"--lr", NULL, OPT_FLOAT, &o.cfg.lr, "Adam learning rate"},
        {"--beta1", NULL, OPT_FLOAT, &o.cfg.beta1, "Adam beta1"},
        {"--real-label", NULL, OPT_FLOAT, &real_label, "D's target for real images (0.9: one-sided smoothing)"},
        {"--no-affine", NULL, OPT_FLAG, &no_affine, "BN without scale and shift"},
        {"--ema", NULL, OPT_FLOAT, &o.cfg.ema,
         "keep an average of G's weights with this decay (e.g. 0.999) for sample and eval; 0: none"},
        {"--seed", "--manualSeed", OPT_U64, &o.cfg.seed, "seed of weights, noise and data order"},
        {"--out", "--outf", OPT_STR, &o.out, "output folder"},
        {"--resume", NULL, OPT_FLAG, &o.resume, "continue from OUT/checkpoint.safetensors"},
        {"--sample-every", NULL, OPT_LONG, &o.sample_every, "steps between sample grids"},
        {"--ckpt-every", NULL, OPT_LONG, &o.ckpt_every, "steps between checkpoints"},
        {"--log-every", NULL, OPT_LONG, &o.log_every, "steps between log lines"},
        {"--device", "-d", OPT_STR, &device, "P:D or part of a device name"},
        {"--profile", NULL, OPT_FLAG, &o.profile, "time kernel families and host overhead"},
    };
    int npos;
    int r = cli_parse("train dcgan",
                      "usage: clgan train dcgan [options]\n\n"
                      "Trains DCGAN (Radford et al.) as pytorch/examples does: Adam, BN, the\n"
                      "non-saturating G loss. Writes config.json, metrics.jsonl, real.png,\n"
                      "samples/NNNNNN.png and checkpoint.safetensors under --out. Without\n"
                      "--steps, --epochs or --minutes it trains for one epoch.",
                      argc - 1, argv + 1, opts, (int)(sizeof opts / sizeof opts[0]), NULL, 0,
                      &npos);
    if (r) return r < 0 ? 0 : r;
    o.cfg.bn_affine = !no_affine;
    o.cfg.real_label = real_label;
    if (o.steps < 0 || o.epochs < 0 || o.minutes < 0 || o.sample_every < 0 ||
        o.ckpt_every < 0 || o.log_every < 0) {
        fprintf(stderr, "clgan train dcgan: counts and times must not be negative\n");
        return 2;
    }
    if (!o.steps && !o.epochs && !(o.minutes > 0)) o.epochs = 1;
    clg_status s = clg_dcgan_config_check(&o.cfg);
    if (s != CLG_OK) return cli_error(s, "checking the settings");
    clg_ctx *ctx;
    s = cli_ctx_create(&ctx, device);
    if (s != CLG_OK) return cli_error(s, "opening the device");
    progress_state ps = {isatty(STDOUT_FILENO)};
    clg_train_hooks hooks = {on_start, on_progress, &ps};
    clg_train_profile prof;
    memset(&prof, 0, sizeof prof);
    printf("device: %d:%d %s (%s)\n", ctx->dev.platform_index, ctx->dev.device_index,
           ctx->dev.name, ctx->dev.platform_name);
    s = clg_train_dcgan(ctx, &o, &hooks, &prof);
    if (ps.tty) printf("\n");
    int rc = 0;
    if (s != CLG_OK) rc = cli_error(s, "training");
    if (o.profile && prof.steps > 0) {
        printf("profile over %ld steps (the first, which compiles kernels, left out):\n",
               prof.steps);
        for (int i = 0; i < prof.count; i++)
            printf("  %-18s %9.1f ms  %5.1f%%  (%ld launches)\n", prof.families[i].family,
                   prof.families[i].ms, 100.0 * prof.families[i].ms / prof.wall_ms,
                   prof.families[i].launches);
        double host = prof.wall_ms - prof.device_ms;
        printf("  %-18s %9.1f ms  %5.1f%%  (step wall time minus device kernel time)\n",
               "host overhead", host, 100.0 * host / prof.wall_ms);
        printf("  %-18s %9.1f ms per step\n", "step", prof.wall_ms / prof.steps);
    }
    if (rc == 0) printf("outputs in %s/: samples/, real.png, metrics.jsonl, checkpoint.safetensors\n",
                        o.out);
    clg_ctx_free(ctx);
    return rc;
}
