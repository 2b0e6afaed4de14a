/* test_dcgan.c: the training engine end to end on a tiny DCGAN:
 * - the network's gradients (conv, convT, BN, activations, linear, reshape)
 *   against central finite differences of its own forward;
 * - a few training steps: finite losses, D's loss falls on a separable toy
 *   set (white images against G's near-zero start);
 * - determinism: two runs with one seed give identical metrics and identical
 *   checkpoint bytes;
 * - resume: N steps straight equals N/2 + resume + N/2, bit for bit;
 * - checkpoints: round trip, and each kind of damage rejected with its
 *   message; a non-finite loss stops training with CLG_ERR_DIVERGED. */
#include "testutil.h"
#include "checkpoint.h"
#include "net.h"
#include "safetensors.h"
#include "train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[256];

/* ---- gradients of a small mixed network ---------------------------------- */

/* loss = sum(out * r) after a forward in `mode`. The stream of dropout and
 * noise is rewound first, so every forward draws the same mask and noise. */
static double loss_of(clg_ctx *ctx, clg_net *net, const clg_tensor *x, const float *r,
                      size_t nout, clg_net_mode mode) {
    net->rng_counter = 0;
    CLG_ASSERT_OK(clg_net_forward(ctx, net, x, mode));
    float *out = malloc(nout * sizeof *out);
    CLG_ASSERT_OK(clg_tensor_download(ctx, clg_net_output(net), out));
    double l = 0;
    for (size_t i = 0; i < nout; i++) l += (double)out[i] * r[i];
    free(out);
    return l;
}

/* Central difference of the loss in vals[i], which `t` holds on the device
 * (vals is restored and re-uploaded afterwards). */
static double central_diff(clg_ctx *ctx, clg_net *net, const clg_tensor *t, float *vals,
                           size_t i, float h, const clg_tensor *x, const float *r, size_t nout,
                           clg_net_mode mode) {
    float keep = vals[i];
    vals[i] = keep + h;
    CLG_ASSERT_OK(clg_tensor_upload(ctx, t, vals));
    double lp = loss_of(ctx, net, x, r, nout, mode);
    vals[i] = keep - h;
    CLG_ASSERT_OK(clg_tensor_upload(ctx, t, vals));
    double lm = loss_of(ctx, net, x, r, nout, mode);
    vals[i] = keep;
    CLG_ASSERT_OK(clg_tensor_upload(ctx, t, vals));
    return (lp - lm) / (2 * h);
}

