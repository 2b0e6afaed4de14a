/* ssl.c: semi-supervised learning with a K+1 discriminator (Salimans et
 * al. 2016, papers.md section 4), as openai/improved-gan's
 * train_mnist_feature_matching.py sets it up:
 *
 *   D: x -> noise(0.6) -> [WN linear(w) ReLU noise(0.5)] for w = 1000, 500,
 *      250, 250, 250 -> WN linear(K): K class logits; class K+1's logit is
 *      0, so D(x) = Z / (Z + 1), Z = sum_k exp(l_k). The last hidden layer's
 *      ReLU output is the tap "features".
 *   G: z (100) -> linear(500) BN softplus -> linear(500) BN softplus
 *      -> WN linear(784) tanh
 *
 * D's loss: cross-entropy on a labelled batch + w x (0.5 BCE(D(x_unl), 1)
 * + 0.5 BCE(D(G(z)), 0)), the BCEs from log-sum-exp (clg_lse_bce_*); G's:
 * feature matching on "features" (gan_pair.c). The labelled examples are N
 * per class, picked from the training set by the seed (clg_ssl_pick); each
 * step's unlabelled batch is the trainer's batch (labels unused). D's
 * weights are averaged (rate `avg`) and the average is what test accuracy
 * measures: it starts at zero, as the reference's does, and is divided by
 * 1 - (1 - rate)^step when used (Adam's bias correction), so that short
 * runs average the weights they visited, not zeros. unlabeled_weight 0 is the supervised baseline: the same D, the
 * same labelled batches and noise, no G.
 *
 * Where ours differs from the reference (RESULTS.md says it too): images
 * in [-1, 1] and G's tanh instead of [0, 1] and sigmoid (the same function:
 * tanh(a) = 2 sigmoid(2a) - 1), so D's input noise is 0.6 for its 0.3; z ~
 * N(0, 1) instead of U(0, 1); every WN layer trains its scale g (the
 * reference trains only the last one's); G's BN also has a trained gamma;
 * D's unlabelled batch is also G's feature-matching batch (the reference
 * draws a second permutation); the average's bias correction, and its rate
 * (0.01 by default: runs here are thousands of steps, not 180,000).
 *
 * --arch conv: the reference's CIFAR-10 networks
 * (train_cifar_feature_matching.py) on 32x32 images, every width divided
 * by 8 (CONV_DIV). Why: a step runs D forward and backward on three
 * batches and G's feature matching through D, about 13 passes of D and 4
 * of G; at full width (D 96/192 channels, G 512/256/128, 5x5) that is
 * about 0.8 TFLOP at batch 100, a minute or more a step on this project's
 * 2-core CPU. At an eighth it is about 15 GFLOP (D 8.7 MFLOP and G 9 MFLOP
 * an image forward), measured at 2.4 s a step on the shared machine where
 * the MLP's took 1.3 s (RESULTS.md); a quarter measured 5.8 s, since the
 * convolutions of few channels run far below the kernels' peak.
 *
 *   D: dropout(0.2) -> [WN conv 3x3 (12, 12, 12 stride 2) lrelu(0.2)]
 *      -> dropout(0.5) -> [WN conv 3x3 (24, 24, 24 stride 2) lrelu]
 *      -> dropout(0.5) -> WN conv 3x3 valid (24) lrelu -> [WN conv 1x1
 *      (NIN, 24) lrelu] x 2 -> global average pool ("features") -> WN
 *      linear(K), its data-dependent init to scale 0.1 (init_stdv 0.1)
 *   G: z -> linear(4x4x64) BN relu -> convT 4x4 s2 (32, 8x8) BN relu ->
 *      convT (16, 16x16) BN relu -> convT (nc, 32x32) tanh
 *
 * Beyond the MLP's differences: G's transposed convolutions are 4x4
 * (DCGAN's, stride 2 pad 1) for its 5x5 (which need an output padding our
 * convT lacks), and its last one is plain, not weight-normalised (our
 * weight norm normalises the first axis, convT's input channels); G has no
 * data-dependent init (its BN layers set the scale); feature matching is
 * the squared L2 distance of the pooled features' means (the reference's
 * CIFAR code takes the mean absolute difference); the learning rate
 * default is the MNIST code's 0.003 (its CIFAR code: --lr 0.0003, decayed
 * linearly over the last two thirds of 1200 epochs). */
#include "ssl.h"
#include "grad_buckets.h"
#include "parallel.h"
#include "data.h"
#include "elementwise.h"
#include "gan_pair.h"
#include "loss.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const int d_widths[] = {1000, 500, 250, 250, 250};
#define D_HIDDEN ((int)(sizeof d_widths / sizeof d_widths[0]))

