/* lapgan.c: LAPGAN (Denton et al. 2015; papers.md section 2) on 32x32
 * images as a model of the trainer. The Gaussian pyramid of each real batch
 * is built on the device by host/resample (blur-and-decimate d, bilinear
 * 2x upsampling u):
 *
 *   I1 = d(I0) (16x16), I2 = d(I1) (8x8), l_k = u(I_{k+1}), h_k = I_k - l_k
 *
 * Level 2 is a plain GAN on I2 (the MLP players of gan.c, hidden width
 * --hidden); levels 1 and 0 are conditional GANs that generate the detail
 * h_k given l_k, as eyescream's CIFAR-10 model: G_k takes a noise plane
 * with l_k as extra planes, conv 7x7 (ngf) ReLU, conv 7x7 (ngf) ReLU, conv
 * 5x5 (nc); D_k takes h_k with l_k as extra planes, conv 5x5 (ndf) ReLU,
 * conv 5x5 stride 2 (ndf) ReLU, dropout, linear, one logit. With --classes
 * each level also gets the one-hot label (a vector for level 2's MLPs,
 * constant planes for the convolutional levels). Each level has its own
 * networks and Adam and is trained on its own (a GAN pair each, nothing
 * shared) at every step. Sampling runs coarse to fine:
 *   I~2 = G2(z), I~k = u(I~_{k+1}) + G_k(noise_k, u(I~_{k+1})). */
#include "lapgan.h"
#include "elementwise.h"
#include "gan.h"
#include "gan_pair.h"
#include "labels.h"
#include "resample.h"
#include "rng.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LEVELS 3 /* 32, 16, 8 */

typedef struct {
    clg_model base;
    clg_lapgan_config cfg;
    clg_pair p[LEVELS];         /* p[k] for level k: 0 finest (32x32), 2 coarsest (8x8) */
    clg_block pyr;              /* one buffer for the tensors below */
    clg_tensor i1, i2;          /* (B, nc, 16, 16), (B, nc, 8, 8) */
    clg_tensor l[2], h[2];      /* l_k, h_k of levels 0 (32) and 1 (16) */
    clg_tensor noise[2];        /* generating: the noise planes of levels 0 and 1 */
    clg_tensor onehot;          /* (B, classes, 1, 1) with --classes */
    long gen_calls;             /* generate's noise stream position */
} lapgan_model;

clg_lapgan_config clg_lapgan_config_default(void) {
    clg_lapgan_config c = {32, 1, 100, 600, 64, 64, 64, 0, 10, 2e-4f, 0.5f, 0.999f, 1.0f, 0.5f, 1,
                           0, {0, 5}, 0.0f};
    return c;
}

clg_status clg_lapgan_config_check(const clg_lapgan_config *c) {
    if (c->image_size != 32) return clg_fail(CLG_ERR_INVALID_ARG, "LAPGAN takes 32x32 images");
    if (c->nc < 1 || c->nc > 4) return clg_fail(CLG_ERR_INVALID_ARG, "channels must be 1..4");
    if (c->nz < 1 || c->nz > 4096) return clg_fail(CLG_ERR_INVALID_ARG, "--nz must be 1..4096");
    if (c->hidden < 1 || c->hidden > 16384)
        return clg_fail(CLG_ERR_INVALID_ARG, "--hidden must be 1..16384");
    if (c->ngf < 1 || c->ngf > 1024 || c->ndf < 1 || c->ndf > 1024)
        return clg_fail(CLG_ERR_INVALID_ARG, "--ngf and --ndf must be 1..1024");
    CLG_TRY(clg_pair_check(c->batch, c->lr, c->beta1, c->beta2, c->real_label, c->dropout));
    if (c->conditional && (c->nclasses < 2 || c->nclasses > 1000))
        return clg_fail(CLG_ERR_INVALID_ARG, "--classes needs labelled data with 2..1000 classes "
                        "(got %d)", c->nclasses);
    return clg_pair_check_improved(c->mbd, c->hist_avg);
}

/* ---- the players of the conditional levels ---- */

static clg_status level_g(clg_net *g, const clg_lapgan_config *c, int s, int batch) {
    clg_net_init(g, batch, 1, s, s);              /* the noise plane */
    CLG_TRY(clg_net_concat(g, 0, c->nc));         /* l_k */
    if (c->conditional) CLG_TRY(clg_net_concat(g, 1, c->nclasses));
    CLG_TRY(clg_net_conv(g, "main.0", c->ngf, 7, 1, 3, 1));
    CLG_TRY(clg_net_act(g, CLG_ACT_RELU, 0.0f));
    CLG_TRY(clg_net_conv(g, "main.2", c->ngf, 7, 1, 3, 1));
    CLG_TRY(clg_net_act(g, CLG_ACT_RELU, 0.0f));
    return clg_net_conv(g, "main.4", c->nc, 5, 1, 2, 1); /* h_k: no squashing */
}

