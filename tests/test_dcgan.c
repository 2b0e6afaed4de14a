/* test_dcgan.c: the generic trainer end to end on a tiny DCGAN (the
 * network's gradients are test_net.c's):
 * - a few training steps: finite losses, D's loss falls on a separable toy
 *   set (white images against G's near-zero start);
 * - determinism: two runs with one seed give identical metrics and identical
 *   checkpoint bytes;
 * - resume: N steps straight equals N/2 + resume + N/2, bit for bit;
 * - checkpoints: round trip, and each kind of damage rejected with its
 *   message; a non-finite loss stops training with CLG_ERR_DIVERGED;
 * - a checkpoint written by clgan 0.1.0 (tests/data) still loads and its
 *   generator gives the images that release gave. */
#include "testutil.h"
#include "checkpoint.h"
#include "net.h"
#include "safetensors.h"
#include "json.h"
#include "lagged.h"
#include "train.h"

#include <fcntl.h>
#include <sys/file.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[256];

/* ---- training runs -------------------------------------------------------- */

/* clg_dcgan_step_finish's metrics, in its order. */
enum { LOSS_D, LOSS_G, D_X, D_G_Z1, D_G_Z2 };

typedef struct {
    clg_metrics m[64];
    long steps[64];
    int n;
} metrics_log;

static void on_progress(void *user, const clg_progress *p) {
    metrics_log *ml = user;
    if (ml->n < 64) ml->steps[ml->n] = p->step, ml->m[ml->n++] = p->m;
}

static clg_dcgan_config tiny_cfg(void) {
    clg_dcgan_config c = clg_dcgan_config_default();
    c.nz = 8, c.ngf = 4, c.ndf = 4, c.batch = 8, c.seed = 77;
    return c;
}

static clg_dcgan_config tiny_config; /* what tiny_opts point at */

static clg_train_opts tiny_opts(const char *data, const char *out, long steps) {
    clg_train_opts o;
    memset(&o, 0, sizeof o);
    tiny_config = tiny_cfg();
    o.ops = &clg_dcgan_ops;
    o.cfg = &tiny_config;
    o.data = data;
    o.out = out;
    o.steps = steps;
    o.log_every = 1;
    o.sample_every = 0;
    o.ckpt_every = 0;
    return o;
}

static void run(clg_ctx *ctx, const clg_train_opts *o, metrics_log *ml) {
    clg_train_hooks h = {NULL, on_progress, NULL, ml};
    CLG_ASSERT_OK(clg_train(ctx, o, &h, NULL));
}

static void assert_same_file(const char *a, const char *b) {
    long la, lb;
    unsigned char *x = clg_test_slurp(a, &la), *y = clg_test_slurp(b, &lb);
    assert_int_equal(la, lb);
    assert_memory_equal(x, y, (size_t)la);
    free(x), free(y);
}

static void test_d_learns_toy_set(void **state) {
    char data[300], out[300];
    snprintf(data, sizeof data, "%s/white.idx", dir);
    snprintf(out, sizeof out, "%s/toy", dir);
    clg_test_write_idx(data, 32, 1);
    clg_train_opts o = tiny_opts(data, out, 25);
    metrics_log ml = {0};
    run(*state, &o, &ml);
    assert_int_equal(ml.n, 25);
    for (int i = 0; i < ml.n; i++) {
        assert_int_equal(ml.m[i].count, 5);
        assert_string_equal(ml.m[i].name[LOSS_D], "loss_d");
        assert_string_equal(ml.m[i].name[D_X], "d_x");
        assert_true(isfinite(ml.m[i].v[LOSS_D]) && isfinite(ml.m[i].v[LOSS_G]));
        assert_true(ml.m[i].v[D_X] > 0 && ml.m[i].v[D_X] < 1);
    }
    /* About log(4) at the start; D separates white images from G's output. */
    assert_true(fabs(ml.m[0].v[LOSS_D] - 1.386) < 0.3);
    if (!(ml.m[24].v[LOSS_D] < 0.7 * ml.m[0].v[LOSS_D]))
        fail_msg("D's loss did not fall: %g -> %g", ml.m[0].v[LOSS_D], ml.m[24].v[LOSS_D]);
    assert_true(ml.m[24].v[D_X] > ml.m[0].v[D_X]);
}

