/* model.c: what the models share (see model.h): settings tables to and
 * from JSON, latent noise, input tensors and the Adam step over a net. */
#include "model.h"
#include "dist.h"
#include "grad_buckets.h"
#include "rng.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *at(const void *cfg, const clg_config_field *f) { return (char *)cfg + f->offset; }

/* The k-th word of a '|'-separated list into buf; 0 when there is none. */
static int choice_word(const char *choices, int k, char *buf, size_t cap) {
    const char *p = choices;
    for (int i = 0; p && i < k; i++) p = strchr(p, '|') ? strchr(p, '|') + 1 : NULL;
    if (!p || !*p) return 0;
    size_t len = strcspn(p, "|");
    snprintf(buf, cap, "%.*s", (int)len, p);
    return 1;
}

int clg_config_parse_int2(const char *text, int v[2]) {
    char *end;
    long a = strtol(text, &end, 10);
    if (end == text || *end != ',') return -1;
    const char *b_text = end + 1;
    long b = strtol(b_text, &end, 10);
    if (end == b_text || *end || a < INT32_MIN || a > INT32_MAX || b < INT32_MIN || b > INT32_MAX)
        return -1;
    v[0] = (int)a, v[1] = (int)b;
    return 0;
}

int clg_config_choice_index(const clg_config_field *f, const char *word) {
    char w[64];
    for (int k = 0; word && choice_word(f->choices, k, w, sizeof w); k++)
        if (!strcmp(w, word)) return k;
    return -1;
}

void clg_config_to_json(const clg_config_field *f, int n, const void *cfg, char *buf, size_t cap) {
    size_t len = 0;
    if (cap) buf[0] = '\0';
    int first = 1;
    for (int i = 0; i < n && len < cap; i++) {
        const void *p = at(cfg, &f[i]);
        if (f[i].omit_zero && (f[i].type == CLG_FIELD_FLOAT ? *(const float *)p == 0.0f
                               : f[i].type == CLG_FIELD_U64 ? *(const uint64_t *)p == 0
                                                            : *(const int *)p == 0))
            continue;
        const char *sep = first ? "{" : ", ";
        first = 0;
        int w;
        switch (f[i].type) {
        case CLG_FIELD_INT2: w = snprintf(buf + len, cap - len, "%s\"%s\": [%d, %d]", sep,
                                          f[i].key, ((const int *)p)[0], ((const int *)p)[1]);
            break;
        case CLG_FIELD_FLOAT: w = snprintf(buf + len, cap - len, "%s\"%s\": %.9g", sep, f[i].key,
                                           *(const float *)p); break;
        case CLG_FIELD_U64: w = snprintf(buf + len, cap - len, "%s\"%s\": %llu", sep, f[i].key,
                                         (unsigned long long)*(const uint64_t *)p); break;
        case CLG_FIELD_CHOICE: {
            char word[64] = "?";
            choice_word(f[i].choices, *(const int *)p, word, sizeof word);
            w = snprintf(buf + len, cap - len, "%s\"%s\": \"%s\"", sep, f[i].key, word);
            break;
        }
        default: w = snprintf(buf + len, cap - len, "%s\"%s\": %d", sep, f[i].key,
                              *(const int *)p); break;
        }
        len += w > 0 ? (size_t)w : 0;
    }
    if (len < cap) snprintf(buf + len, cap - len, "%s", first ? "{}" : "}");
}

