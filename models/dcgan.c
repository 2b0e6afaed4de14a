/* dcgan.c: DCGAN networks, the training step of pytorch/examples, and
 * DCGAN as a model of the generic trainer (its settings table and ops). */
#include "dcgan.h"
#include "elementwise.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

clg_dcgan_config clg_dcgan_config_default(void) {
    clg_dcgan_config c = {32, 1, 100, 64, 64, 64, 2e-4f, 0.5f, 0.999f, 1.0f, 1, 1, 0.0f,
                          0, {0, 5}, 0.0f, 0, 0, 0};
    return c;
}

clg_status clg_dcgan_config_check(const clg_dcgan_config *c) {
    if (c->image_size != 32 && c->image_size != 64)
        return clg_fail(CLG_ERR_INVALID_ARG, "--image-size must be 32 or 64, not %d",
                        c->image_size);
    if (c->nc < 1 || c->nc > 4) return clg_fail(CLG_ERR_INVALID_ARG, "channels must be 1..4");
    if (c->nz < 1 || c->nz > 4096) return clg_fail(CLG_ERR_INVALID_ARG, "--nz must be 1..4096");
    if (c->ngf < 1 || c->ngf > 1024) return clg_fail(CLG_ERR_INVALID_ARG, "--ngf must be 1..1024");
    if (c->ndf < 1 || c->ndf > 1024) return clg_fail(CLG_ERR_INVALID_ARG, "--ndf must be 1..1024");
    if (c->batch < 2 || c->batch > 4096)
        return clg_fail(CLG_ERR_INVALID_ARG, "--batch-size must be 2..4096 (BN needs 2)");
    if (!(c->lr > 0 && c->lr < 1)) return clg_fail(CLG_ERR_INVALID_ARG, "--lr must be in (0, 1)");
    if (!(c->beta1 >= 0 && c->beta1 < 1) || !(c->beta2 >= 0 && c->beta2 < 1))
        return clg_fail(CLG_ERR_INVALID_ARG, "--beta1 and beta2 must be in [0, 1)");
    if (!(c->real_label > 0.5f && c->real_label <= 1.0f))
        return clg_fail(CLG_ERR_INVALID_ARG, "the real label must be in (0.5, 1]");
    if (!(c->ema >= 0 && c->ema < 1))
        return clg_fail(CLG_ERR_INVALID_ARG, "--ema must be in [0, 1) (0: no average)");
    CLG_TRY(clg_pair_check_improved(c->mbd, c->hist_avg));
    /* classes 0: not known yet (the data sets it). */
    if (c->k_plus_one && c->classes != 0 && (c->classes < 2 || c->classes > 1000))
        return clg_fail(CLG_ERR_INVALID_ARG, "--k-plus-one needs labelled data of 2..1000 "
                        "classes (D is a classifier); the data has %d", c->classes);
    return CLG_OK;
}

/* Stages between 4x4 and the image: 3 for 32x32, 4 for 64x64. */
static int stages(const clg_dcgan_config *c) { return c->image_size == 64 ? 4 : 3; }

clg_status clg_dcgan_g_layers(clg_net *g, const clg_dcgan_config *c) {
    int s = stages(c), idx = 0, width = c->ngf << (s - 1);
    char name[32];
    snprintf(name, sizeof name, "main.%d", idx);
    CLG_TRY(clg_net_convt(g, name, width, 4, 1, 0, 0));
    for (int k = 0; k < s; k++) {
        snprintf(name, sizeof name, "main.%d", idx + 1);
        if (c->vbn) {
            CLG_TRY(clg_net_vbn(g, name, c->bn_affine));
            CLG_TRY(clg_net_act(g, CLG_ACT_RELU, 0.0f));
        } else { /* PyTorch's BatchNorm2d then ReLU, fused */
            CLG_TRY(clg_net_bn_act(g, name, c->bn_affine, CLG_ACT_RELU, 0.0f));
        }
        idx += 3;
        snprintf(name, sizeof name, "main.%d", idx);
        int last = k == s - 1;
        CLG_TRY(clg_net_convt(g, name, last ? c->nc : width / 2, 4, 2, 1, 0));
        width /= 2;
    }
    return clg_net_act(g, CLG_ACT_TANH, 0.0f);
}