static void test_net_gradients(void **state) {
    clg_ctx *ctx = *state;
    clg_net net;
    clg_net_init(&net, 2, 2, 6, 6);
    CLG_ASSERT_OK(clg_net_conv(&net, "main.0", 3, 3, 1, 1, 1));
    CLG_ASSERT_OK(clg_net_bn(&net, "main.1", 1));
    CLG_ASSERT_OK(clg_net_act(&net, CLG_ACT_TANH, 0.0f));
    CLG_ASSERT_OK(clg_net_convt(&net, "main.3", 2, 4, 2, 1, 1)); /* 6 -> 12 */
    CLG_ASSERT_OK(clg_net_act(&net, CLG_ACT_SIGMOID, 0.0f));
    CLG_ASSERT_OK(clg_net_conv(&net, "main.5", 2, 4, 2, 1, 0)); /* 12 -> 6 */
    CLG_ASSERT_OK(clg_net_reshape(&net, 72, 1, 1));
    CLG_ASSERT_OK(clg_net_linear(&net, "main.7", 3, 1));
    /* Leaky ReLU last, where the few inputs can be checked to sit away from
     * its kink (finite differences across a kink are meaningless). */
    CLG_ASSERT_OK(clg_net_act(&net, CLG_ACT_LEAKY_RELU, 0.2f));
    CLG_ASSERT_OK(clg_net_alloc(ctx, &net));
    CLG_ASSERT_OK(clg_net_init_params(ctx, &net, 5));
    /* Larger weights than DCGAN's 0.02 so every path carries signal. */
    clg_tensor p = clg_block_tensor(&net.params);
    size_t np = clg_tensor_numel(&p);
    float *pv = malloc(np * sizeof *pv), *gv = malloc(np * sizeof *gv);
    clg_test_fill_uniform(pv, np, 13, -0.5f, 0.5f);
    CLG_ASSERT_OK(clg_tensor_upload(ctx, &p, pv));
    float xv[2 * 2 * 36], r[6], dx[2 * 2 * 36];
    clg_test_fill_uniform(xv, 144, 3, -1.0f, 1.0f);
    clg_test_fill_uniform(r, 6, 4, -1.0f, 1.0f);
    clg_tensor x = clg_test_tensor(ctx, 2, 2, 6, 6, xv), dxt = clg_test_tensor(ctx, 2, 2, 6, 6, NULL);
    /* Backward of loss = sum(out * r) after a forward in batch-stats mode. */
    loss_of(ctx, &net, &x, r, 6, CLG_NET_BATCH_STATS);
    float out[6];
    CLG_ASSERT_OK(clg_tensor_download(ctx, clg_net_output(&net), out));
    for (int i = 0; i < 6; i++) assert_true(fabsf(out[i]) > 0.1f);
    clg_tensor dout = clg_net_doutput(&net);
    CLG_ASSERT_OK(clg_tensor_upload(ctx, &dout, r));
    CLG_ASSERT_OK(clg_net_zero_grad(ctx, &net));
    CLG_ASSERT_OK(clg_net_backward(ctx, &net, &x, &dxt, 1));
    CLG_ASSERT_OK(clg_tensor_download(ctx, &dxt, dx));
    clg_tensor g = clg_block_tensor(&net.grads);
    CLG_ASSERT_OK(clg_tensor_download(ctx, &g, gv));
    const float h = 1e-3f;
    double worst = 0, scale = 0;
    /* Input gradient. */
    for (int i = 0; i < 144; i += 7) {
        double fd = central_diff(ctx, &net, &x, xv, (size_t)i, h, &x, r, 6, CLG_NET_BATCH_STATS);
        worst = fmax(worst, fabs(fd - dx[i]));
        scale = fmax(scale, fabs(fd));
    }
    /* Every parameter tensor, a few elements each. */
    clg_named_tensor nts[32];
    int nt = clg_net_tensors(&net, nts, 32);
    int checked = 0;
    for (int t = 0; t < nt; t++) {
        if (!nts[t].trainable) continue;
        size_t off = nts[t].t.off / 4, n = clg_tensor_numel(&nts[t].t);
        for (size_t j = 0; j < n; j += n / 3 + 1) {
            double fd = central_diff(ctx, &net, &p, pv, off + j, h, &x, r, 6, CLG_NET_BATCH_STATS);
            worst = fmax(worst, fabs(fd - gv[off + j]));
            scale = fmax(scale, fabs(fd));
            checked++;
        }
    }
    assert_true(checked >= 20);
    assert_true(scale > 1e-2); /* the check has signal */
    /* Central differences of float32 forwards: 1e-2 of the largest gradient. */
    if (worst > 1e-2 * scale) fail_msg("gradient error %g over scale %g", worst, scale);
    clg_tensor_free(ctx, &x), clg_tensor_free(ctx, &dxt);
    clg_net_free(ctx, &net);
    free(pv), free(gv);
}

/* Max pool, dropout and noise: the forwards run in training mode with the
 * stream rewound each time (loss_of), so every forward draws the same mask
 * and noise. */
