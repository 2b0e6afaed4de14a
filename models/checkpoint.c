/* checkpoint.c: save and load any model's state through safetensors (see
 * checkpoint.h). */
#include "checkpoint.h"
#include "json.h"
#include "safetensors.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NAMED 256
#define MAX_ITEMS (4 * MAX_NAMED)
#define MAX_META 32

/* One entry of the file: where its data lives on the device. */
typedef struct {
    char name[96];
    clg_named_tensor nt;
} ck_item;

static int add_item(ck_item *items, int n, const clg_named_tensor *nt, cl_mem buf,
                    const char *pre) {
    if (n >= MAX_ITEMS) return n + 1;
    snprintf(items[n].name, sizeof items[n].name, "%s%s", pre, nt->name);
    items[n].nt = *nt;
    if (buf) items[n].nt.t.buf = buf; /* same offset in a parallel block */
    return n + 1;
}

/* One part's tensors: its net's, then the optimiser's moments, then the
 * weight average (trainable tensors only for those). */
static int part_items(const clg_model_part *p, ck_item *items, int n) {
    clg_named_tensor *nts = malloc(MAX_NAMED * sizeof *nts);
    if (!nts) return -1;
    int c = clg_net_tensors(p->net, nts, MAX_NAMED);
    if (c > MAX_NAMED) {
        free(nts);
        return MAX_ITEMS + 1;
    }
    char pre[64];
    for (int i = 0; i < c; i++) n = add_item(items, n, &nts[i], NULL, p->prefix);
    for (int mom = 0; p->opt && mom < 2; mom++) {
        snprintf(pre, sizeof pre, "%s.%s.", p->opt_name, mom ? "exp_avg_sq" : "exp_avg");
        cl_mem buf = mom ? p->net->adam_v.buf : p->net->adam_m.buf;
        for (int i = 0; i < c; i++)
            if (nts[i].trainable) n = add_item(items, n, &nts[i], buf, pre);
    }
    snprintf(pre, sizeof pre, "ema.%s", p->prefix);
    for (int i = 0; p->avg && i < c; i++)
        if (nts[i].trainable) n = add_item(items, n, &nts[i], p->avg->buf, pre);
    snprintf(pre, sizeof pre, "hist.%s", p->prefix);
    for (int i = 0; p->hist && i < c; i++)
        if (nts[i].trainable) n = add_item(items, n, &nts[i], p->hist->buf, pre);
    free(nts);
    return n;
}

/* Every tensor of the model, *count of them. */
static clg_status list_items(clg_model *m, ck_item *items, clg_model_part *parts, int *nparts,
                             int *count) {
    *nparts = m->ops->parts(m, parts);
    int n = 0;
    for (int k = 0; k < *nparts && n >= 0 && n <= MAX_ITEMS; k++)
        n = part_items(&parts[k], items, n);
    *count = 0;
    if (n < 0) return clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory listing tensors");
    if (n > MAX_ITEMS) return clg_fail(CLG_ERR_INVALID_ARG, "model has over %d tensors", MAX_ITEMS);
    *count = n;
    return CLG_OK;
}

/* __metadata__ of a save, in the first release's order. */
typedef struct {
    const char *kv[2 * MAX_META];
    int n;
    char text[MAX_META][32];
    char cfg[4096];
} ck_meta;

static void meta_add(ck_meta *mt, const char *k, const char *v) {
    if (mt->n < MAX_META) mt->kv[2 * mt->n] = k, mt->kv[2 * mt->n + 1] = v, mt->n++;
}

static void meta_num(ck_meta *mt, const char *k, unsigned long long v) {
    if (mt->n >= MAX_META) return;
    snprintf(mt->text[mt->n], sizeof mt->text[mt->n], "%llu", v);
    meta_add(mt, k, mt->text[mt->n]);
}

static void build_meta(clg_ctx *ctx, clg_model *m, const clg_ckpt_extra *ex,
                       const clg_model_part *parts, int nparts, const void *cfg, ck_meta *mt,
                       char (*rngkeys)[48]) {
    const clg_model_ops *ops = m->ops;
    clg_config_to_json(ops->fields, ops->nfields, cfg, mt->cfg, sizeof mt->cfg);
    meta_add(mt, "format", ops->format);
    meta_add(mt, "model", ops->kind);
    meta_add(mt, "config", mt->cfg);
    meta_num(mt, "step", (unsigned long long)m->step);
    meta_num(mt, "epoch", (unsigned long long)ex->epoch);
    meta_num(mt, "data_pos", (unsigned long long)ex->data_pos);
    for (int k = 0; k < nparts; k++)
        if (parts[k].opt) meta_num(mt, parts[k].opt_key, (unsigned long long)parts[k].opt->step);
    /* The RNG is counter-based: (seed, step) is its whole state, with the
     * dropout/noise counter of each net that drew. */
    meta_add(mt, "rng", "philox4x32-10");
    meta_num(mt, "seed", (unsigned long long)m->seed);
    for (int k = 0; k < nparts; k++)
        if (parts[k].net->rng_counter) {
            snprintf(rngkeys[k], 48, "rng_counter.%s", parts[k].prefix[0] ? parts[k].prefix : "main");
            meta_num(mt, rngkeys[k], (unsigned long long)parts[k].net->rng_counter);
        }
    meta_add(mt, "clgan_version", CLG_VERSION);
    meta_add(mt, "device", ctx->dev.name);
}

