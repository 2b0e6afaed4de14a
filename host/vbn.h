/* vbn.h: virtual batch normalisation (Salimans et al. 2016; kernels/vbn.cl
 * for the examples, kernels/batchnorm.cl for the reference batch).
 *
 * A reference batch, chosen once, is run through the network every step;
 * at each VBN layer its statistics (mean and biased variance over batch and
 * positions per channel; E[x^2] = var + mean^2) are kept in a clg_vbn. Each
 * example of a minibatch is then normalised with the statistics of the
 * reference batch plus itself, weighted 1/(N_ref + 1):
 *     std = sqrt(eps + E[x^2] - E[x]^2)   (computed in the equivalent,
 *                                          cancellation-free centred form)
 * so its output depends on no other example of its minibatch. The reference
 * batch is normalised with its own statistics.
 *
 * One step, in order:
 *   clg_vbn_ref_forward     reference batch: statistics, its output; clears
 *                           the gradients w.r.t. the statistics
 *   clg_vbn_forward         any number of minibatches
 *   clg_vbn_backward        each minibatch: dinp, dgamma/dbeta, and adds into
 *                           the gradients w.r.t. the reference statistics
 *   clg_vbn_ref_backward    last: the reference batch's dinp, including what
 *                           flows through its statistics (when the reference
 *                           batch is itself produced by the network, G's
 *                           reference noise pass); skip it when it is data.
 * As everywhere: dgamma/dbeta ACCUMULATE, dinp is WRITTEN (may alias dout).
 * gamma, beta may both be NULL (no affine). Calls are enqueued, not waited for. */
#ifndef CLG_VBN_H
#define CLG_VBN_H

#include <stdint.h>

#include "bn_sync.h"
#include "tensor.h"

typedef struct {
    int c, n_ref;             /* n_ref: this process's reference rows */
    int n_all;                /* the whole reference batch's (all ranks) */
    float eps;
    clg_bn_sync *sync;        /* several ranks (clg_vbn_sync): the reference statistics
                                 over ctx->dist's ranks, else NULL */
    float *hstats;            /* then: host room for the statistics' gradients (2 C) */
    clg_block blk;            /* one buffer for the six vectors */
    clg_tensor ref_mean;      /* (C) mean of the reference batch */
    clg_tensor ref_mean_lo;   /* (C) its float rounding error (exact mean = sum) */
    clg_tensor ref_var;       /* (C) its biased variance */
    clg_tensor ref_rstd;      /* (C) 1/sqrt(ref_var + eps) */
    clg_tensor dref_mean;     /* (C) dL/d ref_mean (ref_var held fixed) */
    clg_tensor dref_var;      /* (C) dL/d ref_var */
} clg_vbn;

/* C channels, reference batches of n_ref examples, eps (CLG_BN_EPS = 1e-5). */
clg_status clg_vbn_create(clg_ctx *ctx, clg_vbn *v, int c, int n_ref, float eps);
void clg_vbn_free(clg_ctx *ctx, clg_vbn *v);
/* Data-parallel ranks (ctx->dist, size > 1), each holding an equal share of one
 * reference batch: from here on the reference passes take the statistics
 * of the whole batch (bn_sync.h, the same on every rank; the mean's
 * rounding-error term is left out), examples are mixed with it as one of
 * (ranks x n_ref) + 1, and the reference backward adds the mean over ranks
 * of the gradients w.r.t. the statistics that each rank's examples
 * collected, so N ranks compute what one process with the whole reference
 * batch and minibatch computes. */
clg_status clg_vbn_sync(clg_ctx *ctx, clg_vbn *v);
/* clg_norm_reserve (batchnorm.h) for VBN on (n, c, h, w) inputs: the
 * reference pass's batch norm and the row kernels' partial sums. */
clg_status clg_vbn_reserve(clg_ctx *ctx, int n, int c, int h, int w);

/* gamma (C) from N(1, 0.02) and beta (C) = 0, from a fixed-seed host generator. */
clg_status clg_vbn_init_params(clg_ctx *ctx, const clg_tensor *gamma, const clg_tensor *beta,
                               uint64_t seed);

/* out_ref, inp_ref (N_ref, C, H, W); gamma, beta (C) or NULL. */
clg_status clg_vbn_ref_forward(clg_ctx *ctx, clg_vbn *v, const clg_tensor *out_ref,
                               const clg_tensor *inp_ref, const clg_tensor *gamma,
                               const clg_tensor *beta);

/* The same statistics and output again (inputs unchanged since
 * clg_vbn_ref_forward), keeping the gradients w.r.t. the statistics: the
 * reference pass recomputed for clg_vbn_ref_backward after the minibatches'
 * backward passes have added into them. */
clg_status clg_vbn_ref_recompute(clg_ctx *ctx, clg_vbn *v, const clg_tensor *out_ref,
                                 const clg_tensor *inp_ref, const clg_tensor *gamma,
                                 const clg_tensor *beta);

/* out, inp (N, C, H, W) (any N, H, W); mean, rstd (N, C) saved per example
 * and channel (backward needs rstd). */
clg_status clg_vbn_forward(clg_ctx *ctx, const clg_vbn *v, const clg_tensor *out,
                           const clg_tensor *mean, const clg_tensor *rstd, const clg_tensor *inp,
                           const clg_tensor *gamma, const clg_tensor *beta);

/* dinp, dout, inp (N, C, H, W); rstd (N, C) from the forward; dgamma, dbeta
 * (C) accumulated (NULL when gamma is NULL); adds into v->dref_mean/var. */
clg_status clg_vbn_backward(clg_ctx *ctx, clg_vbn *v, const clg_tensor *dinp,
                            const clg_tensor *dgamma, const clg_tensor *dbeta,
                            const clg_tensor *dout, const clg_tensor *inp,
                            const clg_tensor *rstd, const clg_tensor *gamma);

/* dinp_ref, inp_ref (N_ref, C, H, W); dout_ref the gradient w.r.t. out_ref,
 * or NULL when nothing downstream used it. */
clg_status clg_vbn_ref_backward(clg_ctx *ctx, clg_vbn *v, const clg_tensor *dinp_ref,
                                const clg_tensor *dgamma, const clg_tensor *dbeta,
                                const clg_tensor *dout_ref, const clg_tensor *inp_ref,
                                const clg_tensor *gamma);

#endif
