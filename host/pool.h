/* pool.h: adaptive max pooling to a fixed grid (kernels/pool.cl), as
 * PyTorch's AdaptiveMaxPool2d: used to pool D's feature maps to 4x4. */
#ifndef CLG_POOL_H
#define CLG_POOL_H

#include "tensor.h"

/* out (N, C, OH, OW) = max over each bin of x (N, C, H, W); arg (a device
 * buffer of N*C*OH*OW cl_int at element offset arg_off) keeps where each
 * maximum was, for backward. */
clg_status clg_adaptive_max_pool_forward(clg_ctx *ctx, const clg_tensor *out, cl_mem arg,
                                         size_t arg_off, const clg_tensor *x);
/* dx (N, C, H, W) = the gradient routed to each bin's maximum (written). */
clg_status clg_adaptive_max_pool_backward(clg_ctx *ctx, const clg_tensor *dx,
                                          const clg_tensor *dout, cl_mem arg, size_t arg_off);

#endif
