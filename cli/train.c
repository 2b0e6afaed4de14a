/* train.c: `clgan train MODEL`: the model's flags (from its settings
 * table), the trainer's flags, progress display, profile report. Any model
 * of models/models.c; nothing here knows one. */
#include "cli.h"
#include "dist.h"
#include "opts.h"
#include "train.h"

#include <stdio.h>
#include <stdlib.h>
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
    printf("%sepoch %ld step %ld%s | %.1f img/s | ETA %s |", ps->tty ? "\r\033[K" : "", p->epoch,
           p->step, total, p->images_per_s, eta);
    for (int i = 0; i < p->m.count; i++) printf(" %s %.4f", p->m.label[i], p->m.v[i]);
    printf("%s", ps->tty ? "" : "\n");
    fflush(stdout);
}

static void on_eval(void *user, long epoch, const clg_metrics *m) {
    progress_state *ps = user;
    printf("%sepoch %ld evaluation:", ps->tty ? "\r\033[K" : "", epoch);
    for (int i = 0; i < m->count; i++) printf(" %s %.4f", m->label[i], m->v[i]);
    printf("\n");
    fflush(stdout);
}

static void print_profile(const clg_train_profile *prof) {
    printf("profile over %ld steps (the first, which compiles kernels, left out):\n", prof->steps);
    for (int i = 0; i < prof->count; i++)
        printf("  %-18s %9.1f ms  %5.1f%%  (%ld launches)\n", prof->families[i].family,
               prof->families[i].ms, 100.0 * prof->families[i].ms / prof->wall_ms,
               prof->families[i].launches);
    double host = prof->wall_ms - prof->device_ms;
    printf("  %-18s %9.1f ms  %5.1f%%  (step wall time minus device kernel time)\n",
           "host overhead", host, 100.0 * host / prof->wall_ms);
    printf("  %-18s %9.1f ms per step\n", "step", prof->wall_ms / prof->steps);
}

static int usage(int bad, const char *kind) {
    FILE *f = bad ? stderr : stdout;
    fprintf(f, "usage: clgan train MODEL [options]\n"
               "       clgan train MODEL --help   its flags\n"
               "       clgan train --help         this list\n"
               "\nmodels:\n");
    for (int i = 0; i < clg_model_count(); i++)
        fprintf(f, "  clgan train %-12s %s\n", clg_model_at(i)->kind, clg_model_at(i)->summary);
    if (kind) fprintf(stderr, "clgan train: unknown model '%s'\n", kind);
    return bad ? 2 : 0;
}

#define MAX_OPTS 48

/* Flags whose value is not the field itself: inverted flags, words. */
typedef struct {
    int inv[MAX_OPTS];
    const char *word[MAX_OPTS];
} indirect;

/* The model's flags from its settings table. */
static int model_opts(const clg_model_ops *ops, void *cfg, cli_opt *opts, indirect *ind) {
    int n = 0;
    for (int i = 0; i < ops->nfields && n < MAX_OPTS - 16; i++) {
        const clg_config_field *f = &ops->fields[i];
        if (!f->flag) continue;
        void *p = (char *)cfg + f->offset;
        opt_type t = f->type == CLG_FIELD_INT ? OPT_INT : f->type == CLG_FIELD_FLOAT ? OPT_FLOAT
                     : f->type == CLG_FIELD_U64 ? OPT_U64
                     : f->type == CLG_FIELD_CHOICE || f->type == CLG_FIELD_INT2 ? OPT_STR
                     : OPT_FLAG;
        if (f->type == CLG_FIELD_FLAG && f->invert) p = &ind->inv[i];
        if (f->type == CLG_FIELD_CHOICE || f->type == CLG_FIELD_INT2) p = &ind->word[i];
        opts[n++] = (cli_opt){f->flag, f->alias, t, p, f->help};
    }
    return n;
}

static int apply_indirect(const clg_model_ops *ops, void *cfg, const indirect *ind) {
    for (int i = 0; i < ops->nfields && i < MAX_OPTS; i++) {
        const clg_config_field *f = &ops->fields[i];
        int *p = (int *)((char *)cfg + f->offset);
        if (f->type == CLG_FIELD_FLAG && f->invert && ind->inv[i]) *p = 0;
        if (f->type == CLG_FIELD_INT2 && ind->word[i]) {
            if (clg_config_parse_int2(ind->word[i], p) != 0) {
                fprintf(stderr, "clgan train %s: %s '%s': two whole numbers, A,B\n", ops->kind,
                        f->flag, ind->word[i]);
                return 2;
            }
            continue;
        }
        if (f->type != CLG_FIELD_CHOICE || !ind->word[i]) continue;
        int k = clg_config_choice_index(f, ind->word[i]);
        if (k < 0) {
            fprintf(stderr, "clgan train %s: %s '%s': one of %s\n", ops->kind, f->flag,
                    ind->word[i], f->choices);
            return 2;
        }
        *p = k;
    }
    return 0;
}

