/* train.c: the training run of any model (see train.h). */
#include "train.h"
#include "checkpoint.h"
#include "data.h"
#include "dist.h"
#include "json.h"
#include "lagged.h"
#include "parallel.h"
#include "program.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Everything one run holds. */
typedef struct {
    const clg_train_opts *o;
    const clg_train_hooks *hooks;
    const clg_model_ops *ops;
    void *cfg;
    clg_model_common common;
    clg_dataset ds, test;
    int have_test;
    clg_loader ld;
    clg_model *m;
    clg_tensor fixed;
    clg_itensor fixed_labels; /* conditional models: row k of the grid is class k */
    int lock_fd;              /* OUT/.lock, held (flock) while the run writes there */
    FILE *metrics;
    float *host;
    long total, bpe;
    int rank, ranks; /* data-parallel (parallel.h): rank 0 alone writes under --out */
    clg_lagged lag;  /* quiet steps' statistics, read without waiting */
    char ckpt[4200];
} run;

static void say(const run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const run *r, const char *fmt, ...) {
    if (r->rank != 0 || !r->hooks || !r->hooks->on_start) return;
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    r->hooks->on_start(r->hooks->user, buf);
}

/* Write `text` to path atomically. */
static clg_status write_text(const char *path, const char *text) {
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return clg_fail(CLG_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
    int ok = fputs(text, f) >= 0;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        remove(tmp);
        return clg_fail(CLG_ERR_IO, "cannot write %s", path);
    }
    return CLG_OK;
}

/* Keep the metrics lines of steps <= `step` (a resumed run rewrites what
 * came after its checkpoint). */
static clg_status trim_metrics(const char *path, long step) {
    FILE *f = fopen(path, "r");
    if (!f) return CLG_OK;
    char *kept = NULL;
    size_t klen = 0;
    FILE *m = open_memstream(&kept, &klen);
    char line[2048];
    while (m && fgets(line, sizeof line, f)) {
        const char *p = strstr(line, "\"step\": ");
        if (p && strtol(p + 8, NULL, 10) <= step) fputs(line, m);
    }
    fclose(f);
    if (!m) return clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory");
    fclose(m);
    clg_status s = write_text(path, kept ? kept : "");
    free(kept);
    return s;
}

/* The settings: the model flags, or the checkpoint's when resuming. */
static clg_status settings(run *r) {
    const clg_train_opts *o = r->o;
    if (!o->resume) {
        if (!(r->cfg = malloc(r->ops->config_size)))
            return clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory");
        memcpy(r->cfg, o->cfg, r->ops->config_size);
        return CLG_OK;
    }
    if (access(r->ckpt, R_OK) != 0)
        return clg_fail(CLG_ERR_IO, "--resume: %s checkpoint at %s%s%s",
                        errno == ENOENT ? "no" : "cannot read the", r->ckpt,
                        errno == ENOENT ? "" : ": ", errno == ENOENT ? "" : strerror(errno));
    const clg_model_ops *ops;
    CLG_TRY(clg_ckpt_read_config(r->ckpt, &ops, &r->cfg));
    if (ops != r->ops)
        return clg_fail(CLG_ERR_INVALID_ARG, "--resume: %s holds a %s model, not a %s", r->ckpt,
                        ops->kind, r->ops->kind);
    say(r, "resuming from %s (its settings override the model flags)", r->ckpt);
    return CLG_OK;
}

/* The data, and what it decides of the settings (channels, classes). */
static clg_status open_data(run *r) {
    int channels, tc;
    r->ops->common(r->cfg, &r->common);
    CLG_TRY(clg_data_open(r->o->data, r->common.image_size, &channels, &r->ds));
    if (r->o->resume && channels != r->common.nc)
        return clg_fail(CLG_ERR_INVALID_ARG, "the checkpoint has %d channels, the data %d",
                        r->common.nc, channels);
    r->ops->set_data(r->cfg, channels, r->ds.labels ? r->ds.num_classes : 0);
    r->ops->common(r->cfg, &r->common);
    if ((r->ops->labelled || r->common.classes > 0) && !r->ds.labels)
        return clg_fail(CLG_ERR_INVALID_ARG, "this %s trains on labelled data; %s has no labels",
                        r->ops->kind, r->o->data);
    CLG_TRY(r->ops->config_check(r->cfg));
    say(r, "data: %s, %d images of %dx%dx%d%s", r->o->data, r->ds.n, r->ds.c, r->ds.h, r->ds.w,
        r->ds.h == 28 ? " (padded to 32x32 with the background value)" : "");
    if (r->o->test_data && r->ops->evaluate) {
        CLG_TRY(clg_data_open(r->o->test_data, r->common.image_size, &tc, &r->test));
        r->have_test = 1;
        if (tc != channels)
            return clg_fail(CLG_ERR_INVALID_ARG, "--test-data has %d channels, --data %d", tc,
                            channels);
    }
    return clg_loader_init(&r->ld, &r->ds, r->common.image_size, r->common.batch,
                           r->common.seed);
}

