/* train.c: the DCGAN training run (see train.h). */
#include "train.h"
#include "checkpoint.h"
#include "data.h"
#include "dataset.h"
#include "program.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

clg_status clg_data_open(const char *data, int image_size, int *channels, clg_dataset *out) {
    char img[4096], lab[4096];
    if (!strcmp(data, "fashion-mnist") || !strcmp(data, "fashion-mnist-test")) {
        CLG_TRY(clg_fashion_mnist_paths(strcmp(data, "fashion-mnist") == 0, img, lab, sizeof img));
        CLG_TRY(clg_idx_load(img, lab, out));
    } else if (is_dir(data)) {
        snprintf(img, sizeof img, "%s/data_batch_1.bin", data);
        if (access(img, R_OK) == 0) {
            char paths[5][4096];
            const char *pp[5];
            int n = 0;
            for (int i = 1; i <= 5; i++) {
                snprintf(paths[n], sizeof paths[n], "%s/data_batch_%d.bin", data, i);
                if (access(paths[n], R_OK) == 0) pp[n] = paths[n], n++;
            }
            CLG_TRY(clg_cifar10_load(pp, n, out));
        } else {
            CLG_TRY(clg_png_folder_load(data, image_size, 3, out));
        }
    } else if (access(data, R_OK) == 0) {
        CLG_TRY(clg_idx_load(data, NULL, out));
    } else {
        return clg_fail(CLG_ERR_IO,
                        "--data '%s': not 'fashion-mnist', a folder (CIFAR-10 batches or PNG "
                        "files) or an IDX file",
                        data);
    }
    *channels = out->c;
    return CLG_OK;
}

