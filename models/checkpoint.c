/* checkpoint.c: save and load DCGAN state through safetensors. */
#include "checkpoint.h"
#include "json.h"
#include "safetensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NAMED 128

void clg_dcgan_config_json(const clg_dcgan_config *c, char *buf, size_t cap) {
    snprintf(buf, cap,
             "{\"image_size\": %d, \"nc\": %d, \"nz\": %d, \"ngf\": %d, \"ndf\": %d, "
             "\"batch_size\": %d, \"lr\": %.9g, \"beta1\": %.9g, \"beta2\": %.9g, "
             "\"real_label\": %.9g, \"bn_affine\": %d, \"seed\": %llu, \"ema\": %.9g}",
             c->image_size, c->nc, c->nz, c->ngf, c->ndf, c->batch, c->lr, c->beta1, c->beta2,
             c->real_label, c->bn_affine, (unsigned long long)c->seed, c->ema);
}

/* One entry of the file: where its data lives on the device and on the host. */
typedef struct {
    char name[80];
    clg_named_tensor nt;
    cl_mem buf; /* the block this view lives in */
    float *host;
} ck_item;

/* Every tensor of the model: G, D, then their Adam moments, then G's
 * average ("ema.main....") when the run keeps one. */
static int list_items(const clg_dcgan *m, ck_item *items, int cap) {
    clg_named_tensor nts[MAX_NAMED];
    int n = 0;
    const clg_net *nets[2] = {&m->g, &m->d};
    const char *pre[2] = {"", "netD."};
    const char *opt[2] = {"optG", "optD"};
    for (int k = 0; k < 2; k++) {
        int c = clg_net_tensors(nets[k], nts, MAX_NAMED);
        for (int i = 0; i < c && n < cap; i++) {
            snprintf(items[n].name, sizeof items[n].name, "%s%.47s", pre[k], nts[i].name);
            items[n].nt = nts[i];
            n++;
        }
        for (int mom = 0; mom < 2; mom++) {
            const clg_block *blk = mom ? &nets[k]->adam_v : &nets[k]->adam_m;
            for (int i = 0; i < c && n < cap; i++) {
                if (!nts[i].trainable) continue;
                snprintf(items[n].name, sizeof items[n].name, "%s.%s.%.47s", opt[k],
                         mom ? "exp_avg_sq" : "exp_avg", nts[i].name);
                items[n].nt = nts[i];
                /* Same offset in the parallel moment block. */
                items[n].nt.t.buf = blk->buf;
                n++;
            }
        }
        if (k == 0 && m->cfg.ema > 0) /* same offsets in the average's buffer */
            for (int i = 0; i < c && n < cap; i++) {
                if (!nts[i].trainable) continue;
                snprintf(items[n].name, sizeof items[n].name, "ema.%.47s", nts[i].name);
                items[n].nt = nts[i];
                items[n].nt.t.buf = m->g_ema.buf;
                n++;
            }
    }
    return n;
}