/* Data-parallel ranks build with their share of the batch; checkpoints
 * record the run's settings (the global batch), and every rank starts from
 * rank 0's tensors. */
static clg_status build(run *r, clg_ctx *ctx) {
    void *share = NULL;
    clg_status rc = clg_dp_share_config(r->ops, r->cfg, r->ranks, &share);
    if (rc == CLG_OK) rc = r->ops->create(ctx, share, 0, &r->m);
    free(share);
    if (rc == CLG_OK && r->ranks > 1) r->m->cfg = r->cfg;
    return rc;
}

static clg_status create_model(run *r, clg_ctx *ctx) {
    CLG_TRY(build(r, ctx));
    if (r->ops->prepare) CLG_TRY(r->ops->prepare(ctx, r->m, &r->ld.ds));
    if (r->o->resume) {
        clg_ckpt_extra at;
        CLG_TRY(clg_ckpt_load(ctx, r->m, r->ckpt, &at));
        CLG_TRY(clg_loader_seek(&r->ld, at.epoch, at.data_pos));
        say(r, "resumed at step %ld (epoch %ld)", r->m->step, at.epoch);
    }
    CLG_TRY(clg_dp_bcast_model(ctx, r->m));
    r->bpe = clg_loader_batches_per_epoch(&r->ld);
    r->total = r->o->steps;
    if (r->o->epochs > 0 && (r->total == 0 || r->o->epochs * r->bpe < r->total))
        r->total = r->o->epochs * r->bpe;
    r->m->steps_per_epoch = r->bpe;
    r->m->total_steps = r->total;
    size_t img = (size_t)r->common.batch * r->common.nc * r->common.image_size *
                 r->common.image_size;
    if (!(r->host = malloc(img * sizeof(float))))
        return clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory");
    if (!r->ops->generates) return CLG_OK;
    /* m->batch: a data-parallel rank's G takes its share of the batch. */
    CLG_TRY(clg_tensor_create(ctx, &r->fixed, r->m->batch, r->m->nz, 1, 1, "fixed noise"));
    CLG_TRY(clg_model_noise(ctx, r->common.seed, &r->fixed, 1, 0));
    if (r->m->classes <= 0) return CLG_OK;
    int32_t *y = malloc((size_t)r->m->batch * sizeof *y);
    if (!y) return clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory");
    for (int i = 0; i < r->m->batch; i++) y[i] = (i / 8) % r->m->classes;
    clg_status rc = clg_itensor_create(ctx, &r->fixed_labels, r->m->batch, "grid labels");
    if (rc == CLG_OK) rc = clg_itensor_upload_labels(ctx, &r->fixed_labels, y, r->m->classes);
    free(y);
    return rc;
}

/* Device memory: what training needs at least (every net's blocks), and
 * what is live. */
static void report_memory(run *r, clg_ctx *ctx) {
    clg_model_part parts[CLG_MODEL_MAX_PARTS];
    int n = r->ops->parts(r->m, parts);
    size_t need = 0;
    for (int k = 0; k < n; k++) {
        const clg_net *t = parts[k].net;
        need += (t->params.numel + t->grads.numel + t->adam_m.numel + t->adam_v.numel +
                 t->buffers.numel + t->saved.numel + t->acts.numel) * sizeof(float);
    }
    say(r, "device memory: %.1f MiB live (parameters, gradients, moments and saved "
        "activations need %.1f MiB: %.2fx)", ctx->live_bytes / 1048576.0, need / 1048576.0,
        need ? (double)ctx->live_bytes / (double)need : 0.0);
}

