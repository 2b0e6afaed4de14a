/* elementwise.h: wrappers for kernels/elementwise.cl. Each works over the
 * flat elements of its tensors, which must have equal element counts.
 * Calls are enqueued, not waited for. */
#ifndef CLG_ELEMENTWISE_H
#define CLG_ELEMENTWISE_H

#include "tensor.h"

clg_status clg_fill(clg_ctx *ctx, const clg_tensor *out, float v);
clg_status clg_copy(clg_ctx *ctx, const clg_tensor *out, const clg_tensor *in);
/* out = a * in */
clg_status clg_scale(clg_ctx *ctx, const clg_tensor *out, const clg_tensor *in, float a);
/* y += a * x */
clg_status clg_axpy(clg_ctx *ctx, const clg_tensor *y, float a, const clg_tensor *x);
/* out = a + b, out = a * b */
clg_status clg_add(clg_ctx *ctx, const clg_tensor *out, const clg_tensor *a, const clg_tensor *b);
clg_status clg_mul(clg_ctx *ctx, const clg_tensor *out, const clg_tensor *a, const clg_tensor *b);

/* Concatenation along channels: out (N, Ca + Cb, H, W) = [a (N, Ca, H, W),
 * b (N, Cb, H, W)]; and its backward, the split of dout into da and db. */
clg_status clg_concat_channels(clg_ctx *ctx, const clg_tensor *out, const clg_tensor *a,
                               const clg_tensor *b);
clg_status clg_split_channels(clg_ctx *ctx, const clg_tensor *da, const clg_tensor *db,
                              const clg_tensor *dout);

/* Shared by the wrappers of every family: fail unless the element counts match. */
clg_status clg_check_numel(const char *op, const clg_tensor *a, const clg_tensor *b);

#endif
