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

/* Side inputs as constant planes (conditional DCGAN's label planes):
 * out (N, C + L, H, W) = x (N, C, H, W) in channels [0, C), then v (N, L, 1, 1)
 * broadcast: out[n, C + l, :, :] = v[n, l]. With H = W = 1 this is plain
 * feature concatenation. out must not overlap x or v. */
clg_status clg_concat_planes_forward(clg_ctx *ctx, const clg_tensor *out, const clg_tensor *x,
                                     const clg_tensor *v);
/* Its backward, written (not accumulated): dx = dout's channels [0, C);
 * dv[n, l] = the sum over H x W of dout's channel C + l. Either of dx and
 * dv may be NULL (not wanted); C and L then come from the other and dout. */
clg_status clg_concat_planes_backward(clg_ctx *ctx, const clg_tensor *dx, const clg_tensor *dv,
                                      const clg_tensor *dout);

/* Shared by the wrappers of every family: fail unless the element counts match. */
clg_status clg_check_numel(const char *op, const clg_tensor *a, const clg_tensor *b);

#endif
