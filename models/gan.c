/* gan.c: the GAN of Goodfellow et al. 2014 and the conditional GAN of
 * Mirza & Osindero 2014 (papers.md section 1) as models of the trainer:
 *
 *   G: z (nz) [+ one-hot y] -> linear(hidden) ReLU -> linear(hidden) ReLU
 *      -> linear(nc x S x S) tanh                       (S = 28: no padding)
 *   D: x flattened [+ one-hot y] -> linear(hidden_d) LeakyReLU(0.2) dropout
 *      -> linear(hidden_d) LeakyReLU(0.2) dropout -> linear(1) logit
 *
 * with LeakyReLU plus dropout in place of the paper's maxout (papers.md
 * allows it). `cgan --arch dcgan` is a conditional DCGAN-32/64: the one-hot
 * label concatenated to z, and as constant planes on D's input. Fakes are
 * drawn for the labels of the real batch they are trained against.
 * Three of Salimans et al.'s techniques as DCGAN has them: feature matching
 * (on D's last hidden layer, the tap "features": the MLP's second LeakyReLU
 * before its dropout; with minibatch discrimination, that layer's output:
 * the dropped-out features and the minibatch features), minibatch
 * discrimination before D's last linear layer, historical averaging;
 * one-sided smoothing is --real-label. */
#include "gan.h"
#include "dcgan.h"
#include "labels.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    clg_model base;
    clg_gan_config cfg;
    clg_pair p;
    clg_tensor onehot; /* (batch or gen_batch, classes, 1, 1): the step's labels */
} gan_model;

clg_gan_config clg_gan_config_default(int conditional) {
    clg_gan_config c = {0, 1, 100, 1200, 240, 100, conditional ? 10 : 0, 0, 64, 64,
                        2e-4f, 0.5f, 0.999f, 1.0f, 0.5f, 1, conditional, 0, {0, 5}, 0.0f};
    return c;
}

/* 0 picks the architecture's size: 28 for the MLPs, 32 for DCGAN. */
static int image_size(const clg_gan_config *c) {
    return c->image_size ? c->image_size : c->arch ? 32 : 28;
}

clg_status clg_gan_config_check(const clg_gan_config *cfg) {
    clg_gan_config sized = *cfg, *c = &sized;
    sized.image_size = image_size(cfg);
    if (c->arch != 0 && !(c->arch == 1 && c->conditional))
        return clg_fail(CLG_ERR_INVALID_ARG, "--arch dcgan is for cgan only");
    if (c->arch == 0 && c->image_size != 28 && c->image_size != 32)
        return clg_fail(CLG_ERR_INVALID_ARG, "the MLP GAN takes --image-size 28 or 32");
    if (c->arch == 1 && c->image_size != 32 && c->image_size != 64)
        return clg_fail(CLG_ERR_INVALID_ARG, "--arch dcgan takes --image-size 32 or 64");
    if (c->nc < 1 || c->nc > 4) return clg_fail(CLG_ERR_INVALID_ARG, "channels must be 1..4");
    if (c->nz < 1 || c->nz > 4096) return clg_fail(CLG_ERR_INVALID_ARG, "--nz must be 1..4096");
    if (c->hidden < 1 || c->hidden > 16384 || c->hidden_d < 1 || c->hidden_d > 16384)
        return clg_fail(CLG_ERR_INVALID_ARG, "--hidden and --hidden-d must be 1..16384");
    if (c->ngf < 1 || c->ngf > 1024 || c->ndf < 1 || c->ndf > 1024)
        return clg_fail(CLG_ERR_INVALID_ARG, "--ngf and --ndf must be 1..1024");
    CLG_TRY(clg_pair_check(c->batch, c->lr, c->beta1, c->beta2, c->real_label, c->dropout));
    CLG_TRY(clg_pair_check_improved(c->mbd, c->hist_avg));
    if (c->conditional && (c->classes < 2 || c->classes > 1000))
        return clg_fail(CLG_ERR_INVALID_ARG, "a conditional GAN needs labelled data with 2..1000 "
                        "classes (got %d)", c->classes);
    return CLG_OK;
}

static void name_of(char *buf, int idx) { snprintf(buf, CLG_NAME_MAX, "main.%d", idx); }

