/* conv.h: 2-D convolution and transposed convolution on NCHW float32
 * (kernels/conv.cl): forward, backward to the input, backward to the weights
 * and bias. Any R x S kernel, stride, zero padding; no dilation, no groups,
 * no output_padding. Calls are enqueued, not waited for.
 *
 * One descriptor serves both: a transposed convolution is described by the
 * convolution it is the adjoint of (clg_conv_transpose_desc_init), so its
 * forward runs conv's backward-data kernels and its backward-data conv's
 * forward ones. Weight layouts are PyTorch's: conv (K, C, R, S) and
 * ConvTranspose2d (C_in, C_out, R, S), which is the same array.
 *
 * Which kernel variant and tile sizes run is picked per shape: the choice
 * `clgan tune` stored for this device (host/conv_tune.h), else a default per
 * device type. The *_algo entry points run a given variant (tests, tune).
 * The descriptor and variant types themselves are in conv_desc.h. */
#ifndef CLG_CONV_H
#define CLG_CONV_H

#include "activation.h"
#include "conv_desc.h"
#include "tensor.h"

/* Choose the variants of the three directions of `d` once (d->plan: the
 * calls with `d` and no variant of their own then run them without choosing
 * again) and grow the context's scratch buffer (clg_scratch) to what they
 * need, so that a training loop chooses and allocates nothing after its
 * setup. */
clg_status clg_conv_reserve(clg_ctx *ctx, clg_conv_desc *d);

/* The forward-direction calls named *_act apply an activation
 * (clg_fused_act, host/activation.h; NULL: none) after the bias, in the
 * kernels' epilogue; an invalid one is CLG_ERR_INVALID_ARG. */

/* ---- convolution ---- */

/* out (N, K, P, Q) = conv(inp (N, C, H, W), weight (K, C, R, S)) + bias (K) or NULL. */
clg_status clg_conv2d_forward(clg_ctx *ctx, const clg_tensor *out, const clg_tensor *inp,
                              const clg_tensor *weight, const clg_tensor *bias,
                              const clg_conv_desc *d);
/* out = act(conv + bias). */
clg_status clg_conv2d_forward_act(clg_ctx *ctx, const clg_tensor *out, const clg_tensor *inp,
                                  const clg_tensor *weight, const clg_tensor *bias,
                                  const clg_fused_act *act, const clg_conv_desc *d);
/* dinp (N, C, H, W) = gradient of the forward wrt inp, given dout (N, K, P, Q).
 * Overwrites dinp. */
clg_status clg_conv2d_backward_data(clg_ctx *ctx, const clg_tensor *dinp,
                                    const clg_tensor *dout, const clg_tensor *weight,
                                    const clg_conv_desc *d);
/* dweight (K, C, R, S) += gradient wrt weight; dbias (K) += gradient wrt bias
 * (dbias may be NULL). */
clg_status clg_conv2d_backward_weight(clg_ctx *ctx, const clg_tensor *dweight,
                                      const clg_tensor *dbias, const clg_tensor *dout,
                                      const clg_tensor *inp, const clg_conv_desc *d);

/* ---- transposed convolution (d from clg_conv_transpose_desc_init) ---- */

/* out (N, C_out, H_out, W_out) = convT(inp (N, C_in, H_in, W_in),
 * weight (C_in, C_out, R, S)) + bias (C_out) or NULL. */
clg_status clg_conv_transpose2d_forward(clg_ctx *ctx, const clg_tensor *out,
                                        const clg_tensor *inp, const clg_tensor *weight,
                                        const clg_tensor *bias, const clg_conv_desc *d);
/* out = act(convT + bias). */
clg_status clg_conv_transpose2d_forward_act(clg_ctx *ctx, const clg_tensor *out,
                                            const clg_tensor *inp, const clg_tensor *weight,
                                            const clg_tensor *bias, const clg_fused_act *act,
                                            const clg_conv_desc *d);
/* dinp (N, C_in, H_in, W_in) = gradient wrt inp given dout (N, C_out, H_out, W_out).
 * Overwrites dinp. */