static void test_determinism_and_resume(void **state) {
    clg_ctx *ctx = *state;
    char data[300], a[300], b[300], c[300], pa[400], pb[400], pc[400];
    snprintf(data, sizeof data, "%s/pattern.idx", dir);
    clg_test_write_idx(data, 20, 0); /* 2.5 batches: epochs wrap inside the run */
    snprintf(a, sizeof a, "%s/run_a", dir);
    snprintf(b, sizeof b, "%s/run_b", dir);
    snprintf(c, sizeof c, "%s/run_c", dir);
    metrics_log ma = {0}, mb = {0}, mc = {0};
    clg_train_opts o = tiny_opts(data, a, 8);
    run(ctx, &o, &ma);
    o.out = b;
    run(ctx, &o, &mb);
    assert_int_equal(ma.n, 8);
    assert_memory_equal(ma.m, mb.m, sizeof ma.m[0] * 8);
    snprintf(pa, sizeof pa, "%s/checkpoint.safetensors", a);
    snprintf(pb, sizeof pb, "%s/checkpoint.safetensors", b);
    assert_same_file(pa, pb);
    /* 4 steps, stop, resume to 8: the same bytes as 8 straight. */
    o.out = c;
    o.steps = 4;
    run(ctx, &o, &mc);
    o.steps = 8;
    o.resume = 1;
    run(ctx, &o, &mc);
    assert_int_equal(mc.n, 8);
    assert_int_equal(mc.steps[4], 5);
    assert_memory_equal(ma.m, mc.m, sizeof ma.m[0] * 8);
    snprintf(pc, sizeof pc, "%s/checkpoint.safetensors", c);
    assert_same_file(pa, pc);
    /* metrics.jsonl of the resumed run holds each step once. */
    char mp[400], line[512];
    snprintf(mp, sizeof mp, "%s/metrics.jsonl", c);
    FILE *f = fopen(mp, "r");
    int lines = 0;
    while (fgets(line, sizeof line, f)) lines++;
    fclose(f);
    assert_int_equal(lines, 8);
}