/* --arch conv: the reference CIFAR-10 D's convolutions (output channels,
 * kernel, stride, padding) and G's widths, all divided by CONV_DIV (8:
 * see the top of the file). */
#define CONV_DIV 8
static const struct { int k, r, stride, pad; } d_convs[] = {
    {96, 3, 1, 1}, {96, 3, 1, 1}, {96, 3, 2, 1},    /* then dropout 0.5 */
    {192, 3, 1, 1}, {192, 3, 1, 1}, {192, 3, 2, 1}, /* then dropout 0.5 */
    {192, 3, 1, 0}, {192, 1, 1, 0}, {192, 1, 1, 0},
};
#define D_CONVS ((int)(sizeof d_convs / sizeof d_convs[0]))
static const int g_widths[] = {512, 256, 128}; /* 4x4, 8x8, 16x16 */

typedef struct {
    clg_model base;
    clg_ssl_config cfg;
    clg_pair p;
    clg_tensor x_lab, stats, d_avg, d_swap;
    clg_itensor y_lab;
    float *pool_x;   /* (n_lab, per) the labelled examples, scaled */
    int32_t *pool_y; /* (n_lab) their labels */
    int n_lab, per;
    int *perm;       /* the labelled order of `perm_index` (-1: none yet) */
    long perm_index;
    float *host;     /* (batch, per) staging; (batch, classes) logits */
    float *logits;
} ssl_model;

clg_ssl_config clg_ssl_config_default(void) {
    clg_ssl_config c = {0, 1, 100, 100, 10, 10, 500, 3e-3f, 0.5f, 0.999f, 1.0f, 1e-2f, 1,
                        CLG_SSL_ARCH_MLP, CLG_SSL_SCALES_ALL};
    return c;
}

static int arch_size(int arch) { return arch == CLG_SSL_ARCH_CONV ? 32 : 28; }

int clg_ssl_image_size(const clg_ssl_config *c) {
    return c->image_size ? c->image_size : arch_size(c->arch);
}

clg_status clg_ssl_config_check(const clg_ssl_config *c) {
    if (c->arch != CLG_SSL_ARCH_MLP && c->arch != CLG_SSL_ARCH_CONV)
        return clg_fail(CLG_ERR_INVALID_ARG, "--arch must be mlp or conv");
    if (clg_ssl_image_size(c) != arch_size(c->arch))
        return clg_fail(CLG_ERR_INVALID_ARG, "ssl --arch %s trains on %dx%d images, not %d",
                        c->arch ? "conv" : "mlp", arch_size(c->arch), arch_size(c->arch),
                        c->image_size);
    if (c->nc < 1 || c->nc > 4) return clg_fail(CLG_ERR_INVALID_ARG, "channels must be 1..4");
    if (c->nz < 1 || c->nz > 4096) return clg_fail(CLG_ERR_INVALID_ARG, "--nz must be 1..4096");
    CLG_TRY(clg_pair_check(c->batch, c->lr, c->beta1, c->beta2, 1.0f, 0.0f));
    if (c->classes < 2 || c->classes > 1000)
        return clg_fail(CLG_ERR_INVALID_ARG, "ssl needs labelled data with 2..1000 classes "
                        "(got %d)", c->classes);
    if (c->labels_per_class < 1 || c->labels_per_class > 100000)
        return clg_fail(CLG_ERR_INVALID_ARG, "--labels-per-class must be 1..100000");
    if (c->init_examples < 2 || c->init_examples > 100000)
        return clg_fail(CLG_ERR_INVALID_ARG, "--init-examples must be 2..100000");
    if (!(c->unlabeled_weight >= 0 && c->unlabeled_weight <= 100))
        return clg_fail(CLG_ERR_INVALID_ARG, "--unlabeled-weight must be in [0, 100]");
    if (!(c->avg > 0 && c->avg <= 1))
        return clg_fail(CLG_ERR_INVALID_ARG, "--d-average must be in (0, 1]");
    if (c->scales != CLG_SSL_SCALES_ALL && c->scales != CLG_SSL_SCALES_LAST)
        return clg_fail(CLG_ERR_INVALID_ARG, "--scales must be all or last");
    return CLG_OK;
}

static void name_of(char *buf, int idx) { snprintf(buf, CLG_NAME_MAX, "main.%d", idx); }

