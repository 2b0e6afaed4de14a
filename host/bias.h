/* bias.h: per-channel bias add and its gradient (kernels/bias.cl), for
 * layers whose main kernel has no bias epilogue (linear via CLBlast GEMM). */
#ifndef CLG_BIAS_H
#define CLG_BIAS_H

#include "tensor.h"

/* out (N, C, H, W) += bias (C) broadcast over N, H, W. */
clg_status clg_bias_forward(clg_ctx *ctx, const clg_tensor *out, const clg_tensor *bias);
/* dbias (C) += sum of dout (N, C, H, W) over N, H, W. */
clg_status clg_bias_backward(clg_ctx *ctx, const clg_tensor *dbias, const clg_tensor *dout);

#endif
