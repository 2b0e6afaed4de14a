/* resample.h: 2x resampling of NCHW tensors for image pyramids
 * (kernels/resample.cl), each with its backward pass:
 *   avgpool2x    2x2 mean, stride 2.
 *   blur_down    the Gaussian pyramid's REDUCE: a separable 5-tap binomial
 *                [1 4 6 4 1] / 16 blur, then every second pixel (output
 *                pixel i is centred on input 2i); borders replicate.
 *   upsample2x   bilinear 2x with PyTorch's align_corners=False
 *                (F.interpolate(scale_factor=2, mode='bilinear')); borders
 *                replicate.
 * The down ops need H and W even: x (N, C, H, W) -> out (N, C, H/2, W/2).
 * upsample2x takes any H, W >= 1: x (N, C, H, W) -> out (N, C, 2H, 2W).
 * Backward passes WRITE dx (the exact transpose of the forward applied to
 * dout); dx must not overlap dout. Calls are enqueued, not waited for. */
#ifndef CLG_RESAMPLE_H
#define CLG_RESAMPLE_H

#include "tensor.h"

clg_status clg_avgpool2x_forward(clg_ctx *ctx, const clg_tensor *out, const clg_tensor *x);
clg_status clg_avgpool2x_backward(clg_ctx *ctx, const clg_tensor *dx, const clg_tensor *dout);

clg_status clg_blur_down_forward(clg_ctx *ctx, const clg_tensor *out, const clg_tensor *x);
clg_status clg_blur_down_backward(clg_ctx *ctx, const clg_tensor *dx, const clg_tensor *dout);

clg_status clg_upsample2x_forward(clg_ctx *ctx, const clg_tensor *out, const clg_tensor *x);
clg_status clg_upsample2x_backward(clg_ctx *ctx, const clg_tensor *dx,
                                   const clg_tensor *dout);

#endif
