/* loss.h: losses on logits (kernels/loss.cl). Forward writes a 2-element
 * stats tensor (mean loss, and a statistic for logging); backward writes the
 * gradient of the mean loss with respect to the logits. */
#ifndef CLG_LOSS_H
#define CLG_LOSS_H

#include "tensor.h"

/* Binary cross-entropy with logits against a constant target (1 real, 0
 * fake; 0.9 for one-sided label smoothing).
 * stats (2): mean loss, mean sigmoid(logits). logits: any shape, n elements. */
clg_status clg_bce_logits_forward(clg_ctx *ctx, const clg_tensor *stats,
                                  const clg_tensor *logits, float target);
/* dlogits = (sigmoid(logits) - target) / n */
clg_status clg_bce_logits_backward(clg_ctx *ctx, const clg_tensor *dlogits,
                                   const clg_tensor *logits, float target);

/* Softmax cross-entropy: logits (N, K) as N = logits->n rows of c*h*w = K;
 * labels: N class indices in [0, K) (clg_itensor_upload_labels checks them).
 * stats (2): mean loss, accuracy. */
clg_status clg_xent_forward(clg_ctx *ctx, const clg_tensor *stats, const clg_tensor *logits,
                            const clg_itensor *labels);
/* dlogits = (softmax(logits) - onehot(labels)) / N */
clg_status clg_xent_backward(clg_ctx *ctx, const clg_tensor *dlogits, const clg_tensor *logits,
                             const clg_itensor *labels);

/* The K+1 discriminator's unsupervised loss (Salimans et al. 2016): rows
 * of K class logits, D(x) = sigmoid(logsumexp(row)) (class K+1's logit is
 * 0), binary cross-entropy of D(x) against `target` (1 real, 0 generated).
 * stats (2): mean loss, mean D(x). Stable for logits of any magnitude. */
clg_status clg_lse_bce_forward(clg_ctx *ctx, const clg_tensor *stats, const clg_tensor *logits,
                               float target);
/* dlogits = scale (D(x) - target) softmax(row) / N: the gradient of scale x
 * the mean loss (a weighted term of a larger loss). */
clg_status clg_lse_bce_backward(clg_ctx *ctx, const clg_tensor *dlogits, const clg_tensor *logits,
                                float target, float scale);

#endif
