/* batchnorm.h: batch normalisation (kernels/batchnorm.cl).
 *
 * Statistics over (N, H, W) per channel of an NCHW tensor; a (N, C, 1, 1)
 * tensor normalises fully connected features over N. Training mode uses the
 * batch statistics and may update running ones (PyTorch convention:
 * running = (1 - momentum) * running + momentum * batch, unbiased variance
 * for running_var); inference mode uses the running statistics. gamma and
 * beta may be NULL together (no affine: DCGAN reports it can work better).
 *
 * Like llm.c's layernorm: forward saves the per-channel mean and rstd that
 * backward needs (tensors the caller allocates); backward ACCUMULATES into
 * dgamma/dbeta (cleared by the caller's zero_grad) and WRITES dinp (it may
 * alias dout). Calls are enqueued, not waited for.
 *
 * Not here: virtual batch norm (vbn.h), which reuses the lower-level entry
 * points at the bottom. */
#ifndef CLG_BATCHNORM_H
#define CLG_BATCHNORM_H

#include "activation.h"
#include "tensor.h"

#define CLG_BN_EPS 1e-5f

/* out (N,C,H,W); mean, rstd (C) saved for backward; inp (N,C,H,W);
 * gamma, beta (C) or both NULL; running_mean, running_var (C) or both NULL
 * (not updated). N*H*W must exceed 1 when running stats are updated. */
clg_status clg_batchnorm_forward(clg_ctx *ctx, const clg_tensor *out, const clg_tensor *mean,
                                 const clg_tensor *rstd, const clg_tensor *inp,
                                 const clg_tensor *gamma, const clg_tensor *beta,
                                 const clg_tensor *running_mean, const clg_tensor *running_var,
                                 float momentum, float eps);

/* Inference: out = (inp - running_mean) / sqrt(running_var + eps) * gamma + beta.
 * out, inp (N,C,H,W) (may be the same); running_* (C); gamma, beta (C) or NULL. */
clg_status clg_batchnorm_forward_inference(clg_ctx *ctx, const clg_tensor *out,
                                           const clg_tensor *inp, const clg_tensor *gamma,
                                           const clg_tensor *beta,
                                           const clg_tensor *running_mean,
                                           const clg_tensor *running_var, float eps);

/* Backward of the training-mode forward. dinp (N,C,H,W) written;
 * dgamma, dbeta (C) accumulated (NULL when gamma is NULL); dout, inp
 * (N,C,H,W); mean, rstd (C) as the forward saved them; gamma (C) or NULL. */
clg_status clg_batchnorm_backward(clg_ctx *ctx, const clg_tensor *dinp, const clg_tensor *dgamma,
                                  const clg_tensor *dbeta, const clg_tensor *dout,
                                  const clg_tensor *inp, const clg_tensor *mean,
                                  const clg_tensor *rstd, const clg_tensor *gamma);

/* ---- with a fused activation --------------------------------------------
 * Batch norm then ReLU or leaky ReLU in the same kernels: a pass over the
 * tensor and a launch fewer each way, bit-identical to clg_batchnorm_forward
 * then clg_act_forward (and to clg_act_backward then clg_batchnorm_backward).
 * act.act: CLG_ACT_IDENTITY (plain batch norm), CLG_ACT_RELU or
 * CLG_ACT_LEAKY_RELU (act.slope > 0); others are CLG_ERR_INVALID_ARG. The
 * backward takes dout at the activation's output and reads the forward's
 * output `out` beside it (dinp may alias dout, not out). */
clg_status clg_batchnorm_act_forward(clg_ctx *ctx, const clg_tensor *out, const clg_tensor *mean,
                                     const clg_tensor *rstd, const clg_tensor *inp,
                                     const clg_tensor *gamma, const clg_tensor *beta,
                                     const clg_tensor *running_mean,
                                     const clg_tensor *running_var, float momentum, float eps,
                                     clg_fused_act act);
clg_status clg_batchnorm_act_forward_inference(clg_ctx *ctx, const clg_tensor *out,
                                               const clg_tensor *inp, const clg_tensor *gamma,
                                               const clg_tensor *beta,
                                               const clg_tensor *running_mean,
                                               const clg_tensor *running_var, float eps,
                                               clg_fused_act act);
clg_status clg_batchnorm_act_backward(clg_ctx *ctx, const clg_tensor *dinp,
                                      const clg_tensor *dgamma, const clg_tensor *dbeta,
                                      const clg_tensor *dout, const clg_tensor *out,
                                      const clg_tensor *inp, const clg_tensor *mean,
                                      const clg_tensor *rstd, const clg_tensor *gamma,
                                      clg_fused_act act);

/* ---- shared with vbn.c -------------------------------------------------- */

/* The training forward, also writing (both or neither) the biased batch
 * variance `var` (C) and `mean_lo` (C), the rounding error of the float mean
 * (mean + mean_lo is the mean to about twice float precision). */
clg_status clg_bn_forward_stats(clg_ctx *ctx, const clg_tensor *out, const clg_tensor *mean,
                                const clg_tensor *rstd, const clg_tensor *var,
                                const clg_tensor *mean_lo, const clg_tensor *inp,
                                const clg_tensor *gamma,
                                const clg_tensor *beta, const clg_tensor *running_mean,
                                const clg_tensor *running_var, float momentum, float eps);

/* The backward with two optional extras: dout NULL counts as zero (then
 * dgamma/dbeta may be NULL: nothing reaches them), and
 * dmean_x, dvar_x (C) (both or neither) are gradients from elsewhere w.r.t.
 * the batch's mean and biased variance, added in. */
clg_status clg_bn_backward_stats(clg_ctx *ctx, const clg_tensor *dinp, const clg_tensor *dgamma,
                                 const clg_tensor *dbeta, const clg_tensor *dout,
                                 const clg_tensor *inp, const clg_tensor *mean,
                                 const clg_tensor *rstd, const clg_tensor *gamma,
                                 const clg_tensor *dmean_x, const clg_tensor *dvar_x);

/* 1 where BN and VBN take their split kernels (several work-groups per
 * channel, or per example's row: GPUs, or ctx->norm_path = CLG_NORM_GPU),
 * 0 where they take the per-channel kernels tuned for CPUs. */
int clg_norm_split(const clg_ctx *ctx);
/* Grows the context's scratch to what the split kernels need for an
 * (n, c, h, w) input (nothing on the per-channel path): layers call it when
 * they are built, so training steps allocate nothing. */
clg_status clg_norm_reserve(clg_ctx *ctx, int n, int c, int h, int w);

/* Work-items per channel work-group: 1 on CPUs (PoCL runs a work-group as
 * a loop over its work-items and the kernels vectorise explicitly), 256 (or
 * the kernel's limit) on GPUs. */
size_t clg_bn_local(clg_ctx *ctx, cl_kernel k);
/* Work-groups for `channels` channels (the kernels loop over channels): one
 * per channel on GPUs, a few per compute unit on CPUs, where a work-group
 * costs PoCL microseconds and DCGAN's 4x4 channels hold 4 KiB. */
size_t clg_bn_groups(clg_ctx *ctx, int channels);

/* Shared shape checks: fail unless `t` has `c` elements, or (for
 * clg_bn_check_same) the same N, C, H, W as `ref`. */
clg_status clg_bn_check_vec(const char *op, const char *what, const clg_tensor *t, int c);
clg_status clg_bn_check_same(const char *op, const char *what, const clg_tensor *t,
                             const clg_tensor *ref);

#endif