static void test_checkpoint_roundtrip_and_damage(void **state) {
    clg_ctx *ctx = *state;
    char data[300], out[300], ck[400], bad[400];
    snprintf(data, sizeof data, "%s/pattern2.idx", dir);
    clg_test_write_idx(data, 16, 0);
    snprintf(out, sizeof out, "%s/ck", dir);
    metrics_log ml = {0};
    clg_train_opts o = tiny_opts(data, out, 3);
    run(ctx, &o, &ml);
    snprintf(ck, sizeof ck, "%s/checkpoint.safetensors", out);
    clg_dcgan_config cfg;
    CLG_ASSERT_OK(clg_ckpt_read_dcgan_config(ck, &cfg));
    assert_int_equal(cfg.ngf, 4);
    assert_int_equal(cfg.nz, 8);
    assert_true(cfg.seed == 77);
    cfg.nc = 1;
    clg_dcgan m;
    CLG_ASSERT_OK(clg_dcgan_init(ctx, &m, &cfg));
    clg_ckpt_extra ex;
    CLG_ASSERT_OK(clg_ckpt_load(ctx, &m.base, ck, &ex));
    assert_int_equal(m.base.step, 3);
    assert_int_equal(m.p.opt_g.step, 3);
    /* Saved again, the file is byte-identical. */
    snprintf(bad, sizeof bad, "%s/again.safetensors", out);
    CLG_ASSERT_OK(clg_ckpt_save(ctx, &m.base, &ex, bad));
    assert_same_file(ck, bad);
    /* A different model shape is refused, naming the tensor. */
    clg_dcgan other;
    clg_dcgan_config c2 = cfg;
    c2.ngf = 6;
    CLG_ASSERT_OK(clg_dcgan_init(ctx, &other, &c2));
    assert_int_equal(clg_ckpt_load(ctx, &other.base, ck, &ex), CLG_ERR_FORMAT);
    assert_non_null(strstr(clg_last_error(), "'main.0.weight' is the wrong shape"));
    clg_dcgan_free(ctx, &other);
    /* A flipped data byte: CRC mismatch. Truncation: header/offsets. */
    long len;
    unsigned char *bytes = clg_test_slurp(ck, &len);
    bytes[len - 5] ^= 0x40;
    FILE *f = fopen(bad, "wb");
    fwrite(bytes, 1, (size_t)len, f);
    fclose(f);
    assert_int_equal(clg_ckpt_load(ctx, &m.base, bad, &ex), CLG_ERR_FORMAT);
    assert_non_null(strstr(clg_last_error(), "CRC32"));
    bytes[len - 5] ^= 0x40;
    f = fopen(bad, "wb");
    fwrite(bytes, 1, (size_t)len / 2, f);
    fclose(f);
    assert_int_equal(clg_ckpt_load(ctx, &m.base, bad, &ex), CLG_ERR_FORMAT);
    free(bytes);
    /* Not a checkpoint of ours: a plain safetensors file without the format. */
    float v[2] = {1, 2};
    clg_st_write_entry e = {"main.0.weight", v, 1, {2}};
    CLG_ASSERT_OK(clg_safetensors_write(bad, &e, 1, NULL, 0));
    assert_int_equal(clg_ckpt_load(ctx, &m.base, bad, &ex), CLG_ERR_FORMAT);
    assert_non_null(strstr(clg_last_error(), "not a clgan checkpoint of a known model"));
    clg_dcgan_free(ctx, &m);
}

/* `path` rewritten to `out` with metadata `key` set to `value` (the CRC
 * recomputed, so only the metadata is wrong). */
static void rewrite_meta(const char *path, const char *key, const char *value, const char *out) {
    clg_safetensors st;
    CLG_ASSERT_OK(clg_safetensors_read(path, &st));
    clg_st_write_entry *e = calloc((size_t)st.count, sizeof *e);
    for (int i = 0; i < st.count; i++) {
        e[i] = (clg_st_write_entry){st.entries[i].name, st.entries[i].data, st.entries[i].ndim, {0}};
        memcpy(e[i].shape, st.entries[i].shape, sizeof e[i].shape);
    }
    const char *meta[64];
    int nm = 0;
    for (int i = 0; i < st.nmeta && nm < 32; i++) {
        if (!strcmp(st.meta_keys[i], "crc32")) continue;
        meta[2 * nm] = st.meta_keys[i];
        meta[2 * nm + 1] = strcmp(st.meta_keys[i], key) ? st.meta_values[i] : value;
        nm++;
    }
    CLG_ASSERT_OK(clg_safetensors_write(out, e, st.count, meta, nm));
    clg_safetensors_free(&st);
    free(e);
}

/* Metadata that is not what it claims (issue 13): counters that are not
 * counts, a seed that is not a number, a fractional size in the config. */