clg_status clg_gan_mlp_g(clg_net *g, const clg_gan_config *c, int batch) {
    char nm[CLG_NAME_MAX];
    const int s = c->image_size, y = c->conditional ? c->classes : 0;
    clg_net_init(g, batch, c->nz, 1, 1);
    if (y) CLG_TRY(clg_net_concat(g, 0, y));
    for (int k = 0; k < 2; k++) {
        name_of(nm, 2 * k);
        CLG_TRY(clg_net_linear(g, nm, c->hidden, 1));
        CLG_TRY(clg_net_act(g, CLG_ACT_RELU, 0.0f));
    }
    name_of(nm, 4);
    CLG_TRY(clg_net_linear(g, nm, c->nc * s * s, 1));
    CLG_TRY(clg_net_act(g, CLG_ACT_TANH, 0.0f));
    return clg_net_reshape(g, c->nc, s, s);
}

clg_status clg_gan_mlp_d(clg_net *d, const clg_gan_config *c) {
    char nm[CLG_NAME_MAX];
    const int s = c->image_size;
    clg_net_init(d, c->batch, c->nc, s, s);
    d->rng_seed = c->seed ^ 0x510e527fade682d1ULL;
    CLG_TRY(clg_net_reshape(d, c->nc * s * s, 1, 1));
    if (c->conditional) CLG_TRY(clg_net_concat(d, 0, c->classes));
    for (int k = 0; k < 2; k++) {
        name_of(nm, 3 * k);
        CLG_TRY(clg_net_linear(d, nm, c->hidden_d, 1));
        CLG_TRY(clg_net_act(d, CLG_ACT_LEAKY_RELU, 0.2f));
        if (k == 1 && c->mbd[0] == 0) CLG_TRY(clg_net_name_tap(d, "features"));
        CLG_TRY(clg_net_dropout(d, c->dropout));
    }
    name_of(nm, 6);
    if (c->mbd[0] > 0) { /* the tap then holds the minibatch features too */
        CLG_TRY(clg_net_mbd(d, nm, c->mbd[0], c->mbd[1]));
        CLG_TRY(clg_net_name_tap(d, "features"));
        name_of(nm, 7);
    }
    return clg_net_linear(d, nm, 1, 1);
}

static clg_dcgan_config as_dcgan(const clg_gan_config *c) {
    clg_dcgan_config d = clg_dcgan_config_default();
    d.image_size = c->image_size, d.nc = c->nc, d.nz = c->nz, d.ngf = c->ngf, d.ndf = c->ndf;
    d.batch = c->batch;
    d.feature_matching = c->feature_matching, d.hist_avg = c->hist_avg;
    d.mbd[0] = c->mbd[0], d.mbd[1] = c->mbd[1];
    return d;
}

/* The conditional DCGAN: label planes before each player's first layer. */
static clg_status dcgan_g(clg_net *g, const clg_gan_config *c, int batch) {
    clg_dcgan_config d = as_dcgan(c);
    clg_net_init(g, batch, c->nz, 1, 1);
    CLG_TRY(clg_net_concat(g, 0, c->classes));
    return clg_dcgan_g_layers(g, &d);
}

static clg_status dcgan_d(clg_net *net, const clg_gan_config *c) {
    clg_dcgan_config d = as_dcgan(c);
    clg_net_init(net, c->batch, c->nc, c->image_size, c->image_size);
    CLG_TRY(clg_net_concat(net, 0, c->classes));
    return clg_dcgan_d_layers(net, &d);
}

static void gan_free(clg_ctx *ctx, gan_model *m) {
    clg_pair_free(ctx, &m->p);
    clg_tensor_free(ctx, &m->onehot);
    clg_model_inputs_free(ctx, &m->base);
}

static clg_status gan_build(clg_ctx *ctx, gan_model *m, int gen_batch) {
    const clg_gan_config *c = &m->cfg;
    int batch = gen_batch > 0 ? gen_batch : c->batch;
    CLG_TRY(c->arch ? dcgan_g(&m->p.g, c, batch) : clg_gan_mlp_g(&m->p.g, c, batch));
    if (!gen_batch) CLG_TRY(c->arch ? dcgan_d(&m->p.d, c) : clg_gan_mlp_d(&m->p.d, c));
    clg_pair_settings ps = {c->lr, c->beta1, c->beta2, c->real_label, 0.0f, c->seed,
                            c->seed ^ 0x6a09e667f3bcc908ULL, c->seed ^ 0xbb67ae8584caa73bULL,
                            c->hist_avg, c->feature_matching ? "features" : NULL, 0};
    CLG_TRY(clg_pair_alloc(ctx, &m->p, &ps, gen_batch > 0));
    if (!gen_batch) CLG_TRY(clg_model_inputs_create(ctx, &m->base));
    if (!c->conditional) return CLG_OK;
    CLG_TRY(clg_tensor_create(ctx, &m->onehot, batch, c->classes, 1, 1, "one-hot labels"));
    m->p.g_side[0] = m->p.d_real_side[0] = m->p.d_fake_side[0] = &m->onehot;
    return CLG_OK;
}