static clg_status level_d(clg_net *d, const clg_lapgan_config *c, int s, uint64_t rng) {
    clg_net_init(d, c->batch, c->nc, s, s);       /* h_k */
    d->rng_seed = rng;
    CLG_TRY(clg_net_concat(d, 0, c->nc));         /* l_k */
    if (c->conditional) CLG_TRY(clg_net_concat(d, 1, c->nclasses));
    CLG_TRY(clg_net_conv(d, "main.0", c->ndf, 5, 1, 2, 1));
    CLG_TRY(clg_net_act(d, CLG_ACT_RELU, 0.0f));
    CLG_TRY(clg_net_conv(d, "main.2", c->ndf, 5, 2, 2, 1));
    CLG_TRY(clg_net_act(d, CLG_ACT_RELU, 0.0f));
    if (c->mbd[0] == 0) CLG_TRY(clg_net_name_tap(d, "features"));
    CLG_TRY(clg_net_dropout(d, c->dropout));
    if (c->mbd[0] > 0) { /* the tap: the features and the minibatch features */
        const int *o = d->layers[d->count - 1].out;
        CLG_TRY(clg_net_reshape(d, o[1] * o[2] * o[3], 1, 1));
        CLG_TRY(clg_net_mbd(d, "main.5", c->mbd[0], c->mbd[1]));
        CLG_TRY(clg_net_name_tap(d, "features"));
        return clg_net_linear(d, "main.6", 1, 1);
    }
    return clg_net_linear(d, "main.5", 1, 1);
}

static clg_gan_config coarse_config(const clg_lapgan_config *c) {
    clg_gan_config g = clg_gan_config_default(c->conditional);
    g.image_size = 8, g.nc = c->nc, g.nz = c->nz, g.hidden = g.hidden_d = c->hidden;
    g.batch = c->batch, g.classes = c->nclasses, g.dropout = c->dropout;
    g.seed = c->seed ^ 0x9b05688c2b3e6c1fULL;
    g.feature_matching = c->feature_matching, g.hist_avg = c->hist_avg;
    g.mbd[0] = c->mbd[0], g.mbd[1] = c->mbd[1];
    return g;
}

static clg_status build_level(lapgan_model *m, int k, int batch, int gen_only) {
    const clg_lapgan_config *c = &m->cfg;
    clg_pair *p = &m->p[k];
    if (k == LEVELS - 1) {
        clg_gan_config g = coarse_config(c);
        CLG_TRY(clg_gan_mlp_g(&p->g, &g, batch));
        return gen_only ? CLG_OK : clg_gan_mlp_d(&p->d, &g);
    }
    int s = c->image_size >> k;
    CLG_TRY(level_g(&p->g, c, s, batch));
    return gen_only ? CLG_OK : level_d(&p->d, c, s, c->seed ^ (0x1f83d9abfb41bd6bULL + (uint64_t)k));
}

/* Side inputs: l_k as side 0 of the conditional levels, the label as side
 * 0 of level 2's MLPs and side 1 of the others. */
static void wire_sides(lapgan_model *m) {
    for (int k = 0; k < LEVELS - 1; k++) {
        clg_pair *p = &m->p[k];
        p->g_side[0] = p->d_real_side[0] = p->d_fake_side[0] = &m->l[k];
        if (m->cfg.conditional) p->g_side[1] = p->d_real_side[1] = p->d_fake_side[1] = &m->onehot;
    }
    if (m->cfg.conditional) {
        clg_pair *p = &m->p[LEVELS - 1];
        p->g_side[0] = p->d_real_side[0] = p->d_fake_side[0] = &m->onehot;
    }
}