static void say(const clg_train_hooks *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const clg_train_hooks *h, const char *fmt, ...) {
    if (!h || !h->on_start) return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    h->on_start(h->user, buf);
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

static clg_status save_samples(clg_ctx *ctx, clg_dcgan *m, const clg_tensor *fixed,
                               const char *path, float *host) {
    CLG_TRY(clg_dcgan_generate(ctx, m, fixed));
    const clg_tensor *img = clg_net_output(&m->g);
    CLG_TRY(clg_tensor_download(ctx, img, host));
    int n = img->n < 64 ? img->n : 64;
    return clg_png_write_grid(path, host, n, img->c, img->h, img->w, 8);
}

clg_status clg_train_dcgan(clg_ctx *ctx, const clg_train_opts *o, const clg_train_hooks *hooks,
                           clg_train_profile *prof) {
    clg_status rc = CLG_OK;
    clg_dataset ds = {0};
    clg_loader ld = {0};
    clg_dcgan m = {0};
    clg_tensor fixed = {0};
    FILE *metrics = NULL;
    float *host = NULL;
    int have_model = 0;
    char path[4200], ckpt[4200];
    clg_dcgan_config cfg = o->cfg;

    snprintf(path, sizeof path, "%s/samples", o->out);
    CLG_TRY(clg_mkdir_p(path));
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.safetensors", o->out);

    clg_ckpt_extra at = {0, 0};
    if (o->resume) {
        if (access(ckpt, R_OK) != 0)
            return clg_fail(CLG_ERR_IO, "--resume: no checkpoint at %s", ckpt);
        CLG_TRY(clg_ckpt_read_config(ckpt, &cfg));
        say(hooks, "resuming from %s (its settings override the model flags)", ckpt);
    }
    int channels;
    CLG_TRY(clg_data_open(o->data, cfg.image_size, &channels, &ds));
    if (o->resume && channels != cfg.nc) {
        clg_dataset_free(&ds);
        return clg_fail(CLG_ERR_INVALID_ARG, "the checkpoint has %d channels, the data %d",
                        cfg.nc, channels);
    }
    cfg.nc = channels;
    say(hooks, "data: %s, %d images of %dx%dx%d%s", o->data, ds.n, ds.c, ds.h, ds.w,
        ds.h == 28 ? " (padded to 32x32 with the background value)" : "");
    CLG_TRY_GOTO(clg_loader_init(&ld, &ds, cfg.image_size, cfg.batch, cfg.seed), done);
    CLG_TRY_GOTO(clg_dcgan_init(ctx, &m, &cfg), done);
    have_model = 1;
    if (o->resume) {
        CLG_TRY_GOTO(clg_ckpt_load(ctx, &m, ckpt, &at), done);
        CLG_TRY_GOTO(clg_loader_seek(&ld, at.epoch, at.data_pos), done);
        say(hooks, "resumed at step %ld (epoch %ld)", m.step, at.epoch);
    }
    CLG_TRY_GOTO(clg_tensor_create(ctx, &fixed, cfg.batch, cfg.nz, 1, 1, "fixed noise"), done);
    CLG_TRY_GOTO(clg_dcgan_noise(ctx, &m, &fixed, 1, 0), done);
    size_t img_numel = (size_t)cfg.batch * cfg.nc * cfg.image_size * cfg.image_size;
    host = malloc(img_numel * sizeof(float));
    if (!host) {
        rc = clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory");
        goto done;
    }

    /* Memory: what training needs at least, and what is live. */
    size_t need = 0;
    const clg_net *nets[2] = {&m.g, &m.d};
    for (int k = 0; k < 2; k++)
        need += (nets[k]->params.numel + nets[k]->grads.numel + nets[k]->adam_m.numel +
                 nets[k]->adam_v.numel + nets[k]->buffers.numel + nets[k]->saved.numel +
                 nets[k]->acts.numel) * sizeof(float);
    say(hooks, "device memory: %.1f MiB live (parameters, gradients, moments and saved "
        "activations need %.1f MiB: %.2fx)", ctx->live_bytes / 1048576.0, need / 1048576.0,
        (double)ctx->live_bytes / (double)need);

    char cfgjson[1024], text[4096];
    clg_dcgan_config_json(&cfg, cfgjson, sizeof cfgjson);
    snprintf(text, sizeof text,
             "{\n  \"model\": \"dcgan\",\n  \"config\": %s,\n  \"data\": \"%s\",\n"
             "  \"steps\": %ld,\n  \"epochs\": %ld,\n  \"minutes\": %g,\n"
             "  \"sample_every\": %ld,\n  \"ckpt_every\": %ld,\n  \"log_every\": %ld,\n"
             "  \"device\": \"%s\",\n  \"platform\": \"%s\",\n  \"driver\": \"%s\",\n"
             "  \"clgan_version\": \"%s\"\n}\n",
             cfgjson, o->data, o->steps, o->epochs, o->minutes, o->sample_every, o->ckpt_every,
             o->log_every, ctx->dev.name, ctx->dev.platform_name, ctx->dev.driver, CLG_VERSION);
    snprintf(path, sizeof path, "%s/config.json", o->out);
    CLG_TRY_GOTO(write_text(path, text), done);

    /* real.png: the first images of the (seeded) first epoch. */
    {
        int n = cfg.batch < 64 ? cfg.batch : 64;
        size_t per = (size_t)cfg.nc * cfg.image_size * cfg.image_size;
        for (int i = 0; i < n; i++) clg_loader_image(&ld, ld.order[i], host + per * i);
        snprintf(path, sizeof path, "%s/real.png", o->out);
        CLG_TRY_GOTO(clg_png_write_grid(path, host, n, cfg.nc, cfg.image_size, cfg.image_size, 8),
                     done);
    }
    snprintf(path, sizeof path, "%s/metrics.jsonl", o->out);
    if (o->resume) CLG_TRY_GOTO(trim_metrics(path, m.step), done);
    else remove(path);
    metrics = fopen(path, "a");
    if (!metrics) {
        rc = clg_fail(CLG_ERR_IO, "cannot write %s: %s", path, strerror(errno));
        goto done;
    }

    long bpe = clg_loader_batches_per_epoch(&ld);
    long total = o->steps;
    if (o->epochs > 0 && (total == 0 || o->epochs * bpe < total)) total = o->epochs * bpe;
    say(hooks, "training DCGAN-%d (nz %d, ngf %d, ndf %d, batch %d) on %s; %ld batches per "
        "epoch; %s", cfg.image_size, cfg.nz, cfg.ngf, cfg.ndf, cfg.batch, ctx->dev.name, bpe,
        total ? "step budget set" : "time budget only");
    if (total > 0 && m.step >= total) {
        say(hooks, "already at step %ld of %ld: nothing to do", m.step, total);
        goto done;
    }

    ctx->profile = o->profile;
    long epoch, ck_epoch = ld.epoch, ck_pos = ld.pos;
    const float *staged = clg_loader_next(&ld, &epoch);
    double t0 = now_s(), t_prof = 0, dev_ms = 0;
    long start_step = m.step, prof_steps = 0;
    for (;;) {
        double ts = now_s();
        long this_epoch = epoch;
        CLG_TRY_GOTO(clg_loader_upload(ctx, &m.real, staged), done);
        CLG_TRY_GOTO(clg_dcgan_step_enqueue(ctx, &m), done);
        /* While the device works: the next batch. */
        ck_epoch = ld.epoch;
        ck_pos = ld.pos;
        staged = clg_loader_next(&ld, &epoch);
        clg_dcgan_metrics mt;
        CLG_TRY_GOTO(clg_dcgan_step_finish(ctx, &m, &mt), done);
        if (!isfinite(mt.loss_d) || !isfinite(mt.loss_g)) {
            rc = clg_fail(CLG_ERR_DIVERGED,
                          "non-finite loss at step %ld (loss_D %g, loss_G %g): training "
                          "stopped; the last good checkpoint is %s (try a lower --lr)",
                          m.step, mt.loss_d, mt.loss_g, ckpt);
            goto done;
        }
        double te = now_s();
        if (o->profile) {
            CLG_TRY_GOTO(clg_profile_collect(ctx), done);
            if (m.step - start_step == 1) {
                ctx->prof_count = 0; /* the first step compiles kernels */
            } else {
                t_prof += te - ts;
                prof_steps++;
            }
        }
        double el = te - t0;
        long done_steps = m.step - start_step;
        int stop = (total > 0 && m.step >= total) || (o->minutes > 0 && el >= o->minutes * 60.0);
        if (o->log_every > 0 && (m.step % o->log_every == 0 || stop || done_steps == 1)) {
            clg_progress p = {m.step, total, this_epoch, done_steps * cfg.batch / el, el, -1, mt};
            if (total > 0) p.eta_s = (double)(total - m.step) * el / done_steps;
            if (o->minutes > 0) {
                double left = o->minutes * 60.0 - el;
                if (p.eta_s < 0 || left < p.eta_s) p.eta_s = left > 0 ? left : 0;
            }
            fprintf(metrics,
                    "{\"epoch\": %ld, \"step\": %ld, \"loss_d\": %.6g, \"loss_g\": %.6g, "
                    "\"d_x\": %.6g, \"d_g_z1\": %.6g, \"d_g_z2\": %.6g, \"images_per_s\": %.4g}\n",
                    this_epoch, m.step, mt.loss_d, mt.loss_g, mt.d_x, mt.d_g_z1, mt.d_g_z2,
                    p.images_per_s);
            fflush(metrics);
            if (hooks && hooks->on_progress) hooks->on_progress(hooks->user, &p);
        }
        if ((o->sample_every > 0 && m.step % o->sample_every == 0) || stop) {
            snprintf(path, sizeof path, "%s/samples/%06ld.png", o->out, m.step);
            CLG_TRY_GOTO(save_samples(ctx, &m, &fixed, path, host), done);
        }
        if ((o->ckpt_every > 0 && m.step % o->ckpt_every == 0) || stop) {
            clg_ckpt_extra ex = {ck_epoch, ck_pos};
            CLG_TRY_GOTO(clg_ckpt_save(ctx, &m, &ex, ckpt), done);
        }
        if (stop) break;
    }
    if (o->profile && prof) {
        for (int i = 0; i < ctx->prof_count; i++) {
            prof->families[i] = ctx->prof[i];
            dev_ms += ctx->prof[i].ms;
        }
        prof->count = ctx->prof_count;
        prof->device_ms = dev_ms;
        prof->wall_ms = t_prof * 1000.0;
        prof->steps = prof_steps;
    }
done:
    ctx->profile = 0;
    if (metrics) fclose(metrics);
    free(host);
    clg_tensor_free(ctx, &fixed);
    if (have_model) clg_dcgan_free(ctx, &m);
    clg_loader_free(&ld);
    clg_dataset_free(&ds);
    return rc;
}
