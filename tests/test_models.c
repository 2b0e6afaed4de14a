/* test_models.c: GAN, cGAN (MLP and DCGAN) and LAPGAN (plain and
 * class-conditional) through the generic trainer, on tiny networks:
 * - a short run lowers D's loss on its data (a number asserted per model);
 * - N steps straight equal N/2, resume, N/2, checkpoint bytes and metrics;
 * - conditional generators answer to their labels; LAPGAN's pyramid
 *   reconstructs each level (I_k = l_k + h_k to float rounding) and its
 *   levels of a sample are coarse to fine.
 * ssl (--arch mlp and conv) trains from labelled toy IDX files, resumes
 * bit-identically and reports its test accuracy.
 * Conditional models train on Fashion-MNIST (labelled); the others on a
 * toy IDX file of line patterns. Learning rate 2e-3 (ten times the
 * default): tiny networks, few steps. */
#include "testutil.h"
#include "checkpoint.h"
#include "gan.h"
#include "lapgan.h"
#include "data.h"
#include "evaluate.h"
#include "safetensors.h"
#include "ssl.h"
#include "train.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char dir[256], toy[300]; /* toy: the IDX file of patterns (setup makes it) */

/* The toy file in the suite's folder, made once (the first test). */
static void test_make_toy_data(void **state) {
    (void)state;
    snprintf(toy, sizeof toy, "%s/toy.idx", dir);
    clg_test_write_idx(toy, 40, 0);
}

typedef struct {
    clg_metrics m[64];
    int n;
} mlog;

static void on_progress(void *user, const clg_progress *p) {
    mlog *l = user;
    if (l->n < 64) l->m[l->n++] = p->m;
}

static void train(clg_ctx *ctx, const clg_model_ops *ops, void *cfg, const char *data,
                  const char *out, long steps, int resume, mlog *log) {
    clg_train_opts o = {ops, cfg, data, NULL, out, steps, 0, 0, resume, 0, 0, 1, 0};
    clg_train_hooks h = {NULL, on_progress, NULL, log};
    CLG_ASSERT_OK(clg_train(ctx, &o, &h, NULL));
}

/* Resume: 6 steps straight and 3 + 3 give the same checkpoint bytes and
 * the same metrics. */
static void check_resume(clg_ctx *ctx, const clg_model_ops *ops, void *cfg, const char *data,
                         const char *name) {
    char a[400], b[400], pa[450], pb[450];
    snprintf(a, sizeof a, "%s/%s_a", dir, name);
    snprintf(b, sizeof b, "%s/%s_b", dir, name);
    mlog la = {0}, lb = {0};
    train(ctx, ops, cfg, data, a, 6, 0, &la);
    train(ctx, ops, cfg, data, b, 3, 0, &lb);
    train(ctx, ops, cfg, data, b, 6, 1, &lb);
    assert_int_equal(lb.n, 6);
    for (int i = 0; i < 6; i++) assert_memory_equal(la.m[i].v, lb.m[i].v, sizeof la.m[i].v);
    snprintf(pa, sizeof pa, "%s/checkpoint.safetensors", a);
    snprintf(pb, sizeof pb, "%s/checkpoint.safetensors", b);
    clg_test_assert_same_file(pa, pb);
}

/* D learns: its loss (metric `k`, log 4 at the start) falls below
 * `factor` times its first two steps' at some later step. (G catches up
 * on toy data, so the loss need not stay down: that is the game.) */
static void check_d_learns(const mlog *l, int k, double factor, const char *what) {
    assert_true(l->n >= 10);
    double first = (l->m[0].v[k] + l->m[1].v[k]) / 2, best = first;
    for (int i = 2; i < l->n; i++) best = fmin(best, l->m[i].v[k]);
    for (int i = 0; i < l->n; i++)
        for (int j = 0; j < l->m[i].count; j++) assert_true(isfinite(l->m[i].v[j]));
    assert_true(fabs(first - 1.386) < 0.1);
    if (!(best < factor * first))
        fail_msg("%s: D's loss %g, at best %g later (wanted below %g x)", what, first, best,
                 factor);
}