static clg_status build_d_mlp(clg_net *d, const clg_ssl_config *c) {
    char nm[CLG_NAME_MAX];
    const int s = c->image_size;
    int idx = 0;
    CLG_TRY(clg_net_reshape(d, c->nc * s * s, 1, 1));
    CLG_TRY(clg_net_noise(d, 0.6f));
    for (int k = 0; k < D_HIDDEN; k++, idx += 3) {
        name_of(nm, idx);
        CLG_TRY(clg_net_wn_linear_v(d, nm, d_widths[k], 1.0f, 0.1f));
        if (c->scales == CLG_SSL_SCALES_LAST) CLG_TRY(clg_net_fix_scale(d));
        CLG_TRY(clg_net_act(d, CLG_ACT_RELU, 0.0f));
        if (k == D_HIDDEN - 1) CLG_TRY(clg_net_name_tap(d, "features"));
        CLG_TRY(clg_net_noise(d, 0.5f));
    }
    name_of(nm, idx);
    return clg_net_wn_linear_v(d, nm, c->classes, 1.0f, 0.1f);
}

/* Layers are named by their index, as in an nn.Sequential. */
static clg_status build_d_conv(clg_net *d, const clg_ssl_config *c) {
    char nm[CLG_NAME_MAX];
    CLG_TRY(clg_net_dropout(d, 0.2f));
    for (int i = 0; i < D_CONVS; i++) {
        name_of(nm, d->count);
        CLG_TRY(clg_net_wn_conv(d, nm, d_convs[i].k / CONV_DIV, d_convs[i].r, d_convs[i].stride,
                                d_convs[i].pad));
        CLG_TRY(clg_net_act(d, CLG_ACT_LEAKY_RELU, 0.2f));
        if (d_convs[i].stride == 2) CLG_TRY(clg_net_dropout(d, 0.5f));
    }
    CLG_TRY(clg_net_gavgpool(d));
    CLG_TRY(clg_net_name_tap(d, "features"));
    name_of(nm, d->count);
    return clg_net_wn_linear_v(d, nm, c->classes, 0.1f, 0.05f);
}

clg_status clg_ssl_build_d(clg_net *d, const clg_ssl_config *c, int batch) {
    const int s = c->image_size;
    clg_net_init(d, batch, c->nc, s, s);
    d->rng_seed = c->seed ^ 0x510e527fade682d1ULL;
    return c->arch == CLG_SSL_ARCH_CONV ? build_d_conv(d, c) : build_d_mlp(d, c);
}

static clg_status build_g_conv(clg_net *g, const clg_ssl_config *c) {
    char nm[CLG_NAME_MAX];
    const int w0 = g_widths[0] / CONV_DIV;
    name_of(nm, g->count);
    CLG_TRY(clg_net_linear(g, nm, w0 * 4 * 4, 0));
    name_of(nm, g->count);
    CLG_TRY(clg_net_bn(g, nm, 1));
    CLG_TRY(clg_net_act(g, CLG_ACT_RELU, 0.0f));
    CLG_TRY(clg_net_reshape(g, w0, 4, 4));
    for (int k = 1; k < 3; k++) {
        name_of(nm, g->count);
        CLG_TRY(clg_net_convt(g, nm, g_widths[k] / CONV_DIV, 4, 2, 1, 0));
        name_of(nm, g->count);
        CLG_TRY(clg_net_bn(g, nm, 1));
        CLG_TRY(clg_net_act(g, CLG_ACT_RELU, 0.0f));
    }
    name_of(nm, g->count);
    CLG_TRY(clg_net_convt(g, nm, c->nc, 4, 2, 1, 1));
    return clg_net_act(g, CLG_ACT_TANH, 0.0f);
}

static clg_status build_g(clg_net *g, const clg_ssl_config *c, int batch) {
    char nm[CLG_NAME_MAX];
    const int s = c->image_size;
    clg_net_init(g, batch, c->nz, 1, 1);
    g->init_std = 0.05f; /* about Glorot's for these widths; the CIFAR code's N(0, 0.05) */
    if (c->arch == CLG_SSL_ARCH_CONV) return build_g_conv(g, c);
    for (int k = 0; k < 2; k++) {
        name_of(nm, 3 * k);
        CLG_TRY(clg_net_linear(g, nm, 500, 0));
        name_of(nm, 3 * k + 1);
        CLG_TRY(clg_net_bn(g, nm, 1));
        CLG_TRY(clg_net_act(g, CLG_ACT_SOFTPLUS, 0.0f));
    }
    CLG_TRY(clg_net_wn_linear(g, "main.6", c->nc * s * s, 1.0f));
    CLG_TRY(clg_net_act(g, CLG_ACT_TANH, 0.0f));
    return clg_net_reshape(g, c->nc, s, s);
}