clg_status clg_ckpt_save(clg_ctx *ctx, const clg_dcgan *m, const clg_ckpt_extra *extra,
                         const char *path) {
    ck_item *items = calloc(4 * MAX_NAMED, sizeof *items);
    clg_st_write_entry *e = calloc(4 * MAX_NAMED, sizeof *e);
    clg_status rc = CLG_OK;
    int n = 0;
    if (!items || !e) {
        rc = clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory saving %s", path);
        goto done;
    }
    n = list_items(m, items, 4 * MAX_NAMED);
    for (int i = 0; i < n; i++) {
        const clg_tensor *t = &items[i].nt.t;
        items[i].host = malloc(clg_tensor_bytes(t));
        if (!items[i].host) {
            rc = clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory saving %s", path);
            goto done;
        }
        CLG_TRY_GOTO(clg_tensor_download(ctx, t, items[i].host), done);
        e[i].name = items[i].name;
        e[i].data = items[i].host;
        e[i].ndim = items[i].nt.ndim;
        memcpy(e[i].shape, items[i].nt.shape, sizeof items[i].nt.shape);
    }
    char cfg[1024], step[32], epoch[32], pos[32], sg[32], sd[32], seed[32];
    clg_dcgan_config_json(&m->cfg, cfg, sizeof cfg);
    snprintf(step, sizeof step, "%ld", m->step);
    snprintf(epoch, sizeof epoch, "%ld", extra->epoch);
    snprintf(pos, sizeof pos, "%ld", extra->data_pos);
    snprintf(sg, sizeof sg, "%ld", m->opt_g.step);
    snprintf(sd, sizeof sd, "%ld", m->opt_d.step);
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)m->cfg.seed);
    const char *meta[] = {"format", CLG_CKPT_FORMAT, "model", "dcgan", "config", cfg,
                          "step", step, "epoch", epoch, "data_pos", pos,
                          "opt_g_step", sg, "opt_d_step", sd,
                          /* The RNG is counter-based: (seed, step) is its whole state. */
                          "rng", "philox4x32-10", "seed", seed,
                          "clgan_version", CLG_VERSION, "device", ctx->dev.name};
    rc = clg_safetensors_write(path, e, n, meta, (int)(sizeof meta / sizeof meta[0]) / 2);
done:
    for (int i = 0; items && i < n; i++) free(items[i].host);
    free(items);
    free(e);
    return rc;
}

static clg_status meta_long(const clg_safetensors *st, const char *path, const char *key,
                            long *out) {
    const char *v = clg_safetensors_meta(st, key);
    char *end;
    if (!v || !*v) return clg_fail(CLG_ERR_FORMAT, "%s: metadata '%s' is missing", path, key);
    long x = strtol(v, &end, 10);
    if (*end || x < 0) return clg_fail(CLG_ERR_FORMAT, "%s: metadata '%s' = '%s' is not a count",
                                       path, key, v);
    *out = x;
    return CLG_OK;
}

static clg_status json_int(const clg_json *o, const char *path, const char *key, double lo,
                           double hi, double *out) {
    const clg_json *v = clg_json_get(o, key);
    if (!v || v->type != CLG_JSON_NUMBER || v->num < lo || v->num > hi)
        return clg_fail(CLG_ERR_FORMAT, "%s: config '%s' is missing or out of range", path, key);
    *out = v->num;
    return CLG_OK;
}

static clg_status parse_config(const clg_safetensors *st, const char *path,
                               clg_dcgan_config *cfg) {
    const char *fmt = clg_safetensors_meta(st, "format");
    if (!fmt || strcmp(fmt, CLG_CKPT_FORMAT) != 0)
        return clg_fail(CLG_ERR_FORMAT, "%s: not a clgan DCGAN checkpoint (format '%s', want '%s')",
                        path, fmt ? fmt : "(none)", CLG_CKPT_FORMAT);
    const char *text = clg_safetensors_meta(st, "config");
    if (!text) return clg_fail(CLG_ERR_FORMAT, "%s: metadata 'config' is missing", path);
    clg_json j;
    if (clg_json_parse(text, strlen(text), &j) != CLG_OK) {
        clg_error_context("in the config of %s", path);
        return CLG_ERR_FORMAT;
    }
    double v[12];
    const char *keys[12] = {"image_size", "nc", "nz", "ngf", "ndf", "batch_size",
                            "lr", "beta1", "beta2", "real_label", "bn_affine", "seed"};
    clg_status rc = CLG_OK;
    for (int i = 0; i < 12 && rc == CLG_OK; i++)
        rc = json_int(&j, path, keys[i], 0, 1.8446744073709552e19, &v[i]);
    /* Optional (checkpoints from before it existed have none). */
    double ema = 0;
    if (rc == CLG_OK && clg_json_get(&j, "ema")) rc = json_int(&j, path, "ema", 0, 1, &ema);
    clg_json_free(&j);
    CLG_TRY(rc);
    *cfg = clg_dcgan_config_default();
    cfg->image_size = (int)v[0], cfg->nc = (int)v[1], cfg->nz = (int)v[2];
    cfg->ngf = (int)v[3], cfg->ndf = (int)v[4], cfg->batch = (int)v[5];
    cfg->lr = (float)v[6], cfg->beta1 = (float)v[7], cfg->beta2 = (float)v[8];
    cfg->real_label = (float)v[9], cfg->bn_affine = (int)v[10], cfg->ema = (float)ema;
    /* The seed does not survive a double above 2^53: store it as text too. */
    const char *seed = clg_safetensors_meta(st, "seed");
    cfg->seed = seed ? strtoull(seed, NULL, 10) : (uint64_t)v[11];
    rc = clg_dcgan_config_check(cfg);
    if (rc != CLG_OK) clg_error_context("config of %s", path);
    return rc;
}