static clg_status gan_setup(clg_ctx *ctx, void *model, const void *cfg, int gen_batch) {
    gan_model *m = model;
    const clg_gan_config *c = cfg;
    CLG_TRY(clg_gan_config_check(c));
    m->cfg = *c;
    m->cfg.image_size = image_size(c);
    c = &m->cfg;
    m->base = (clg_model){c->conditional ? &clg_cgan_ops : &clg_gan_ops, &m->cfg, 0, c->batch,
                          c->image_size, c->nc, c->nz, c->conditional ? c->classes : 0, c->seed,
                          {0}, {0}, 0, 0};
    clg_status rc = gan_build(ctx, m, gen_batch);
    if (rc != CLG_OK) gan_free(ctx, m);
    return rc;
}

static clg_status ops_create(clg_ctx *ctx, const void *cfg, int gen_batch, clg_model **out) {
    return clg_model_new(ctx, sizeof(gan_model), gan_setup, cfg, gen_batch, out);
}

static void ops_destroy(clg_ctx *ctx, clg_model *m) {
    gan_free(ctx, (gan_model *)m);
    free(m);
}

static int ops_parts(clg_model *m, clg_model_part *out) {
    static const char *const names[4] = {"optG", "opt_g_step", "optD", "opt_d_step"};
    return clg_pair_parts(&((gan_model *)m)->p, "", "netD.", names, out);
}

static clg_status ops_step_enqueue(clg_ctx *ctx, clg_model *mm) {
    gan_model *m = (gan_model *)mm;
    if (m->cfg.conditional)
        CLG_TRY(clg_one_hot(ctx, &m->onehot, &m->base.labels, m->cfg.classes, 1.0f, 0.0f));
    CLG_TRY(clg_pair_step(ctx, &m->p, &m->base.real, 0, m->base.step));
    m->base.step++;
    return CLG_OK;
}

static clg_status ops_step_finish(clg_ctx *ctx, clg_model *m, clg_metrics *out) {
    return clg_pair_metrics(ctx, &((gan_model *)m)->p, out);
}

static const clg_tensor *ops_step_stats(clg_model *m) { return &((gan_model *)m)->p.stats; }

/* Conditional models draw label i % classes for row i when given none. */
static clg_status ops_generate(clg_ctx *ctx, clg_model *mm, const clg_tensor *z,
                               const clg_itensor *labels, int running, const clg_tensor **images) {
    gan_model *m = (gan_model *)mm;
    if (m->cfg.conditional) {
        if (!labels) return clg_fail(CLG_ERR_INVALID_ARG, "a conditional GAN needs labels");
        if (labels->n != z->n || m->onehot.n != z->n)
            return clg_fail(CLG_ERR_INVALID_ARG, "generate: %d labels for %d latents (built "
                            "for %d)", labels->n, z->n, m->onehot.n);
        CLG_TRY(clg_one_hot(ctx, &m->onehot, labels, m->cfg.classes, 1.0f, 0.0f));
        clg_net_set_side(&m->p.g, 0, &m->onehot);
    }
    CLG_TRY(clg_net_forward(ctx, &m->p.g, z, running ? CLG_NET_EVAL : CLG_NET_BATCH_STATS));
    *images = clg_net_output(&m->p.g);
    return CLG_OK;
}

/* ---- settings: `gan` takes the first GAN_FIELDS, `cgan` all ---- */
#define F(key, type, member, lo, hi, flag, help)                                             \
    {key, type, offsetof(clg_gan_config, member), lo, hi, flag, NULL, help, 0, 0, NULL, 0}