clg_status clg_ckpt_save(clg_ctx *ctx, clg_model *m, const clg_ckpt_extra *extra,
                         const char *path) {
    ck_item *items = calloc(MAX_ITEMS, sizeof *items);
    clg_st_write_entry *e = calloc(MAX_ITEMS, sizeof *e);
    float **host = calloc(MAX_ITEMS, sizeof *host);
    ck_meta *mt = calloc(1, sizeof *mt);
    char rngkeys[CLG_MODEL_MAX_PARTS][48];
    clg_model_part parts[CLG_MODEL_MAX_PARTS];
    int nparts = 0, n = 0;
    clg_status rc = CLG_OK;
    if (!items || !e || !host || !mt) {
        rc = clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory saving %s", path);
        goto done;
    }
    CLG_TRY_GOTO(list_items(m, items, parts, &nparts, &n), done);
    for (int i = 0; i < n; i++) {
        const clg_tensor *t = &items[i].nt.t;
        if (!(host[i] = malloc(clg_tensor_bytes(t)))) {
            rc = clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory saving %s", path);
            goto done;
        }
        CLG_TRY_GOTO(clg_tensor_download(ctx, t, host[i]), done);
        e[i] = (clg_st_write_entry){items[i].name, host[i], items[i].nt.ndim, {0}};
        memcpy(e[i].shape, items[i].nt.shape, sizeof items[i].nt.shape);
    }
    build_meta(ctx, m, extra, parts, nparts, m->cfg, mt, rngkeys);
    rc = clg_safetensors_write(path, e, n, mt->kv, mt->n);
done:
    for (int i = 0; host && i < n; i++) free(host[i]);
    free(items), free(e), free(host), free(mt);
    return rc;
}

static clg_status meta_long(const clg_safetensors *st, const char *path, const char *key,
                            long *out) {
    const char *v = clg_safetensors_meta(st, key);
    char *end;
    if (!v || !*v) return clg_fail(CLG_ERR_FORMAT, "%s: metadata '%s' is missing", path, key);
    errno = 0;
    long x = strtol(v, &end, 10);
    /* Whole digits only, and far from where counting on would overflow. */
    if (*end || x < 0 || x > (1L << 50) || errno == ERANGE || v[0] < '0' || v[0] > '9')
        return clg_fail(CLG_ERR_FORMAT, "%s: metadata '%s' = '%.40s' is not a count", path, key,
                        v);
    *out = x;
    return CLG_OK;
}

/* The kind (format and model metadata) and config of an opened checkpoint. */
static clg_status parse_config(const clg_safetensors *st, const char *path,
                               const clg_model_ops **ops_out, void **cfg_out) {
    const char *kind = clg_safetensors_meta(st, "model");
    const char *fmt = clg_safetensors_meta(st, "format");
    const clg_model_ops *ops = clg_model_find(kind);
    if (!ops || !fmt || strcmp(fmt, ops->format) != 0)
        return clg_fail(CLG_ERR_FORMAT, "%s: not a clgan checkpoint of a known model (format "
                        "'%.40s', model '%.40s')", path, fmt ? fmt : "(none)", kind ? kind : "(none)");
    const char *text = clg_safetensors_meta(st, "config");
    if (!text) return clg_fail(CLG_ERR_FORMAT, "%s: metadata 'config' is missing", path);
    clg_json j;
    if (clg_json_parse(text, strlen(text), &j) != CLG_OK) {
        clg_error_context("in the config of %s", path);
        return CLG_ERR_FORMAT;
    }
    void *cfg = clg_model_config_new(ops);
    clg_status rc = cfg ? clg_config_from_json(ops->fields, ops->nfields, &j, path, cfg)
                        : clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory");
    clg_json_free(&j);
    /* The seed does not survive a double above 2^53: it is stored as text too. */
    const char *seed = clg_safetensors_meta(st, "seed");
    for (int i = 0; rc == CLG_OK && seed && i < ops->nfields; i++)
        if (!strcmp(ops->fields[i].key, "seed") && ops->fields[i].type == CLG_FIELD_U64) {
            char *end;
            errno = 0;
            unsigned long long v = strtoull(seed, &end, 10);
            if (*end || errno || !*seed || seed[0] == '-')
                rc = clg_fail(CLG_ERR_FORMAT, "%s: metadata 'seed' = '%.40s' is not a seed", path, seed);
            else *(uint64_t *)((char *)cfg + ops->fields[i].offset) = v;
        }
    if (rc == CLG_OK && (rc = ops->config_check(cfg)) != CLG_OK)
        clg_error_context("config of %s", path);
    if (rc != CLG_OK) {
        free(cfg);
        return rc;
    }
    *ops_out = ops, *cfg_out = cfg;
    return CLG_OK;
}

