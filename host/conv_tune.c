/* conv_tune.c: the stored conv variant choices (format in conv_tune.h). */
#include "conv_tune.h"
#include "program.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef clg_conv_tune_entry tune_entry;

/* The table of one device, read on first use. */
static struct {
    char path[4096];
    int loaded;
    tune_entry *e;
    int n, cap;
} table;

static void key_of(const clg_conv_desc *d, int *v) {
    const int k[9] = {d->N, d->C, d->H, d->W, d->K, d->R, d->S, d->stride, d->pad};
    memcpy(v, k, sizeof k);
}

clg_status clg_conv_tune_path(const clg_ctx *ctx, char *buf, size_t cap) {
    return clg_device_file(ctx, "conv-tune", buf, cap);
}

/* Entries with the same key: the same shape and direction, or defaults
 * replacing the same variant in the same direction. */
static int same_key(const tune_entry *a, const tune_entry *b) {
    if (a->is_default || b->is_default)
        return a->is_default && b->is_default && a->dir == b->dir &&
               clg_conv_algo_same(&a->from, &b->from);
    return a->dir == b->dir && !memcmp(a->v, b->v, sizeof a->v);
}

static clg_status put(const tune_entry *t) {
    for (int i = 0; i < table.n; i++)
        if (same_key(&table.e[i], t)) {
            table.e[i].algo = t->algo;
            return CLG_OK;
        }
    if (table.n == table.cap) {
        int cap = table.cap ? table.cap * 2 : 32;
        tune_entry *e = realloc(table.e, (size_t)cap * sizeof *e);
        if (!e) return clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory");
        table.e = e;
        table.cap = cap;
    }
    table.e[table.n++] = *t;
    return CLG_OK;
}

static tune_entry shape_entry(clg_conv_dir dir, const clg_conv_desc *d, const clg_conv_algo *a) {
    tune_entry t;
    memset(&t, 0, sizeof t);
    t.dir = dir;
    key_of(d, t.v);
    t.algo = *a;
    return t;
}

static tune_entry default_entry(clg_conv_dir dir, const clg_conv_algo *from,
                                const clg_conv_algo *to) {
    tune_entry t;
    memset(&t, 0, sizeof t);
    t.is_default = 1;
    t.dir = dir;
    t.from = *from;
    t.algo = *to;
    return t;
}

static int dir_parse(const char *s) {
    for (int d = 0; d < CLG_CONV_DIR_COUNT; d++)
        if (!strcmp(s, clg_conv_dir_name((clg_conv_dir)d))) return d;
    return -1;
}

static int parse_default(const char *line, clg_conv_tune_entry *out) {
    char from[128], to[128];
    clg_conv_algo a, b;
    char dname[32];
    if (sscanf(line, "default %31s %127s %127s", dname, from, to) != 3) return 0;
    const int dir = dir_parse(dname);
    if (dir < 0) return 0;
    if (clg_conv_algo_parse(from, &a) != CLG_OK || clg_conv_algo_parse(to, &b) != CLG_OK) {
        clg_clear_error();
        return 0;
    }
    *out = default_entry((clg_conv_dir)dir, &a, &b);
    return 1;
}

int clg_conv_tune_parse_line(const char *line, clg_conv_tune_entry *out) {
    char dname[32], algo[128];
    int *v = out->v;
    if (!strncmp(line, "default ", 8)) return parse_default(line, out);
    out->is_default = 0;
    if (sscanf(line, "%31s %d %d %d %d %d %d %d %d %d %127s", dname, &v[0], &v[1], &v[2], &v[3],
               &v[4], &v[5], &v[6], &v[7], &v[8], algo) != 11)
        return 0;
    int dir = dir_parse(dname);
    if (dir < 0 || clg_conv_algo_parse(algo, &out->algo) != CLG_OK) {
        clg_clear_error();
        return 0;
    }
    out->dir = (clg_conv_dir)dir;
    return 1;
}