static const clg_config_field fields[] = {
    F("image_size", CLG_FIELD_INT, image_size, 0, 64, "--image-size",
      "28 or 32 (MLP; 28 keeps 28x28 images unpadded), 32 or 64 (--arch dcgan); 0: 28 or 32"),
    F("nc", CLG_FIELD_INT, nc, 1, 4, NULL, "channels (from the data)"),
    F("nz", CLG_FIELD_INT, nz, 1, 4096, "--nz", "latent size"),
    F("hidden", CLG_FIELD_INT, hidden, 1, 16384, "--hidden", "width of G's two hidden layers (MLP)"),
    F("hidden_d", CLG_FIELD_INT, hidden_d, 1, 16384, "--hidden-d",
      "width of D's two hidden layers (MLP)"),
    F("batch_size", CLG_FIELD_INT, batch, 2, 4096, "--batch-size", "images per batch"),
    F("lr", CLG_FIELD_FLOAT, lr, 0, 1, "--lr", "Adam learning rate"),
    F("beta1", CLG_FIELD_FLOAT, beta1, 0, 1, "--beta1", "Adam beta1"),
    F("beta2", CLG_FIELD_FLOAT, beta2, 0, 1, "--beta2", "Adam beta2"),
    F("real_label", CLG_FIELD_FLOAT, real_label, 0.5, 1, "--real-label",
      "D's target for real images (0.9: one-sided smoothing)"),
    F("dropout", CLG_FIELD_FLOAT, dropout, 0, 1, "--dropout", "dropout after D's hidden layers (MLP)"),
    F("seed", CLG_FIELD_U64, seed, 0, 1.8446744073709552e19, "--seed",
      "seed of weights, noise, dropout and data order"),
    /* Added in 0.2: left out of the config while off, so older files stay as they were. */
    CLG_IMPROVED_GAN_FIELDS(clg_gan_config),
    F("classes", CLG_FIELD_INT, classes, 2, 1000, NULL, "classes (from the data)"),
    {"arch", CLG_FIELD_CHOICE, offsetof(clg_gan_config, arch), 0, 1, "--arch", NULL,
     "mlp (the paper's) or dcgan (a conditional DCGAN)", 0, 0, "mlp|dcgan", 0},
    F("ngf", CLG_FIELD_INT, ngf, 1, 1024, "--ngf", "G width (--arch dcgan)"),
    F("ndf", CLG_FIELD_INT, ndf, 1, 1024, "--ndf", "D width (--arch dcgan)"),
};
#undef F
#define GAN_FIELDS 15

static void gan_default(void *cfg) { *(clg_gan_config *)cfg = clg_gan_config_default(0); }
static void cgan_default(void *cfg) { *(clg_gan_config *)cfg = clg_gan_config_default(1); }
static clg_status ops_check(const void *cfg) { return clg_gan_config_check(cfg); }

static void ops_common(const void *cfg, clg_model_common *out) {
    const clg_gan_config *c = cfg;
    *out = (clg_model_common){image_size(c), c->nc, c->batch, c->conditional ? c->classes : 0,
                              c->nz, c->seed};
}

static void ops_set_data(void *cfg, int nc, int classes) {
    clg_gan_config *c = cfg;
    c->nc = nc;
    c->image_size = image_size(c); /* settled before it is saved */
    if (c->conditional) c->classes = classes;
}

#define GAN_OPS(kind, format, summary, help, nfields, labelled, dflt)                        \
    {kind, format, summary, help, sizeof(clg_gan_config), fields, nfields, labelled, 1, dflt, \
     ops_check, ops_common,                                                                  \
     ops_set_data, ops_create, ops_destroy, ops_parts, ops_step_enqueue, ops_step_finish,    \
     ops_generate, NULL, NULL, NULL, NULL, ops_step_stats}

const clg_model_ops clg_gan_ops = GAN_OPS(
    "gan", "clgan-gan-1", "the MLP GAN of Goodfellow et al. (28x28 images)",
    "Trains the GAN of Goodfellow et al. 2014: MLPs, G z -> 1200 -> 1200 -> image\n"
    "(ReLU, tanh), D image -> 240 -> 240 -> 1 (LeakyReLU 0.2 and dropout in place\n"
    "of maxout), the non-saturating G loss from logits, Adam.",
    GAN_FIELDS, 0, gan_default);

const clg_model_ops clg_cgan_ops = GAN_OPS(
    "cgan", "clgan-cgan-1", "the conditional GAN of Mirza & Osindero (MLP, or --arch dcgan)",
    "Trains the conditional GAN of Mirza & Osindero 2014 on labelled data: the\n"
    "one-hot class is concatenated to z and to D's input (MLPs as `train gan`),\n"
    "or with --arch dcgan a conditional DCGAN (label planes on D's input).\n"
    "`clgan sample` draws row k of its grid from class k.",
    (int)(sizeof fields / sizeof fields[0]), 1, cgan_default);