static void ssl_free(clg_ctx *ctx, ssl_model *m) {
    clg_pair_free(ctx, &m->p);
    clg_tensor_free(ctx, &m->x_lab), clg_tensor_free(ctx, &m->stats);
    clg_tensor_free(ctx, &m->d_avg), clg_tensor_free(ctx, &m->d_swap);
    clg_itensor_free(ctx, &m->y_lab);
    clg_model_inputs_free(ctx, &m->base);
    free(m->pool_x), free(m->pool_y), free(m->perm), free(m->host), free(m->logits);
}

static clg_status params_like(clg_ctx *ctx, const clg_net *net, clg_tensor *t, const char *what) {
    clg_tensor ps = clg_block_tensor(&net->params);
    return clg_tensor_create(ctx, t, ps.n, ps.c, ps.h, ps.w, what);
}

static clg_status ssl_build(clg_ctx *ctx, ssl_model *m, int gen_batch) {
    const clg_ssl_config *c = &m->cfg;
    const int b = c->batch, s = c->image_size;
    CLG_TRY(build_g(&m->p.g, c, gen_batch > 0 ? gen_batch : b));
    if (!gen_batch) CLG_TRY(clg_ssl_build_d(&m->p.d, c, b));
    clg_pair_settings ps = {c->lr, c->beta1, c->beta2, 1.0f, 0.0f, c->seed,
                            c->seed ^ 0x6a09e667f3bcc908ULL, c->seed ^ 0xbb67ae8584caa73bULL,
                            0.0f, "features", 0};
    CLG_TRY(clg_pair_alloc(ctx, &m->p, &ps, gen_batch > 0));
    if (gen_batch) return CLG_OK;
    CLG_TRY(clg_model_inputs_create(ctx, &m->base));
    CLG_TRY(clg_tensor_create(ctx, &m->x_lab, b, c->nc, s, s, "labelled batch"));
    CLG_TRY(clg_itensor_create(ctx, &m->y_lab, b, "labelled batch's labels"));
    CLG_TRY(clg_tensor_create(ctx, &m->stats, 1, 6, 1, 1, "ssl loss statistics"));
    CLG_TRY(clg_tensor_zero(ctx, &m->stats)); /* the baseline never writes the K+1 terms' */
    CLG_TRY(params_like(ctx, &m->p.d, &m->d_avg, "D's average"));
    CLG_TRY(params_like(ctx, &m->p.d, &m->d_swap, "D's weights during evaluation"));
    CLG_TRY(clg_tensor_zero(ctx, &m->d_avg));
    m->per = c->nc * s * s;
    m->perm_index = -1;
    m->host = malloc((size_t)b * (size_t)m->per * sizeof *m->host);
    m->logits = malloc((size_t)b * (size_t)c->classes * sizeof *m->logits);
    if (!m->host || !m->logits) return clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory");
    return CLG_OK;
}

static clg_status ssl_setup(clg_ctx *ctx, void *model, const void *cfg, int gen_batch) {
    ssl_model *m = model;
    CLG_TRY(clg_ssl_config_check(cfg));
    m->cfg = *(const clg_ssl_config *)cfg;
    m->cfg.image_size = clg_ssl_image_size(&m->cfg);
    const clg_ssl_config *c = &m->cfg;
    m->base = (clg_model){&clg_ssl_ops, &m->cfg, 0, c->batch, c->image_size, c->nc, c->nz,
                          c->classes, c->seed, {0}, {0}, 0, 0};
    clg_status rc = ssl_build(ctx, m, gen_batch);
    if (rc != CLG_OK) ssl_free(ctx, m);
    return rc;
}

/* ---- the labelled examples ---- */

clg_status clg_ssl_pick(const clg_dataset *train, int per_class, uint64_t seed, int *order,
                        int *picked) {
    if (!train->labels || train->num_classes < 1)
        return clg_fail(CLG_ERR_INVALID_ARG, "ssl: the training data has no labels");
    const int k = train->num_classes;
    int *have = calloc((size_t)k, sizeof *have), n = 0;
    if (!have) return clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory");
    clg_permutation(seed, 0, train->n, order);
    for (int i = 0; i < train->n && n < k * per_class; i++) {
        const int y = train->labels[order[i]];
        if (y < k && have[y] < per_class) have[y]++, picked[n++] = order[i];
    }
    clg_status rc = CLG_OK;
    for (int y = 0; y < k && rc == CLG_OK; y++)
        if (have[y] < per_class)
            rc = clg_fail(CLG_ERR_INVALID_ARG, "--labels-per-class %d: class %d has only %d "
                          "examples in the training data", per_class, y, have[y]);
    free(have);
    return rc;
}