static clg_gan_config tiny_gan(int conditional) {
    clg_gan_config c = clg_gan_config_default(conditional);
    c.nz = 8, c.hidden = 32, c.hidden_d = 16, c.batch = 8, c.seed = 5;
    c.lr = 2e-3f;
    return c;
}

static void test_gan(void **state) {
    clg_ctx *ctx = *state;
    clg_gan_config c = tiny_gan(0);
    char out[400];
    snprintf(out, sizeof out, "%s/gan", dir);
    mlog l = {0};
    train(ctx, &clg_gan_ops, &c, toy, out, 40, 0, &l);
    check_d_learns(&l, 0, 0.85, "gan");
    check_resume(ctx, &clg_gan_ops, &c, toy, "gan_r");
}

/* The checkpoint `ck` of a run with --feature-matching --mbd 4,2
 * --hist-avg 0.1: its config (of `ops`, those members at the offsets
 * given) says so, and the tensors named are there. */
#define IMPROVED_AT(type) \
    offsetof(type, feature_matching), offsetof(type, mbd), offsetof(type, hist_avg)
static void check_improved_saved(const char *ck, const clg_model_ops *ops, size_t fm, size_t mbd,
                                 size_t hist, const char *const *tensors, int n) {
    const clg_model_ops *back_ops;
    void *back;
    CLG_ASSERT_OK(clg_ckpt_read_config(ck, &back_ops, &back));
    assert_ptr_equal(back_ops, ops);
    const char *b = back;
    int f, m[2];
    float h;
    memcpy(&f, b + fm, sizeof f), memcpy(m, b + mbd, sizeof m), memcpy(&h, b + hist, sizeof h);
    assert_int_equal(f, 1), assert_int_equal(m[0], 4), assert_int_equal(m[1], 2);
    assert_true(h == 0.1f);
    free(back);
    clg_safetensors st;
    CLG_ASSERT_OK(clg_safetensors_read(ck, &st));
    for (int i = 0; i < n; i++)
        if (!clg_safetensors_find(&st, tensors[i])) fail_msg("%s: no tensor %s", ck, tensors[i]);
    clg_safetensors_free(&st);
}

/* gan and cgan (MLP, and --arch dcgan) with --feature-matching, --mbd and
 * --hist-avg: they train, resume bit-identically, come back from the
 * checkpoint, and D has the MBD layer and both running means are saved.
 * (The techniques' gradients: tests/test_improved.c, on the same pair.) */
static void test_gan_improved(void **state) {
    clg_ctx *ctx = *state;
    const char *names[3] = {"gan_i", "cgan_i", "cdcgan_i"};
    const char *mbd_t[3] = {"netD.main.6.T", "netD.main.6.T", "netD.main.8.T"};
    for (int k = 0; k < 3; k++) {
        clg_gan_config c = tiny_gan(k > 0);
        if (k == 2) c.arch = 1, c.image_size = 32, c.ngf = 4, c.ndf = 4;
        c.feature_matching = 1, c.mbd[0] = 4, c.mbd[1] = 2, c.hist_avg = 0.1f;
        const clg_model_ops *ops = k ? &clg_cgan_ops : &clg_gan_ops;
        check_resume(ctx, ops, &c, k ? "fashion-mnist" : toy, names[k]);
        char ck[450];
        snprintf(ck, sizeof ck, "%s/%s_a/checkpoint.safetensors", dir, names[k]);
        const char *want[3] = {mbd_t[k], "hist.netD.main.0.weight", "hist.main.0.weight"};
        check_improved_saved(ck, ops, IMPROVED_AT(clg_gan_config), want, 3);
    }
    /* Feature matching is G's loss: the first step's D loss is the same
     * with it or without, G's is not. */
    mlog l[2];
    memset(l, 0, sizeof l);
    for (int fm = 0; fm < 2; fm++) {
        clg_gan_config c = tiny_gan(0);
        c.feature_matching = fm;
        char out[400];
        snprintf(out, sizeof out, "%s/gan_fm%d", dir, fm);
        train(ctx, &clg_gan_ops, &c, toy, out, 1, 0, &l[fm]);
    }
    assert_true(l[0].m[0].v[0] == l[1].m[0].v[0]);
    assert_true(fabs(l[0].m[0].v[1] - l[1].m[0].v[1]) > 1e-3);
}