static void test_net_gradients_pool_dropout(void **state) {
    clg_ctx *ctx = *state;
    clg_net net;
    clg_net_init(&net, 2, 1, 7, 7);
    net.rng_seed = 31;
    /* Pool first, on inputs spaced far wider than the finite-difference
     * step, so no nudge changes which element is a bin's maximum. */
    CLG_ASSERT_OK(clg_net_maxpool(&net, 3, 3)); /* overlapping bins of 7 */
    CLG_ASSERT_OK(clg_net_conv(&net, "main.1", 4, 3, 1, 1, 1));
    CLG_ASSERT_OK(clg_net_dropout(&net, 0.3f));
    CLG_ASSERT_OK(clg_net_noise(&net, 0.1f));
    CLG_ASSERT_OK(clg_net_linear(&net, "main.4", 3, 1));
    CLG_ASSERT_OK(clg_net_act(&net, CLG_ACT_TANH, 0.0f));
    CLG_ASSERT_OK(clg_net_alloc(ctx, &net));
    CLG_ASSERT_OK(clg_net_init_params(ctx, &net, 2));
    clg_tensor p = clg_block_tensor(&net.params);
    size_t np = clg_tensor_numel(&p);
    float *pv = malloc(np * sizeof *pv), *gv = malloc(np * sizeof *gv);
    clg_test_fill_uniform(pv, np, 4, -0.5f, 0.5f);
    CLG_ASSERT_OK(clg_tensor_upload(ctx, &p, pv));
    float xv[98], r[6], dx[98];
    for (int i = 0; i < 98; i++) xv[i] = -1.0f + 0.02f * (float)((i * 37) % 98);
    clg_test_fill_uniform(r, 6, 6, -1.0f, 1.0f);
    clg_tensor x = clg_test_tensor(ctx, 2, 1, 7, 7, xv), dxt = clg_test_tensor(ctx, 2, 1, 7, 7, NULL);
    loss_of(ctx, &net, &x, r, 6, CLG_NET_TRAIN);
    clg_tensor dout = clg_net_doutput(&net);
    CLG_ASSERT_OK(clg_tensor_upload(ctx, &dout, r));
    CLG_ASSERT_OK(clg_net_zero_grad(ctx, &net));
    CLG_ASSERT_OK(clg_net_backward(ctx, &net, &x, &dxt, 1));
    CLG_ASSERT_OK(clg_tensor_download(ctx, &dxt, dx));
    clg_tensor g = clg_block_tensor(&net.grads);
    CLG_ASSERT_OK(clg_tensor_download(ctx, &g, gv));
    const float h = 1e-3f;
    double worst = 0, scale = 0;
    for (int i = 0; i < 98; i++) {
        double fd = central_diff(ctx, &net, &x, xv, (size_t)i, h, &x, r, 6, CLG_NET_TRAIN);
        worst = fmax(worst, fabs(fd - dx[i]));
        scale = fmax(scale, fabs(fd));
    }
    for (size_t j = 0; j < 40; j += 3) { /* conv weights and bias */
        double fd = central_diff(ctx, &net, &p, pv, j, h, &x, r, 6, CLG_NET_TRAIN);
        worst = fmax(worst, fabs(fd - gv[j]));
        scale = fmax(scale, fabs(fd));
    }
    assert_true(scale > 1e-2);
    if (worst > 1e-2 * scale) fail_msg("gradient error %g over scale %g", worst, scale);
    clg_tensor_free(ctx, &x), clg_tensor_free(ctx, &dxt);
    clg_net_free(ctx, &net);
    free(pv), free(gv);
}

/* ---- training runs -------------------------------------------------------- */

/* A tiny IDX dataset: `white` images all 255, else a pattern per image. */
static void make_idx(const char *path, int n, int white) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    unsigned char hdr[16] = {0, 0, 8, 3, 0, 0, 0, (unsigned char)n, 0, 0, 0, 28, 0, 0, 0, 28};
    fwrite(hdr, 1, 16, f);
    for (int i = 0; i < n; i++)
        for (int p = 0; p < 784; p++)
            fputc(white ? 255 : ((p / 28 + i) % 5 == 0 || (p % 28) == (i % 28)) * 255, f);
    fclose(f);
}

typedef struct {
    clg_dcgan_metrics m[64];
    long steps[64];
    int n;
} metrics_log;

static void on_progress(void *user, const clg_progress *p) {
    metrics_log *ml = user;
    if (ml->n < 64) ml->steps[ml->n] = p->step, ml->m[ml->n++] = p->m;
}

