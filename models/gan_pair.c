/* gan_pair.c: a generator and a discriminator trained against each other
 * (see gan_pair.h). */
#include "gan_pair.h"
#include "grad_buckets.h"
#include "elementwise.h"
#include "bias.h"
#include "loss.h"
#include "reduce.h"

#include <stdlib.h>

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

clg_status clg_pair_check_improved(const int mbd[2], float hist_avg) {
    if (mbd[0] < 0 || mbd[0] > 4096 || (mbd[0] > 0 && (mbd[1] < 1 || mbd[1] > 256)))
        return clg_fail(CLG_ERR_INVALID_ARG, "--mbd B,C: B kernels (0..4096, 0: none) of C "
                        "dimensions (1..256)");
    if (!(hist_avg >= 0 && hist_avg <= 1e6f))
        return clg_fail(CLG_ERR_INVALID_ARG, "--hist-avg must be in [0, 1e6] (0: none)");
    return CLG_OK;
}

void clg_pair_free(clg_ctx *ctx, clg_pair *p) {
    clg_net_free(ctx, &p->g);
    clg_net_free(ctx, &p->d);
    clg_tensor_free(ctx, &p->z);
    clg_tensor_free(ctx, &p->stats);
    clg_tensor_free(ctx, &p->xent_grad);
    clg_tensor_free(ctx, &p->g_ema);
    clg_tensor_free(ctx, &p->hist[0]);
    clg_tensor_free(ctx, &p->hist[1]);
    clg_block_free(ctx, &p->fm);
}

/* A copy of a net's parameters (the average's and the running mean's start). */
static clg_status params_copy(clg_ctx *ctx, const clg_net *net, clg_tensor *t, const char *what) {
    clg_tensor ps = clg_block_tensor(&net->params);
    CLG_TRY(clg_tensor_create(ctx, t, ps.n, ps.c, ps.h, ps.w, what));
    return clg_copy(ctx, t, &ps);
}

/* Feature matching's tensors, sized by D's tap. */
static clg_status fm_alloc(clg_ctx *ctx, clg_pair *p) {
    const clg_tensor *tap = clg_net_tap(&p->d, p->s.fm_tap);
    if (!tap)
        return clg_fail(CLG_ERR_INVALID_ARG, "feature matching: D has no layer named '%s'",
                        p->s.fm_tap);
    const int n = tap->n, f = (int)(clg_tensor_numel(tap) / (size_t)tap->n);
    clg_tensor ts[5];
    for (int k = 0; k < 4; k++) ts[k] = clg_tensor_view(NULL, 0, 1, f, 1, 1);
    ts[4] = clg_tensor_view(NULL, 0, n, f, 1, 1);
    CLG_TRY(clg_block_alloc(ctx, &p->fm, ts, 5, "feature matching"));
    p->fm_real = ts[0], p->fm_fake = ts[1], p->fm_var = ts[2], p->fm_sum = ts[3];
    p->fm_grad = ts[4];
    p->fm_features = f;
    return CLG_OK;
}