/* The conditional generator's output depends on its labels. */
static void check_labels_matter(clg_ctx *ctx, const char *ckpt) {
    clg_model *m = NULL;
    CLG_ASSERT_OK(clg_ckpt_open_generator(ctx, ckpt, 2, 0, &m, NULL));
    assert_int_equal(m->classes, 10);
    float zv[64] = {0};
    clg_test_fill_uniform(zv, (size_t)m->nz, 3, -1.0f, 1.0f);
    memcpy(zv + m->nz, zv, (size_t)m->nz * sizeof *zv); /* the same z twice */
    clg_tensor z = clg_test_tensor(ctx, 2, m->nz, 1, 1, zv);
    clg_itensor y;
    int32_t yv[2] = {1, 7};
    CLG_ASSERT_OK(clg_itensor_create(ctx, &y, 2, "labels"));
    CLG_ASSERT_OK(clg_itensor_upload_labels(ctx, &y, yv, 10));
    const clg_tensor *img;
    assert_int_equal(m->ops->generate(ctx, m, &z, NULL, 0, &img), CLG_ERR_INVALID_ARG);
    CLG_ASSERT_OK(m->ops->generate(ctx, m, &z, &y, 0, &img));
    size_t per = clg_tensor_numel(img) / 2;
    float *v = malloc(2 * per * sizeof *v);
    CLG_ASSERT_OK(clg_tensor_download(ctx, img, v));
    double diff = 0;
    for (size_t i = 0; i < per; i++) diff += fabs(v[i] - v[per + i]);
    assert_true(diff > 1e-3); /* same z, different labels: different images */
    free(v);
    clg_tensor_free(ctx, &z);
    clg_itensor_free(ctx, &y);
    m->ops->destroy(ctx, m);
}

static void test_cgan_mlp(void **state) {
    clg_ctx *ctx = *state;
    clg_gan_config c = tiny_gan(1);
    char out[400], ck[450];
    snprintf(out, sizeof out, "%s/cgan", dir);
    mlog l = {0};
    train(ctx, &clg_cgan_ops, &c, "fashion-mnist", out, 30, 0, &l);
    check_d_learns(&l, 0, 0.9, "cgan (MLP)");
    snprintf(ck, sizeof ck, "%s/checkpoint.safetensors", out);
    check_labels_matter(ctx, ck);
}

static void test_cgan_dcgan(void **state) {
    clg_ctx *ctx = *state;
    clg_gan_config c = tiny_gan(1);
    c.arch = 1, c.image_size = 32, c.ngf = 4, c.ndf = 4;
    char out[400], ck[450];
    snprintf(out, sizeof out, "%s/cdcgan", dir);
    mlog l = {0};
    train(ctx, &clg_cgan_ops, &c, "fashion-mnist", out, 20, 0, &l);
    check_d_learns(&l, 0, 0.7, "cgan (DCGAN)");
    snprintf(ck, sizeof ck, "%s/checkpoint.safetensors", out);
    check_labels_matter(ctx, ck);
    check_resume(ctx, &clg_cgan_ops, &c, "fashion-mnist", "cdcgan_r");
}

static clg_lapgan_config tiny_lapgan(int conditional) {
    clg_lapgan_config c = clg_lapgan_config_default();
    c.nz = 8, c.hidden = 16, c.ngf = 4, c.ndf = 4, c.batch = 8, c.seed = 9;
    c.conditional = conditional;
    c.lr = 2e-3f;
    return c;
}

