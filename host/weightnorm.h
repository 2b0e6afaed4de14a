/* weightnorm.h: weight normalisation (Salimans and Kingma 2016,
 * arXiv:1602.07868) of a weight whose rows are output units
 * (kernels/weightnorm.cl), its backward pass, and the data-dependent
 * initialisation of its scale g and bias b.
 *
 * Shapes: v and w (K, Cin) as PyTorch's Linear stores its weight: K = n and
 * Cin = c*h*w of the tensor, so a conv weight (K, C, R, S) works unchanged;
 * g, norm, dg: K elements in any shape. Not here: the matrix product with
 * w (host/gemm.h) or the bias add (host/bias.h).
 *
 * Data-dependent init, as openai/improved-gan's nn.py does it:
 *   DenseLayer, nn.py lines 120-124 (commit 0c907e8):
 *     ma = T.mean(activation, axis=0); activation -= ma
 *     stdv = T.sqrt(T.mean(T.square(activation), axis=0))
 *     init_updates = [(weight_scale, weight_scale/stdv), (b, -ma/stdv)]
 *   WeightNormLayer, mnist_svhn_cifar10/nn.py lines 83-87 (commit 0fa06b5),
 *   the same with a target scale init_stdv (default 1):
 *     inv_stdv = init_stdv / T.sqrt(T.mean(T.square(input - m), axes))
 *     init_updates = [(b, -m*inv_stdv), (g, g*inv_stdv)]
 * so, per unit k over the pre-activations of a forward with b = 0:
 *   m_k = mean(pre_k), s_k = sqrt(mean((pre_k - m_k)^2))  (biased, no epsilon)
 *   g_k := g_k * init_scale / s_k,  b_k := -m_k * init_scale / s_k.
 * With g = 1 at that forward, g_k = init_scale / s_k; for any g != 0 the
 * layer's pre-activations g v.x / |v| + b then have mean 0 and standard
 * deviation init_scale over the batch. The reference has no epsilon in this
 * update (the 1e-6 in mnist_svhn_cifar10/nn.py is inside |v|, not in s), so
 * neither has this: a unit whose pre-activations are all equal gets
 * non-finite g and b. Nor in the norm: a zero row of v gives non-finite w.
 *
 * Calls are enqueued, not waited for. */
#ifndef CLG_WEIGHTNORM_H
#define CLG_WEIGHTNORM_H

#include "tensor.h"

/* w (K, Cin) = g_k v_k / |v_k| per row; norm (K) = |v_k|, saved for backward. */
clg_status clg_weightnorm_forward(clg_ctx *ctx, const clg_tensor *w, const clg_tensor *norm,
                                  const clg_tensor *v, const clg_tensor *g);

/* From dw (K, Cin), the gradient with respect to w:
 *   dg_k = <dw_k, v_k> / norm_k,  dv_k = (g_k / norm_k) (dw_k - dg_k v_k / norm_k),
 * with norm from the forward. accumulate = 1 adds them into dv and dg
 * (gradients summed over passes), 0 writes them; anything else is
 * CLG_ERR_INVALID_ARG. dv and dg must not overlap the inputs. */
clg_status clg_weightnorm_backward(clg_ctx *ctx, const clg_tensor *dv, const clg_tensor *dg,
                                   const clg_tensor *dw, const clg_tensor *v,
                                   const clg_tensor *g, const clg_tensor *norm, int accumulate);

/* The data-dependent init above: pre (N, K, H, W), the pre-activations of a
 * forward with b = 0 (H = W = 1 for a dense layer; for a conv layer the
 * statistics run over N, H and W, as nn.py's axes (0, 2, 3)); g and b have K
 * elements; g is read (the g of that forward) and both are written.
 * N*H*W must be at least 2 and init_scale finite and > 0. */
clg_status clg_weightnorm_data_init(clg_ctx *ctx, const clg_tensor *g, const clg_tensor *b,
                                    const clg_tensor *pre, float init_scale);

#endif
