/* bn_sync.h: synchronised batch norm: the training-mode forward and
 * backward of batchnorm.h with statistics over the whole global batch,
 * spread over the ranks of a clg_dist (each holding an equal slice), so
 * that N ranks with batch B/N compute what one rank with batch B does.
 *
 * Forward: each rank's mean and biased variance (bn_fwd_train), one
 * allreduce of (mean, var, mean^2) per channel, the global mean and
 * variance (var = mean of the vars + variance of the means), then the
 * normalisation with them (bn_fwd_infer) and the running statistics with
 * the global count's unbiased variance. Backward: the sums A = sum(dout)
 * and B = sum(dout * xhat) of each rank (bn_bwd into scratch), one
 * allreduce of (A, B), then bn_bwd again with the difference between the
 * global and the local terms passed as its extra gradients w.r.t. the
 * batch mean and variance (BN_DSTATS); dgamma += B, dbeta += A of this
 * rank, which the caller's gradient average (a mean over ranks of
 * per-rank losses) turns into the global ones.
 *
 * Each call blocks on small reads (a few floats per channel). Nothing here
 * knows a network. */
#ifndef CLG_BN_SYNC_H
#define CLG_BN_SYNC_H

#include "dist.h"

typedef struct {
    int C;
    clg_block blk;
    clg_tensor lmean, lvar, lo, gvar, sa, sb, ones, dmx, dvx; /* (C) each */
    float *h;   /* host scratch (16 C) */
    int synced; /* the last forward ran here: its backward must too */
} clg_bn_sync;

clg_status clg_bn_sync_create(clg_ctx *ctx, clg_bn_sync *s, int C);
void clg_bn_sync_free(clg_ctx *ctx, clg_bn_sync *s);

/* As clg_batchnorm_forward (running_mean, running_var may be NULL). */
clg_status clg_bn_sync_forward(clg_ctx *ctx, clg_dist *d, clg_bn_sync *s,
                               const clg_tensor *out, const clg_tensor *mean,
                               const clg_tensor *rstd, const clg_tensor *inp,
                               const clg_tensor *gamma, const clg_tensor *beta,
                               const clg_tensor *running_mean, const clg_tensor *running_var,
                               float momentum, float eps);

/* As clg_batchnorm_backward after clg_bn_sync_forward (mean and rstd as it
 * saved them); dgamma, dbeta NULL: no parameter gradient. dstats (host, 2C
 * floats, or NULL): gradients from elsewhere w.r.t. the global mean (C) and
 * biased variance (C), each the mean over ranks of the ranks' own (as VBN's
 * reference statistics collect them), added in. */
clg_status clg_bn_sync_backward(clg_ctx *ctx, clg_dist *d, clg_bn_sync *s,
                                const clg_tensor *dinp, const clg_tensor *dgamma,
                                const clg_tensor *dbeta, const clg_tensor *dout,
                                const clg_tensor *inp, const clg_tensor *rstd,
                                const clg_tensor *gamma, const float *dstats);

#endif