/* This rank's device: its local rank's entry of a comma-separated --device
 * list; with several ranks on the machine and no --device or CLGAN_DEVICE,
 * its local rank's GPU (modulo their count), else the default device. */
static clg_status rank_device(const clg_dist *d, const char *spec, char *buf, size_t cap) {
    buf[0] = '\0';
    if (spec && strchr(spec, ',')) {
        const char *p = spec;
        for (int k = 0; p && k < d->local_rank; k++)
            if ((p = strchr(p, ','))) p++;
        if (!p) return clg_fail(CLG_ERR_NO_DEVICE, "--device %s names no device for local rank %d",
                                spec, d->local_rank);
        snprintf(buf, cap, "%.*s", (int)strcspn(p, ","), p);
        return CLG_OK;
    }
    if (spec) return snprintf(buf, cap, "%s", spec), CLG_OK;
    if (d->local_size < 2 || getenv("CLGAN_DEVICE")) return CLG_OK;
    clg_device_info *devs;
    int n, gpus = 0;
    CLG_TRY(clg_devices_list(&devs, &n));
    for (int i = 0; i < n; i++) gpus += (devs[i].type & CL_DEVICE_TYPE_GPU) != 0;
    for (int i = 0, k = 0; gpus && i < n; i++)
        if ((devs[i].type & CL_DEVICE_TYPE_GPU) && k++ == d->local_rank % gpus)
            snprintf(buf, cap, "%d:%d", devs[i].platform_index, devs[i].device_index);
    free(devs);
    return CLG_OK;
}

/* A rank that fails ends the others (they would wait for it forever). */
static void fail_all(clg_dist *d, int rc) {
    if (d->size == 1) return;
    fprintf(stderr, "clgan: rank %d of %d failed: ending every rank\n", d->rank, d->size);
    fflush(stderr);
    clg_dist_abort(d, rc);
}

/* What each rank of a data-parallel run is told besides the training options. */
typedef struct {
    const char *device;
    int sync_bn;
    double bucket_mb; /* gradient buckets overlapped with the backward pass (0: one per net) */
} rank_opts;

static int run_ranked(clg_dist *d, clg_train_opts *o, const rank_opts *ro) {
    char spec[256];
    clg_ctx *ctx;
    clg_status s = rank_device(d, ro->device, spec, sizeof spec);
    if (s == CLG_OK) s = cli_ctx_create(&ctx, spec[0] ? spec : NULL);
    if (s != CLG_OK) return cli_error(s, "opening the device");
    ctx->dist = d, ctx->sync_bn = ro->sync_bn;
    d->bucket_bytes = (size_t)(ro->bucket_mb * 1048576.0);
    /* Open MPI hands its ranks a pseudo-terminal even when mpirun's output
     * goes to a file: one line per update there. */
    progress_state ps = {d->size == 1 && isatty(STDOUT_FILENO)};
    clg_train_hooks hooks = {on_start, on_progress, on_eval, &ps};
    clg_train_profile prof;
    memset(&prof, 0, sizeof prof);
    if (d->size > 1) printf("rank %d of %d (%s): ", d->rank, d->size, clg_dist_backend());
    printf("device: %d:%d %s (%s)\n", ctx->dev.platform_index, ctx->dev.device_index,
           ctx->dev.name, ctx->dev.platform_name);
    fflush(stdout);
    if (d->size == 1) cli_quick_tune(ctx, 0); /* ranks would race for the file */
    s = clg_train(ctx, o, &hooks, &prof);
    if (ps.tty) printf("\n");
    int rc = s != CLG_OK ? cli_error(s, "training") : 0;
    if (o->profile && prof.steps > 0) print_profile(&prof);
    if (rc == 0 && d->rank == 0)
        printf("outputs in %s/: %smetrics.jsonl, checkpoint.safetensors%s\n", o->out,
               o->ops->generates ? "samples/, real.png, " : "real.png, ",
               o->ops->finish ? " (and what the model exports)" : "");
    clg_ctx_free(ctx);
    return rc;
}

static int run(clg_train_opts *o, const rank_opts *ro) {
    clg_dist d;
    clg_status s = clg_dist_init(&d);
    if (s != CLG_OK) return cli_error(s, "joining the MPI job");
    if ((ro->sync_bn || ro->bucket_mb > 0) && d.size == 1)
        fprintf(stderr, "clgan train: --sync-bn and --grad-buckets have no effect in a single process\n");
    int rc = run_ranked(&d, o, ro);
    if (rc) fail_all(&d, rc); /* returns alone */
    clg_dist_finalize(&d);
    return rc;
}