clg_status clg_ckpt_read_config(const char *path, const clg_model_ops **ops, void **cfg) {
    clg_safetensors st;
    CLG_TRY(clg_safetensors_read(path, &st));
    clg_status rc = parse_config(&st, path, ops, cfg);
    clg_safetensors_free(&st);
    return rc;
}

clg_status clg_ckpt_read_dcgan_config(const char *path, clg_dcgan_config *cfg) {
    const clg_model_ops *ops;
    void *c;
    CLG_TRY(clg_ckpt_read_config(path, &ops, &c));
    clg_status rc = CLG_OK;
    if (ops != &clg_dcgan_ops)
        rc = clg_fail(CLG_ERR_FORMAT, "%s holds a %s model, not a DCGAN", path, ops->kind);
    else *cfg = *(clg_dcgan_config *)c;
    free(c);
    return rc;
}

/* Presence and shape of `name` as `nt` describes it. */
static clg_status check_entry(const clg_safetensors *st, const char *path, const char *name,
                              const clg_named_tensor *nt, const clg_st_entry **out) {
    const clg_st_entry *e = clg_safetensors_find(st, name);
    int ok = e && e->ndim == nt->ndim;
    for (int d = 0; ok && d < e->ndim; d++) ok = e->shape[d] == nt->shape[d];
    if (!ok)
        return clg_fail(CLG_ERR_FORMAT, "%s: tensor '%s' is %s", path, name,
                        e ? "the wrong shape for this model" : "missing");
    *out = e;
    return CLG_OK;
}

/* Step counters from the metadata, checked before anything changes. */
static clg_status read_counters(const clg_safetensors *st, const char *path,
                                const clg_model_part *parts, int nparts, long *steps,
                                clg_ckpt_extra *extra, long *step) {
    CLG_TRY(meta_long(st, path, "step", step));
    CLG_TRY(meta_long(st, path, "epoch", &extra->epoch));
    CLG_TRY(meta_long(st, path, "data_pos", &extra->data_pos));
    for (int k = 0; k < nparts; k++) {
        steps[2 * k] = steps[2 * k + 1] = 0;
        if (parts[k].opt) CLG_TRY(meta_long(st, path, parts[k].opt_key, &steps[2 * k]));
        char key[48];
        snprintf(key, sizeof key, "rng_counter.%s", parts[k].prefix[0] ? parts[k].prefix : "main");
        if (clg_safetensors_meta(st, key)) CLG_TRY(meta_long(st, path, key, &steps[2 * k + 1]));
    }
    return CLG_OK;
}

/* Everything validated first; then uploads and counters. */
static clg_status load_all(clg_ctx *ctx, clg_model *m, const clg_safetensors *st,
                           const char *path, ck_item *items, clg_ckpt_extra *extra) {
    clg_model_part parts[CLG_MODEL_MAX_PARTS];
    int nparts, n;
    CLG_TRY(list_items(m, items, parts, &nparts, &n));
    const clg_st_entry *e;
    for (int i = 0; i < n; i++) CLG_TRY(check_entry(st, path, items[i].name, &items[i].nt, &e));
    if (st->count != n)
        return clg_fail(CLG_ERR_FORMAT, "%s holds %d tensors, this model has %d: a different "
                        "model (or one with/without a weight average)", path, st->count, n);
    long steps[2 * CLG_MODEL_MAX_PARTS], step;
    clg_ckpt_extra ex;
    CLG_TRY(read_counters(st, path, parts, nparts, steps, &ex, &step));
    for (int i = 0; i < n; i++) {
        CLG_TRY(check_entry(st, path, items[i].name, &items[i].nt, &e));
        CLG_TRY(clg_tensor_upload(ctx, &items[i].nt.t, e->data));
    }
    for (int k = 0; k < nparts; k++) {
        if (parts[k].opt) parts[k].opt->step = steps[2 * k];
        parts[k].net->rng_counter = (uint64_t)steps[2 * k + 1];
    }
    m->step = step;
    *extra = ex;
    return CLG_OK;
}