/* D's data-dependent initialisation on the first init_examples images of
 * the seed's permutation, through a copy of D built for that batch. */
static clg_status data_init(clg_ctx *ctx, ssl_model *m, const clg_dataset *train,
                            const int *order) {
    const clg_ssl_config *c = &m->cfg;
    const int n = c->init_examples < train->n ? c->init_examples : train->n;
    clg_net tmp = {0};
    clg_tensor x = {0};
    float *img = malloc((size_t)n * (size_t)m->per * sizeof *img);
    clg_status rc = img ? clg_ssl_build_d(&tmp, c, n)
                        : clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory");
    for (int i = 0; rc == CLG_OK && i < n; i++)
        clg_dataset_image(train, order[i], c->image_size, img + (size_t)i * m->per);
    if (rc == CLG_OK) rc = clg_net_alloc(ctx, &tmp);
    if (rc == CLG_OK) rc = clg_net_init_params(ctx, &tmp, m->p.s.d_seed);
    if (rc == CLG_OK) rc = clg_tensor_create(ctx, &x, n, c->nc, c->image_size, c->image_size,
                                             "initialisation batch");
    if (rc == CLG_OK) rc = clg_tensor_upload(ctx, &x, img);
    if (rc == CLG_OK) rc = clg_net_data_init(ctx, &tmp, &x);
    clg_tensor src = clg_block_tensor(&tmp.params), dst = clg_block_tensor(&m->p.d.params);
    if (rc == CLG_OK) rc = clg_copy(ctx, &dst, &src);
    if (rc == CLG_OK) rc = clg_ctx_finish(ctx);
    clg_tensor_free(ctx, &x);
    clg_net_free(ctx, &tmp);
    free(img);
    return rc;
}

static clg_status ops_prepare(clg_ctx *ctx, clg_model *mm, const clg_dataset *train) {
    ssl_model *m = (ssl_model *)mm;
    const clg_ssl_config *c = &m->cfg;
    const int want = c->labels_per_class * c->classes;
    if (train->c != c->nc || train->num_classes != c->classes)
        return clg_fail(CLG_ERR_INVALID_ARG, "ssl: the data has %d channels and %d classes, the "
                        "model %d and %d", train->c, train->num_classes, c->nc, c->classes);
    int *order = malloc((size_t)train->n * sizeof *order), *picked = malloc((size_t)want * sizeof *picked);
    m->pool_x = malloc((size_t)want * (size_t)m->per * sizeof *m->pool_x);
    m->pool_y = malloc((size_t)want * sizeof *m->pool_y);
    m->perm = malloc((size_t)want * sizeof *m->perm);
    clg_status rc = order && picked && m->pool_x && m->pool_y && m->perm
                        ? clg_ssl_pick(train, c->labels_per_class, c->seed, order, picked)
                        : clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory");
    for (int i = 0; rc == CLG_OK && i < want; i++) {
        clg_dataset_image(train, picked[i], c->image_size, m->pool_x + (size_t)i * m->per);
        m->pool_y[i] = train->labels[picked[i]];
    }
    m->n_lab = want;
    if (rc == CLG_OK) rc = data_init(ctx, m, train, order);
    free(order), free(picked);
    return rc;
}

/* The labelled batch of a step: positions step * B .. of the labelled
 * examples in a fresh permutation each pass (as the reference concatenates
 * permutations), so it depends only on (seed, step). A data-parallel rank
 * (batch b = B / ranks) takes its share: rank r the b from step * B + r b. */
static clg_status labelled_batch(clg_ctx *ctx, ssl_model *m, long step) {
    const int b = m->cfg.batch, ranks = clg_dp_ranks(ctx), rank = clg_dp_rank(ctx);
    int32_t y[4096];
    for (int i = 0; i < b; i++) {
        const long q = (step * ranks + rank) * b + i, pass = q / m->n_lab;
        if (pass != m->perm_index) {
            clg_permutation(m->cfg.seed ^ 0x3c6ef372fe94f82bULL, pass, m->n_lab, m->perm);
            m->perm_index = pass;
        }
        const int j = m->perm[q % m->n_lab];
        memcpy(m->host + (size_t)i * m->per, m->pool_x + (size_t)j * m->per,
               (size_t)m->per * sizeof *m->host);
        y[i] = m->pool_y[j];
    }
    CLG_TRY(clg_tensor_upload(ctx, &m->x_lab, m->host));
    return clg_itensor_upload_labels(ctx, &m->y_lab, y, m->cfg.classes);
}

/* ---- a step ---- */