static void test_checkpoint_bad_metadata(void **state) {
    clg_ctx *ctx = *state;
    char data[300], out[300], ck[400], bad[400];
    snprintf(data, sizeof data, "%s/pattern4.idx", dir);
    clg_test_write_idx(data, 16, 0);
    snprintf(out, sizeof out, "%s/meta", dir);
    metrics_log ml = {0};
    clg_train_opts o = tiny_opts(data, out, 1);
    run(ctx, &o, &ml);
    snprintf(ck, sizeof ck, "%s/checkpoint.safetensors", out);
    snprintf(bad, sizeof bad, "%s/bad.safetensors", out);
    clg_dcgan_config cfg = tiny_cfg();
    cfg.nc = 1;
    clg_dcgan m;
    CLG_ASSERT_OK(clg_dcgan_init(ctx, &m, &cfg));
    clg_ckpt_extra ex;
    const char *cases[][3] = {
        {"step", "12abc", "not a count"},
        {"step", "-3", "not a count"},
        {"step", "99999999999999999999", "not a count"},
        {"opt_g_step", " 5", "not a count"},
        {"seed", "abc", "not a seed"},
        {"config", "{\"image_size\": 32, \"nc\": 1, \"nz\": 8.5, \"ngf\": 4, \"ndf\": 4, "
                   "\"batch_size\": 8, \"lr\": 0.0002, \"beta1\": 0.5, \"beta2\": 0.999, "
                   "\"real_label\": 1, \"bn_affine\": 1, \"seed\": 77}", "not a whole number"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rewrite_meta(ck, cases[i][0], cases[i][1], bad);
        if (clg_ckpt_load(ctx, &m.base, bad, &ex) != CLG_ERR_FORMAT)
            fail_msg("accepted %s = '%s'", cases[i][0], cases[i][1]);
        if (!strstr(clg_last_error(), cases[i][2]))
            fail_msg("%s = '%s': message '%s' lacks '%s'", cases[i][0], cases[i][1],
                     clg_last_error(), cases[i][2]);
    }
    clg_dcgan_free(ctx, &m);
}

/* G's weight average: ema = d * ema + (1 - d) * w after each G step, from
 * the initial weights; saved as "ema.main.*", loaded by clg_ckpt_load_g
 * unless raw; a checkpoint with an average does not load into a model
 * without one. */
static void download_block(clg_ctx *ctx, const clg_block *b, float *out) {
    clg_tensor t = clg_block_tensor(b);
    CLG_ASSERT_OK(clg_tensor_download(ctx, &t, out));
}

static void test_weight_average(void **state) {
    clg_ctx *ctx = *state;
    clg_dcgan_config cfg = tiny_cfg();
    cfg.nc = 1;
    cfg.ema = 0.75f;
    clg_dcgan m;
    CLG_ASSERT_OK(clg_dcgan_init(ctx, &m, &cfg));
    const size_t np = clg_tensor_numel(&m.p.g_ema);
    assert_int_equal(np, m.p.g.params.numel);
    float *w = malloc(np * sizeof *w), *avg = malloc(np * sizeof *avg);
    double *want = malloc(np * sizeof *want);
    float *real = malloc(clg_tensor_numel(&m.base.real) * sizeof *real);
    assert_non_null(w && avg && want && real);
    download_block(ctx, &m.p.g.params, w);
    CLG_ASSERT_OK(clg_tensor_download(ctx, &m.p.g_ema, avg));
    assert_memory_equal(w, avg, np * sizeof *w); /* starts at the initial weights */
    for (size_t i = 0; i < np; i++) want[i] = w[i];
    clg_test_fill_uniform(real, clg_tensor_numel(&m.base.real), 5, -1.0f, 1.0f);
    CLG_ASSERT_OK(clg_tensor_upload(ctx, &m.base.real, real));
    double moved = 0;
    for (int step = 0; step < 3; step++) {
        clg_metrics mm;
        CLG_ASSERT_OK(clg_dcgan_train_step(ctx, &m, &mm));
        download_block(ctx, &m.p.g.params, w);
        for (size_t i = 0; i < np; i++) {
            double prev = want[i];
            want[i] = 0.75 * want[i] + 0.25 * w[i];
            moved = fmax(moved, fabs(want[i] - prev));
        }
    }
    assert_true(moved > 1e-5); /* the weights did change */
    CLG_ASSERT_OK(clg_tensor_download(ctx, &m.p.g_ema, avg));
    for (size_t i = 0; i < np; i++)
        if (fabs(avg[i] - want[i]) > 1e-6 + 1e-5 * fabs(want[i]))
            fail_msg("average %zu: got %.9g, want %.9g", i, avg[i], want[i]);

    /* Saved and loaded: the average comes back, G loads it unless raw. */
    char ck[400];
    snprintf(ck, sizeof ck, "%s/ema.safetensors", dir);
    clg_ckpt_extra ex = {0, 0};
    CLG_ASSERT_OK(clg_ckpt_save(ctx, &m.base, &ex, ck));
    clg_dcgan back;
    CLG_ASSERT_OK(clg_dcgan_init(ctx, &back, &cfg));
    CLG_ASSERT_OK(clg_ckpt_load(ctx, &back.base, ck, &ex));
    float *got = malloc(np * sizeof *got);
    assert_non_null(got);
    CLG_ASSERT_OK(clg_tensor_download(ctx, &back.p.g_ema, got));
    assert_memory_equal(got, avg, np * sizeof *got);
    clg_dcgan_free(ctx, &back);
    clg_model *gm = NULL;
    int averaged = -1;
    CLG_ASSERT_OK(clg_ckpt_open_generator(ctx, ck, 4, 0, &gm, &averaged));
    assert_int_equal(averaged, 1);
    assert_int_equal(((clg_dcgan *)gm)->p.d.count, 0); /* generator only */
    download_block(ctx, &((clg_dcgan *)gm)->p.g.params, got);
    assert_memory_equal(got, avg, np * sizeof *got);
    gm->ops->destroy(ctx, gm);
    CLG_ASSERT_OK(clg_ckpt_open_generator(ctx, ck, 4, 1, &gm, &averaged));
    assert_int_equal(averaged, 0);
    download_block(ctx, &((clg_dcgan *)gm)->p.g.params, got);
    assert_memory_equal(got, w, np * sizeof *got);
    gm->ops->destroy(ctx, gm);
    /* A model without an average refuses this checkpoint. */
    clg_dcgan_config plain = cfg;
    plain.ema = 0;
    CLG_ASSERT_OK(clg_dcgan_init(ctx, &back, &plain));
    assert_int_equal(clg_ckpt_load(ctx, &back.base, ck, &ex), CLG_ERR_FORMAT);
    assert_non_null(strstr(clg_last_error(), "different model"));
    clg_dcgan_free(ctx, &back);
    clg_dcgan_free(ctx, &m);
    free(w), free(avg), free(want), free(real), free(got);
}

/* Poison one of D's weights in a checkpoint, resume: the first step's loss
 * is NaN, training stops with CLG_ERR_DIVERGED, and the checkpoint on disk
 * is left as it was. */
static void test_divergence_stops(void **state) {
    clg_ctx *ctx = *state;
    char data[300], out[300], ck[400];
    snprintf(data, sizeof data, "%s/pattern3.idx", dir);
    clg_test_write_idx(data, 16, 0);
    snprintf(out, sizeof out, "%s/nan", dir);
    clg_train_opts o = tiny_opts(data, out, 2);
    metrics_log ml = {0};
    run(ctx, &o, &ml);
    snprintf(ck, sizeof ck, "%s/checkpoint.safetensors", out);
    clg_safetensors st;
    CLG_ASSERT_OK(clg_safetensors_read(ck, &st));
    clg_st_write_entry *e = calloc((size_t)st.count, sizeof *e);
    float *poisoned = NULL;
    for (int i = 0; i < st.count; i++) {
        e[i].name = st.entries[i].name;
        e[i].data = st.entries[i].data;
        e[i].ndim = st.entries[i].ndim;
        memcpy(e[i].shape, st.entries[i].shape, sizeof e[i].shape);
        if (!strcmp(e[i].name, "netD.main.0.weight")) {
            poisoned = malloc(st.entries[i].numel * sizeof *poisoned);
            memcpy(poisoned, st.entries[i].data, st.entries[i].numel * sizeof *poisoned);
            poisoned[0] = NAN;
            e[i].data = poisoned;
        }
    }
    assert_non_null(poisoned);
    const char *meta[64];
    int nm = 0;
    for (int i = 0; i < st.nmeta; i++)
        if (strcmp(st.meta_keys[i], "crc32") != 0)
            meta[2 * nm] = st.meta_keys[i], meta[2 * nm + 1] = st.meta_values[i], nm++;
    CLG_ASSERT_OK(clg_safetensors_write(ck, e, st.count, meta, nm));
    clg_safetensors_free(&st);
    free(e);
    free(poisoned);
    long before_len, after_len;
    unsigned char *before = clg_test_slurp(ck, &before_len);
    o.steps = 5;
    o.resume = 1;
    o.ckpt_every = 1;
    clg_train_hooks h = {NULL, on_progress, NULL, &ml};
    assert_int_equal(clg_train(ctx, &o, &h, NULL), CLG_ERR_DIVERGED);
    assert_non_null(strstr(clg_last_error(), "non-finite loss_D (nan) at step 3"));
    unsigned char *after = clg_test_slurp(ck, &after_len);
    assert_int_equal(before_len, after_len);
    assert_memory_equal(before, after, (size_t)before_len);
    free(before), free(after);
}

/* Lagged statistics (lagged.h): reads complete in queue order, at most two
 * are in flight, and a non-finite value stops with the step it belongs to,
 * even when a later read is still in flight. */
static void test_lagged_reads(void **state) {
    clg_ctx *ctx = *state;
    clg_tensor t;
    CLG_ASSERT_OK(clg_tensor_create(ctx, &t, 1, 8, 1, 1, "statistics"));
    float ok[8] = {1, 2, 3, 4, 5, 6, 7, 8}, bad[8] = {1, 2, 3, 4, 5, NAN, 7, 8};
    clg_lagged l;
    CLG_ASSERT_OK(clg_lagged_init(&l, &t));
    CLG_ASSERT_OK(clg_tensor_upload(ctx, &t, ok));
    CLG_ASSERT_OK(clg_lagged_begin(ctx, &l, 5));
    CLG_ASSERT_OK(clg_lagged_begin(ctx, &l, 6));
    assert_int_equal(clg_lagged_begin(ctx, &l, 7), CLG_ERR_INVALID_ARG);
    CLG_ASSERT_OK(clg_lagged_check(&l, 1, "ck"));
    assert_int_equal(l.n, 1);
    assert_memory_equal(l.v[0], ok, sizeof ok); /* step 5's slot */
    CLG_ASSERT_OK(clg_tensor_upload_async(ctx, &t, bad));
    CLG_ASSERT_OK(clg_lagged_begin(ctx, &l, 7));
    CLG_ASSERT_OK(clg_lagged_check(&l, 1, "ck")); /* step 6 read before the NaN came */
    assert_int_equal(clg_lagged_check(&l, 0, "ck"), CLG_ERR_DIVERGED);
    assert_non_null(strstr(clg_last_error(), "(nan) at step 7"));
    assert_int_equal(l.n, 0);
    clg_tensor big;
    CLG_ASSERT_OK(clg_tensor_create(ctx, &big, 1, CLG_LAGGED_MAX + 1, 1, 1, "too many"));
    assert_int_equal(clg_lagged_init(&l, &big), CLG_ERR_INVALID_ARG);
    clg_lagged_free(&l);
    clg_tensor_free(ctx, &big);
    clg_tensor_free(ctx, &t);
}

static long launches(const clg_train_profile *p) {
    long n = 0;
    for (int i = 0; i < p->count; i++) n += p->families[i].launches;
    return n;
}

/* Quiet steps (no log, sample or checkpoint) are not waited for: the run
 * computes the same checkpoint and logs the same metrics as one that waits
 * for every step (CLGAN_SYNC_STEPS=1), and --profile counts every launch. */
static void test_lagged_training_same(void **state) {
    clg_ctx *ctx = *state;
    char data[300], out[2][300], ck[2][700];
    snprintf(data, sizeof data, "%s/lag.idx", dir);
    clg_test_write_idx(data, 24, 0);
    static metrics_log ml[2];
    clg_train_profile prof[2];
    for (int k = 0; k < 2; k++) {
        snprintf(out[k], sizeof out[k], "%s/lag%d", dir, k);
        snprintf(ck[k], sizeof ck[k], "%s/checkpoint.safetensors", out[k]);
        clg_train_opts o = tiny_opts(data, out[k], 7);
        o.log_every = 3, o.profile = 1; /* steps 1, 3, 6, 7 log; 2, 4, 5 are quiet */
        if (k == 1) setenv("CLGAN_SYNC_STEPS", "1", 1);
        clg_train_hooks h = {NULL, on_progress, NULL, &ml[k]};
        CLG_ASSERT_OK(clg_train(ctx, &o, &h, &prof[k]));
        unsetenv("CLGAN_SYNC_STEPS");
    }
    assert_same_file(ck[0], ck[1]);
    assert_int_equal(ml[0].n, 4);
    assert_int_equal(ml[1].n, 4);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(ml[0].steps[i], ml[1].steps[i]);
        assert_memory_equal(ml[0].m[i].v, ml[1].m[i].v, 5 * sizeof(float));
    }
    assert_int_equal(prof[0].steps, 6);
    assert_true(launches(&prof[0]) > 6 * 20);
    assert_int_equal(launches(&prof[0]), launches(&prof[1]));
}

