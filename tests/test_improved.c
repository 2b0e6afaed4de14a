/* test_improved.c: Salimans et al.'s techniques in the GAN pair and DCGAN:
 * - feature matching: G's gradient against central differences of
 *   ||mean f(x) - mean f(G(z))||^2 through D and G (D held fixed), also
 *   with VBN in G (the reference statistics move with G's parameters);
 * - historical averaging: the running mean is the mean of theta_0..theta_t
 *   after every step, and the cost's gradient 2 W (theta - mean) matches
 *   central differences of W ||theta - mean||^2;
 * - one-sided label smoothing: D's real target is 0.9, its fake target and
 *   G's target stay 0 and 1;
 * - DCGAN with --mbd, --feature-matching and --hist-avg trains, saves them
 *   in config and checkpoint, and resumes bit-identically.
 * Tolerance of the central differences: 1e-2 of the largest gradient
 * (float32 forwards, h = 1e-2). */
#include "testutil.h"
#include "checkpoint.h"
#include "dcgan.h"
#include "elementwise.h"
#include "gan.h"
#include "gan_pair.h"
#include "safetensors.h"
#include "train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char dir[256];

/* G: z (3) -> linear 6 [VBN] tanh -> linear 4 tanh; D: linear 5 tanh
 * [features] -> linear 1 (or K logits: the K+1 D of `classes` K). No BN or
 * dropout: forwards are deterministic. */
static void build_pair_k(clg_ctx *ctx, clg_pair *p, int n, float hist, const char *tap,
                         float real_label, int vbn, int classes) {
    memset(p, 0, sizeof *p);
    clg_net_init(&p->g, n, 3, 1, 1);
    CLG_ASSERT_OK(clg_net_linear(&p->g, "main.0", 6, 1));
    if (vbn) CLG_ASSERT_OK(clg_net_vbn(&p->g, "main.1", 1));
    CLG_ASSERT_OK(clg_net_act(&p->g, CLG_ACT_TANH, 0.0f));
    CLG_ASSERT_OK(clg_net_linear(&p->g, "main.3", 4, 1));
    CLG_ASSERT_OK(clg_net_act(&p->g, CLG_ACT_TANH, 0.0f));
    clg_net_init(&p->d, n, 4, 1, 1);
    CLG_ASSERT_OK(clg_net_linear(&p->d, "main.0", 5, 1));
    CLG_ASSERT_OK(clg_net_act(&p->d, CLG_ACT_TANH, 0.0f));
    CLG_ASSERT_OK(clg_net_name_tap(&p->d, "features"));
    CLG_ASSERT_OK(clg_net_linear(&p->d, "main.2", classes ? classes : 1, 1));
    clg_pair_settings s = {1e-2f, 0.5f, 0.999f, real_label, 0.0f, 7, 8, 9, hist, tap, classes};
    CLG_ASSERT_OK(clg_pair_alloc(ctx, p, &s, 0));
    /* Weights large enough that every path carries signal. */
    clg_net *nets[2] = {&p->g, &p->d};
    for (int k = 0; k < 2; k++) {
        clg_tensor t = clg_block_tensor(&nets[k]->params);
        size_t np = clg_tensor_numel(&t);
        float *v = malloc(np * sizeof *v);
        clg_test_fill_uniform(v, np, 20 + (uint64_t)k, -0.8f, 0.8f);
        CLG_ASSERT_OK(clg_tensor_upload(ctx, &t, v));
        /* The running means start at the (new) initial weights, as
         * clg_pair_alloc starts them at the initialised ones. */
        if (hist > 0) CLG_ASSERT_OK(clg_tensor_upload(ctx, &p->hist[k], v));
        free(v);
    }
}

static void build_pair(clg_ctx *ctx, clg_pair *p, int n, float hist, const char *tap,
                       float real_label) {
    build_pair_k(ctx, p, n, hist, tap, real_label, 0, 0);
}