clg_status clg_conv_transpose2d_backward_data(clg_ctx *ctx, const clg_tensor *dinp,
                                              const clg_tensor *dout, const clg_tensor *weight,
                                              const clg_conv_desc *d);
/* dweight (C_in, C_out, R, S) += ..., dbias (C_out) += ... (may be NULL). */
clg_status clg_conv_transpose2d_backward_weight(clg_ctx *ctx, const clg_tensor *dweight,
                                                const clg_tensor *dbias, const clg_tensor *dout,
                                                const clg_tensor *inp, const clg_conv_desc *d);

/* ---- variants ---- */

/* Every variant clgan can run (the tuner's candidates; tests run them all). */
int clg_conv_algo_count(void);
const clg_conv_algo *clg_conv_algo_at(int i);
/* The device-type default for a shape, ignoring stored tuning. */
void clg_conv_algo_default(const clg_ctx *ctx, clg_conv_dir dir, const clg_conv_desc *d,
                           clg_conv_algo *out);
/* What a plain call runs: the stored choice, else the default. */
clg_status clg_conv_algo_select(clg_ctx *ctx, clg_conv_dir dir, const clg_conv_desc *d,
                                clg_conv_algo *out);
/* CLG_ERR_UNSUPPORTED (with a message) when this device or kernel cannot
 * launch `a` (work-group or local memory too large); CLG_OK otherwise. */
clg_status clg_conv_algo_check(clg_ctx *ctx, const clg_conv_algo *a);

/* As the plain calls, with `a` (NULL: clg_conv_algo_select's choice). The
 * backward-data one also takes a bias (C) or NULL added to dinp: that is a
 * transposed convolution's forward. */
clg_status clg_conv2d_forward_algo(clg_ctx *ctx, const clg_conv_algo *a, const clg_tensor *out,
                                   const clg_tensor *inp, const clg_tensor *weight,
                                   const clg_tensor *bias, const clg_conv_desc *d);
clg_status clg_conv2d_backward_data_algo(clg_ctx *ctx, const clg_conv_algo *a,
                                         const clg_tensor *dinp, const clg_tensor *dout,
                                         const clg_tensor *weight, const clg_tensor *bias,
                                         const clg_conv_desc *d);
clg_status clg_conv2d_backward_weight_algo(clg_ctx *ctx, const clg_conv_algo *a,
                                           const clg_tensor *dweight, const clg_tensor *dbias,
                                           const clg_tensor *dout, const clg_tensor *inp,
                                           const clg_conv_desc *d);
/* The forward-direction ones with an activation (the backward-data one: a
 * transposed convolution's forward). */
clg_status clg_conv2d_forward_act_algo(clg_ctx *ctx, const clg_conv_algo *a,
                                       const clg_tensor *out, const clg_tensor *inp,
                                       const clg_tensor *weight, const clg_tensor *bias,
                                       const clg_fused_act *act, const clg_conv_desc *d);
clg_status clg_conv2d_backward_data_act_algo(clg_ctx *ctx, const clg_conv_algo *a,
                                             const clg_tensor *dinp, const clg_tensor *dout,
                                             const clg_tensor *weight, const clg_tensor *bias,
                                             const clg_fused_act *act, const clg_conv_desc *d);

/* The tensors of one convolution for timing a direction (the tuners): the
 * input x (N, C, H, W), output y (N, K, P, Q), weight w and its gradient dw
 * (K, C, R, S). */
typedef struct {
    clg_conv_desc d;
    clg_tensor x, y, w, dw;
} clg_conv_bufs;
/* Allocated and filled with constants; _free releases them. */
clg_status clg_conv_bufs_create(clg_ctx *ctx, clg_conv_bufs *b, const clg_conv_desc *d);
void clg_conv_bufs_free(clg_ctx *ctx, clg_conv_bufs *b);
/* One pass of direction `dir` with variant `a` on b's tensors (no bias). */
clg_status clg_conv_run(clg_ctx *ctx, clg_conv_dir dir, const clg_conv_algo *a,
                        const clg_conv_bufs *b);

#endif