/* D on x: its loss's statistics into stats[2k, 2k+1], the gradient of
 * `scale` x the loss into D's parameter gradients. target < 0: the
 * labelled cross-entropy, else the K+1 BCE against target. */
static clg_status d_term(clg_ctx *ctx, ssl_model *m, const clg_tensor *x, float target,
                         float scale, int k) {
    clg_net *d = &m->p.d;
    clg_tensor st = clg_tensor_slice(&m->stats, (size_t)2 * k, 1, 2, 1, 1), dout = clg_net_doutput(d);
    const clg_tensor *out = clg_net_output(d);
    CLG_TRY(clg_net_forward(ctx, d, x, CLG_NET_TRAIN));
    if (target < 0) {
        CLG_TRY(clg_xent_forward(ctx, &st, out, &m->y_lab));
        CLG_TRY(clg_xent_backward(ctx, &dout, out, &m->y_lab));
    } else {
        CLG_TRY(clg_lse_bce_forward(ctx, &st, out, target));
        CLG_TRY(clg_lse_bce_backward(ctx, &dout, out, target, scale));
    }
    return clg_net_backward(ctx, d, x, NULL, 1);
}

clg_status clg_ssl_d_grads(clg_ctx *ctx, clg_model *mm, const clg_tensor *unl, long index) {
    ssl_model *m = (ssl_model *)mm;
    const float w = m->cfg.unlabeled_weight;
    clg_pair *p = &m->p;
    CLG_TRY(clg_net_zero_grad(ctx, &p->d));
    if (!(w > 0)) { /* the labelled pass alone completes D's gradients */
        CLG_TRY(clg_grad_buckets_arm(ctx, &p->d));
        return d_term(ctx, m, &m->x_lab, -1.0f, 1.0f, 0);
    }
    CLG_TRY(d_term(ctx, m, &m->x_lab, -1.0f, 1.0f, 0));
    CLG_TRY(d_term(ctx, m, unl, 1.0f, 0.5f * w, 1));
    CLG_TRY(clg_model_noise_share(ctx, p->s.noise_seed, &p->z, 0, index));
    CLG_TRY(clg_net_forward(ctx, &p->g, &p->z, CLG_NET_TRAIN));
    CLG_TRY(clg_grad_buckets_arm(ctx, &p->d)); /* the generated pass completes them */
    return d_term(ctx, m, clg_net_output(&p->g), 0.0f, 0.5f * w, 2);
}

static clg_status ops_step_enqueue(clg_ctx *ctx, clg_model *mm) {
    ssl_model *m = (ssl_model *)mm;
    if (!m->p.d.count) return clg_fail(CLG_ERR_INVALID_ARG, "this model was built for generating only");
    CLG_TRY(labelled_batch(ctx, m, mm->step));
    CLG_TRY(clg_ssl_d_grads(ctx, mm, &mm->real, mm->step));
    CLG_TRY(clg_model_adam_step(ctx, &m->p.opt_d, &m->p.d));
    clg_tensor dp = clg_block_tensor(&m->p.d.params);
    CLG_TRY(clg_scale(ctx, &m->d_avg, &m->d_avg, 1.0f - m->cfg.avg));
    CLG_TRY(clg_axpy(ctx, &m->d_avg, m->cfg.avg, &dp));
    if (m->cfg.unlabeled_weight > 0) CLG_TRY(clg_pair_g_step(ctx, &m->p, &mm->real));
    mm->step++;
    return CLG_OK;
}

static clg_status ops_step_finish(clg_ctx *ctx, clg_model *mm, clg_metrics *out) {
    ssl_model *m = (ssl_model *)mm;
    float st[6] = {0}, v[5] = {0};
    CLG_TRY(clg_tensor_download(ctx, &m->stats, st));
    if (m->cfg.unlabeled_weight > 0) CLG_TRY(clg_pair_read(ctx, &m->p, v));
    *out = (clg_metrics){6,
                         {"loss_lab", "train_acc", "loss_unl", "d_x", "d_g_z", "loss_g"},
                         {"loss_lab", "acc", "loss_unl", "D(x)", "D(G(z))", "loss_G"},
                         {st[0], st[1], 0.5f * (st[2] + st[4]), st[3], st[5], v[1]}};
    return CLG_OK;
}

/* ---- test accuracy ---- */