/* Metric 0 is the 8x8 level's D, 2 and 4 the finer levels'. */
static void test_lapgan(void **state) {
    clg_ctx *ctx = *state;
    clg_lapgan_config c = tiny_lapgan(0);
    char out[400];
    snprintf(out, sizeof out, "%s/lapgan", dir);
    mlog l = {0};
    train(ctx, &clg_lapgan_ops, &c, toy, out, 30, 0, &l);
    assert_int_equal(l.m[0].count, 6);
    assert_string_equal(l.m[0].name[4], "loss_d0");
    check_d_learns(&l, 0, 0.85, "lapgan level 2");
    check_d_learns(&l, 4, 0.85, "lapgan level 0");
    check_resume(ctx, &clg_lapgan_ops, &c, toy, "lapgan_r");
}

/* LAPGAN with --feature-matching, --mbd and --hist-avg at every level:
 * trains, resumes bit-identically, keeps them in the checkpoint. */
static void test_lapgan_improved(void **state) {
    clg_ctx *ctx = *state;
    clg_lapgan_config c = tiny_lapgan(0);
    c.feature_matching = 1, c.mbd[0] = 4, c.mbd[1] = 2, c.hist_avg = 0.1f;
    check_resume(ctx, &clg_lapgan_ops, &c, toy, "lapgan_i");
    char ck[450];
    snprintf(ck, sizeof ck, "%s/lapgan_i_a/checkpoint.safetensors", dir);
    const char *want[] = {"l0.D.main.5.T", "l1.D.main.5.T", "l2.D.main.6.T",
                          "hist.l0.D.main.0.weight", "hist.l2.G.main.0.weight"};
    check_improved_saved(ck, &clg_lapgan_ops, IMPROVED_AT(clg_lapgan_config), want, 5);
}

static void test_lapgan_classes(void **state) {
    clg_ctx *ctx = *state;
    clg_lapgan_config c = tiny_lapgan(1);
    char out[400], ck[450];
    snprintf(out, sizeof out, "%s/lapgan_c", dir);
    mlog l = {0};
    train(ctx, &clg_lapgan_ops, &c, "fashion-mnist", out, 20, 0, &l);
    check_d_learns(&l, 0, 0.95, "class-conditional lapgan level 2");
    snprintf(ck, sizeof ck, "%s/checkpoint.safetensors", out);
    check_labels_matter(ctx, ck);
}

/* I_k = l_k + h_k to float rounding, and the levels of a generated batch:
 * 8x8, 16x16, 32x32, the finest the returned images. */