/* Everything a step needs is allocated by clg_dcgan_init (conv scratch and
 * the split BN/VBN kernels' partial sums included): steps leave the device
 * memory accounting untouched, on the device's own BN path and on the
 * split one GPUs take, with batch norm and with VBN. */
static void test_no_allocation_in_steps(void **state) {
    clg_ctx *ctx = *state;
    const int saved = ctx->norm_path;
    for (int k = 0; k < 3; k++) {
        clg_dcgan_config cfg = clg_dcgan_config_default();
        cfg.nz = 16, cfg.ngf = 8, cfg.ndf = 8, cfg.batch = 16, cfg.vbn = k == 2;
        ctx->norm_path = k == 0 ? saved : CLG_NORM_GPU;
        clg_scratch_release(ctx);
        clg_dcgan m;
        CLG_ASSERT_OK(clg_dcgan_init(ctx, &m, &cfg));
        CLG_ASSERT_OK(clg_tensor_fill(ctx, &m.base.real, 0.5f));
        assert_true(ctx->scratch_bytes > 0); /* split-K runs here, and was reserved */
        size_t live = ctx->live_bytes, peak = ctx->peak_bytes;
        clg_metrics mt;
        for (int i = 0; i < 3; i++) CLG_ASSERT_OK(clg_dcgan_train_step(ctx, &m, &mt));
        assert_true(ctx->live_bytes == live);
        assert_true(ctx->peak_bytes == peak);
        clg_dcgan_free(ctx, &m);
    }
    ctx->norm_path = saved;
}