/* G's training forward: after the VBN reference batch when G has VBN. */
static void g_forward(clg_ctx *ctx, clg_pair *p) {
    if (p->g.vbn_input.buf) CLG_ASSERT_OK(clg_net_vbn_reference(ctx, &p->g, NULL));
    CLG_ASSERT_OK(clg_net_forward(ctx, &p->g, &p->z, CLG_NET_TRAIN));
}

static void means_of_tap(clg_ctx *ctx, clg_pair *p, const clg_tensor *x, double *m) {
    CLG_ASSERT_OK(clg_net_forward(ctx, &p->d, x, CLG_NET_TRAIN));
    const clg_tensor *tap = clg_net_tap(&p->d, "features");
    float f[8 * 5];
    CLG_ASSERT_OK(clg_tensor_download(ctx, tap, f));
    for (int j = 0; j < 5; j++) {
        m[j] = 0;
        for (int i = 0; i < tap->n; i++) m[j] += f[i * 5 + j] / tap->n;
    }
}

/* ||mean f(real) - mean f(G(z))||^2 for G's current parameters. */
static double fm_loss(clg_ctx *ctx, clg_pair *p, const clg_tensor *real) {
    double mr[5], mg[5], l = 0;
    means_of_tap(ctx, p, real, mr);
    g_forward(ctx, p);
    means_of_tap(ctx, p, clg_net_output(&p->g), mg);
    for (int j = 0; j < 5; j++) l += (mg[j] - mr[j]) * (mg[j] - mr[j]);
    return l;
}

/* With VBN in G the differences move the reference statistics too: G's
 * gradient must include the reference pass's backward. */
static void check_fm_gradient(clg_ctx *ctx, int vbn) {
    clg_pair p;
    build_pair_k(ctx, &p, 8, 0.0f, "features", 1.0f, vbn, 0);
    float zv[24], xv[32];
    clg_test_fill_uniform(zv, 24, 3, -1.0f, 1.0f);
    clg_test_fill_uniform(xv, 32, 4, -1.0f, 1.0f);
    CLG_ASSERT_OK(clg_tensor_upload(ctx, &p.z, zv));
    clg_tensor real = clg_test_tensor(ctx, 8, 4, 1, 1, xv);
    g_forward(ctx, &p);
    CLG_ASSERT_OK(clg_pair_g_grads(ctx, &p, &real));
    clg_tensor th = clg_block_tensor(&p.g.params), gr = clg_block_tensor(&p.g.grads);
    size_t np = clg_tensor_numel(&th);
    float *tv = malloc(np * sizeof *tv), *gv = malloc(np * sizeof *gv);
    CLG_ASSERT_OK(clg_tensor_download(ctx, &th, tv));
    CLG_ASSERT_OK(clg_tensor_download(ctx, &gr, gv));
    float v[5];
    CLG_ASSERT_OK(clg_pair_read(ctx, &p, v));
    double l0 = fm_loss(ctx, &p, &real);
    assert_true(fabs(v[1] - l0) <= 1e-4 * fmax(1.0, l0)); /* the logged loss is this distance */
    double worst = 0, scale = 0;
    clg_named_tensor nts[8];
    int nt = clg_net_tensors(&p.g, nts, 8);
    for (int t = 0; t < nt; t++)
        for (size_t j = 0, off = nts[t].t.off / 4, n = clg_tensor_numel(&nts[t].t);
             nts[t].trainable && j < n; j += 2) {
            float keep = tv[off + j];
            double l[2];
            for (int sgn = 0; sgn < 2; sgn++) {
                tv[off + j] = keep + (sgn ? -1e-2f : 1e-2f);
                CLG_ASSERT_OK(clg_tensor_upload(ctx, &th, tv));
                l[sgn] = fm_loss(ctx, &p, &real);
            }
            tv[off + j] = keep;
            CLG_ASSERT_OK(clg_tensor_upload(ctx, &th, tv));
            double fd = (l[0] - l[1]) / 2e-2;
            worst = fmax(worst, fabs(fd - gv[off + j]));
            scale = fmax(scale, fabs(fd));
        }
    assert_true(scale > 1e-3);
    if (worst > 1e-2 * scale)
        fail_msg("feature matching%s: error %g over scale %g", vbn ? " (VBN)" : "", worst, scale);
    free(tv), free(gv);
    clg_tensor_free(ctx, &real);
    clg_pair_free(ctx, &p);
}