clg_status clg_ckpt_read_config(const char *path, clg_dcgan_config *cfg) {
    clg_safetensors st;
    CLG_TRY(clg_safetensors_read(path, &st));
    clg_status rc = parse_config(&st, path, cfg);
    clg_safetensors_free(&st);
    return rc;
}

clg_status clg_ckpt_load(clg_ctx *ctx, clg_dcgan *m, const char *path, clg_ckpt_extra *extra) {
    clg_safetensors st;
    CLG_TRY(clg_safetensors_read(path, &st));
    clg_status rc;
    ck_item *items = calloc(4 * MAX_NAMED, sizeof *items);
    if (!items) {
        rc = clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory loading %s", path);
        goto done;
    }
    clg_dcgan_config cfg;
    CLG_TRY_GOTO(parse_config(&st, path, &cfg), done);
    if (cfg.image_size != m->cfg.image_size || cfg.nc != m->cfg.nc || cfg.nz != m->cfg.nz ||
        cfg.ngf != m->cfg.ngf || cfg.ndf != m->cfg.ndf || cfg.bn_affine != m->cfg.bn_affine ||
        (cfg.ema > 0) != (m->cfg.ema > 0)) {
        rc = clg_fail(CLG_ERR_FORMAT, "%s holds a different model (image %d, nc %d, nz %d, "
                      "ngf %d, ndf %d, ema %g) than the one asked for (image %d, nc %d, nz %d, "
                      "ngf %d, ndf %d, ema %g)", path, cfg.image_size, cfg.nc, cfg.nz, cfg.ngf,
                      cfg.ndf, cfg.ema, m->cfg.image_size, m->cfg.nc, m->cfg.nz, m->cfg.ngf,
                      m->cfg.ndf, m->cfg.ema);
        goto done;
    }
    int n = list_items(m, items, 4 * MAX_NAMED);
    /* Validate everything before changing anything on the device. */
    for (int i = 0; i < n; i++) {
        const clg_st_entry *e = clg_safetensors_find(&st, items[i].name);
        if (!e) {
            rc = clg_fail(CLG_ERR_FORMAT, "%s: tensor '%s' is missing", path, items[i].name);
            goto done;
        }
        int ok = e->ndim == items[i].nt.ndim;
        for (int d = 0; ok && d < e->ndim; d++) ok = e->shape[d] == items[i].nt.shape[d];
        if (!ok) {
            rc = clg_fail(CLG_ERR_FORMAT, "%s: tensor '%s' has the wrong shape for this model",
                          path, items[i].name);
            goto done;
        }
    }
    long step, sg, sd;
    CLG_TRY_GOTO(meta_long(&st, path, "step", &step), done);
    CLG_TRY_GOTO(meta_long(&st, path, "epoch", &extra->epoch), done);
    CLG_TRY_GOTO(meta_long(&st, path, "data_pos", &extra->data_pos), done);
    CLG_TRY_GOTO(meta_long(&st, path, "opt_g_step", &sg), done);
    CLG_TRY_GOTO(meta_long(&st, path, "opt_d_step", &sd), done);
    for (int i = 0; i < n; i++) {
        const clg_st_entry *e = clg_safetensors_find(&st, items[i].name);
        CLG_TRY_GOTO(clg_tensor_upload(ctx, &items[i].nt.t, e->data), done);
    }
    m->step = step;
    m->opt_g.step = sg;
    m->opt_d.step = sd;
    rc = CLG_OK;
done:
    free(items);
    clg_safetensors_free(&st);
    return rc;
}

