/* dcgan.c: DCGAN networks and the training step of pytorch/examples. */
#include "dcgan.h"
#include "elementwise.h"
#include "loss.h"
#include "rng.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

clg_dcgan_config clg_dcgan_config_default(void) {
    clg_dcgan_config c = {32, 1, 100, 64, 64, 64, 2e-4f, 0.5f, 0.999f, 1.0f, 1, 1, 0.0f};
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
    return CLG_OK;
}

/* Stages between 4x4 and the image: 3 for 32x32, 4 for 64x64. */
static int stages(const clg_dcgan_config *c) { return c->image_size == 64 ? 4 : 3; }

clg_status clg_dcgan_build_g(clg_net *g, const clg_dcgan_config *c, int gbatch) {
    clg_net_init(g, gbatch, c->nz, 1, 1);
    int s = stages(c), idx = 0, width = c->ngf << (s - 1);
    char name[32];
    snprintf(name, sizeof name, "main.%d", idx);
    CLG_TRY(clg_net_convt(g, name, width, 4, 1, 0, 0));
    for (int k = 0; k < s; k++) {
        snprintf(name, sizeof name, "main.%d", idx + 1);
        CLG_TRY(clg_net_bn(g, name, c->bn_affine));
        CLG_TRY(clg_net_act(g, CLG_ACT_RELU, 0.0f));
        idx += 3;
        snprintf(name, sizeof name, "main.%d", idx);
        int last = k == s - 1;
        CLG_TRY(clg_net_convt(g, name, last ? c->nc : width / 2, 4, 2, 1, 0));
        width /= 2;
    }
    return clg_net_act(g, CLG_ACT_TANH, 0.0f);
}

clg_status clg_dcgan_build_d(clg_net *d, const clg_dcgan_config *c) {
    clg_net_init(d, c->batch, c->nc, c->image_size, c->image_size);
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
        CLG_TRY(clg_net_bn(d, name, c->bn_affine));
        CLG_TRY(clg_net_act(d, CLG_ACT_LEAKY_RELU, 0.2f));
        idx += 3;
    }
    snprintf(name, sizeof name, "main.%d", idx);
    CLG_TRY(clg_net_conv(d, name, 1, 4, 1, 0, 0));
    return clg_net_reshape(d, 1, 1, 1);
}

clg_status clg_dcgan_init(clg_ctx *ctx, clg_dcgan *m, const clg_dcgan_config *c) {
    memset(m, 0, sizeof *m);
    CLG_TRY(clg_dcgan_config_check(c));
    m->cfg = *c;
    clg_status rc;
    CLG_TRY_GOTO(clg_dcgan_build_g(&m->g, c, c->batch), fail);
    CLG_TRY_GOTO(clg_dcgan_build_d(&m->d, c), fail);
    CLG_TRY_GOTO(clg_net_alloc(ctx, &m->g), fail);
    CLG_TRY_GOTO(clg_net_alloc(ctx, &m->d), fail);
    /* G and D draw their weights from disjoint parts of the stream. */
    CLG_TRY_GOTO(clg_net_init_params(ctx, &m->g, c->seed ^ 0x6a09e667f3bcc908ULL), fail);
    CLG_TRY_GOTO(clg_net_init_params(ctx, &m->d, c->seed ^ 0xbb67ae8584caa73bULL), fail);
    CLG_TRY_GOTO(clg_tensor_create(ctx, &m->z, c->batch, c->nz, 1, 1, "noise z"), fail);
    CLG_TRY_GOTO(clg_tensor_create(ctx, &m->real, c->batch, c->nc, c->image_size,
                                   c->image_size, "real batch"),
                 fail);
    CLG_TRY_GOTO(clg_tensor_create(ctx, &m->stats, 1, 6, 1, 1, "loss statistics"), fail);
    if (c->ema > 0) { /* the average starts at the initial weights */
        clg_tensor gp = clg_block_tensor(&m->g.params);
        CLG_TRY_GOTO(clg_tensor_create(ctx, &m->g_ema, gp.n, gp.c, gp.h, gp.w, "G's average"),
                     fail);
        CLG_TRY_GOTO(clg_copy(ctx, &m->g_ema, &gp), fail);
    }
    m->opt_g = clg_adam_default();
    m->opt_d = clg_adam_default();
    m->opt_g.lr = m->opt_d.lr = c->lr;
    m->opt_g.beta1 = m->opt_d.beta1 = c->beta1;
    m->opt_g.beta2 = m->opt_d.beta2 = c->beta2;
    return CLG_OK;
fail:
    clg_dcgan_free(ctx, m);
    return rc;
}

void clg_dcgan_free(clg_ctx *ctx, clg_dcgan *m) {
    clg_net_free(ctx, &m->g);
    clg_net_free(ctx, &m->d);
    clg_tensor_free(ctx, &m->z);
    clg_tensor_free(ctx, &m->real);
    clg_tensor_free(ctx, &m->stats);
    clg_tensor_free(ctx, &m->g_ema);
}