static void test_lapgan_pyramid_and_levels(void **state) {
    clg_ctx *ctx = *state;
    const int n = 3;
    float i0v[3 * 1024], l0[3 * 1024], h0[3 * 1024], i1v[3 * 256], l1[3 * 256], h1[3 * 256];
    clg_test_fill_uniform(i0v, 3 * 1024, 8, -1.0f, 1.0f);
    clg_tensor i0 = clg_test_tensor(ctx, n, 1, 32, 32, i0v), i1 = clg_test_tensor(ctx, n, 1, 16, 16, NULL);
    clg_tensor i2 = clg_test_tensor(ctx, n, 1, 8, 8, NULL);
    clg_tensor l[2] = {clg_test_tensor(ctx, n, 1, 32, 32, NULL), clg_test_tensor(ctx, n, 1, 16, 16, NULL)};
    clg_tensor h[2] = {clg_test_tensor(ctx, n, 1, 32, 32, NULL), clg_test_tensor(ctx, n, 1, 16, 16, NULL)};
    CLG_ASSERT_OK(clg_lapgan_pyramid(ctx, &i0, &i1, &i2, l, h));
    CLG_ASSERT_OK(clg_tensor_download(ctx, &l[0], l0));
    CLG_ASSERT_OK(clg_tensor_download(ctx, &h[0], h0));
    CLG_ASSERT_OK(clg_tensor_download(ctx, &i1, i1v));
    CLG_ASSERT_OK(clg_tensor_download(ctx, &l[1], l1));
    CLG_ASSERT_OK(clg_tensor_download(ctx, &h[1], h1));
    double e0 = 0, e1 = 0, d0 = 0;
    for (int i = 0; i < 3 * 1024; i++) e0 = fmax(e0, fabs((double)l0[i] + h0[i] - i0v[i]));
    for (int i = 0; i < 3 * 256; i++) e1 = fmax(e1, fabs((double)l1[i] + h1[i] - i1v[i]));
    for (int i = 0; i < 3 * 1024; i++) d0 = fmax(d0, fabs(h0[i]));
    assert_true(e0 <= 2.5e-7 && e1 <= 2.5e-7); /* one float rounding of values in [-2, 2] */
    assert_true(d0 > 0.1); /* the detail is not trivially zero on noise */
    clg_tensor ts[8] = {i0, i1, i2, l[0], l[1], h[0], h[1]};
    for (int k = 0; k < 7; k++) clg_tensor_free(ctx, &ts[k]);
    char ck[450];
    snprintf(ck, sizeof ck, "%s/lapgan/checkpoint.safetensors", dir);
    clg_model *m = NULL;
    CLG_ASSERT_OK(clg_ckpt_open_generator(ctx, ck, 4, 0, &m, NULL));
    clg_tensor z = clg_test_tensor(ctx, 4, m->nz, 1, 1, NULL);
    CLG_ASSERT_OK(clg_tensor_fill(ctx, &z, 0.3f));
    const clg_tensor *img, *lv[4];
    CLG_ASSERT_OK(m->ops->generate(ctx, m, &z, NULL, 0, &img));
    assert_int_equal(m->ops->levels(m, lv, 4), 3);
    assert_int_equal(lv[0]->h, 8), assert_int_equal(lv[1]->h, 16), assert_int_equal(lv[2]->h, 32);
    assert_ptr_equal(lv[2], img);
    clg_tensor_free(ctx, &z);
    m->ops->destroy(ctx, m);
}

/* Two classes, i % 2, dark and bright over a pattern that varies with i,
 * under MNIST's file names in dir/levels: what a convolutional D with
 * global pooling tells apart (not the toy's places). */
static void write_levels_idx(char *images, size_t cap, int n) {
    char sub[300], lab[400];
    snprintf(sub, sizeof sub, "%s/levels", dir);
    assert_true(mkdir(sub, 0700) == 0 || errno == EEXIST);
    clg_test_write_labelled_idx(sub, images, cap, n);
    snprintf(lab, sizeof lab, "%s/toy-labels-idx1-ubyte", sub);
    FILE *f = fopen(images, "r+b"), *g = fopen(lab, "r+b");
    assert_non_null(f);
    assert_non_null(g);
    assert_int_equal(fseek(f, 16, SEEK_SET), 0);
    assert_int_equal(fseek(g, 8, SEEK_SET), 0);
    for (int i = 0; i < n; i++) {
        for (int p = 0; p < 784; p++) fputc(120 * (i % 2) + ((p / 28 + p % 28 + i) % 7 == 0) * 60, f);
        fputc(i % 2, g);
    }
    assert_int_equal(fclose(f), 0);
    assert_int_equal(fclose(g), 0);
}

/* ssl of one architecture from labelled IDX files (28x28; --arch conv
 * pads them to 32x32): D's labelled loss falls, the run resumes
 * bit-identically, the settings are in the checkpoint, G's samples have
 * the architecture's size, and clgan eval reports the model's own test
 * accuracy. */