static int train_model(const clg_model_ops *ops, int argc, char **argv) {
    void *cfg = clg_model_config_new(ops);
    indirect *ind = calloc(1, sizeof *ind);
    if (!cfg || !ind) return free(cfg), free(ind), cli_error(CLG_ERR_OUT_OF_MEMORY, "starting");
    clg_train_opts o = {ops, cfg, "fashion-mnist", NULL, "out", 0, 0, 0, 0, 200, 500, 10, 0};
    rank_opts ro = {NULL, 0, 0.0};
    if (ops->evaluate) o.test_data = "fashion-mnist-test";
    cli_opt opts[MAX_OPTS];
    int n = model_opts(ops, cfg, opts, ind);
    opts[n++] = (cli_opt){"--data", NULL, OPT_STR, &o.data,
                          "fashion-mnist, an IDX file (MNIST-named labels beside it are read), a CIFAR-10 binary folder or a folder of PNGs"};
    if (ops->evaluate)
        opts[n++] = (cli_opt){"--test-data", NULL, OPT_STR, &o.test_data,
                              "held-out labelled data, scored after each epoch"};
    opts[n++] = (cli_opt){"--epochs", "--niter", OPT_LONG, &o.epochs, "stop after this many epochs (0: no limit)"};
    opts[n++] = (cli_opt){"--steps", NULL, OPT_LONG, &o.steps, "stop at this step of the whole run (0: no limit)"};
    opts[n++] = (cli_opt){"--minutes", NULL, OPT_DOUBLE, &o.minutes, "stop after this much wall time (0: none)"};
    opts[n++] = (cli_opt){"--out", "--outf", OPT_STR, &o.out, "output folder"};
    opts[n++] = (cli_opt){"--resume", NULL, OPT_FLAG, &o.resume, "continue from OUT/checkpoint.safetensors"};
    if (ops->generates)
        opts[n++] = (cli_opt){"--sample-every", NULL, OPT_LONG, &o.sample_every, "steps between sample grids"};
    opts[n++] = (cli_opt){"--ckpt-every", NULL, OPT_LONG, &o.ckpt_every, "steps between checkpoints"};
    opts[n++] = (cli_opt){"--log-every", NULL, OPT_LONG, &o.log_every, "steps between log lines"};
    opts[n++] = (cli_opt){"--device", "-d", OPT_STR, &ro.device, "P:D or part of a device name"};
    opts[n++] = (cli_opt){"--profile", NULL, OPT_FLAG, &o.profile, "time kernel families and host overhead"};
    opts[n++] = (cli_opt){"--sync-bn", NULL, OPT_FLAG, &ro.sync_bn,
                          "under mpirun: batch norm statistics over every rank's share of the batch"};
    opts[n++] = (cli_opt){"--grad-buckets", NULL, OPT_DOUBLE, &ro.bucket_mb,
                          "under mpirun: average gradients in buckets of this many MB as the backward pass reaches them (0: one allreduce per network after it; same results)"};
    char cmd[64], help[1024];
    snprintf(cmd, sizeof cmd, "train %s", ops->kind);
    snprintf(help, sizeof help, "usage: clgan train %s [options]\n\n%s\nWrites config.json, "
             "metrics.jsonl, real.png,%s checkpoint.safetensors under --out.\nWithout --steps, "
             "--epochs or --minutes it trains for one epoch.", ops->kind, ops->help,
             ops->generates ? " samples/NNNNNN.png," : "");
    int npos, r = cli_parse(cmd, help, argc, argv, opts, n, NULL, 0, &npos), rc = 2;
    if (r) {
        rc = r < 0 ? 0 : r;
    } else if (o.steps < 0 || o.epochs < 0 || o.minutes < 0 || o.sample_every < 0 ||
               o.ckpt_every < 0 || o.log_every < 0 || !(ro.bucket_mb >= 0 && ro.bucket_mb < 1e6) ||
               !*o.out || !*o.data) {
        fprintf(stderr, "clgan %s: counts, times and --grad-buckets must not be negative (--grad-buckets under 1e6 MB), --out and --data not empty\n", cmd);
    } else if (!(rc = apply_indirect(ops, cfg, ind))) {
        if (!o.steps && !o.epochs && !(o.minutes > 0)) o.epochs = 1;
        clg_status s = o.resume ? CLG_OK : ops->config_check(cfg);
        rc = s != CLG_OK ? cli_error(s, "checking the settings") : run(&o, &ro);
    }
    free(cfg);
    free(ind);
    return rc;
}

int cli_train(int argc, char **argv) {
    if (argc < 2) return usage(1, NULL);
    if (cli_is_help(argv[1])) return usage(0, NULL);
    const clg_model_ops *ops = clg_model_find(argv[1]);
    if (!ops) return usage(1, argv[1]);
    return train_model(ops, argc - 1, argv + 1);
}