/* The run folder (issue 13): a second writer is refused while one holds
 * it; temporary files a killed run left are removed; config.json stays
 * valid JSON when the data path has a quote. */
static void test_run_folder_hygiene(void **state) {
    clg_ctx *ctx = *state;
    char data[300], out[300], p[400];
    snprintf(data, sizeof data, "%s/odd\"name.idx", dir);
    clg_test_write_idx(data, 16, 0);
    snprintf(out, sizeof out, "%s/hygiene", dir);
    snprintf(p, sizeof p, "mkdir -p '%s'", out);
    assert_int_equal(system(p), 0);
    snprintf(p, sizeof p, "%s/checkpoint.safetensors.tmp.424242", out);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fclose(f);
    char lock[400];
    snprintf(lock, sizeof lock, "%s/.lock", out);
    int fd = open(lock, O_RDWR | O_CREAT, 0644);
    assert_true(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0);
    clg_train_opts o = tiny_opts(data, out, 2);
    metrics_log ml = {0};
    clg_train_hooks h = {NULL, on_progress, NULL, &ml};
    assert_int_equal(clg_train(ctx, &o, &h, NULL), CLG_ERR_IO);
    assert_non_null(strstr(clg_last_error(), "in use by another clgan train"));
    close(fd);
    run(ctx, &o, &ml);
    assert_int_equal(access(p, F_OK), -1); /* the leftover is gone */
    snprintf(p, sizeof p, "%s/config.json", out);
    long len;
    unsigned char *text = clg_test_slurp(p, &len);
    clg_json j;
    CLG_ASSERT_OK(clg_json_parse((const char *)text, (size_t)len, &j));
    const clg_json *d = clg_json_get(&j, "data");
    assert_non_null(d);
    assert_string_equal(d->str, data);
    clg_json_free(&j);
    free(text);
}