/* The pyramid's tensors for B images, in one block. */
static clg_status alloc_pyramid(clg_ctx *ctx, lapgan_model *m, int B) {
    const int nc = m->cfg.nc;
    clg_tensor ts[9] = {
        clg_tensor_view(NULL, 0, B, nc, 16, 16), clg_tensor_view(NULL, 0, B, nc, 8, 8),
        clg_tensor_view(NULL, 0, B, nc, 32, 32), clg_tensor_view(NULL, 0, B, nc, 32, 32),
        clg_tensor_view(NULL, 0, B, nc, 16, 16), clg_tensor_view(NULL, 0, B, nc, 16, 16),
        clg_tensor_view(NULL, 0, B, 1, 32, 32),  clg_tensor_view(NULL, 0, B, 1, 16, 16),
        clg_tensor_view(NULL, 0, B, m->cfg.conditional ? m->cfg.nclasses : 1, 1, 1)};
    CLG_TRY(clg_block_alloc(ctx, &m->pyr, ts, 9, "LAPGAN pyramid"));
    m->i1 = ts[0], m->i2 = ts[1], m->l[0] = ts[2], m->h[0] = ts[3], m->l[1] = ts[4];
    m->h[1] = ts[5], m->noise[0] = ts[6], m->noise[1] = ts[7], m->onehot = ts[8];
    return CLG_OK;
}

static void lapgan_free(clg_ctx *ctx, lapgan_model *m) {
    for (int k = 0; k < LEVELS; k++) clg_pair_free(ctx, &m->p[k]);
    clg_block_free(ctx, &m->pyr);
    clg_model_inputs_free(ctx, &m->base);
}

static clg_status lapgan_build(clg_ctx *ctx, lapgan_model *m, int gen_batch) {
    const clg_lapgan_config *c = &m->cfg;
    const int B = gen_batch > 0 ? gen_batch : c->batch;
    for (int k = 0; k < LEVELS; k++) {
        CLG_TRY(build_level(m, k, B, gen_batch > 0));
        uint64_t s = c->seed + 0x2545f4914f6cdd1dULL * (uint64_t)(k + 1);
        clg_pair_settings ps = {c->lr, c->beta1, c->beta2, c->real_label, 0.0f, s,
                                s ^ 0x6a09e667f3bcc908ULL, s ^ 0xbb67ae8584caa73bULL,
                                c->hist_avg, c->feature_matching ? "features" : NULL, 0};
        CLG_TRY(clg_pair_alloc(ctx, &m->p[k], &ps, gen_batch > 0));
    }
    CLG_TRY(alloc_pyramid(ctx, m, B));
    wire_sides(m);
    return gen_batch > 0 ? CLG_OK : clg_model_inputs_create(ctx, &m->base);
}

static clg_status lapgan_setup(clg_ctx *ctx, void *model, const void *cfg, int gen_batch) {
    lapgan_model *m = model;
    const clg_lapgan_config *c = cfg;
    CLG_TRY(clg_lapgan_config_check(c));
    m->cfg = *c;
    m->base = (clg_model){&clg_lapgan_ops, &m->cfg, 0, c->batch, c->image_size, c->nc, c->nz,
                          c->conditional ? c->nclasses : 0, c->seed, {0}, {0}, 0, 0};
    clg_status rc = lapgan_build(ctx, m, gen_batch);
    if (rc != CLG_OK) lapgan_free(ctx, m);
    return rc;
}

/* ---- training ---- */

/* I1, I2, and l_k = u(I_{k+1}), h_k = I_k - l_k for levels 0 and 1. */
clg_status clg_lapgan_pyramid(clg_ctx *ctx, const clg_tensor *i0, const clg_tensor *i1,
                              const clg_tensor *i2, const clg_tensor *l, const clg_tensor *h) {
    const clg_tensor *fine[2] = {i0, i1}, *coarse[2] = {i1, i2};
    CLG_TRY(clg_blur_down_forward(ctx, i1, i0));
    CLG_TRY(clg_blur_down_forward(ctx, i2, i1));
    for (int k = 0; k < 2; k++) {
        CLG_TRY(clg_upsample2x_forward(ctx, &l[k], coarse[k]));
        CLG_TRY(clg_copy(ctx, &h[k], fine[k]));
        CLG_TRY(clg_axpy(ctx, &h[k], -1.0f, &l[k]));
    }
    return CLG_OK;
}

static clg_status ops_step_enqueue(clg_ctx *ctx, clg_model *mm) {
    lapgan_model *m = (lapgan_model *)mm;
    CLG_TRY(clg_lapgan_pyramid(ctx, &m->base.real, &m->i1, &m->i2, m->l, m->h));
    if (m->cfg.conditional)
        CLG_TRY(clg_one_hot(ctx, &m->onehot, &m->base.labels, m->cfg.nclasses, 1.0f, 0.0f));
    const clg_tensor *real[LEVELS] = {&m->h[0], &m->h[1], &m->i2};
    for (int k = LEVELS - 1; k >= 0; k--)
        CLG_TRY(clg_pair_step(ctx, &m->p[k], real[k], 10 + (uint64_t)k, m->base.step));
    m->base.step++;
    return CLG_OK;
}