static clg_status write_config(run *r, clg_ctx *ctx) {
    const clg_train_opts *o = r->o;
    char cfgjson[4096], text[24576], path[4200], q[4][4200];
    clg_config_to_json(r->ops->fields, r->ops->nfields, r->cfg, cfgjson, sizeof cfgjson);
    /* Names from the user and the driver may hold quotes: escaped. */
    const char *raw[4] = {o->data, ctx->dev.name, ctx->dev.platform_name, ctx->dev.driver};
    for (int i = 0; i < 4; i++) clg_json_quote(q[i], sizeof q[i], raw[i]);
    snprintf(text, sizeof text,
             "{\n  \"model\": \"%s\",\n  \"config\": %s,\n  \"data\": %s,\n"
             "  \"steps\": %ld,\n  \"epochs\": %ld,\n  \"minutes\": %g,\n"
             "  \"sample_every\": %ld,\n  \"ckpt_every\": %ld,\n  \"log_every\": %ld,\n"
             "  \"device\": %s,\n  \"platform\": %s,\n  \"driver\": %s,\n"
             "  \"clgan_version\": \"%s\"\n}\n",
             r->ops->kind, cfgjson, q[0], o->steps, o->epochs, o->minutes, o->sample_every,
             o->ckpt_every, o->log_every, q[1], q[2], q[3], CLG_VERSION);
    snprintf(path, sizeof path, "%s/config.json", o->out);
    return write_text(path, text);
}

/* real.png: the first images of the (seeded) first epoch; and the metrics
 * log, trimmed to the checkpoint's step on resume. */