/* Load the table for ctx's device unless it is the one held. */
static clg_status load(const clg_ctx *ctx) {
    char path[4096];
    CLG_TRY(clg_conv_tune_path(ctx, path, sizeof path));
    if (table.loaded && !strcmp(path, table.path)) return CLG_OK;
    table.n = 0;
    table.loaded = 1;
    snprintf(table.path, sizeof table.path, "%s", path);
    if (!path[0]) return CLG_OK;
    FILE *f = fopen(path, "r");
    if (!f) return CLG_OK; /* nothing tuned yet */
    char line[CLG_TUNE_LINE_MAX];
    while (fgets(line, sizeof line, f)) {
        tune_entry t;
        if (!clg_conv_tune_parse_line(line, &t)) continue;
        clg_status s = put(&t);
        if (s != CLG_OK) {
            fclose(f);
            return s;
        }
    }
    fclose(f);
    return CLG_OK;
}

clg_status clg_conv_tune_lookup(clg_ctx *ctx, clg_conv_dir dir, const clg_conv_desc *d,
                                clg_conv_algo *out, int *found) {
    *found = 0;
    CLG_TRY(load(ctx));
    int v[9];
    key_of(d, v);
    for (int i = 0; i < table.n; i++)
        if (!table.e[i].is_default && table.e[i].dir == dir &&
            !memcmp(table.e[i].v, v, sizeof v)) {
            *out = table.e[i].algo;
            *found = 1;
            return CLG_OK;
        }
    return CLG_OK;
}

clg_status clg_conv_tune_default_lookup(clg_ctx *ctx, clg_conv_dir dir, const clg_conv_algo *def,
                                        clg_conv_algo *out, int *found) {
    *found = 0;
    CLG_TRY(load(ctx));
    for (int i = 0; i < table.n; i++)
        if (table.e[i].is_default && table.e[i].dir == dir &&
            clg_conv_algo_same(&table.e[i].from, def)) {
            *out = table.e[i].algo;
            *found = 1;
            return CLG_OK;
        }
    return CLG_OK;
}

static void write_entry(FILE *f, const tune_entry *t) {
    char algo[128], from[128];
    clg_conv_algo_format(&t->algo, algo, sizeof algo);
    if (t->is_default) {
        clg_conv_algo_format(&t->from, from, sizeof from);
        fprintf(f, "default %s %s %s\n", clg_conv_dir_name(t->dir), from, algo);
        return;
    }
    fprintf(f, "%s %d %d %d %d %d %d %d %d %d %s\n", clg_conv_dir_name(t->dir), t->v[0],
            t->v[1], t->v[2], t->v[3], t->v[4], t->v[5], t->v[6], t->v[7], t->v[8], algo);
}

/* Add t to the table and rewrite its file (a temporary file, renamed). */
static clg_status store(clg_ctx *ctx, const tune_entry *t) {
    CLG_TRY(load(ctx));
    if (!table.path[0])
        return clg_fail(CLG_ERR_IO, "conv tune: the cache is disabled (CLGAN_NO_CACHE)");
    CLG_TRY(put(t));
    {
        /* The folders above the table file. */
        char folder[4096];
        snprintf(folder, sizeof folder, "%s", table.path);
        char *slash = strrchr(folder, '/');
        if (slash && slash != folder) {
            *slash = '\0';
            CLG_TRY(clg_mkdir_p(folder));
        }
    }
    char tmp[4200]; /* per process: two processes may store at once */
    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", table.path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) return clg_fail(CLG_ERR_IO, "conv tune: cannot write %s: %s", tmp, strerror(errno));
    fprintf(f, "# clgan conv tuning for %s (%s, driver %s)\n", ctx->dev.name,
            ctx->dev.platform_name, ctx->dev.driver);
    for (int i = 0; i < table.n; i++) write_entry(f, &table.e[i]);
    if (fclose(f) != 0 || rename(tmp, table.path) != 0) {
        remove(tmp);
        return clg_fail(CLG_ERR_IO, "conv tune: cannot write %s: %s", table.path,
                        strerror(errno));
    }
    return CLG_OK;
}

clg_status clg_conv_tune_store(clg_ctx *ctx, clg_conv_dir dir, const clg_conv_desc *d,
                               const clg_conv_algo *a) {
    tune_entry t = shape_entry(dir, d, a);
    return store(ctx, &t);
}

clg_status clg_conv_tune_default_store(clg_ctx *ctx, clg_conv_dir dir, const clg_conv_algo *from,
                                       const clg_conv_algo *to) {
    tune_entry t = default_entry(dir, from, to);
    return store(ctx, &t);
}