static void test_feature_matching_gradient(void **state) { check_fm_gradient(*state, 0); }
static void test_feature_matching_gradient_vbn(void **state) { check_fm_gradient(*state, 1); }

static void test_historical_averaging(void **state) {
    clg_ctx *ctx = *state;
    clg_pair p;
    const float w = 0.3f;
    build_pair(ctx, &p, 8, w, NULL, 1.0f);
    float xv[32];
    clg_test_fill_uniform(xv, 32, 5, -1.0f, 1.0f);
    clg_tensor real = clg_test_tensor(ctx, 8, 4, 1, 1, xv);
    clg_tensor th = clg_block_tensor(&p.d.params);
    size_t np = clg_tensor_numel(&th);
    float *tv = malloc(np * sizeof *tv), *hv = malloc(np * sizeof *hv);
    double *want = malloc(np * sizeof *want);
    CLG_ASSERT_OK(clg_tensor_download(ctx, &th, tv));
    for (size_t i = 0; i < np; i++) want[i] = tv[i]; /* the mean starts at theta_0 */
    for (int t = 1; t <= 4; t++) {
        CLG_ASSERT_OK(clg_pair_step(ctx, &p, &real, 0, t));
        CLG_ASSERT_OK(clg_tensor_download(ctx, &th, tv));
        for (size_t i = 0; i < np; i++) want[i] += (tv[i] - want[i]) / (t + 1);
        CLG_ASSERT_OK(clg_tensor_download(ctx, &p.hist[1], hv));
        CLG_ASSERT_CLOSE(hv, want, np, 1e-5);
    }
    /* The gradient of W ||theta - mean||^2, added to zero gradients. */
    clg_tensor gr = clg_block_tensor(&p.d.grads);
    float *gv = malloc(np * sizeof *gv);
    CLG_ASSERT_OK(clg_net_zero_grad(ctx, &p.d));
    CLG_ASSERT_OK(clg_pair_hist_grad(ctx, &p, &p.d, &p.hist[1]));
    CLG_ASSERT_OK(clg_tensor_download(ctx, &gr, gv));
    double worst = 0, scale = 0;
    for (size_t i = 0; i < np; i++) {
        double c[2];
        for (int sgn = 0; sgn < 2; sgn++) {
            c[sgn] = 0;
            for (size_t k = 0; k < np; k++) {
                double th_k = tv[k] + (k == i ? (sgn ? -1e-2 : 1e-2) : 0);
                c[sgn] += w * (th_k - hv[k]) * (th_k - hv[k]);
            }
        }
        double fd = (c[0] - c[1]) / 2e-2;
        worst = fmax(worst, fabs(fd - gv[i]));
        scale = fmax(scale, fabs(fd));
    }
    assert_true(scale > 1e-4);
    if (worst > 1e-3 * scale) fail_msg("historical averaging: error %g over scale %g", worst, scale);
    free(tv), free(hv), free(want), free(gv);
    clg_tensor_free(ctx, &real);
    clg_pair_free(ctx, &p);
}

static double bce(double logit, double target) { /* mean over one */
    return fmax(logit, 0) - logit * target + log1p(exp(-fabs(logit)));
}