static clg_status ops_step_finish(clg_ctx *ctx, clg_model *mm, clg_metrics *out) {
    lapgan_model *m = (lapgan_model *)mm;
    static const char *const names[6] = {"loss_d2", "loss_g2", "loss_d1", "loss_g1", "loss_d0",
                                         "loss_g0"};
    static const char *const labels[6] = {"D2", "G2", "D1", "G1", "D0", "G0"};
    *out = (clg_metrics){6, {0}, {0}, {0}};
    for (int k = LEVELS - 1, i = 0; k >= 0; k--, i += 2) {
        float v[5];
        CLG_TRY(clg_pair_read(ctx, &m->p[k], v));
        out->v[i] = v[0], out->v[i + 1] = v[1];
    }
    for (int i = 0; i < 6; i++) out->name[i] = names[i], out->label[i] = labels[i];
    return CLG_OK;
}

/* ---- generating, coarse to fine ---- */

static clg_status generate_level(clg_ctx *ctx, lapgan_model *m, int k, const clg_tensor *coarse,
                                 const clg_tensor *out) {
    clg_pair *p = &m->p[k];
    CLG_TRY(clg_upsample2x_forward(ctx, &m->l[k], coarse));
    uint64_t seed = m->cfg.seed ^ (0x71374491b5c0fbcfULL * (uint64_t)(k + 1));
    CLG_TRY(clg_rng_normal(ctx, &m->noise[k], seed, (uint64_t)m->gen_calls << 28, 0.0f, 1.0f));
    for (int s = 0; s < CLG_NET_MAX_SIDES; s++) clg_net_set_side(&p->g, s, p->g_side[s]);
    CLG_TRY(clg_net_forward(ctx, &p->g, &m->noise[k], CLG_NET_BATCH_STATS));
    return clg_add(ctx, out, &m->l[k], clg_net_output(&p->g));
}

static clg_status ops_generate(clg_ctx *ctx, clg_model *mm, const clg_tensor *z,
                               const clg_itensor *labels, int running, const clg_tensor **images) {
    (void)running; /* no batch norm in these players */
    lapgan_model *m = (lapgan_model *)mm;
    if (z->n != m->onehot.n)
        return clg_fail(CLG_ERR_INVALID_ARG, "generate: %d latents, the model was built for %d",
                        z->n, m->onehot.n);
    if (m->cfg.conditional) {
        if (!labels || labels->n != z->n)
            return clg_fail(CLG_ERR_INVALID_ARG, "a class-conditional LAPGAN needs a label per "
                            "latent");
        CLG_TRY(clg_one_hot(ctx, &m->onehot, labels, m->cfg.nclasses, 1.0f, 0.0f));
    }
    clg_pair *top = &m->p[LEVELS - 1];
    clg_net_set_side(&top->g, 0, top->g_side[0]);
    CLG_TRY(clg_net_forward(ctx, &top->g, z, CLG_NET_BATCH_STATS));
    CLG_TRY(generate_level(ctx, m, 1, clg_net_output(&top->g), &m->i1));
    CLG_TRY(generate_level(ctx, m, 0, &m->i1, &m->h[0]));
    m->gen_calls++;
    *images = &m->h[0];
    return CLG_OK;
}

static int ops_levels(clg_model *mm, const clg_tensor **out, int cap) {
    lapgan_model *m = (lapgan_model *)mm;
    const clg_tensor *lv[LEVELS] = {clg_net_output(&m->p[LEVELS - 1].g), &m->i1, &m->h[0]};
    for (int k = 0; k < LEVELS && k < cap; k++) out[k] = lv[k];
    return cap < LEVELS ? cap : LEVELS;
}

/* ---- the model interface ---- */

static clg_status ops_create(clg_ctx *ctx, const void *cfg, int gen_batch, clg_model **out) {
    return clg_model_new(ctx, sizeof(lapgan_model), lapgan_setup, cfg, gen_batch, out);
}

static void ops_destroy(clg_ctx *ctx, clg_model *m) {
    lapgan_free(ctx, (lapgan_model *)m);
    free(m);
}