static clg_train_opts tiny_opts(const char *data, const char *out, long steps) {
    clg_train_opts o;
    memset(&o, 0, sizeof o);
    o.cfg = clg_dcgan_config_default();
    o.cfg.nz = 8, o.cfg.ngf = 4, o.cfg.ndf = 4, o.cfg.batch = 8, o.cfg.seed = 77;
    o.data = data;
    o.out = out;
    o.steps = steps;
    o.log_every = 1;
    o.sample_every = 0;
    o.ckpt_every = 0;
    return o;
}

static void run(clg_ctx *ctx, const clg_train_opts *o, metrics_log *ml) {
    clg_train_hooks h = {NULL, on_progress, ml};
    CLG_ASSERT_OK(clg_train_dcgan(ctx, o, &h, NULL));
}

static unsigned char *slurp(const char *path, long *len) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *len = ftell(f);
    rewind(f);
    unsigned char *b = malloc((size_t)*len);
    assert_int_equal(fread(b, 1, (size_t)*len, f), (size_t)*len);
    fclose(f);
    return b;
}

static void assert_same_file(const char *a, const char *b) {
    long la, lb;
    unsigned char *x = slurp(a, &la), *y = slurp(b, &lb);
    assert_int_equal(la, lb);
    assert_memory_equal(x, y, (size_t)la);
    free(x), free(y);
}

static void test_d_learns_toy_set(void **state) {
    char data[300], out[300];
    snprintf(data, sizeof data, "%s/white.idx", dir);
    snprintf(out, sizeof out, "%s/toy", dir);
    make_idx(data, 32, 1);
    clg_train_opts o = tiny_opts(data, out, 25);
    metrics_log ml = {0};
    run(*state, &o, &ml);
    assert_int_equal(ml.n, 25);
    for (int i = 0; i < ml.n; i++) {
        assert_true(isfinite(ml.m[i].loss_d) && isfinite(ml.m[i].loss_g));
        assert_true(ml.m[i].d_x > 0 && ml.m[i].d_x < 1);
    }
    /* About log(4) at the start; D separates white images from G's output. */
    assert_true(fabs(ml.m[0].loss_d - 1.386) < 0.3);
    if (!(ml.m[24].loss_d < 0.7 * ml.m[0].loss_d))
        fail_msg("D's loss did not fall: %g -> %g", ml.m[0].loss_d, ml.m[24].loss_d);
    assert_true(ml.m[24].d_x > ml.m[0].d_x);
}