/* With real_label 0.9: D's real loss uses 0.9, its fake loss 0, G's 1. */
static void test_one_sided_label_smoothing(void **state) {
    clg_ctx *ctx = *state;
    clg_pair p;
    build_pair(ctx, &p, 8, 0.0f, NULL, 0.9f);
    float xv[32], lr[8], lf[8], st[8];
    clg_test_fill_uniform(xv, 32, 6, -1.0f, 1.0f);
    clg_tensor real = clg_test_tensor(ctx, 8, 4, 1, 1, xv);
    CLG_ASSERT_OK(clg_pair_d_grads(ctx, &p, &real, 0, 1));
    CLG_ASSERT_OK(clg_tensor_download(ctx, clg_net_output(&p.d), lf)); /* the fake batch's */
    CLG_ASSERT_OK(clg_tensor_download(ctx, &p.stats, st));
    double want_fake = 0, want_g = 0, want_real = 0;
    for (int i = 0; i < 8; i++) want_fake += bce(lf[i], 0.0) / 8, want_g += bce(lf[i], 1.0) / 8;
    CLG_ASSERT_OK(clg_pair_g_grads(ctx, &p, &real)); /* D unchanged: the same fake logits */
    CLG_ASSERT_OK(clg_tensor_download(ctx, &p.stats, st));
    CLG_ASSERT_OK(clg_net_forward(ctx, &p.d, &real, CLG_NET_TRAIN));
    CLG_ASSERT_OK(clg_tensor_download(ctx, clg_net_output(&p.d), lr));
    for (int i = 0; i < 8; i++) want_real += bce(lr[i], 0.9) / 8;
    assert_true(fabs(st[0] - want_real) < 1e-5);
    assert_true(fabs(st[2] - want_fake) < 1e-5);
    assert_true(fabs(st[4] - want_g) < 1e-5);
    clg_tensor_free(ctx, &real);
    clg_pair_free(ctx, &p);
}

/* ---- the K+1 discriminator (--k-plus-one) ---- */

#define K1_N 8
#define K1_K 3

static double softplus(double a) { return fmax(a, 0) + log1p(exp(-fabs(a))); }
static double lse(const float *l) {
    double m = l[0], s = 0;
    for (int j = 1; j < K1_K; j++) m = fmax(m, l[j]);
    for (int j = 0; j < K1_K; j++) s += exp(l[j] - m);
    return m + log(s);
}
/* BCE of D = sigmoid(lse) against t: t softplus(-lse) + (1 - t) softplus(lse). */
static double lse_bce(const float *l, double t) {
    double a = lse(l);
    return t * softplus(-a) + (1 - t) * softplus(a);
}

/* D's logits on x (K1_N rows of K1_K). */
static void d_logits(clg_ctx *ctx, clg_pair *p, const clg_tensor *x, float *l) {
    CLG_ASSERT_OK(clg_net_forward(ctx, &p->d, x, CLG_NET_TRAIN));
    CLG_ASSERT_OK(clg_tensor_download(ctx, clg_net_output(&p->d), l));
}

/* D's loss, its parts into part[3] (cross-entropy, real BCE, fake BCE). */
static double k1_d_loss(clg_ctx *ctx, clg_pair *p, const clg_tensor *real, const clg_tensor *fake,
                        const int32_t *y, double t_real, double *part) {
    float lr[K1_N * K1_K], lf[K1_N * K1_K];
    d_logits(ctx, p, real, lr);
    d_logits(ctx, p, fake, lf);
    part[0] = part[1] = part[2] = 0;
    for (int i = 0; i < K1_N; i++) {
        part[0] += (lse(lr + i * K1_K) - lr[i * K1_K + y[i]]) / K1_N;
        part[1] += lse_bce(lr + i * K1_K, t_real) / K1_N;
        part[2] += lse_bce(lf + i * K1_K, 0.0) / K1_N;
    }
    return part[0] + part[1] + part[2];
}

/* Central differences of `loss` over every element of a net's parameters
 * against the gradient block; returns the worst error over the scale. */