/* Classify `test` with D's current parameters (noise off): right answers. */
static clg_status count_right(clg_ctx *ctx, ssl_model *m, const clg_dataset *test, long *right) {
    const int b = m->cfg.batch, k = m->cfg.classes;
    *right = 0;
    for (int first = 0; first < test->n; first += b) {
        const int rows = test->n - first < b ? test->n - first : b;
        for (int i = 0; i < b; i++) /* a short last batch repeats its last image */
            clg_dataset_image(test, first + (i < rows ? i : rows - 1), m->cfg.image_size,
                              m->host + (size_t)i * m->per);
        CLG_TRY(clg_tensor_upload(ctx, &m->x_lab, m->host));
        CLG_TRY(clg_net_forward(ctx, &m->p.d, &m->x_lab, CLG_NET_EVAL));
        CLG_TRY(clg_tensor_download(ctx, clg_net_output(&m->p.d), m->logits));
        for (int i = 0; i < rows; i++) {
            const float *l = m->logits + (size_t)i * k;
            int best = 0;
            for (int j = 1; j < k; j++)
                if (l[j] > l[best]) best = j;
            *right += best == test->labels[first + i];
        }
    }
    return CLG_OK;
}

clg_status clg_ssl_test(clg_ctx *ctx, clg_model *mm, const clg_dataset *test, long *right_avg,
                        long *right_raw) {
    ssl_model *m = (ssl_model *)mm;
    if (!m->p.d.count) return clg_fail(CLG_ERR_INVALID_ARG, "ssl: D was not built");
    const int s = m->cfg.image_size, padded = test->h == 28 && test->w == 28 && s == 32;
    if (!test->labels || test->c != m->cfg.nc || !(padded || (test->h == s && test->w == s)) ||
        test->n < 1)
        return clg_fail(CLG_ERR_INVALID_ARG, "ssl: the test data must be labelled %dx%dx%d "
                        "images (got %d of %dx%dx%d)", m->cfg.nc, m->cfg.image_size,
                        m->cfg.image_size, test->n, test->c, test->h, test->w);
    CLG_TRY(count_right(ctx, m, test, right_raw));
    clg_tensor dp = clg_block_tensor(&m->p.d.params);
    if (mm->step < 1) return count_right(ctx, m, test, right_avg); /* no average yet */
    const double kept = pow(1.0 - m->cfg.avg, (double)mm->step);
    CLG_TRY(clg_copy(ctx, &m->d_swap, &dp));
    CLG_TRY(clg_scale(ctx, &dp, &m->d_avg, (float)(1.0 / (1.0 - kept))));
    clg_status rc = count_right(ctx, m, test, right_avg);
    clg_status rc2 = clg_copy(ctx, &dp, &m->d_swap);
    return rc != CLG_OK ? rc : rc2;
}

static clg_status ops_evaluate(clg_ctx *ctx, clg_model *mm, const clg_dataset *test,
                               clg_metrics *out) {
    long avg, raw;
    CLG_TRY(clg_ssl_test(ctx, mm, test, &avg, &raw));
    *out = (clg_metrics){3,
                         {"test_acc", "test_errors", "test_acc_raw"},
                         {"test acc (D's average)", "errors", "test acc (D)"},
                         {(float)avg / (float)test->n, (float)(test->n - avg),
                          (float)raw / (float)test->n}};
    return CLG_OK;
}

/* ---- the rest of the interface ---- */

static clg_status ops_create(clg_ctx *ctx, const void *cfg, int gen_batch, clg_model **out) {
    return clg_model_new(ctx, sizeof(ssl_model), ssl_setup, cfg, gen_batch, out);
}

static void ops_destroy(clg_ctx *ctx, clg_model *m) {
    ssl_free(ctx, (ssl_model *)m);
    free(m);
}

static int ops_parts(clg_model *mm, clg_model_part *out) {
    static const char *const names[4] = {"optG", "opt_g_step", "optD", "opt_d_step"};
    ssl_model *m = (ssl_model *)mm;
    int n = clg_pair_parts(&m->p, "", "netD.", names, out);
    if (n > 1) out[1].avg = &m->d_avg;
    return n;
}

static clg_status ops_generate(clg_ctx *ctx, clg_model *mm, const clg_tensor *z,
                               const clg_itensor *labels, int running, const clg_tensor **images) {
    ssl_model *m = (ssl_model *)mm;
    (void)labels;
    CLG_TRY(clg_net_forward(ctx, &m->p.g, z, running ? CLG_NET_EVAL : CLG_NET_BATCH_STATS));
    *images = clg_net_output(&m->p.g);
    return CLG_OK;
}

#define F(key, type, member, lo, hi, flag, help)                                             \
    {key, type, offsetof(clg_ssl_config, member), lo, hi, flag, NULL, help, 0, 0, NULL, 0}
