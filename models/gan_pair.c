/* gan_pair.c: a generator and a discriminator trained against each other
 * (see gan_pair.h). */
#include "gan_pair.h"
#include "elementwise.h"
#include "loss.h"

#include <string.h>

clg_status clg_pair_check(int batch, float lr, float beta1, float beta2, float real_label,
                          float dropout) {
    if (batch < 2 || batch > 4096)
        return clg_fail(CLG_ERR_INVALID_ARG, "--batch-size must be 2..4096");
    if (!(lr > 0 && lr < 1)) return clg_fail(CLG_ERR_INVALID_ARG, "--lr must be in (0, 1)");
    if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1))
        return clg_fail(CLG_ERR_INVALID_ARG, "--beta1 and --beta2 must be in [0, 1)");
    if (!(real_label > 0.5f && real_label <= 1.0f))
        return clg_fail(CLG_ERR_INVALID_ARG, "--real-label must be in (0.5, 1]");
    if (!(dropout >= 0 && dropout < 1))
        return clg_fail(CLG_ERR_INVALID_ARG, "--dropout must be in [0, 1)");
    return CLG_OK;
}

void clg_pair_free(clg_ctx *ctx, clg_pair *p) {
    clg_net_free(ctx, &p->g);
    clg_net_free(ctx, &p->d);
    clg_tensor_free(ctx, &p->z);
    clg_tensor_free(ctx, &p->stats);
    clg_tensor_free(ctx, &p->g_ema);
}

static clg_status pair_setup(clg_ctx *ctx, clg_pair *p, int gen_only) {
    CLG_TRY(clg_net_alloc(ctx, &p->g));
    CLG_TRY(clg_net_init_params(ctx, &p->g, p->s.g_seed));
    if (gen_only) return CLG_OK;
    CLG_TRY(clg_net_alloc(ctx, &p->d));
    CLG_TRY(clg_net_init_params(ctx, &p->d, p->s.d_seed));
    const int *in = p->g.in;
    CLG_TRY(clg_tensor_create(ctx, &p->z, in[0], in[1], in[2], in[3], "noise z"));
    CLG_TRY(clg_tensor_create(ctx, &p->stats, 1, 6, 1, 1, "loss statistics"));
    if (p->s.ema > 0) { /* the average starts at the initial weights */
        clg_tensor gp = clg_block_tensor(&p->g.params);
        CLG_TRY(clg_tensor_create(ctx, &p->g_ema, gp.n, gp.c, gp.h, gp.w, "G's average"));
        CLG_TRY(clg_copy(ctx, &p->g_ema, &gp));
    }
    clg_adam *opts[2] = {&p->opt_g, &p->opt_d};
    for (int k = 0; k < 2; k++) {
        *opts[k] = clg_adam_default();
        opts[k]->lr = p->s.lr, opts[k]->beta1 = p->s.beta1, opts[k]->beta2 = p->s.beta2;
    }
    return CLG_OK;
}

clg_status clg_pair_alloc(clg_ctx *ctx, clg_pair *p, const clg_pair_settings *s, int gen_only) {
    p->s = *s;
    if (!gen_only && !p->d.count)
        return clg_fail(CLG_ERR_INVALID_ARG, "a GAN to train needs a discriminator");
    clg_status rc = pair_setup(ctx, p, gen_only);
    if (rc != CLG_OK) clg_pair_free(ctx, p);
    return rc;
}

static void sides(clg_net *net, const clg_tensor *const *side) {
    for (int k = 0; k < CLG_NET_MAX_SIDES; k++) clg_net_set_side(net, k, side[k]);
}

static clg_tensor stat_pair(const clg_pair *p, int k) {
    return clg_tensor_slice(&p->stats, (size_t)2 * k, 1, 2, 1, 1);
}

/* D's loss on x against `target`, its gradient, D's backward (into its
 * parameter gradients when `train_d`, else into dinp for G's step). */