typedef double (*k1_loss_fn)(clg_ctx *ctx, clg_pair *p, void *arg);
static double k1_check(clg_ctx *ctx, clg_pair *p, clg_net *net, k1_loss_fn loss, void *arg) {
    clg_tensor th = clg_block_tensor(&net->params), gr = clg_block_tensor(&net->grads);
    size_t np = clg_tensor_numel(&th);
    float *tv = malloc(np * sizeof *tv), *gv = malloc(np * sizeof *gv);
    CLG_ASSERT_OK(clg_tensor_download(ctx, &th, tv));
    CLG_ASSERT_OK(clg_tensor_download(ctx, &gr, gv));
    double worst = 0, scale = 0;
    for (size_t j = 0; j < np; j++) {
        float keep = tv[j];
        double l[2];
        for (int sgn = 0; sgn < 2; sgn++) {
            tv[j] = keep + (sgn ? -1e-2f : 1e-2f);
            CLG_ASSERT_OK(clg_tensor_upload(ctx, &th, tv));
            l[sgn] = loss(ctx, p, arg);
        }
        tv[j] = keep;
        CLG_ASSERT_OK(clg_tensor_upload(ctx, &th, tv));
        double fd = (l[0] - l[1]) / 2e-2;
        worst = fmax(worst, fabs(fd - gv[j]));
        scale = fmax(scale, fabs(fd));
    }
    free(tv), free(gv);
    assert_true(scale > 1e-2);
    return worst / scale;
}

typedef struct {
    const clg_tensor *real, *fake;
    const int32_t *y;
    double t_real, part[3];
} k1_case;

static double k1_d_fn(clg_ctx *ctx, clg_pair *p, void *arg) {
    k1_case *k = arg;
    return k1_d_loss(ctx, p, k->real, k->fake, k->y, k->t_real, k->part);
}

/* G's non-saturating loss through the K+1 D: BCE(D(G(z)), 1). */
static double k1_g_fn(clg_ctx *ctx, clg_pair *p, void *arg) {
    (void)arg;
    float lf[K1_N * K1_K];
    CLG_ASSERT_OK(clg_net_forward(ctx, &p->g, &p->z, CLG_NET_TRAIN));
    d_logits(ctx, p, clg_net_output(&p->g), lf);
    double l = 0;
    for (int i = 0; i < K1_N; i++) l += lse_bce(lf + i * K1_K, 1.0) / K1_N;
    return l;
}

/* D's gradient: cross-entropy on the real batch's labels + BCE of
 * sigmoid(logsumexp) against 0.9 on it and 0 on G's batch, every parameter
 * by central differences of that sum computed here in double; the logged
 * statistics are its parts; G's gradient through the K+1 D likewise. Each
 * term carries weight in the tested state (checked), so dropping or
 * reweighting one fails the check. */
static void test_k_plus_one(void **state) {
    clg_ctx *ctx = *state;
    clg_pair p;
    build_pair_k(ctx, &p, K1_N, 0.0f, NULL, 0.9f, 0, K1_K);
    float xv[K1_N * 4], st[8];
    int32_t y[K1_N];
    for (int i = 0; i < K1_N; i++) y[i] = (i * 5) % K1_K;
    clg_test_fill_uniform(xv, K1_N * 4, 12, -1.0f, 1.0f);
    clg_tensor real = clg_test_tensor(ctx, K1_N, 4, 1, 1, xv), fake = clg_test_tensor(ctx, K1_N, 4, 1, 1, NULL);
    clg_itensor lab;
    CLG_ASSERT_OK(clg_itensor_create(ctx, &lab, K1_N, "labels"));
    CLG_ASSERT_OK(clg_itensor_upload_labels(ctx, &lab, y, K1_K));
    p.labels = &lab;
    CLG_ASSERT_OK(clg_pair_d_grads(ctx, &p, &real, 0, 1));
    CLG_ASSERT_OK(clg_copy(ctx, &fake, clg_net_output(&p.g)));
    CLG_ASSERT_OK(clg_tensor_download(ctx, &p.stats, st));
    k1_case k = {&real, &fake, y, 0.9, {0, 0, 0}};
    k1_d_fn(ctx, &p, &k);
    assert_true(fabs(st[6] - k.part[0]) < 1e-5 && fabs(st[0] - k.part[1]) < 1e-5 &&
                fabs(st[2] - k.part[2]) < 1e-5);
    for (int t = 0; t < 3; t++) assert_true(k.part[t] > 0.1); /* each term weighs */
    double err = k1_check(ctx, &p, &p.d, k1_d_fn, &k);
    if (err > 1e-2) fail_msg("K+1 D: gradient error %g of the scale", err);
    CLG_ASSERT_OK(clg_net_forward(ctx, &p.g, &p.z, CLG_NET_TRAIN));
    CLG_ASSERT_OK(clg_pair_g_grads(ctx, &p, &real));
    err = k1_check(ctx, &p, &p.g, k1_g_fn, NULL);
    if (err > 1e-2) fail_msg("G through the K+1 D: gradient error %g of the scale", err);
    clg_itensor_free(ctx, &lab);
    clg_tensor_free(ctx, &real), clg_tensor_free(ctx, &fake);
    clg_pair_free(ctx, &p);
}