clg_status clg_config_from_json(const clg_config_field *f, int n, const clg_json *j,
                                const char *what, void *cfg) {
    if (j->type != CLG_JSON_OBJECT)
        return clg_fail(CLG_ERR_FORMAT, "%s: the config is not a JSON object", what);
    for (int i = 0; i < n; i++) {
        const clg_json *v = clg_json_get(j, f[i].key);
        if (!v && f[i].optional) continue;
        if (f[i].type == CLG_FIELD_INT2) {
            int *q = at(cfg, &f[i]), ok = v && v->type == CLG_JSON_ARRAY && v->count == 2;
            for (int k = 0; ok && k < 2; k++) {
                const clg_json *e = &v->items[k];
                ok = e->type == CLG_JSON_NUMBER && e->num >= f[i].lo && e->num <= f[i].hi &&
                     e->num == floor(e->num);
                if (ok) q[k] = (int)e->num;
            }
            if (!ok)
                return clg_fail(CLG_ERR_FORMAT, "%s: config '%s' is not two whole numbers in "
                                "[%g, %g]", what, f[i].key, f[i].lo, f[i].hi);
            continue;
        }
        if (f[i].type == CLG_FIELD_CHOICE) {
            int k = v && v->type == CLG_JSON_STRING ? clg_config_choice_index(&f[i], v->str) : -1;
            if (k < 0)
                return clg_fail(CLG_ERR_FORMAT, "%s: config '%s' is missing or not one of %s",
                                what, f[i].key, f[i].choices);
            *(int *)at(cfg, &f[i]) = k;
            continue;
        }
        if (!v || v->type != CLG_JSON_NUMBER || !(v->num >= f[i].lo && v->num <= f[i].hi))
            return clg_fail(CLG_ERR_FORMAT, "%s: config '%s' is missing or out of range "
                            "[%g, %g]", what, f[i].key, f[i].lo, f[i].hi);
        if (f[i].type != CLG_FIELD_FLOAT && v->num != floor(v->num))
            return clg_fail(CLG_ERR_FORMAT, "%s: config '%s' = %g is not a whole number", what,
                            f[i].key, v->num);
        void *p = at(cfg, &f[i]);
        switch (f[i].type) {
        case CLG_FIELD_FLOAT: *(float *)p = (float)v->num; break;
        case CLG_FIELD_U64: *(uint64_t *)p = (uint64_t)v->num; break;
        default: *(int *)p = (int)v->num; break;
        }
    }
    return CLG_OK;
}

void *clg_model_config_new(const clg_model_ops *ops) {
    void *cfg = calloc(1, ops->config_size);
    if (cfg) ops->config_default(cfg);
    return cfg;
}

/* z from `skip` values into latent batch `index` of `stream`. */
static clg_status noise_at(clg_ctx *ctx, uint64_t seed, const clg_tensor *z, uint64_t stream,
                           long index, uint64_t skip) {
    /* 2^40 values per index. */
    uint64_t s = seed ^ (0x3c6ef372fe94f82bULL * (stream + 1));
    return clg_rng_normal(ctx, z, s, ((uint64_t)index << 24) + skip, 0.0f, 1.0f);
}

clg_status clg_model_noise(clg_ctx *ctx, uint64_t seed, const clg_tensor *z, uint64_t stream,
                           long index) {
    return noise_at(ctx, seed, z, stream, index, 0);
}

clg_status clg_model_noise_share(clg_ctx *ctx, uint64_t seed, const clg_tensor *z,
                                 uint64_t stream, long index) {
    uint64_t rank = ctx->dist ? (uint64_t)ctx->dist->rank : 0;
    return noise_at(ctx, seed, z, stream, index, rank * clg_tensor_numel(z));
}

clg_status clg_model_new(clg_ctx *ctx, size_t size, clg_model_setup_fn setup, const void *cfg,
                         int gen_batch, clg_model **out) {
    void *m = calloc(1, size);
    if (!m) return clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory");
    clg_status rc = setup(ctx, m, cfg, gen_batch);
    if (rc != CLG_OK) {
        free(m);
        return rc;
    }
    *out = m;
    return CLG_OK;
}

clg_status clg_model_inputs_create(clg_ctx *ctx, clg_model *m) {
    CLG_TRY(clg_tensor_create(ctx, &m->real, m->batch, m->nc, m->image_size, m->image_size,
                              "real batch"));
    if (m->classes > 0) CLG_TRY(clg_itensor_create(ctx, &m->labels, m->batch, "labels"));
    return CLG_OK;
}

void clg_model_inputs_free(clg_ctx *ctx, clg_model *m) {
    clg_tensor_free(ctx, &m->real);
    clg_itensor_free(ctx, &m->labels);
}

clg_status clg_model_adam_step(clg_ctx *ctx, clg_adam *opt, clg_net *net) {
    clg_tensor p = clg_block_tensor(&net->params), g = clg_block_tensor(&net->grads);
    clg_tensor m = clg_block_tensor(&net->adam_m), v = clg_block_tensor(&net->adam_v);
    /* Data-parallel: every rank's gradient of its slice's mean loss, averaged. */
    CLG_TRY(clg_grad_average(ctx, net));
    return clg_adam_step(ctx, opt, &p, &g, &m, &v);
}