static clg_status pair_setup(clg_ctx *ctx, clg_pair *p, int gen_only) {
    CLG_TRY(clg_net_alloc(ctx, &p->g));
    CLG_TRY(clg_net_init_params(ctx, &p->g, p->s.g_seed));
    if (gen_only) return CLG_OK;
    CLG_TRY(clg_net_alloc(ctx, &p->d));
    CLG_TRY(clg_net_init_params(ctx, &p->d, p->s.d_seed));
    const int *in = p->g.in;
    CLG_TRY(clg_tensor_create(ctx, &p->z, in[0], in[1], in[2], in[3], "noise z"));
    CLG_TRY(clg_tensor_create(ctx, &p->stats, 1, 8, 1, 1, "loss statistics"));
    CLG_TRY(clg_tensor_zero(ctx, &p->stats)); /* the slots a step leaves: finite */
    if (p->s.classes > 0) {
        const clg_tensor *o = clg_net_output(&p->d);
        if ((int)(clg_tensor_numel(o) / (size_t)o->n) != p->s.classes)
            return clg_fail(CLG_ERR_INVALID_ARG, "a K+1 D needs %d logits per image",
                            p->s.classes);
        CLG_TRY(clg_tensor_create(ctx, &p->xent_grad, o->n, o->c, o->h, o->w,
                                  "cross-entropy gradient"));
    }
    /* The average and the running means start at the initial weights. */
    if (p->s.ema > 0) CLG_TRY(params_copy(ctx, &p->g, &p->g_ema, "G's average"));
    if (p->s.hist_avg > 0) {
        CLG_TRY(params_copy(ctx, &p->g, &p->hist[0], "G's historical mean"));
        CLG_TRY(params_copy(ctx, &p->d, &p->hist[1], "D's historical mean"));
    }
    if (p->s.fm_tap) CLG_TRY(fm_alloc(ctx, p));
    /* VBN in G: its reference batch of z, drawn once from the seed. */
    if (p->g.vbn_input.buf)
        CLG_TRY(clg_model_noise(ctx, p->s.noise_seed, &p->g.vbn_input, 3, 0));
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

/* Adam on a net, with historical averaging when asked: the cost
 * W ||theta - mean||^2 adds 2 W (theta - mean) to the gradient; after the
 * update the mean of theta_0 .. theta_t takes theta_t in:
 * mean += (theta_t - mean) / (t + 1). */
clg_status clg_pair_hist_grad(clg_ctx *ctx, const clg_pair *p, clg_net *net,
                              const clg_tensor *hist) {
    const float w = p->s.hist_avg;
    clg_tensor th = clg_block_tensor(&net->params), gr = clg_block_tensor(&net->grads);
    CLG_TRY(clg_axpy(ctx, &gr, 2.0f * w, &th));
    return clg_axpy(ctx, &gr, -2.0f * w, hist);
}

static clg_status update(clg_ctx *ctx, clg_pair *p, clg_net *net, clg_adam *opt,
                         const clg_tensor *hist) {
    const float w = p->s.hist_avg;
    clg_tensor th = clg_block_tensor(&net->params);
    CLG_TRY(clg_grad_average(ctx, net)); /* the same on every rank from here on */
    if (w > 0) CLG_TRY(clg_pair_hist_grad(ctx, p, net, hist));
    clg_tensor g = clg_block_tensor(&net->grads), m = clg_block_tensor(&net->adam_m);
    clg_tensor v = clg_block_tensor(&net->adam_v);
    CLG_TRY(clg_adam_step(ctx, opt, &th, &g, &m, &v));
    if (!(w > 0)) return CLG_OK;
    const float a = 1.0f / (float)(opt->step + 1);
    CLG_TRY(clg_scale(ctx, hist, hist, 1.0f - a));
    return clg_axpy(ctx, hist, a, &th);
}

static void sides(clg_net *net, const clg_tensor *const *side) {
    for (int k = 0; k < CLG_NET_MAX_SIDES; k++) clg_net_set_side(net, k, side[k]);
}

static clg_tensor stat_pair(const clg_pair *p, int k) {
    return clg_tensor_slice(&p->stats, (size_t)2 * k, 1, 2, 1, 1);
}

/* The BCE of D's output against `target` into statistics k: of its logit,
 * or for the K+1 D of sigmoid(logsumexp of its K logits). */
static clg_status d_loss_stats(clg_ctx *ctx, clg_pair *p, float target, int k) {
    clg_tensor s = stat_pair(p, k);
    const clg_tensor *out = clg_net_output(&p->d);
    return p->s.classes ? clg_lse_bce_forward(ctx, &s, out, target)
                        : clg_bce_logits_forward(ctx, &s, out, target);
}

/* That loss's gradient into D's dout; for the K+1 D's pass over the real
 * batch (`supervised`) plus the cross-entropy against its labels. */
static clg_status d_loss_grad(clg_ctx *ctx, clg_pair *p, float target, int supervised) {
    clg_tensor dout = clg_net_doutput(&p->d), cs = stat_pair(p, 3);
    const clg_tensor *out = clg_net_output(&p->d);
    if (!p->s.classes) return clg_bce_logits_backward(ctx, &dout, out, target);
    CLG_TRY(clg_lse_bce_backward(ctx, &dout, out, target, 1.0f));
    if (!supervised) return CLG_OK;
    CLG_TRY(clg_xent_forward(ctx, &cs, out, p->labels));
    CLG_TRY(clg_xent_backward(ctx, &p->xent_grad, out, p->labels));
    return clg_axpy(ctx, &dout, 1.0f, &p->xent_grad);
}

/* D's loss on x against `target`, its gradient, D's backward (into its
 * parameter gradients when `train_d`, else into dinp for G's step). */
static clg_status d_pass(clg_ctx *ctx, clg_pair *p, const clg_tensor *x, float target, int k,
                         const clg_tensor *dinp, int train_d) {
    CLG_TRY(clg_net_forward(ctx, &p->d, x, CLG_NET_TRAIN));
    CLG_TRY(d_loss_stats(ctx, p, target, k));
    CLG_TRY(d_loss_grad(ctx, p, target, k == 0 && train_d));
    return clg_net_backward(ctx, &p->d, x, dinp, train_d);
}

/* D: maximise log D(x) + log(1 - D(G(z))), a batch of each. */
clg_status clg_pair_d_grads(clg_ctx *ctx, clg_pair *p, const clg_tensor *real, uint64_t stream,
                            long index) {
    CLG_TRY(clg_net_zero_grad(ctx, &p->d));
    sides(&p->d, p->d_real_side);
    CLG_TRY(d_pass(ctx, p, real, p->s.real_label, 0, NULL, 1));
    CLG_TRY(clg_model_noise_share(ctx, p->s.noise_seed, &p->z, stream, index));
    sides(&p->g, p->g_side);
    if (p->g.vbn_input.buf) CLG_TRY(clg_net_vbn_reference(ctx, &p->g, NULL));
    CLG_TRY(clg_net_forward(ctx, &p->g, &p->z, CLG_NET_TRAIN));
    sides(&p->d, p->d_fake_side);
    CLG_TRY(clg_grad_buckets_arm(ctx, &p->d)); /* this pass completes D's gradients */
    return d_pass(ctx, p, clg_net_output(&p->g), 0.0f, 1, NULL, 1);
}

/* Batch means of D's tap on x into mean (F). */
static clg_status tap_mean(clg_ctx *ctx, clg_pair *p, const clg_tensor *x, const clg_tensor *mean) {
    CLG_TRY(clg_net_forward(ctx, &p->d, x, CLG_NET_TRAIN));
    const clg_tensor *tap = clg_net_tap(&p->d, p->s.fm_tap);
    clg_tensor rows = clg_tensor_view(tap->buf, tap->off, tap->n, p->fm_features, 1, 1);
    return clg_channel_stats(ctx, &p->fm_sum, mean, &p->fm_var, &rows);
}

/* Feature matching: L = ||m_fake - m_real||^2 over the F features' batch
 * means; dL/df_fake[i] = 2 (m_fake - m_real) / N for every row i, injected
 * at the tap with nothing arriving from D's output. The last forward (of
 * the fake batch) stays for the backward; D(G(z)) is still logged. */
static clg_status fm_pass(clg_ctx *ctx, clg_pair *p, const clg_tensor *real,
                          const clg_tensor *g_dout) {
    const clg_tensor *fake = clg_net_output(&p->g);
    sides(&p->d, p->d_real_side);
    CLG_TRY(tap_mean(ctx, p, real, &p->fm_real));
    sides(&p->d, p->d_fake_side);
    CLG_TRY(tap_mean(ctx, p, fake, &p->fm_fake));
    clg_tensor dout = clg_net_doutput(&p->d);
    CLG_TRY(d_loss_stats(ctx, p, 1.0f, 2));
    CLG_TRY(clg_tensor_zero(ctx, &dout));
    CLG_TRY(clg_axpy(ctx, &p->fm_fake, -1.0f, &p->fm_real)); /* m_fake - m_real */
    CLG_TRY(clg_tensor_zero(ctx, &p->fm_grad));
    CLG_TRY(clg_scale(ctx, &p->fm_sum, &p->fm_fake, 2.0f / (float)p->fm_grad.n));
    CLG_TRY(clg_bias_forward(ctx, &p->fm_grad, &p->fm_sum));
    const char *taps[1] = {p->s.fm_tap};
    return clg_net_backward_taps(ctx, &p->d, fake, g_dout, 0, taps, &p->fm_grad, 1);
}

/* G's gradients: maximise log D(G(z)) (the non-saturating loss, real
 * labels), or match D's features of real data. */
clg_status clg_pair_g_grads(clg_ctx *ctx, clg_pair *p, const clg_tensor *real) {
    clg_tensor g_dout = clg_net_doutput(&p->g);
    CLG_TRY(clg_net_zero_grad(ctx, &p->g));
    if (p->s.fm_tap) {
        CLG_TRY(fm_pass(ctx, p, real, &g_dout));
    } else {
        sides(&p->d, p->d_fake_side);
        CLG_TRY(d_pass(ctx, p, clg_net_output(&p->g), 1.0f, 2, &g_dout, 0));
    }
    /* VBN's reference pass adds to G's gradients after this one */
    if (!p->g.vbn_input.buf) CLG_TRY(clg_grad_buckets_arm(ctx, &p->g));
    CLG_TRY(clg_net_backward(ctx, &p->g, &p->z, NULL, 1));
    return p->g.vbn_input.buf ? clg_net_vbn_reference_backward(ctx, &p->g) : CLG_OK;
}

clg_status clg_pair_g_step(clg_ctx *ctx, clg_pair *p, const clg_tensor *real) {
    CLG_TRY(clg_pair_g_grads(ctx, p, real));
    CLG_TRY(update(ctx, p, &p->g, &p->opt_g, &p->hist[0]));
    if (!(p->s.ema > 0)) return CLG_OK;
    clg_tensor gp = clg_block_tensor(&p->g.params);
    CLG_TRY(clg_scale(ctx, &p->g_ema, &p->g_ema, p->s.ema));
    return clg_axpy(ctx, &p->g_ema, 1.0f - p->s.ema, &gp);
}

clg_status clg_pair_step(clg_ctx *ctx, clg_pair *p, const clg_tensor *real, uint64_t stream,
                         long index) {
    if (!p->d.count) return clg_fail(CLG_ERR_INVALID_ARG, "this GAN was built for generating only");
    CLG_TRY(clg_pair_d_grads(ctx, p, real, stream, index));
    CLG_TRY(update(ctx, p, &p->d, &p->opt_d, &p->hist[1]));
    return clg_pair_g_step(ctx, p, real);
}

/* The feature-matching distance: the squared norm of m_fake - m_real. */
static clg_status fm_loss(clg_ctx *ctx, const clg_pair *p, float *loss) {
    float *d = malloc((size_t)p->fm_features * sizeof *d);
    if (!d) return clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory");
    clg_status rc = clg_tensor_download(ctx, &p->fm_fake, d);
    double s = 0;
    for (int i = 0; i < p->fm_features; i++) s += (double)d[i] * d[i];
    *loss = (float)s;
    free(d);
    return rc;
}

/* One read of the statistics: clg_pair_read's five values, then the K+1
 * D's cross-entropy and accuracy (loss_D includes the cross-entropy). */
static clg_status pair_values(clg_ctx *ctx, const clg_pair *p, float v[7]) {
    float st[8];
    CLG_TRY(clg_tensor_download(ctx, &p->stats, st));
    const float ce = p->s.classes ? st[6] : 0.0f;
    v[0] = st[0] + st[2] + ce, v[1] = st[4], v[2] = st[1], v[3] = st[3], v[4] = st[5];
    v[5] = st[6], v[6] = st[7];
    return p->s.fm_tap ? fm_loss(ctx, p, &v[1]) : CLG_OK;
}

clg_status clg_pair_read(clg_ctx *ctx, const clg_pair *p, float *out) {
    float v[7];
    CLG_TRY(pair_values(ctx, p, v));
    memcpy(out, v, 5 * sizeof *v);
    return CLG_OK;
}

/* The metrics of a GAN step (clg_pair_read's order). */
void clg_gan_metrics(const float *v, clg_metrics *out) {
    *out = (clg_metrics){5,
                         {"loss_d", "loss_g", "d_x", "d_g_z1", "d_g_z2"},
                         {"loss_D", "loss_G", "D(x)", "D(G(z1))", "D(G(z2))"},
                         {v[0], v[1], v[2], v[3], v[4]}};
}

clg_status clg_pair_metrics(clg_ctx *ctx, const clg_pair *p, clg_metrics *out) {
    float v[7];
    CLG_TRY(pair_values(ctx, p, v));
    clg_gan_metrics(v, out);
    if (!p->s.classes) return CLG_OK;
    out->name[5] = "loss_cls", out->label[5] = "loss_cls", out->v[5] = v[5];
    out->name[6] = "acc", out->label[6] = "acc", out->v[6] = v[6];
    out->count = 7;
    return CLG_OK;
}

int clg_pair_parts(clg_pair *p, const char *g_prefix, const char *d_prefix,
                   const char *const names[4], clg_model_part *out) {
    int trains = p->d.count > 0;
    out[0] = (clg_model_part){g_prefix, &p->g, trains ? &p->opt_g : NULL, names[0], names[1],
                              p->g_ema.buf ? &p->g_ema : NULL, p->hist[0].buf ? &p->hist[0] : NULL};
    if (!trains) return 1;
    out[1] = (clg_model_part){d_prefix, &p->d, &p->opt_d, names[2], names[3], NULL,
                              p->hist[1].buf ? &p->hist[1] : NULL};
    return 2;
}