/* ---- DCGAN with the options, through the trainer ---- */

static void train(clg_ctx *ctx, clg_dcgan_config *c, const char *data, const char *out,
                  long steps, int resume) {
    clg_train_opts o = {&clg_dcgan_ops, c, data, NULL, out, steps, 0, 0, resume, 0, 0, 1, 0};
    CLG_ASSERT_OK(clg_train(ctx, &o, NULL, NULL));
}

/* 4 steps in dir/NAME_a, and 2 then resumed to 4 in dir/NAME_b: the same
 * checkpoint; its path (NAME_a's) into ck. */
static void train_resumed_equal(clg_ctx *ctx, clg_dcgan_config *c, const char *data,
                                const char *name, char *ck, size_t cap) {
    char a[300], b[300], pb[350];
    snprintf(a, sizeof a, "%s/%s_a", dir, name);
    snprintf(b, sizeof b, "%s/%s_b", dir, name);
    train(ctx, c, data, a, 4, 0);
    train(ctx, c, data, b, 2, 0);
    train(ctx, c, data, b, 4, 1);
    snprintf(ck, cap, "%s/checkpoint.safetensors", a);
    snprintf(pb, sizeof pb, "%s/checkpoint.safetensors", b);
    clg_test_assert_same_file(ck, pb);
}

static void test_dcgan_with_options(void **state) {
    clg_ctx *ctx = *state;
    char data[300], pa[350];
    snprintf(data, sizeof data, "%s/toy.idx", dir);
    clg_test_write_idx(data, 24, 0);
    clg_dcgan_config c = clg_dcgan_config_default();
    c.nz = 8, c.ngf = 4, c.ndf = 4, c.batch = 8, c.seed = 3;
    c.mbd[0] = 6, c.mbd[1] = 3, c.feature_matching = 1, c.hist_avg = 0.1f;
    train_resumed_equal(ctx, &c, data, "opts", pa, sizeof pa);
    /* The options come back from the checkpoint; its D has the MBD layer
     * and both running means are saved. */
    clg_dcgan_config back;
    CLG_ASSERT_OK(clg_ckpt_read_dcgan_config(pa, &back));
    assert_int_equal(back.mbd[0], 6), assert_int_equal(back.mbd[1], 3);
    assert_int_equal(back.feature_matching, 1);
    assert_true(back.hist_avg == 0.1f);
    clg_safetensors st;
    CLG_ASSERT_OK(clg_safetensors_read(pa, &st));
    assert_non_null(clg_safetensors_find(&st, "netD.main.8.T"));
    assert_non_null(clg_safetensors_find(&st, "hist.main.0.weight"));
    assert_non_null(clg_safetensors_find(&st, "hist.netD.main.0.weight"));
    clg_safetensors_free(&st);
}