/* A checkpoint of clgan 0.1.0 (tests/data/README.md) loads through the
 * generic code, and its generator reproduces that release's images, from
 * the weight average and from the trained weights. Bit-exact on the machine
 * that made them; 1e-5 of the image scale allows another CPU's rounding. */
static void test_release_checkpoint_still_samples(void **state) {
    clg_ctx *ctx = *state;
    const char *ck = "tests/data/dcgan-0.1.0.safetensors";
    clg_safetensors ex;
    CLG_ASSERT_OK(clg_safetensors_read("tests/data/dcgan-0.1.0-expected.safetensors", &ex));
    const clg_st_entry *ez = clg_safetensors_find(&ex, "z");
    assert_non_null(ez);
    for (int raw = 0; raw < 2; raw++) {
        const clg_st_entry *want = clg_safetensors_find(&ex, raw ? "images_raw" : "images");
        assert_non_null(want);
        clg_model *m = NULL;
        int averaged = -1;
        CLG_ASSERT_OK(clg_ckpt_open_generator(ctx, ck, 6, raw, &m, &averaged));
        assert_int_equal(averaged, !raw);
        assert_int_equal(m->nz, 8);
        clg_tensor z = clg_test_tensor(ctx, 6, 8, 1, 1, ez->data);
        const clg_tensor *img;
        CLG_ASSERT_OK(m->ops->generate(ctx, m, &z, NULL, 0, &img));
        assert_int_equal(clg_tensor_numel(img), want->numel);
        float *got = malloc(want->numel * sizeof *got);
        double *ref = malloc(want->numel * sizeof *ref);
        CLG_ASSERT_OK(clg_tensor_download(ctx, img, got));
        for (size_t i = 0; i < want->numel; i++) ref[i] = want->data[i];
        CLG_ASSERT_CLOSE(got, ref, want->numel, 1e-5);
        free(got), free(ref);
        clg_tensor_free(ctx, &z);
        m->ops->destroy(ctx, m);
    }
    clg_safetensors_free(&ex);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_d_learns_toy_set),
        cmocka_unit_test(test_determinism_and_resume),
        cmocka_unit_test(test_checkpoint_roundtrip_and_damage),
        cmocka_unit_test(test_checkpoint_bad_metadata),
        cmocka_unit_test(test_weight_average),
        cmocka_unit_test(test_divergence_stops),
        cmocka_unit_test(test_lagged_reads),
        cmocka_unit_test(test_lagged_training_same),
        cmocka_unit_test(test_no_allocation_in_steps),
        cmocka_unit_test(test_release_checkpoint_still_samples),
        cmocka_unit_test(test_run_folder_hygiene),
    };
    return clg_test_run_in_tmpdir("dcgan", dir, sizeof dir, tests,
                                  sizeof tests / sizeof tests[0]);
}