clg_status clg_dcgan_d_layers(clg_net *d, const clg_dcgan_config *c) {
    int s = stages(c), width = c->ndf;
    char name[32];
    CLG_TRY(clg_net_conv(d, "main.0", width, 4, 2, 1, 0));
    CLG_TRY(clg_net_act(d, CLG_ACT_LEAKY_RELU, 0.2f));
    int idx = 2;
    for (int k = 1; k < s; k++) {
        width *= 2;
        snprintf(name, sizeof name, "main.%d", idx);
        CLG_TRY(clg_net_conv(d, name, width, 4, 2, 1, 0));
        snprintf(name, sizeof name, "main.%d", idx + 1);
        CLG_TRY(clg_net_bn_act(d, name, c->bn_affine, CLG_ACT_LEAKY_RELU, 0.2f));
        idx += 3;
    }
    snprintf(name, sizeof name, "main.%d", idx);
    const int logits = c->k_plus_one ? c->classes : 1; /* the K+1 D: K class logits */
    /* The tap "features" (feature matching's) is D's last hidden layer, the
     * logits layer's input: with minibatch discrimination the feature map
     * and the minibatch features beside it, so G's feature matching sees
     * what D tells batches apart by. */
    if (c->mbd[0] > 0) { /* on the flattened last feature map, then the logits */
        const int *o = d->layers[d->count - 1].out;
        CLG_TRY(clg_net_reshape(d, o[1] * o[2] * o[3], 1, 1));
        CLG_TRY(clg_net_mbd(d, name, c->mbd[0], c->mbd[1]));
        CLG_TRY(clg_net_name_tap(d, "features"));
        snprintf(name, sizeof name, "main.%d", idx + 1);
        return clg_net_linear(d, name, logits, 1);
    }
    CLG_TRY(clg_net_name_tap(d, "features"));
    CLG_TRY(clg_net_conv(d, name, logits, 4, 1, 0, 0));
    return clg_net_reshape(d, logits, 1, 1);
}

clg_status clg_dcgan_build_g(clg_net *g, const clg_dcgan_config *c, int gbatch) {
    clg_net_init(g, gbatch, c->nz, 1, 1);
    return clg_dcgan_g_layers(g, c);
}

clg_status clg_dcgan_build_d(clg_net *d, const clg_dcgan_config *c) {
    clg_net_init(d, c->batch, c->nc, c->image_size, c->image_size);
    return clg_dcgan_d_layers(d, c);
}

clg_pair_settings clg_dcgan_pair_settings(const clg_dcgan_config *c) {
    /* G and D draw their weights from disjoint parts of the stream. */
    clg_pair_settings s = {c->lr, c->beta1, c->beta2, c->real_label, c->ema, c->seed,
                           c->seed ^ 0x6a09e667f3bcc908ULL, c->seed ^ 0xbb67ae8584caa73bULL,
                           c->hist_avg, c->feature_matching ? "features" : NULL,
                           c->k_plus_one ? c->classes : 0};
    return s;
}

/* Both networks for training, or G alone (gen_batch > 0) for generating. */
static clg_status dcgan_setup(clg_ctx *ctx, void *model, const void *cfg, int gen_batch) {
    clg_dcgan *m = model;
    const clg_dcgan_config *c = cfg;
    memset(m, 0, sizeof *m);
    CLG_TRY(clg_dcgan_config_check(c));
    if (gen_batch == 0 && c->k_plus_one && c->classes < 2)
        return clg_fail(CLG_ERR_INVALID_ARG, "--k-plus-one trains D on the data's labels: "
                        "this data has none");
    m->cfg = *c;
    const int classes = gen_batch == 0 && c->k_plus_one ? c->classes : 0; /* D's labels */
    m->base = (clg_model){&clg_dcgan_ops, &m->cfg, 0, c->batch, c->image_size, c->nc, c->nz,
                          classes, c->seed, {0}, {0}, 0, 0};
    m->p.labels = &m->base.labels;
    clg_pair_settings ps = clg_dcgan_pair_settings(c);
    clg_status rc;
    int gb = gen_batch > 0 && !c->vbn ? gen_batch : c->batch; /* VBN: see clg_dcgan */
    CLG_TRY_GOTO(clg_dcgan_build_g(&m->p.g, c, gb), fail);
    if (gen_batch == 0) CLG_TRY_GOTO(clg_dcgan_build_d(&m->p.d, c), fail);
    CLG_TRY_GOTO(clg_pair_alloc(ctx, &m->p, &ps, gen_batch > 0), fail);
    if (gen_batch == 0) CLG_TRY_GOTO(clg_model_inputs_create(ctx, &m->base), fail);
    if (gen_batch > 0 && c->vbn) {
        int s = c->image_size;
        CLG_TRY_GOTO(clg_tensor_create(ctx, &m->gen_z, c->batch, c->nz, 1, 1, "VBN latents"), fail);
        CLG_TRY_GOTO(clg_tensor_create(ctx, &m->gen_out, gen_batch, c->nc, s, s, "samples"), fail);
    }
    return CLG_OK;
fail:
    clg_dcgan_free(ctx, m);
    return rc;
}

