/* gan_pair.h: one generator and one discriminator trained against each
 * other (Goodfellow et al. 2014): D steps on a real and a generated batch
 * (separately, as pytorch/examples does), then G by the non-saturating loss
 * -log D(G(z)), both from logits, with Adam for each; one-sided label
 * smoothing (real_label < 1), side inputs for conditional players (one-hot
 * labels, a conditioning image: clg_net_concat) and an exponential moving
 * average of G's weights; and two of Salimans et al.'s techniques:
 * historical averaging (each player's cost gets W ||theta - mean of past
 * theta||^2; the mean kept on the device, updated after each step) and
 * feature matching (G minimises ||mean f(x) - mean f(G(z))||^2 over the
 * features f at a named tap of D). DCGAN, GAN, cGAN and every LAPGAN level
 * are one or more of these.
 *
 * The model builds both nets (clg_net_init + layers), then clg_pair_alloc
 * allocates and initialises them and what a step needs; nothing is
 * allocated by a step. */
#ifndef CLG_GAN_PAIR_H
#define CLG_GAN_PAIR_H

#include "model.h"

typedef struct {
    float lr, beta1, beta2;
    float real_label;   /* D's target for real images: 1, or 0.9 (one-sided smoothing) */
    float ema;          /* decay of G's weight average; 0: none */
    uint64_t noise_seed, g_seed, d_seed; /* z; G's and D's initial weights */
    float hist_avg;     /* historical averaging's weight W (both players); 0: none */
    const char *fm_tap; /* feature matching on D's tap of this name; NULL: G's loss is
                           the non-saturating one */
    int classes;        /* > 0: D is a K+1 classifier (Salimans et al., "with labels"): its
                           output is K class logits, D(x) = sigmoid(logsumexp), the real
                           batch also adds cross-entropy against its labels */
} clg_pair_settings;

typedef struct {
    clg_pair_settings s;
    clg_net g, d;        /* d.count 0: G alone (generating only) */
    clg_adam opt_g, opt_d;
    clg_tensor z;        /* G's input (its network's input shape): N(0, 1) each step */
    clg_tensor stats;    /* (8): (loss, mean D) of D on real, on fake, of G's step; the
                            K+1 D's (cross-entropy, accuracy) on the real batch */
    const clg_itensor *labels; /* s.classes > 0: the real batch's, set by the model */
    clg_tensor xent_grad; /* s.classes > 0: (batch, K) the cross-entropy's gradient */
    clg_tensor g_ema;    /* s.ema > 0: laid out as g.params */
    clg_tensor hist[2];  /* s.hist_avg > 0: the running means of G's and D's parameters */
    clg_block fm;        /* feature matching: the tensors below */
    clg_tensor fm_real, fm_fake; /* (F): batch means of the tap's F features */
    clg_tensor fm_var, fm_sum;   /* (F): the statistics' by-products, then scratch */
    clg_tensor fm_grad;  /* (batch, F, 1, 1): injected at the tap */
    int fm_features;     /* F */
    /* Side inputs (clg_net_set_side) before each forward; NULL where unused. */
    const clg_tensor *g_side[CLG_NET_MAX_SIDES];
    const clg_tensor *d_real_side[CLG_NET_MAX_SIDES], *d_fake_side[CLG_NET_MAX_SIDES];
} clg_pair;

/* The settings table's entries (model.h) of three of Salimans et al.'s
 * techniques, for a config struct with members feature_matching (int),
 * mbd (int[2]) and hist_avg (float); left out of the JSON while off, so
 * files from before them stay as they were. */
#define CLG_IMPROVED_GAN_FIELDS(type)                                                        \
    {"feature_matching", CLG_FIELD_FLAG, offsetof(type, feature_matching), 0, 1,             \
     "--feature-matching", NULL, "G matches the mean of D's last hidden features on real "   \
     "data (Salimans et al.) instead of the non-saturating loss", 0, 1, NULL, 1},            \
    {"mbd", CLG_FIELD_INT2, offsetof(type, mbd), 0, 4096, "--mbd", NULL,                     \
     "B,C: minibatch discrimination before D's last layer, B kernels of C dimensions (the "  \
     "paper's 100,5)", 0, 1, NULL, 1},                                                       \
    {"hist_avg", CLG_FIELD_FLOAT, offsetof(type, hist_avg), 0, 1e6, "--hist-avg", NULL,      \
     "W: historical averaging, each player's cost + W ||theta - mean of past theta||^2", 0, \
     1, NULL, 1}

/* The training settings every GAN shares, checked with the flags named. */
clg_status clg_pair_check(int batch, float lr, float beta1, float beta2, float real_label,
                          float dropout);

/* The settings of CLG_IMPROVED_GAN_FIELDS: --mbd B,C and --hist-avg W. */
clg_status clg_pair_check_improved(const int mbd[2], float hist_avg);

/* Allocate and initialise the built nets (only G when gen_only), z, the
 * statistics, Adam and the average. On failure everything is released. */
clg_status clg_pair_alloc(clg_ctx *ctx, clg_pair *p, const clg_pair_settings *s, int gen_only);
void clg_pair_free(clg_ctx *ctx, clg_pair *p);

/* One step on `real` (D's input shape): z from noise stream `stream` at
 * `index` (clg_model_noise), D on real and fake, then G. Enqueued. */
clg_status clg_pair_step(clg_ctx *ctx, clg_pair *p, const clg_tensor *real, uint64_t stream,
                         long index);
/* The halves of a step without the updates (tests): D's gradients (z
 * drawn, G run on it, D on real and fake; statistics 0 and 1), and G's for
 * the G output of the last forward and D as it is (statistic 2). */
clg_status clg_pair_d_grads(clg_ctx *ctx, clg_pair *p, const clg_tensor *real, uint64_t stream,
                            long index);
clg_status clg_pair_g_grads(clg_ctx *ctx, clg_pair *p, const clg_tensor *real);
/* G's half of a step: its gradients (clg_pair_g_grads), its update (with
 * historical averaging) and its weight average. */
clg_status clg_pair_g_step(clg_ctx *ctx, clg_pair *p, const clg_tensor *real);
/* Historical averaging's gradient: net's gradients += 2 W (theta - hist). */
clg_status clg_pair_hist_grad(clg_ctx *ctx, const clg_pair *p, clg_net *net,
                              const clg_tensor *hist);
/* The step's loss_d (with the K+1 D's cross-entropy), loss_g (the
 * feature-matching distance with fm_tap),
 * d_x, d_g_z1 (before D's update), d_g_z2 (after) into out[0..5) (small
 * blocking reads). */
clg_status clg_pair_read(clg_ctx *ctx, const clg_pair *p, float *out);
/* The metrics of a GAN step from clg_pair_read's five values. */
void clg_gan_metrics(const float *v, clg_metrics *out);
/* The same with the K+1 D's cross-entropy and accuracy on the real batch
 * (loss_D includes the cross-entropy). */
clg_status clg_pair_metrics(clg_ctx *ctx, const clg_pair *p, clg_metrics *out);

/* The pair's checkpoint parts: G under g_prefix (with its average), D under
 * d_prefix when training; names: G's optimiser and its step key, D's. */
int clg_pair_parts(clg_pair *p, const char *g_prefix, const char *d_prefix,
                   const char *const names[4], clg_model_part *out);


#endif