static int ops_parts(clg_model *mm, clg_model_part *out) {
    static const char *const names[LEVELS][4] = {
        {"optG0", "opt_g0_step", "optD0", "opt_d0_step"},
        {"optG1", "opt_g1_step", "optD1", "opt_d1_step"},
        {"optG2", "opt_g2_step", "optD2", "opt_d2_step"}};
    static const char *const pre[LEVELS][2] = {{"l0.G.", "l0.D."}, {"l1.G.", "l1.D."},
                                                {"l2.G.", "l2.D."}};
    lapgan_model *m = (lapgan_model *)mm;
    int n = 0;
    for (int k = LEVELS - 1; k >= 0; k--)
        n += clg_pair_parts(&m->p[k], pre[k][0], pre[k][1], names[k], out + n);
    return n;
}

#define F(key, type, member, lo, hi, flag, help)                                             \
    {key, type, offsetof(clg_lapgan_config, member), lo, hi, flag, NULL, help, 0, 0, NULL, 0}
static const clg_config_field fields[] = {
    F("image_size", CLG_FIELD_INT, image_size, 32, 32, NULL, "32 (levels 32, 16, 8)"),
    F("nc", CLG_FIELD_INT, nc, 1, 4, NULL, "channels (from the data)"),
    F("nz", CLG_FIELD_INT, nz, 1, 4096, "--nz", "latent size of the 8x8 level"),
    F("hidden", CLG_FIELD_INT, hidden, 1, 16384, "--hidden", "width of the 8x8 level's MLPs"),
    F("ngf", CLG_FIELD_INT, ngf, 1, 1024, "--ngf", "channels of the finer levels' G convolutions"),
    F("ndf", CLG_FIELD_INT, ndf, 1, 1024, "--ndf", "channels of the finer levels' D convolutions"),
    F("batch_size", CLG_FIELD_INT, batch, 2, 4096, "--batch-size", "images per batch"),
    F("conditional", CLG_FIELD_FLAG, conditional, 0, 1, "--classes",
      "class-conditional: every level also gets the one-hot label"),
    F("classes", CLG_FIELD_INT, nclasses, 2, 1000, NULL, "classes (from the data)"),
    F("lr", CLG_FIELD_FLOAT, lr, 0, 1, "--lr", "Adam learning rate (every level)"),
    F("beta1", CLG_FIELD_FLOAT, beta1, 0, 1, "--beta1", "Adam beta1"),
    F("beta2", CLG_FIELD_FLOAT, beta2, 0, 1, "--beta2", "Adam beta2"),
    F("real_label", CLG_FIELD_FLOAT, real_label, 0.5, 1, "--real-label",
      "D's target for real images (0.9: one-sided smoothing)"),
    F("dropout", CLG_FIELD_FLOAT, dropout, 0, 1, "--dropout", "dropout in every D"),
    F("seed", CLG_FIELD_U64, seed, 0, 1.8446744073709552e19, "--seed",
      "seed of weights, noise, dropout and data order"),
    CLG_IMPROVED_GAN_FIELDS(clg_lapgan_config),
};
#undef F

static void ops_default(void *cfg) { *(clg_lapgan_config *)cfg = clg_lapgan_config_default(); }
static clg_status ops_check(const void *cfg) { return clg_lapgan_config_check(cfg); }

static void ops_common(const void *cfg, clg_model_common *out) {
    const clg_lapgan_config *c = cfg;
    *out = (clg_model_common){c->image_size, c->nc, c->batch, c->conditional ? c->nclasses : 0,
                              c->nz, c->seed};
}

static void ops_set_data(void *cfg, int nc, int classes) {
    clg_lapgan_config *c = cfg;
    c->nc = nc;
    if (classes >= 2) c->nclasses = classes;
}

const clg_model_ops clg_lapgan_ops = {
    "lapgan", "clgan-lapgan-1", "LAPGAN (Denton et al.): a GAN per level of a Laplacian pyramid",
    "Trains LAPGAN (Denton et al. 2015) on 32x32 images: a GAN for the 8x8 level\n"
    "and a conditional GAN per finer level (16x16, 32x32) that generates the\n"
    "band-pass detail given the upsampled coarser image, each level trained on\n"
    "its own. --classes adds the class-conditional variant. `clgan sample\n"
    "--levels` shows every level of a few samples.",
    sizeof(clg_lapgan_config), fields, (int)(sizeof fields / sizeof fields[0]), 0, 1,
    ops_default, ops_check, ops_common, ops_set_data, ops_create, ops_destroy, ops_parts,
    ops_step_enqueue, ops_step_finish, ops_generate, NULL, NULL, ops_levels, NULL, NULL};