clg_status clg_dcgan_init(clg_ctx *ctx, clg_dcgan *m, const clg_dcgan_config *c) {
    return dcgan_setup(ctx, m, c, 0);
}

void clg_dcgan_free(clg_ctx *ctx, clg_dcgan *m) {
    clg_pair_free(ctx, &m->p);
    clg_tensor_free(ctx, &m->gen_z);
    clg_tensor_free(ctx, &m->gen_out);
    clg_model_inputs_free(ctx, &m->base);
}

clg_status clg_dcgan_step_enqueue(clg_ctx *ctx, clg_dcgan *m) {
    CLG_TRY(clg_pair_step(ctx, &m->p, &m->base.real, 0, m->base.step));
    m->base.step++;
    return CLG_OK;
}

clg_status clg_dcgan_step_finish(clg_ctx *ctx, clg_dcgan *m, clg_metrics *out) {
    return clg_pair_metrics(ctx, &m->p, out);
}

clg_status clg_dcgan_train_step(clg_ctx *ctx, clg_dcgan *m, clg_metrics *out) {
    CLG_TRY(clg_dcgan_step_enqueue(ctx, m));
    return clg_dcgan_step_finish(ctx, m, out);
}

/* ---- the model interface ---- */
#define F(key, type, member, lo, hi, flag, alias, help)                                      \
    {key, type, offsetof(clg_dcgan_config, member), lo, hi, flag, alias, help, 0, 0, NULL, 0}
static const clg_config_field fields[] = {
    F("image_size", CLG_FIELD_INT, image_size, 32, 64, "--image-size", "--imageSize", "32 or 64"),
    F("nc", CLG_FIELD_INT, nc, 1, 4, NULL, NULL, "channels (from the data)"),
    F("nz", CLG_FIELD_INT, nz, 1, 4096, "--nz", NULL, "latent size"),
    F("ngf", CLG_FIELD_INT, ngf, 1, 1024, "--ngf", NULL, "G width"),
    F("ndf", CLG_FIELD_INT, ndf, 1, 1024, "--ndf", NULL, "D width"),
    F("batch_size", CLG_FIELD_INT, batch, 2, 4096, "--batch-size", "--batchSize",
      "images per batch"),
    F("lr", CLG_FIELD_FLOAT, lr, 0, 1, "--lr", NULL, "Adam learning rate"),
    F("beta1", CLG_FIELD_FLOAT, beta1, 0, 1, "--beta1", NULL, "Adam beta1"),
    F("beta2", CLG_FIELD_FLOAT, beta2, 0, 1, "--beta2", NULL, "Adam beta2"),
    F("real_label", CLG_FIELD_FLOAT, real_label, 0.5, 1, "--real-label", NULL,
      "D's target for real images (0.9: one-sided smoothing)"),
    {"bn_affine", CLG_FIELD_FLAG, offsetof(clg_dcgan_config, bn_affine), 0, 1, "--no-affine",
     NULL, "BN without scale and shift", 1, 0, NULL, 0},
    F("seed", CLG_FIELD_U64, seed, 0, 1.8446744073709552e19, "--seed", "--manualSeed",
      "seed of weights, noise and data order"),
    {"ema", CLG_FIELD_FLOAT, offsetof(clg_dcgan_config, ema), 0, 1, "--ema", NULL,
     "keep an average of G's weights with this decay (e.g. 0.999) for sample and eval; 0: none",
     0, 1, NULL, 0},
    /* Added in 0.2: left out of the config while off, so 0.1 files stay as they were. */
    CLG_IMPROVED_GAN_FIELDS(clg_dcgan_config),
    {"vbn", CLG_FIELD_FLAG, offsetof(clg_dcgan_config, vbn), 0, 1, "--vbn", NULL,
     "virtual batch norm in G: a reference batch of z drawn once, kept in the checkpoint", 0, 1,
     NULL, 1},
    {"k_plus_one", CLG_FIELD_FLAG, offsetof(clg_dcgan_config, k_plus_one), 0, 1, "--k-plus-one",
     NULL, "D is a K+1 classifier (Salimans et al., with labels): K class logits, D(x) = "
     "Z/(Z+1), plus cross-entropy on the real batch's labels (labelled data)", 0, 1, NULL, 1},
    {"classes", CLG_FIELD_INT, offsetof(clg_dcgan_config, classes), 0, 1000, NULL, NULL,
     "classes of the K+1 D (from the data)", 0, 1, NULL, 1},
};
#undef F

static void ops_default(void *cfg) { *(clg_dcgan_config *)cfg = clg_dcgan_config_default(); }
static clg_status ops_check(const void *cfg) { return clg_dcgan_config_check(cfg); }