static clg_status d_pass(clg_ctx *ctx, clg_pair *p, const clg_tensor *x, float target, int k,
                         const clg_tensor *dinp, int train_d) {
    clg_net *d = &p->d;
    clg_tensor s = stat_pair(p, k), dout = clg_net_doutput(d);
    CLG_TRY(clg_net_forward(ctx, d, x, CLG_NET_TRAIN));
    CLG_TRY(clg_bce_logits_forward(ctx, &s, clg_net_output(d), target));
    CLG_TRY(clg_bce_logits_backward(ctx, &dout, clg_net_output(d), target));
    return clg_net_backward(ctx, d, x, dinp, train_d);
}

/* D: maximise log D(x) + log(1 - D(G(z))), a batch of each. */
static clg_status d_step(clg_ctx *ctx, clg_pair *p, const clg_tensor *real, uint64_t stream,
                         long index) {
    CLG_TRY(clg_net_zero_grad(ctx, &p->d));
    sides(&p->d, p->d_real_side);
    CLG_TRY(d_pass(ctx, p, real, p->s.real_label, 0, NULL, 1));
    CLG_TRY(clg_model_noise(ctx, p->s.noise_seed, &p->z, stream, index));
    sides(&p->g, p->g_side);
    CLG_TRY(clg_net_forward(ctx, &p->g, &p->z, CLG_NET_TRAIN));
    sides(&p->d, p->d_fake_side);
    CLG_TRY(d_pass(ctx, p, clg_net_output(&p->g), 0.0f, 1, NULL, 1));
    return clg_model_adam_step(ctx, &p->opt_d, &p->d);
}

/* G: maximise log D(G(z)) (the non-saturating loss), real labels. */
static clg_status g_step(clg_ctx *ctx, clg_pair *p) {
    clg_tensor g_dout = clg_net_doutput(&p->g);
    CLG_TRY(clg_net_zero_grad(ctx, &p->g));
    sides(&p->d, p->d_fake_side);
    CLG_TRY(d_pass(ctx, p, clg_net_output(&p->g), 1.0f, 2, &g_dout, 0));
    CLG_TRY(clg_net_backward(ctx, &p->g, &p->z, NULL, 1));
    CLG_TRY(clg_model_adam_step(ctx, &p->opt_g, &p->g));
    if (!(p->s.ema > 0)) return CLG_OK;
    clg_tensor gp = clg_block_tensor(&p->g.params);
    CLG_TRY(clg_scale(ctx, &p->g_ema, &p->g_ema, p->s.ema));
    return clg_axpy(ctx, &p->g_ema, 1.0f - p->s.ema, &gp);
}

clg_status clg_pair_step(clg_ctx *ctx, clg_pair *p, const clg_tensor *real, uint64_t stream,
                         long index) {
    if (!p->d.count) return clg_fail(CLG_ERR_INVALID_ARG, "this GAN was built for generating only");
    CLG_TRY(d_step(ctx, p, real, stream, index));
    return g_step(ctx, p);
}

clg_status clg_pair_read(clg_ctx *ctx, const clg_pair *p, float *out) {
    float st[6];
    CLG_TRY(clg_tensor_download(ctx, &p->stats, st));
    out[0] = st[0] + st[2], out[1] = st[4], out[2] = st[1], out[3] = st[3], out[4] = st[5];
    return CLG_OK;
}

/* The metrics of a GAN step (clg_pair_read's order). */
void clg_gan_metrics(const float *v, clg_metrics *out) {
    *out = (clg_metrics){5,
                         {"loss_d", "loss_g", "d_x", "d_g_z1", "d_g_z2"},
                         {"loss_D", "loss_G", "D(x)", "D(G(z1))", "D(G(z2))"},
                         {v[0], v[1], v[2], v[3], v[4]}};
}

int clg_pair_parts(clg_pair *p, const char *g_prefix, const char *d_prefix,
                   const char *const names[4], clg_model_part *out) {
    int trains = p->d.count > 0;
    out[0] = (clg_model_part){g_prefix, &p->g, trains ? &p->opt_g : NULL, names[0], names[1],
                              p->g_ema.buf ? &p->g_ema : NULL};
    if (!trains) return 1;
    out[1] = (clg_model_part){d_prefix, &p->d, &p->opt_d, names[2], names[3], NULL};
    return 2;
}