clg_status clg_dcgan_noise(clg_ctx *ctx, const clg_dcgan *m, const clg_tensor *z,
                           uint64_t stream, long index) {
    /* Stream 0: training steps; others: sampling. 2^40 values per index. */
    uint64_t seed = m->cfg.seed ^ (0x3c6ef372fe94f82bULL * (stream + 1));
    return clg_rng_normal(ctx, z, seed, (uint64_t)index << 24, 0.0f, 1.0f);
}

static clg_tensor stat_pair(const clg_dcgan *m, int k) {
    return clg_tensor_slice(&m->stats, (size_t)2 * k, 1, 2, 1, 1);
}

clg_status clg_dcgan_step_enqueue(clg_ctx *ctx, clg_dcgan *m) {
    clg_net *g = &m->g, *d = &m->d;
    const float real = m->cfg.real_label;
    clg_tensor s_real = stat_pair(m, 0), s_fake = stat_pair(m, 1), s_gen = stat_pair(m, 2);
    clg_tensor d_dout = clg_net_doutput(d), g_dout = clg_net_doutput(g);
    const clg_tensor *fake = clg_net_output(g);

    /* (1) D: maximise log D(x) + log(1 - D(G(z))), a batch of each. */
    CLG_TRY(clg_net_zero_grad(ctx, d));
    CLG_TRY(clg_net_forward(ctx, d, &m->real, CLG_NET_TRAIN));
    CLG_TRY(clg_bce_logits_forward(ctx, &s_real, clg_net_output(d), real));
    CLG_TRY(clg_bce_logits_backward(ctx, &d_dout, clg_net_output(d), real));
    CLG_TRY(clg_net_backward(ctx, d, &m->real, NULL, 1));
    CLG_TRY(clg_dcgan_noise(ctx, m, &m->z, 0, m->step));
    CLG_TRY(clg_net_forward(ctx, g, &m->z, CLG_NET_TRAIN));
    CLG_TRY(clg_net_forward(ctx, d, fake, CLG_NET_TRAIN));
    CLG_TRY(clg_bce_logits_forward(ctx, &s_fake, clg_net_output(d), 0.0f));
    CLG_TRY(clg_bce_logits_backward(ctx, &d_dout, clg_net_output(d), 0.0f));
    CLG_TRY(clg_net_backward(ctx, d, fake, NULL, 1));
    clg_tensor dp = clg_block_tensor(&d->params), dg = clg_block_tensor(&d->grads);
    clg_tensor dm = clg_block_tensor(&d->adam_m), dv = clg_block_tensor(&d->adam_v);
    CLG_TRY(clg_adam_step(ctx, &m->opt_d, &dp, &dg, &dm, &dv));

    /* (2) G: maximise log D(G(z)) (the non-saturating loss), real labels. */
    CLG_TRY(clg_net_zero_grad(ctx, g));
    CLG_TRY(clg_net_forward(ctx, d, fake, CLG_NET_TRAIN));
    CLG_TRY(clg_bce_logits_forward(ctx, &s_gen, clg_net_output(d), 1.0f));
    CLG_TRY(clg_bce_logits_backward(ctx, &d_dout, clg_net_output(d), 1.0f));
    CLG_TRY(clg_net_backward(ctx, d, fake, &g_dout, 0));
    CLG_TRY(clg_net_backward(ctx, g, &m->z, NULL, 1));
    clg_tensor gp = clg_block_tensor(&g->params), gg = clg_block_tensor(&g->grads);
    clg_tensor gm = clg_block_tensor(&g->adam_m), gv = clg_block_tensor(&g->adam_v);
    CLG_TRY(clg_adam_step(ctx, &m->opt_g, &gp, &gg, &gm, &gv));
    if (m->cfg.ema > 0) {
        CLG_TRY(clg_scale(ctx, &m->g_ema, &m->g_ema, m->cfg.ema));
        CLG_TRY(clg_axpy(ctx, &m->g_ema, 1.0f - m->cfg.ema, &gp));
    }
    m->step++;
    return CLG_OK;
}

clg_status clg_dcgan_step_finish(clg_ctx *ctx, clg_dcgan *m, clg_dcgan_metrics *out) {
    float st[6];
    CLG_TRY(clg_tensor_download(ctx, &m->stats, st));
    out->loss_d = st[0] + st[2];
    out->d_x = st[1];
    out->d_g_z1 = st[3];
    out->loss_g = st[4];
    out->d_g_z2 = st[5];
    return CLG_OK;
}

clg_status clg_dcgan_train_step(clg_ctx *ctx, clg_dcgan *m, clg_dcgan_metrics *out) {
    CLG_TRY(clg_dcgan_step_enqueue(ctx, m));
    return clg_dcgan_step_finish(ctx, m, out);
}

clg_status clg_dcgan_generate(clg_ctx *ctx, clg_dcgan *m, const clg_tensor *z) {
    return clg_net_forward(ctx, &m->g, z, CLG_NET_BATCH_STATS);
}