clg_status clg_ckpt_load(clg_ctx *ctx, clg_model *m, const char *path, clg_ckpt_extra *extra) {
    clg_safetensors st;
    CLG_TRY(clg_safetensors_read(path, &st));
    clg_status rc;
    const clg_model_ops *ops;
    void *cfg = NULL;
    ck_item *items = calloc(MAX_ITEMS, sizeof *items);
    if (!items) {
        rc = clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory loading %s", path);
        goto done;
    }
    CLG_TRY_GOTO(parse_config(&st, path, &ops, &cfg), done);
    if (ops != m->ops) {
        rc = clg_fail(CLG_ERR_FORMAT, "%s holds a %s model, not a %s", path, ops->kind,
                      m->ops->kind);
        goto done;
    }
    rc = load_all(ctx, m, &st, path, items, extra);
done:
    free(items);
    free(cfg);
    clg_safetensors_free(&st);
    return rc;
}

clg_status clg_net_save(clg_ctx *ctx, const clg_net *net, const char *path,
                        const char *const *meta, int nmeta) {
    clg_named_tensor nts[MAX_NAMED];
    int n = clg_net_tensors(net, nts, MAX_NAMED);
    if (n > MAX_NAMED) return clg_fail(CLG_ERR_INVALID_ARG, "network has over %d tensors", MAX_NAMED);
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
    if (n > MAX_NAMED) return clg_fail(CLG_ERR_INVALID_ARG, "network has over %d tensors", MAX_NAMED);
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < n; i++) {
            if (trainable_only && !nts[i].trainable) continue;
            char name[128];
            const clg_st_entry *e;
            snprintf(name, sizeof name, "%.60s%.47s", prefix, nts[i].name);
            CLG_TRY(check_entry(st, path, name, &nts[i], &e));
            if (pass == 1) CLG_TRY(clg_tensor_upload(ctx, &nts[i].t, e->data));
        }
    return CLG_OK;
}

clg_status clg_net_load(clg_ctx *ctx, clg_net *net, const char *path, const char *prefix) {
    clg_safetensors st;
    CLG_TRY(clg_safetensors_read(path, &st));
    clg_status rc = load_named(ctx, net, &st, path, prefix, 0);
    clg_safetensors_free(&st);
    return rc;
}

/* The generator parts of `m` (built generator-only) from `st`. */
static clg_status load_generator(clg_ctx *ctx, clg_model *m, const clg_safetensors *st,
                                 const char *path, int raw, int *averaged) {
    clg_model_part parts[CLG_MODEL_MAX_PARTS];
    int nparts = m->ops->parts(m, parts), avg = 0;
    for (int k = 0; k < nparts; k++) {
        CLG_TRY(load_named(ctx, parts[k].net, st, path, parts[k].prefix, 0));
        clg_named_tensor first;
        char pre[80], name[160];
        snprintf(pre, sizeof pre, "ema.%.60s", parts[k].prefix);
        if (raw || clg_net_tensors(parts[k].net, &first, 1) < 1) continue;
        snprintf(name, sizeof name, "%s%s", pre, first.name);
        if (!clg_safetensors_find(st, name)) continue;
        CLG_TRY(load_named(ctx, parts[k].net, st, path, pre, 1));
        avg = 1;
    }
    if (averaged) *averaged = avg;
    return CLG_OK;
}

clg_status clg_ckpt_open_generator(clg_ctx *ctx, const char *path, int gen_batch, int raw,
                                   clg_model **out, int *averaged) {
    clg_safetensors st;
    CLG_TRY(clg_safetensors_read(path, &st));
    const clg_model_ops *ops;
    void *cfg = NULL;
    clg_model *m = NULL;
    clg_status rc;
    CLG_TRY_GOTO(parse_config(&st, path, &ops, &cfg), done);
    if (!ops->generates) {
        rc = clg_fail(CLG_ERR_INVALID_ARG, "%s holds a %s, which does not generate images", path,
                      ops->kind);
        goto done;
    }
    CLG_TRY_GOTO(ops->create(ctx, cfg, gen_batch, &m), done);
    rc = load_generator(ctx, m, &st, path, raw, averaged);
    if (rc == CLG_OK) *out = m, m = NULL;
done:
    if (m) ops->destroy(ctx, m);
    free(cfg);
    clg_safetensors_free(&st);
    return rc;
}