/* The layer that carries the tap "features" in an unallocated net. */
static int tap_layer(const clg_net *d) {
    for (int i = 0; i < d->count; i++)
        if (!strcmp(d->layers[i].tap, "features")) return i;
    fail_msg("no tap 'features'");
    return -1;
}

/* Feature matching's tap is D's last hidden layer, the input of its last
 * layer: with --mbd the minibatch features are part of it (B more
 * features), so G's feature matching sees them; without, the last feature
 * map. DCGAN's D and the MLP GAN's. */
static void test_fm_tap_is_last_hidden_layer(void **state) {
    (void)state;
    int flat = 0; /* the last feature map's size, from the net without MBD */
    for (int mbd = 0; mbd < 2; mbd++) {
        clg_dcgan_config c = clg_dcgan_config_default();
        c.ndf = 4, c.batch = 8, c.mbd[0] = mbd ? 6 : 0, c.mbd[1] = 3;
        clg_net d;
        CLG_ASSERT_OK(clg_dcgan_build_d(&d, &c));
        int t = tap_layer(&d);
        const int *o = d.layers[t].out;
        if (mbd) {
            assert_int_equal(t, d.count - 2); /* then the logits' linear layer */
            assert_int_equal(o[1], flat + 6); /* the feature map and B = 6 */
        } else {
            assert_int_equal(t, d.count - 3); /* then the 4x4 conv and a reshape */
            assert_true(o[2] == 4 && o[3] == 4 && o[1] > c.ndf);
            flat = o[1] * o[2] * o[3];
        }
        clg_gan_config g = clg_gan_config_default(0);
        g.batch = 8, g.nc = 1, g.image_size = 28, g.hidden_d = 16;
        g.mbd[0] = mbd ? 6 : 0, g.mbd[1] = 3;
        clg_net gd;
        CLG_ASSERT_OK(clg_gan_mlp_d(&gd, &g));
        t = tap_layer(&gd);
        assert_int_equal(gd.layers[t].out[1], mbd ? 16 + 6 : 16);
        if (mbd) assert_int_equal(t, gd.count - 2);
    }
}

/* --k-plus-one through the trainer on labelled IDX files (with MBD, whose
 * linear layer gives the K logits): D's last layer has one output per
 * class, the settings are in the checkpoint, resume is bit-identical, the
 * class loss is logged; unlabelled data is refused. */
static void test_dcgan_k_plus_one(void **state) {
    clg_ctx *ctx = *state;
    char data[300], pa[350], lone[300];
    clg_test_write_labelled_idx(dir, data, sizeof data, 24);
    clg_dcgan_config c = clg_dcgan_config_default();
    c.nz = 8, c.ngf = 4, c.ndf = 4, c.batch = 8, c.seed = 5, c.k_plus_one = 1;
    c.mbd[0] = 4, c.mbd[1] = 2;
    train_resumed_equal(ctx, &c, data, "k1", pa, sizeof pa);
    clg_dcgan_config back;
    CLG_ASSERT_OK(clg_ckpt_read_dcgan_config(pa, &back));
    assert_int_equal(back.k_plus_one, 1), assert_int_equal(back.classes, 10);
    clg_safetensors st;
    CLG_ASSERT_OK(clg_safetensors_read(pa, &st));
    const clg_st_entry *e = clg_safetensors_find(&st, "netD.main.9.weight");
    assert_non_null(e);
    assert_int_equal(e->shape[0], 10);
    clg_safetensors_free(&st);
    long n;
    snprintf(pa, sizeof pa, "%s/k1_a/metrics.jsonl", dir);
    char *log = (char *)clg_test_slurp(pa, &n);
    assert_non_null(strstr(log, "\"loss_cls\": "));
    free(log);
    snprintf(lone, sizeof lone, "%s/lone.idx", dir);
    clg_test_write_idx(lone, 24, 0);
    snprintf(pa, sizeof pa, "%s/k1_lone", dir);
    c.classes = 0;
    clg_train_opts o = {&clg_dcgan_ops, &c, lone, NULL, pa, 2, 0, 0, 0, 0, 0, 0, 0};
    assert_int_equal(clg_train(ctx, &o, NULL, NULL), CLG_ERR_INVALID_ARG);
    assert_non_null(strstr(clg_last_error(), "labels"));
}

