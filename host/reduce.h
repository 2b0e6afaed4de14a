/* reduce.h: wrappers for kernels/reduce.cl: per-channel statistics of NCHW
 * tensors (batch normalisation's forward statistics). Calls are enqueued,
 * not waited for. */
#ifndef CLG_REDUCE_H
#define CLG_REDUCE_H

#include "tensor.h"

/* For each channel c of x (N, C, H, W), over its M = N*H*W elements:
 *   sum[c]  = sum of x
 *   mean[c] = sum[c] / M
 *   var[c]  = mean of (x - mean[c])^2   (biased, population variance)
 * sum, mean, var: C elements each, any shape. Numerically stable (shifted,
 * corrected two-pass): holds at |mean| / std = 1e5. */
clg_status clg_channel_stats(clg_ctx *ctx, const clg_tensor *sum, const clg_tensor *mean,
                             const clg_tensor *var, const clg_tensor *x);

/* How a channel's elements are shared among a work-group (kernels/reduce.cl):
 * AUTO picks CONTIGUOUS on CPUs, STRIDED (coalesced) elsewhere. Tests and
 * benchmarks force one to cover both on any device. */
typedef enum {
    CLG_REDUCE_AUTO = 0,
    CLG_REDUCE_STRIDED,
    CLG_REDUCE_CONTIGUOUS
} clg_reduce_layout;
clg_status clg_channel_stats_layout(clg_ctx *ctx, const clg_tensor *sum, const clg_tensor *mean,
                                    const clg_tensor *var, const clg_tensor *x,
                                    clg_reduce_layout layout);

#endif
