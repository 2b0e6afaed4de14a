/* dcgan.h: DCGAN (Radford et al. 2015) as pytorch/examples builds it:
 * G: convT(nz -> 8ngf, k4 s1 p0) BN ReLU, convT k4 s2 p1 halving the width
 * per stage, each BN ReLU, convT(ngf -> nc) tanh; D mirrors it with strided
 * convs, LeakyReLU(0.2), BN except on the first layer, and a last conv to
 * one logit. 32x32 drops one stage from each. No biases. Losses on logits;
 * D steps on a real and a generated batch separately, G by the
 * non-saturating loss; Adam for both.
 *
 * The state (both networks, both optimisers, the step) is what a
 * checkpoint holds (models/checkpoint.h). */
#ifndef CLG_DCGAN_H
#define CLG_DCGAN_H

#include "net.h"
#include "optim.h"

typedef struct {
    int image_size; /* 32 or 64 */
    int nc, nz, ngf, ndf;
    int batch;
    float lr, beta1, beta2;
    float real_label; /* 1.0, or 0.9 for one-sided label smoothing */
    int bn_affine;
    uint64_t seed;
    float ema; /* decay of an exponential moving average of G's weights; 0: none */
} clg_dcgan_config;

clg_dcgan_config clg_dcgan_config_default(void);
/* CLG_ERR_INVALID_ARG with the offending setting named. */
clg_status clg_dcgan_config_check(const clg_dcgan_config *c);

typedef struct {
    float loss_d, loss_g;
    float d_x;     /* mean D(x) on the real batch */
    float d_g_z1;  /* mean D(G(z)) before D's update */
    float d_g_z2;  /* after it (the G step's view) */
} clg_dcgan_metrics;

typedef struct {
    clg_dcgan_config cfg;
    clg_net g, d;
    clg_adam opt_g, opt_d;
    long step;                /* completed training steps */
    clg_tensor z, real;       /* (batch, nz, 1, 1), (batch, nc, size, size) */
    clg_tensor stats;         /* (6): three (loss, mean sigmoid) pairs */
    clg_tensor g_ema;         /* cfg.ema > 0: G's trainable weights averaged after each G
                                 step, ema = d * ema + (1 - d) * w, laid out as g.params */
} clg_dcgan;

/* Build G (batch `gbatch`) and D in pytorch/examples' layer order. */
clg_status clg_dcgan_build_g(clg_net *g, const clg_dcgan_config *c, int gbatch);
clg_status clg_dcgan_build_d(clg_net *d, const clg_dcgan_config *c);

/* Build, allocate and initialise (weights from Philox(seed)). */
clg_status clg_dcgan_init(clg_ctx *ctx, clg_dcgan *m, const clg_dcgan_config *c);
void clg_dcgan_free(clg_ctx *ctx, clg_dcgan *m);

/* The noise of step `step`: z ~ N(0, 1) from Philox(seed) at an offset that
 * depends only on the step (so a resumed run draws the same noise). */
clg_status clg_dcgan_noise(clg_ctx *ctx, const clg_dcgan *m, const clg_tensor *z,
                           uint64_t stream, long index);

/* One training step on m->real (already uploaded): D on real and fake, then
 * G. Metrics are read back (one small blocking read per step). */
clg_status clg_dcgan_train_step(clg_ctx *ctx, clg_dcgan *m, clg_dcgan_metrics *out);
/* The same in two halves, so the host can prepare the next batch while the
 * device runs: enqueue the step, then wait for it and read the metrics. */
clg_status clg_dcgan_step_enqueue(clg_ctx *ctx, clg_dcgan *m);
clg_status clg_dcgan_step_finish(clg_ctx *ctx, clg_dcgan *m, clg_dcgan_metrics *out);

/* Generate images for z (batch rows) into G's output, BN from the batch's
 * own statistics (as pytorch/examples samples) without touching the running
 * statistics. */
clg_status clg_dcgan_generate(clg_ctx *ctx, clg_dcgan *m, const clg_tensor *z);

#endif