/* The first image of a batch from G: alone (n = 1) and among 64. */
static void sample_alone_and_in_64(clg_ctx *ctx, const char *ck, float *alone, float *in64) {
    float *zv = malloc(64 * 8 * sizeof *zv), *img = malloc(64 * 1024 * sizeof *img);
    clg_test_fill_uniform(zv, 64 * 8, 9, -2.0f, 2.0f);
    for (int k = 0; k < 2; k++) {
        int n = k ? 64 : 1;
        clg_model *m = NULL;
        CLG_ASSERT_OK(clg_ckpt_open_generator(ctx, ck, n, 0, &m, NULL));
        clg_tensor z = clg_test_tensor(ctx, n, 8, 1, 1, zv);
        const clg_tensor *o;
        CLG_ASSERT_OK(m->ops->generate(ctx, m, &z, NULL, 0, &o));
        CLG_ASSERT_OK(clg_tensor_download(ctx, o, img));
        memcpy(k ? in64 : alone, img, 1024 * sizeof *img);
        clg_tensor_free(ctx, &z);
        m->ops->destroy(ctx, m);
    }
    free(zv), free(img);
}

/* --vbn: a sample is the same bits alone or inside a batch of 64 (with BN
 * it is not: its batch's statistics differ). The reference z is saved. */
static void test_vbn_sample_independent_of_batch(void **state) {
    clg_ctx *ctx = *state;
    char data[300], out[300], ck[350];
    snprintf(data, sizeof data, "%s/toy2.idx", dir);
    clg_test_write_idx(data, 24, 0);
    float alone[1024], in64[1024];
    for (int vbn = 0; vbn < 2; vbn++) {
        clg_dcgan_config c = clg_dcgan_config_default();
        c.nz = 8, c.ngf = 4, c.ndf = 4, c.batch = 8, c.seed = 4, c.vbn = vbn;
        snprintf(out, sizeof out, "%s/vbn%d", dir, vbn);
        train(ctx, &c, data, out, 3, 0);
        snprintf(ck, sizeof ck, "%s/checkpoint.safetensors", out);
        sample_alone_and_in_64(ctx, ck, alone, in64);
        int same = !memcmp(alone, in64, sizeof alone);
        if (same != vbn) fail_msg("%s: alone and in a batch of 64 %s", vbn ? "VBN" : "BN",
                                  same ? "agree (BN should not)" : "differ");
    }
    clg_safetensors st;
    CLG_ASSERT_OK(clg_safetensors_read(ck, &st));
    const clg_st_entry *e = clg_safetensors_find(&st, "vbn_reference");
    assert_non_null(e);
    assert_int_equal(e->shape[0], 8), assert_int_equal(e->shape[1], 8);
    clg_safetensors_free(&st);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_feature_matching_gradient),
        cmocka_unit_test(test_feature_matching_gradient_vbn),
        cmocka_unit_test(test_historical_averaging),
        cmocka_unit_test(test_one_sided_label_smoothing),
        cmocka_unit_test(test_k_plus_one),
        cmocka_unit_test(test_dcgan_with_options),
        cmocka_unit_test(test_fm_tap_is_last_hidden_layer),
        cmocka_unit_test(test_dcgan_k_plus_one),
        cmocka_unit_test(test_vbn_sample_independent_of_batch),
    };
    return clg_test_run_in_tmpdir("improved", dir, sizeof dir, tests,
                                  sizeof tests / sizeof tests[0]);
}