static const clg_config_field fields[] = {
    {"arch", CLG_FIELD_CHOICE, offsetof(clg_ssl_config, arch), 0, 1, "--arch", NULL,
     "mlp (improved-gan's MNIST networks, 28x28) or conv (its CIFAR-10 networks, widths / 8, "
     "32x32: 28x28 data padded)", 0, 1, "mlp|conv", 1},
    F("image_size", CLG_FIELD_INT, image_size, 0, 32, NULL, "28 (mlp) or 32 (conv)"),
    F("nc", CLG_FIELD_INT, nc, 1, 4, NULL, "channels (from the data)"),
    F("nz", CLG_FIELD_INT, nz, 1, 4096, "--nz", "latent size"),
    F("batch_size", CLG_FIELD_INT, batch, 2, 4096, "--batch-size",
      "images per batch (labelled, unlabelled and generated: one batch of each)"),
    F("classes", CLG_FIELD_INT, classes, 2, 1000, NULL, "classes (from the data)"),
    F("labels_per_class", CLG_FIELD_INT, labels_per_class, 1, 100000, "--labels-per-class",
      "labelled examples per class, picked by the seed; the rest is unlabelled"),
    F("init_examples", CLG_FIELD_INT, init_examples, 2, 100000, "--init-examples",
      "images of D's data-dependent initialisation"),
    F("lr", CLG_FIELD_FLOAT, lr, 0, 1, "--lr", "Adam learning rate"),
    F("beta1", CLG_FIELD_FLOAT, beta1, 0, 1, "--beta1", "Adam beta1"),
    F("beta2", CLG_FIELD_FLOAT, beta2, 0, 1, "--beta2", "Adam beta2"),
    F("unlabeled_weight", CLG_FIELD_FLOAT, unlabeled_weight, 0, 100, "--unlabeled-weight",
      "weight of the unsupervised term; 0: the supervised baseline (no G)"),
    F("d_average", CLG_FIELD_FLOAT, avg, 0, 1, "--d-average",
      "rate of D's weight average (bias-corrected), which test accuracy uses (the "
      "reference: 1e-4 over 180,000 steps)"),
    F("seed", CLG_FIELD_U64, seed, 0, 1.8446744073709552e19, "--seed",
      "seed of the labelled subset, weights, noise and data order"),
    {"scales", CLG_FIELD_CHOICE, offsetof(clg_ssl_config, scales), 0, 1, "--scales", NULL,
     "which weight-normalised layers of D train their scale g: all, or last (the reference's "
     "MNIST code: the hidden layers keep the g of the data-dependent initialisation; mlp only)",
     0, 1, "all|last", 1},
};
#undef F

static void ops_default(void *cfg) { *(clg_ssl_config *)cfg = clg_ssl_config_default(); }
static clg_status ops_check(const void *cfg) { return clg_ssl_config_check(cfg); }

static void ops_common(const void *cfg, clg_model_common *out) {
    const clg_ssl_config *c = cfg;
    *out = (clg_model_common){clg_ssl_image_size(c), c->nc, c->batch, c->classes, c->nz, c->seed};
}

static void ops_set_data(void *cfg, int nc, int classes) {
    clg_ssl_config *c = cfg;
    c->image_size = clg_ssl_image_size(c);
    c->nc = nc;
    c->classes = classes;
}

const clg_model_ops clg_ssl_ops = {
    "ssl", "clgan-ssl-1",
    "semi-supervised learning with a K+1 discriminator (Salimans et al.)",
    "Trains Salimans et al.'s semi-supervised GAN (openai/improved-gan's MNIST\n"
    "setup): D is a K-class classifier of weight-normalised layers with Gaussian\n"
    "noise whose logits also give D(x) = Z/(Z+1); its loss is cross-entropy on N\n"
    "labelled examples per class (--labels-per-class, picked by the seed) plus\n"
    "the GAN loss on the rest of the training set, unlabelled; G learns by\n"
    "feature matching. Test accuracy (D's weight average) after each epoch.\n"
    "--unlabeled-weight 0 trains the same D on the labelled examples alone.\n"
    "--arch conv: the reference's CIFAR-10 networks (weight-normalised convolutions,\n"
    "dropout, global average pooling; widths divided by 8) on 32x32 images\n"
    "(Fashion-MNIST padded, or a CIFAR-10 binary folder: ssl needs labelled data);\n"
    "its reference --lr is 0.0003.",
    sizeof(clg_ssl_config), fields, (int)(sizeof fields / sizeof fields[0]), 1, 1,
    ops_default, ops_check, ops_common, ops_set_data, ops_create, ops_destroy, ops_parts,
    ops_step_enqueue, ops_step_finish, ops_generate, ops_evaluate, NULL, NULL, ops_prepare, NULL};
