/* dcgan.h: DCGAN (Radford et al. 2015) as pytorch/examples builds it:
 * G: convT(nz -> 8ngf, k4 s1 p0) BN ReLU, convT k4 s2 p1 halving the width
 * per stage, each BN ReLU, convT(ngf -> nc) tanh; D mirrors it with strided
 * convs, LeakyReLU(0.2), BN except on the first layer, and a last conv to
 * one logit. 32x32 drops one stage from each. No biases. D's last hidden
 * layer is the tap "features". With minibatch discrimination D's last conv
 * becomes flatten, mbd, linear. Losses on logits;
 * D steps on a real and a generated batch separately, G by the
 * non-saturating loss; Adam for both.
 *
 * The state (both networks, both optimisers, the step) is what a
 * checkpoint holds (models/checkpoint.h). */
#ifndef CLG_DCGAN_H
#define CLG_DCGAN_H

#include "gan_pair.h"
#include "model.h"

typedef struct {
    int image_size; /* 32 or 64 */
    int nc, nz, ngf, ndf;
    int batch;
    float lr, beta1, beta2;
    float real_label; /* 1.0, or 0.9 for one-sided label smoothing */
    int bn_affine;
    uint64_t seed;
    float ema; /* decay of an exponential moving average of G's weights; 0: none */
    /* Salimans et al. 2016 */
    int feature_matching; /* G matches D's last hidden features instead of fooling D */
    int mbd[2];           /* minibatch discrimination before D's last layer: B kernels of C
                             dimensions; B = 0: none */
    float hist_avg;       /* historical averaging's weight for both players; 0: none */
    int vbn;              /* G's batch norm is virtual batch norm (a fixed reference z) */
    int k_plus_one;       /* D is a K+1 classifier trained on the real batch's labels */
    int classes;          /* K, from the data (k_plus_one) */
} clg_dcgan_config;

clg_dcgan_config clg_dcgan_config_default(void);
/* CLG_ERR_INVALID_ARG with the offending setting named. */
clg_status clg_dcgan_config_check(const clg_dcgan_config *c);

/* DCGAN as a clgan model (models/model.h): `clgan train dcgan`; its
 * checkpoints keep the first release's format tag. */
#define CLG_CKPT_FORMAT_DCGAN "clgan-dcgan-1"
extern const clg_model_ops clg_dcgan_ops;

typedef struct {
    clg_model base;           /* step, real batch (batch, nc, size, size), sizes, seed */
    clg_dcgan_config cfg;
    clg_pair p;               /* G, D (absent, count 0, in a generator-only model), Adam,
                                 z (batch, nz, 1, 1) and, when cfg.ema > 0, G's average
                                 ema = d * ema + (1 - d) * w after each G step */
    /* VBN generating: G keeps the training batch (its reference's size); n
     * latents run through it in chunks into gen_out (n, nc, size, size). */
    clg_tensor gen_z, gen_out;
} clg_dcgan;

/* Build G (batch `gbatch`) and D in pytorch/examples' layer order. */
clg_status clg_dcgan_build_g(clg_net *g, const clg_dcgan_config *c, int gbatch);
clg_status clg_dcgan_build_d(clg_net *d, const clg_dcgan_config *c);
/* The same layers appended to a net started by the caller (whose input may
 * carry extra channels, e.g. a conditional model's label planes). */
clg_status clg_dcgan_g_layers(clg_net *g, const clg_dcgan_config *c);
clg_status clg_dcgan_d_layers(clg_net *d, const clg_dcgan_config *c);
/* Optimiser settings, noise and initial-weight seeds of a config. */
clg_pair_settings clg_dcgan_pair_settings(const clg_dcgan_config *c);


/* Build, allocate and initialise for training (weights from Philox(seed)). */
clg_status clg_dcgan_init(clg_ctx *ctx, clg_dcgan *m, const clg_dcgan_config *c);
void clg_dcgan_free(clg_ctx *ctx, clg_dcgan *m);

/* One training step on m->base.real (already uploaded): D on real and
 * fake, then G; metrics loss_d, loss_g, d_x, d_g_z1 (D(G(z)) before D's
 * update), d_g_z2 (after it). Enqueue, then finish (one small blocking
 * read), so the host can prepare the next batch while the device runs. */
clg_status clg_dcgan_step_enqueue(clg_ctx *ctx, clg_dcgan *m);
clg_status clg_dcgan_step_finish(clg_ctx *ctx, clg_dcgan *m, clg_metrics *out);
clg_status clg_dcgan_train_step(clg_ctx *ctx, clg_dcgan *m, clg_metrics *out);

#endif