static clg_status start_outputs(run *r) {
    char path[4200];
    int n = r->common.batch < 64 ? r->common.batch : 64, s = r->common.image_size;
    size_t per = (size_t)r->common.nc * s * s;
    for (int i = 0; i < n; i++) clg_loader_image(&r->ld, r->ld.order[i], r->host + per * i);
    snprintf(path, sizeof path, "%s/real.png", r->o->out);
    CLG_TRY(clg_png_write_grid(path, r->host, n, r->common.nc, s, s, 8));
    snprintf(path, sizeof path, "%s/metrics.jsonl", r->o->out);
    if (r->o->resume) CLG_TRY(trim_metrics(path, r->m->step));
    else remove(path);
    if (!(r->metrics = fopen(path, "a")))
        return clg_fail(CLG_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    return CLG_OK;
}

static clg_status save_samples(run *r, clg_ctx *ctx, const char *path) {
    const clg_tensor *img;
    CLG_TRY(r->ops->generate(ctx, r->m, &r->fixed, r->fixed_labels.buf ? &r->fixed_labels : NULL,
                             0, &img));
    CLG_TRY(clg_tensor_download(ctx, img, r->host));
    int n = img->n < 64 ? img->n : 64;
    return clg_png_write_grid(path, r->host, n, img->c, img->h, img->w, 8);
}

static clg_status log_line(run *r, long epoch, const clg_metrics *mt, double ips) {
    int ok = fprintf(r->metrics, "{\"epoch\": %ld, \"step\": %ld", epoch, r->m->step) > 0;
    for (int i = 0; i < mt->count; i++)
        ok &= fprintf(r->metrics, ", \"%s\": %.6g", mt->name[i], mt->v[i]) > 0;
    if (ips >= 0) ok &= fprintf(r->metrics, ", \"images_per_s\": %.4g", ips) > 0;
    ok &= fprintf(r->metrics, "}\n") > 0;
    if (!ok || fflush(r->metrics) != 0)
        return clg_fail(CLG_ERR_IO, "cannot write %s/metrics.jsonl: %s", r->o->out,
                        strerror(errno));
    return CLG_OK;
}

static clg_status check_finite(const run *r, const clg_metrics *mt) {
    for (int i = 0; i < mt->count; i++)
        if (!isfinite(mt->v[i]))
            return clg_fail(CLG_ERR_DIVERGED,
                            "non-finite %s (%g) at step %ld: training stopped; the last good "
                            "checkpoint is %s (try a lower --lr)", mt->label[i], mt->v[i],
                            r->m->step, r->ckpt);
    return CLG_OK;
}

static clg_status progress(run *r, long epoch, const clg_metrics *mt, long done, double el) {
    clg_progress p = {r->m->step, r->total, epoch, done * r->common.batch / el, el, -1, *mt};
    if (r->total > 0) p.eta_s = (double)(r->total - r->m->step) * el / done;
    if (r->o->minutes > 0) {
        double left = r->o->minutes * 60.0 - el;
        if (p.eta_s < 0 || left < p.eta_s) p.eta_s = left > 0 ? left : 0;
    }
    CLG_TRY(log_line(r, epoch, mt, p.images_per_s));
    if (r->hooks && r->hooks->on_progress) r->hooks->on_progress(r->hooks->user, &p);
    return CLG_OK;
}

static clg_status evaluate(run *r, clg_ctx *ctx, long epoch) {
    clg_metrics mt;
    CLG_TRY(r->ops->evaluate(ctx, r->m, &r->test, &mt));
    CLG_TRY(log_line(r, epoch, &mt, -1));
    if (r->hooks && r->hooks->on_eval) r->hooks->on_eval(r->hooks->user, epoch, &mt);
    return CLG_OK;
}

/* What happens after a step: log, grid, checkpoint, evaluation. */
static clg_status after_step(run *r, clg_ctx *ctx, long epoch, const clg_metrics *mt, long done,
                             double el, int stop, const clg_ckpt_extra *at) {
    const clg_train_opts *o = r->o;
    long step = r->m->step;
    char path[4200];
    if (r->rank != 0) return CLG_OK;
    if (o->log_every > 0 && (step % o->log_every == 0 || stop || done == 1))
        CLG_TRY(progress(r, epoch, mt, done, el));
    if (r->ops->generates && ((o->sample_every > 0 && step % o->sample_every == 0) || stop)) {
        snprintf(path, sizeof path, "%s/samples/%06ld.png", o->out, step);
        CLG_TRY(save_samples(r, ctx, path));
    }
    if ((o->ckpt_every > 0 && step % o->ckpt_every == 0) || stop)
        CLG_TRY(clg_ckpt_save(ctx, r->m, at, r->ckpt));
    if (r->have_test && (step % r->bpe == 0 || stop)) CLG_TRY(evaluate(r, ctx, epoch));
    return CLG_OK;
}

/* Profile: device time per kernel family, steps after the first (which
 * compiles kernels). */
typedef struct {
    double wall;
    long steps;
} prof_acc;

/* `first`: the events of finished work (recorded before this step), or
 * -1: every event (the step has finished). */
static clg_status profile_step(clg_ctx *ctx, prof_acc *pa, long done, double dt, int first) {
    CLG_TRY(first < 0 ? clg_profile_collect(ctx) : clg_profile_collect_first(ctx, first));
    if (done == 1) ctx->prof_count = 0;
    else pa->wall += dt, pa->steps++;
    return CLG_OK;
}

static void profile_result(clg_ctx *ctx, const prof_acc *pa, clg_train_profile *prof) {
    prof->device_ms = 0;
    for (int i = 0; i < ctx->prof_count; i++) {
        prof->families[i] = ctx->prof[i];
        prof->device_ms += ctx->prof[i].ms;
    }
    prof->count = ctx->prof_count;
    prof->wall_ms = pa->wall * 1000.0;
    prof->steps = pa->steps;
}

/* This rank's rows of the global batch. */
static clg_status upload(run *r, clg_ctx *ctx, const float *staged, const cl_int *labels) {
    const size_t first = (size_t)r->m->batch * (size_t)r->rank; /* its first row */
    const size_t per = clg_tensor_numel(&r->m->real) / (size_t)r->m->batch; /* floats per image */
    CLG_TRY(clg_loader_upload(ctx, &r->m->real, staged + first * per));
    if (r->m->labels.buf)
        CLG_TRY(clg_itensor_upload_labels(ctx, &r->m->labels, labels + first, r->m->classes));
    return CLG_OK;
}

/* Data-parallel: the gradient averaging's and MPI's share of the step
 * time, over the steps after the first (which compiles kernels). */
typedef struct {
    double wall, grad_s, comm_s;
    long steps, calls;
} dp_acc;

static void dp_time(const clg_ctx *ctx, dp_acc *dp, long done, double dt) {
    if (!ctx->dist) return;
    const clg_dist *d = ctx->dist;
    if (done == 1) *dp = (dp_acc){0, d->tensor_s, d->comm_s, 0, d->tensor_calls};
    else dp->wall += dt, dp->steps++;
}

static void dp_report(const run *r, const clg_ctx *ctx, const dp_acc *dp) {
    if (r->ranks == 1 || dp->steps < 1) return;
    const clg_dist *d = ctx->dist;
    const long n = dp->steps;
    double step = dp->wall / n, g = (d->tensor_s - dp->grad_s) / n;
    double c = (d->comm_s - dp->comm_s) / n;
    say(r, "data-parallel over %d ranks: %.1f ms per step; gradient averaging %.2f ms (%.1f%%: "
        "device read, allreduce, write; %.1f allreduces per step%s); all MPI calls %.2f ms "
        "(%.1f%%)", r->ranks, step * 1e3, g * 1e3, 100.0 * g / step,
        (double)(d->tensor_calls - dp->calls) / (double)n,
        d->bucket_bytes ? ", by buckets after the device reached them" : "", c * 1e3,
        100.0 * c / step);
}

/* A step that logs, saves and scores nothing, and is not the last by count:
 * its statistics can wait (after_step's conditions, negated). */
static int quiet_step(const run *r, long step, long done) {
    const clg_train_opts *o = r->o;
    if (!r->lag.t || done == 1 || (r->total > 0 && step >= r->total)) return 0;
    if (o->log_every > 0 && step % o->log_every == 0) return 0;
    if (r->ops->generates && o->sample_every > 0 && step % o->sample_every == 0) return 0;
    if (o->ckpt_every > 0 && step % o->ckpt_every == 0) return 0;
    return !(r->have_test && step % r->bpe == 0);
}

/* The step's metrics, every rank's averaged, and the common stop decision. */
static clg_status step_metrics(run *r, clg_ctx *ctx, clg_metrics *mt, int *stop) {
    CLG_TRY(r->ops->step_finish(ctx, r->m, mt));
    CLG_TRY(clg_dp_step_metrics(ctx, mt, stop)); /* every rank decides alike from here on */
    return check_finite(r, mt);
}

static clg_status loop(run *r, clg_ctx *ctx, clg_train_profile *prof) {
    long epoch, start = r->m->step;
    const float *staged = clg_loader_next(&r->ld, &epoch);
    const cl_int *labels = clg_loader_last_labels(&r->ld);
    double t0 = now_s();
    prof_acc pa = {0, 0};
    dp_acc dp = {0, 0, 0, 0, 0};
    ctx->profile = r->o->profile;
    for (int stop = 0; !stop;) {
        double ts = now_s();
        long this_epoch = epoch;
        int mark = ctx->prof_n; /* profile events of earlier steps */
        CLG_TRY(upload(r, ctx, staged, labels));
        CLG_TRY(r->ops->step_enqueue(ctx, r->m));
        long done = r->m->step - start;
        int quiet = quiet_step(r, r->m->step, done);
        if (quiet) CLG_TRY(clg_lagged_begin(ctx, &r->lag, r->m->step));
        /* The step before has finished after this: its staging buffer is free. */
        CLG_TRY(clg_lagged_check(&r->lag, quiet, r->ckpt));
        clg_ckpt_extra at = {r->ld.epoch, r->ld.pos};
        staged = clg_loader_next(&r->ld, &epoch); /* while the device works */
        labels = clg_loader_last_labels(&r->ld);
        double el = now_s() - t0;
        stop = (r->total > 0 && r->m->step >= r->total) ||
               (r->o->minutes > 0 && el >= r->o->minutes * 60.0);
        clg_metrics mt = {0};
        if (!quiet || stop) {
            CLG_TRY(step_metrics(r, ctx, &mt, &stop));
            el = now_s() - t0;
        }
        double te = now_s();
        if (r->o->profile)
            CLG_TRY(profile_step(ctx, &pa, done, te - ts, quiet && !stop ? mark : -1));
        dp_time(ctx, &dp, done, te - ts);
        if (!quiet || stop) CLG_TRY(after_step(r, ctx, this_epoch, &mt, done, el, stop, &at));
    }
    if (r->o->profile && prof) profile_result(ctx, &pa, prof);
    dp_report(r, ctx, &dp);
    return CLG_OK;
}

/* One writer per run folder: a second `clgan train` into it is refused
 * (the lock goes with the process, however it ends). */
static clg_status lock_folder(run *r) {
    char path[4200];
    snprintf(path, sizeof path, "%s/.lock", r->o->out);
    r->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (r->lock_fd < 0) return clg_fail(CLG_ERR_IO, "cannot create %s: %s", path, strerror(errno));
    if (flock(r->lock_fd, LOCK_EX | LOCK_NB) != 0)
        return clg_fail(CLG_ERR_IO, "%s is in use by another clgan train (%s): wait for it, or "
                        "pick another --out", r->o->out,
                        errno == EWOULDBLOCK ? "it holds the lock" : strerror(errno));
    return CLG_OK;
}

/* Temporary files of writes a killed run left (the lock says no one else
 * writes here now): checkpoint.safetensors.tmp.PID, *.tmp. */
static void remove_leftovers(const run *r) {
    DIR *d = opendir(r->o->out);
    struct dirent *e;
    char path[4400];
    while (d && (e = readdir(d))) {
        size_t len = strlen(e->d_name);
        int tmp = !strncmp(e->d_name, "checkpoint.safetensors.tmp.", 27) ||
                  (len > 4 && !strcmp(e->d_name + len - 4, ".tmp"));
        if (!tmp) continue;
        snprintf(path, sizeof path, "%s/%s", r->o->out, e->d_name);
        remove(path);
    }
    if (d) closedir(d);
}

static clg_status run_all(run *r, clg_ctx *ctx, clg_train_profile *prof) {
    char path[4200];
    snprintf(path, sizeof path, "%s%s", r->o->out, r->ops->generates ? "/samples" : "");
    if (r->rank == 0) {
        CLG_TRY(clg_mkdir_p(path));
        CLG_TRY(lock_folder(r));
        remove_leftovers(r);
    }
    snprintf(r->ckpt, sizeof r->ckpt, "%s/checkpoint.safetensors", r->o->out);
    CLG_TRY(settings(r));
    CLG_TRY(open_data(r));
    CLG_TRY(create_model(r, ctx));
    report_memory(r, ctx);
    /* CLGAN_SYNC_STEPS=1: wait for every step (to measure what the lag wins). */
    const char *sync = getenv("CLGAN_SYNC_STEPS");
    int lag = r->ranks == 1 && r->ops->step_stats && !(sync && !strcmp(sync, "1"));
    CLG_TRY(clg_lagged_init(&r->lag, lag ? r->ops->step_stats(r->m) : NULL));
    if (r->rank == 0) {
        CLG_TRY(write_config(r, ctx));
        CLG_TRY(start_outputs(r));
    }
    char cfgjson[4096];
    clg_config_to_json(r->ops->fields, r->ops->nfields, r->cfg, cfgjson, sizeof cfgjson);
    say(r, "training %s %s on %s; %ld batches per epoch; %s", r->ops->kind, cfgjson,
        ctx->dev.name, r->bpe, r->total ? "step budget set" : "time budget only");
    if (r->total > 0 && r->m->step >= r->total) {
        say(r, "already at step %ld of %ld: nothing to do", r->m->step, r->total);
        return CLG_OK;
    }
    CLG_TRY(loop(r, ctx, prof));
    return r->ops->finish && r->rank == 0 ? r->ops->finish(ctx, r->m, r->o->out) : CLG_OK;
}

clg_status clg_train(clg_ctx *ctx, const clg_train_opts *o, const clg_train_hooks *hooks,
                     clg_train_profile *prof) {
    run r;
    memset(&r, 0, sizeof r);
    r.o = o, r.hooks = hooks, r.ops = o->ops, r.lock_fd = -1;
    r.rank = clg_dp_rank(ctx), r.ranks = clg_dp_ranks(ctx);
    clg_status rc = run_all(&r, ctx, prof);
    clg_lagged_free(&r.lag);
    ctx->profile = 0;
    if (r.metrics) fclose(r.metrics);
    free(r.host);
    clg_tensor_free(ctx, &r.fixed);
    clg_itensor_free(ctx, &r.fixed_labels);
    if (r.m) r.ops->destroy(ctx, r.m);
    clg_loader_free(&r.ld);
    clg_dataset_free(&r.ds);
    clg_dataset_free(&r.test);
    free(r.cfg);
    if (r.lock_fd >= 0) close(r.lock_fd);
    return rc;
}