static void ops_common(const void *cfg, clg_model_common *out) {
    const clg_dcgan_config *c = cfg;
    /* classes 0: G takes no labels (a K+1 D's come with the batch). */
    *out = (clg_model_common){c->image_size, c->nc, c->batch, 0, c->nz, c->seed};
}

static void ops_set_data(void *cfg, int nc, int classes) {
    clg_dcgan_config *c = cfg;
    c->nc = nc;
    if (c->k_plus_one) c->classes = classes;
}

static clg_status ops_create(clg_ctx *ctx, const void *cfg, int gen_batch, clg_model **out) {
    return clg_model_new(ctx, sizeof(clg_dcgan), dcgan_setup, cfg, gen_batch, out);
}

static void ops_destroy(clg_ctx *ctx, clg_model *m) {
    clg_dcgan_free(ctx, (clg_dcgan *)m);
    free(m);
}

static int ops_parts(clg_model *mm, clg_model_part *out) {
    static const char *const names[4] = {"optG", "opt_g_step", "optD", "opt_d_step"};
    return clg_pair_parts(&((clg_dcgan *)mm)->p, "", "netD.", names, out);
}

static clg_status ops_step_enqueue(clg_ctx *ctx, clg_model *m) {
    return clg_dcgan_step_enqueue(ctx, (clg_dcgan *)m);
}

static clg_status ops_step_finish(clg_ctx *ctx, clg_model *m, clg_metrics *out) {
    return clg_dcgan_step_finish(ctx, (clg_dcgan *)m, out);
}

static const clg_tensor *ops_step_stats(clg_model *m) { return &((clg_dcgan *)m)->p.stats; }

/* BN from the batch's own statistics by default, as pytorch/examples
 * samples, without touching the running statistics. */
/* With VBN: chunks of the training batch through G, each after the
 * reference batch, rows past the latents zero. A sample depends on its z
 * and the reference alone. */
static clg_status generate_vbn(clg_ctx *ctx, clg_dcgan *m, const clg_tensor *z) {
    const int b = m->gen_z.n, n = z->n, nz = m->cfg.nz;
    const clg_tensor *out = clg_net_output(&m->p.g);
    const size_t per = clg_tensor_numel(out) / (size_t)b;
    if (n != m->gen_out.n)
        return clg_fail(CLG_ERR_INVALID_ARG, "generate: %d latents, the model was built for %d",
                        n, m->gen_out.n);
    for (int at = 0; at < n; at += b) {
        int rows = n - at < b ? n - at : b;
        clg_tensor zs = clg_tensor_slice(z, (size_t)at * nz, rows, nz, 1, 1);
        clg_tensor zd = clg_tensor_slice(&m->gen_z, 0, rows, nz, 1, 1);
        CLG_TRY(clg_tensor_zero(ctx, &m->gen_z));
        CLG_TRY(clg_copy(ctx, &zd, &zs));
        CLG_TRY(clg_net_vbn_reference(ctx, &m->p.g, NULL));
        CLG_TRY(clg_net_forward(ctx, &m->p.g, &m->gen_z, CLG_NET_BATCH_STATS));
        clg_tensor src = clg_tensor_slice(out, 0, rows, (int)per, 1, 1);
        clg_tensor dst = clg_tensor_slice(&m->gen_out, (size_t)at * per, rows, (int)per, 1, 1);
        CLG_TRY(clg_copy(ctx, &dst, &src));
    }
    return CLG_OK;
}

static clg_status ops_generate(clg_ctx *ctx, clg_model *mm, const clg_tensor *z,
                               const clg_itensor *labels, int running, const clg_tensor **images) {
    (void)labels;
    clg_dcgan *m = (clg_dcgan *)mm;
    if (m->gen_out.buf) {
        CLG_TRY(generate_vbn(ctx, m, z));
        *images = &m->gen_out;
        return CLG_OK;
    }
    CLG_TRY(clg_net_forward(ctx, &m->p.g, z, running ? CLG_NET_EVAL : CLG_NET_BATCH_STATS));
    *images = clg_net_output(&m->p.g);
    return CLG_OK;
}

const clg_model_ops clg_dcgan_ops = {
    "dcgan", CLG_CKPT_FORMAT_DCGAN, "DCGAN (Radford et al.) on 32x32 or 64x64 images",
    "Trains DCGAN (Radford et al.) as pytorch/examples does: Adam, BN, the\n"
    "non-saturating G loss.",
    sizeof(clg_dcgan_config), fields, (int)(sizeof fields / sizeof fields[0]), 0, 1,
    ops_default, ops_check, ops_common, ops_set_data, ops_create, ops_destroy, ops_parts,
    ops_step_enqueue, ops_step_finish, ops_generate, NULL, NULL, NULL, NULL, ops_step_stats};