static void check_ssl(clg_ctx *ctx, const char *images, int arch, int classes, const char *name) {
    char out[400], ckpt[450], resumed[64];
    clg_ssl_config c = clg_ssl_config_default();
    c.batch = 10, c.labels_per_class = 2, c.init_examples = 20, c.seed = 4, c.arch = arch;
    const int size = arch == CLG_SSL_ARCH_CONV ? 32 : 28;
    snprintf(out, sizeof out, "%s/%s", dir, name);
    mlog l = {0};
    train(ctx, &clg_ssl_ops, &c, images, out, 16, 0, &l);
    assert_int_equal(l.n, 16);
    double best = l.m[0].v[0];
    for (int i = 1; i < l.n; i++) best = fmin(best, l.m[i].v[0]);
    if (!(best < 0.5 * l.m[0].v[0]))
        fail_msg("%s: labelled loss %g, at best %g", name, l.m[0].v[0], best);
    snprintf(resumed, sizeof resumed, "%s_r", name);
    check_resume(ctx, &clg_ssl_ops, &c, images, resumed);
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.safetensors", out);
    const clg_model_ops *ops;
    void *cfg;
    CLG_ASSERT_OK(clg_ckpt_read_config(ckpt, &ops, &cfg));
    assert_ptr_equal(ops, &clg_ssl_ops);
    assert_int_equal(((clg_ssl_config *)cfg)->labels_per_class, 2);
    assert_int_equal(((clg_ssl_config *)cfg)->classes, classes);
    assert_int_equal(((clg_ssl_config *)cfg)->arch, arch);
    assert_int_equal(((clg_ssl_config *)cfg)->image_size, size);
    free(cfg);
    clg_model *g = NULL;
    CLG_ASSERT_OK(clg_ckpt_open_generator(ctx, ckpt, 4, 0, &g, NULL));
    assert_int_equal(g->image_size, size);
    g->ops->destroy(ctx, g);
    clg_eval_result r;
    CLG_ASSERT_OK(clg_evaluate(ctx, ckpt, "models/fashion-mnist-classifier.safetensors", 100, 1,
                               0, images, &r));
    assert_int_equal(r.model_n, 40);
    assert_true(r.model_acc >= 0 && r.model_acc <= 1);
    assert_int_equal(r.model_errors, 40 - lround(r.model_acc * 40));
    assert_true(isfinite(r.is_mean) && r.n == 100);
}

/* The loader finds an IDX file's labels by MNIST's names; a lone IDX file
 * stays unlabelled. */
static void test_ssl(void **state) {
    clg_ctx *ctx = *state;
    char images[400];
    clg_test_write_labelled_idx(dir, images, sizeof images, 40);
    clg_dataset ds;
    int ch;
    CLG_ASSERT_OK(clg_data_open(images, 28, &ch, &ds));
    assert_non_null(ds.labels);
    assert_int_equal(ds.num_classes, 10);
    clg_dataset_free(&ds);
    CLG_ASSERT_OK(clg_data_open(toy, 28, &ch, &ds));
    assert_null(ds.labels);
    clg_dataset_free(&ds);
    check_ssl(ctx, images, CLG_SSL_ARCH_MLP, 10, "ssl");
}

static void test_ssl_conv(void **state) {
    char images[400];
    write_levels_idx(images, sizeof images, 40);
    check_ssl(*state, images, CLG_SSL_ARCH_CONV, 2, "ssl_conv");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_make_toy_data),
        cmocka_unit_test(test_gan),
        cmocka_unit_test(test_gan_improved),
        cmocka_unit_test(test_cgan_mlp),
        cmocka_unit_test(test_cgan_dcgan),
        cmocka_unit_test(test_lapgan),
        cmocka_unit_test(test_lapgan_improved),
        cmocka_unit_test(test_lapgan_classes),
        cmocka_unit_test(test_lapgan_pyramid_and_levels),
        cmocka_unit_test(test_ssl),
        cmocka_unit_test(test_ssl_conv),
    };
    return clg_test_run_in_tmpdir("models", dir, sizeof dir, tests,
                                  sizeof tests / sizeof tests[0]);
}