static void test_determinism_and_resume(void **state) {
    clg_ctx *ctx = *state;
    char data[300], a[300], b[300], c[300], pa[400], pb[400], pc[400];
    snprintf(data, sizeof data, "%s/pattern.idx", dir);
    make_idx(data, 20, 0); /* 2.5 batches: epochs wrap inside the run */
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
    make_idx(data, 16, 0);
    snprintf(out, sizeof out, "%s/ck", dir);
    metrics_log ml = {0};
    clg_train_opts o = tiny_opts(data, out, 3);
    run(ctx, &o, &ml);
    snprintf(ck, sizeof ck, "%s/checkpoint.safetensors", out);
    clg_dcgan_config cfg;
    CLG_ASSERT_OK(clg_ckpt_read_config(ck, &cfg));
    assert_int_equal(cfg.ngf, 4);
    assert_int_equal(cfg.nz, 8);
    assert_true(cfg.seed == 77);
    cfg.nc = 1;
    clg_dcgan m;
    CLG_ASSERT_OK(clg_dcgan_init(ctx, &m, &cfg));
    clg_ckpt_extra ex;
    CLG_ASSERT_OK(clg_ckpt_load(ctx, &m, ck, &ex));
    assert_int_equal(m.step, 3);
    assert_int_equal(m.opt_g.step, 3);
    /* Saved again, the file is byte-identical. */
    snprintf(bad, sizeof bad, "%s/again.safetensors", out);
    CLG_ASSERT_OK(clg_ckpt_save(ctx, &m, &ex, bad));
    assert_same_file(ck, bad);
    /* A different model shape is refused with both shapes named. */
    clg_dcgan other;
    clg_dcgan_config c2 = cfg;
    c2.ngf = 6;
    CLG_ASSERT_OK(clg_dcgan_init(ctx, &other, &c2));
    assert_int_equal(clg_ckpt_load(ctx, &other, ck, &ex), CLG_ERR_FORMAT);
    assert_non_null(strstr(clg_last_error(), "different model"));
    clg_dcgan_free(ctx, &other);
    /* A flipped data byte: CRC mismatch. Truncation: header/offsets. */
    long len;
    unsigned char *bytes = slurp(ck, &len);
    bytes[len - 5] ^= 0x40;
    FILE *f = fopen(bad, "wb");
    fwrite(bytes, 1, (size_t)len, f);
    fclose(f);
    assert_int_equal(clg_ckpt_load(ctx, &m, bad, &ex), CLG_ERR_FORMAT);
    assert_non_null(strstr(clg_last_error(), "CRC32"));
    bytes[len - 5] ^= 0x40;
    f = fopen(bad, "wb");
    fwrite(bytes, 1, (size_t)len / 2, f);
    fclose(f);
    assert_int_equal(clg_ckpt_load(ctx, &m, bad, &ex), CLG_ERR_FORMAT);
    free(bytes);
    /* Not a checkpoint of ours: a plain safetensors file without the format. */
    float v[2] = {1, 2};
    clg_st_write_entry e = {"main.0.weight", v, 1, {2}};
    CLG_ASSERT_OK(clg_safetensors_write(bad, &e, 1, NULL, 0));
    assert_int_equal(clg_ckpt_load(ctx, &m, bad, &ex), CLG_ERR_FORMAT);
    assert_non_null(strstr(clg_last_error(), "not a clgan DCGAN checkpoint"));
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
    clg_dcgan_config cfg = tiny_opts("", "", 0).cfg;
    cfg.nc = 1;
    cfg.ema = 0.75f;
    clg_dcgan m;
    CLG_ASSERT_OK(clg_dcgan_init(ctx, &m, &cfg));
    const size_t np = clg_tensor_numel(&m.g_ema);
    assert_int_equal(np, m.g.params.numel);
    float *w = malloc(np * sizeof *w), *avg = malloc(np * sizeof *avg);
    double *want = malloc(np * sizeof *want);
    float *real = malloc(clg_tensor_numel(&m.real) * sizeof *real);
    assert_non_null(w && avg && want && real);
    download_block(ctx, &m.g.params, w);
    CLG_ASSERT_OK(clg_tensor_download(ctx, &m.g_ema, avg));
    assert_memory_equal(w, avg, np * sizeof *w); /* starts at the initial weights */
    for (size_t i = 0; i < np; i++) want[i] = w[i];
    clg_test_fill_uniform(real, clg_tensor_numel(&m.real), 5, -1.0f, 1.0f);
    CLG_ASSERT_OK(clg_tensor_upload(ctx, &m.real, real));
    double moved = 0;
    for (int step = 0; step < 3; step++) {
        clg_dcgan_metrics mm;
        CLG_ASSERT_OK(clg_dcgan_train_step(ctx, &m, &mm));
        download_block(ctx, &m.g.params, w);
        for (size_t i = 0; i < np; i++) {
            double prev = want[i];
            want[i] = 0.75 * want[i] + 0.25 * w[i];
            moved = fmax(moved, fabs(want[i] - prev));
        }
    }
    assert_true(moved > 1e-5); /* the weights did change */
    CLG_ASSERT_OK(clg_tensor_download(ctx, &m.g_ema, avg));
    for (size_t i = 0; i < np; i++)
        if (fabs(avg[i] - want[i]) > 1e-6 + 1e-5 * fabs(want[i]))
            fail_msg("average %zu: got %.9g, want %.9g", i, avg[i], want[i]);

    /* Saved and loaded: the average comes back, G loads it unless raw. */
    char ck[400];
    snprintf(ck, sizeof ck, "%s/ema.safetensors", dir);
    clg_ckpt_extra ex = {0, 0};
    CLG_ASSERT_OK(clg_ckpt_save(ctx, &m, &ex, ck));
    clg_dcgan back;
    CLG_ASSERT_OK(clg_dcgan_init(ctx, &back, &cfg));
    CLG_ASSERT_OK(clg_ckpt_load(ctx, &back, ck, &ex));
    float *got = malloc(np * sizeof *got);
    assert_non_null(got);
    CLG_ASSERT_OK(clg_tensor_download(ctx, &back.g_ema, got));
    assert_memory_equal(got, avg, np * sizeof *got);
    clg_dcgan_free(ctx, &back);
    clg_net g;
    memset(&g, 0, sizeof g);
    CLG_ASSERT_OK(clg_dcgan_build_g(&g, &cfg, 4));
    CLG_ASSERT_OK(clg_net_alloc(ctx, &g));
    int averaged = -1;
    CLG_ASSERT_OK(clg_ckpt_load_g(ctx, &g, ck, 0, &averaged));
    assert_int_equal(averaged, 1);
    download_block(ctx, &g.params, got);
    assert_memory_equal(got, avg, np * sizeof *got);
    CLG_ASSERT_OK(clg_ckpt_load_g(ctx, &g, ck, 1, &averaged));
    assert_int_equal(averaged, 0);
    download_block(ctx, &g.params, got);
    assert_memory_equal(got, w, np * sizeof *got);
    clg_net_free(ctx, &g);
    /* A model without an average refuses this checkpoint. */
    clg_dcgan_config plain = cfg;
    plain.ema = 0;
    CLG_ASSERT_OK(clg_dcgan_init(ctx, &back, &plain));
    assert_int_equal(clg_ckpt_load(ctx, &back, ck, &ex), CLG_ERR_FORMAT);
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
    make_idx(data, 16, 0);
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
    unsigned char *before = slurp(ck, &before_len);
    o.steps = 5;
    o.resume = 1;
    o.ckpt_every = 1;
    clg_train_hooks h = {NULL, on_progress, &ml};
    assert_int_equal(clg_train_dcgan(ctx, &o, &h, NULL), CLG_ERR_DIVERGED);
    assert_non_null(strstr(clg_last_error(), "non-finite loss at step 3"));
    unsigned char *after = slurp(ck, &after_len);
    assert_int_equal(before_len, after_len);
    assert_memory_equal(before, after, (size_t)before_len);
    free(before), free(after);
}