clg_status clg_net_save(clg_ctx *ctx, const clg_net *net, const char *path,
                        const char *const *meta, int nmeta) {
    clg_named_tensor nts[MAX_NAMED];
    int n = clg_net_tensors(net, nts, MAX_NAMED);
    clg_st_write_entry e[MAX_NAMED];
    float *host[MAX_NAMED] = {0};
    clg_status rc = CLG_OK;
    for (int i = 0; i < n && rc == CLG_OK; i++) {
        host[i] = malloc(clg_tensor_bytes(&nts[i].t));
        if (!host[i]) rc = clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory saving %s", path);
        else rc = clg_tensor_download(ctx, &nts[i].t, host[i]);
        e[i].name = nts[i].name;
        e[i].data = host[i];
        e[i].ndim = nts[i].ndim;
        memcpy(e[i].shape, nts[i].shape, sizeof nts[i].shape);
    }
    if (rc == CLG_OK) rc = clg_safetensors_write(path, e, n, meta, nmeta);
    for (int i = 0; i < n; i++) free(host[i]);
    return rc;
}

/* The tensors of `net` from `st` under `prefix`; only the trainable ones
 * (not BN's running statistics) when `trainable_only`. */
static clg_status load_named(clg_ctx *ctx, clg_net *net, const clg_safetensors *st,
                             const char *path, const char *prefix, int trainable_only) {
    clg_named_tensor nts[MAX_NAMED];
    int n = clg_net_tensors(net, nts, MAX_NAMED);
    clg_status rc = CLG_OK;
    for (int pass = 0; pass < 2 && rc == CLG_OK; pass++)
        for (int i = 0; i < n && rc == CLG_OK; i++) {
            if (trainable_only && !nts[i].trainable) continue;
            char name[128];
            snprintf(name, sizeof name, "%.60s%.47s", prefix, nts[i].name);
            const clg_st_entry *e = clg_safetensors_find(st, name);
            int ok = e && e->ndim == nts[i].ndim;
            for (int d = 0; ok && d < e->ndim; d++) ok = e->shape[d] == nts[i].shape[d];
            if (!ok)
                rc = clg_fail(CLG_ERR_FORMAT, "%s: tensor '%s' is %s", path, name,
                              e ? "the wrong shape for this model" : "missing");
            else if (pass == 1) /* upload only once everything checked out */
                rc = clg_tensor_upload(ctx, &nts[i].t, e->data);
        }
    return rc;
}

clg_status clg_net_load(clg_ctx *ctx, clg_net *net, const char *path, const char *prefix) {
    clg_safetensors st;
    CLG_TRY(clg_safetensors_read(path, &st));
    clg_status rc = load_named(ctx, net, &st, path, prefix, 0);
    clg_safetensors_free(&st);
    return rc;
}

clg_status clg_ckpt_load_g(clg_ctx *ctx, clg_net *g, const char *path, int raw, int *averaged) {
    clg_safetensors st;
    CLG_TRY(clg_safetensors_read(path, &st));
    clg_status rc = load_named(ctx, g, &st, path, "", 0);
    int avg = !raw && clg_safetensors_find(&st, "ema.main.0.weight") != NULL;
    if (rc == CLG_OK && avg) rc = load_named(ctx, g, &st, path, "ema.", 1);
    if (averaged) *averaged = avg;
    clg_safetensors_free(&st);
    return rc;
}