/* Everything a step needs is allocated by clg_dcgan_init (conv scratch
 * included): steps leave the device memory accounting untouched. */
static void test_no_allocation_in_steps(void **state) {
    clg_ctx *ctx = *state;
    clg_dcgan_config cfg = clg_dcgan_config_default();
    cfg.nz = 16, cfg.ngf = 8, cfg.ndf = 8, cfg.batch = 16;
    clg_dcgan m;
    CLG_ASSERT_OK(clg_dcgan_init(ctx, &m, &cfg));
    CLG_ASSERT_OK(clg_tensor_fill(ctx, &m.real, 0.5f));
    assert_true(ctx->scratch_bytes > 0); /* split-K runs here, and was reserved */
    size_t live = ctx->live_bytes, peak = ctx->peak_bytes;
    clg_dcgan_metrics mt;
    for (int i = 0; i < 3; i++) CLG_ASSERT_OK(clg_dcgan_train_step(ctx, &m, &mt));
    assert_true(ctx->live_bytes == live);
    assert_true(ctx->peak_bytes == peak);
    clg_dcgan_free(ctx, &m);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/clgan-test-dcgan-XXXXXX");
    if (!mkdtemp(dir)) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_net_gradients),
        cmocka_unit_test(test_net_gradients_pool_dropout),
        cmocka_unit_test(test_d_learns_toy_set),
        cmocka_unit_test(test_determinism_and_resume),
        cmocka_unit_test(test_checkpoint_roundtrip_and_damage),
        cmocka_unit_test(test_weight_average),
        cmocka_unit_test(test_divergence_stops),
        cmocka_unit_test(test_no_allocation_in_steps),
    };
    int rc = cmocka_run_group_tests_name("dcgan", tests, clg_test_group_setup,
                                         clg_test_group_teardown);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) return 1;
    return rc;
}
