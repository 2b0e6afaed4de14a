/* softmax.h: wrappers for kernels/softmax.cl: softmax and log-softmax over
 * each row of a tensor, with rows = n and cols = c * h * w. `out` must have
 * the same rows and element count as `in`; out == in is allowed. Stable for
 * any finite input (the row maximum is subtracted first). Forward only.
 * Calls are enqueued, not waited for. */
#ifndef CLG_SOFTMAX_H
#define CLG_SOFTMAX_H

#include "tensor.h"

/* out[r, j] = exp(in[r, j]) / sum_k exp(in[r, k]) */
clg_status clg_softmax_forward(clg_ctx *ctx, const clg_tensor *out, const clg_tensor *in);
/* out[r, j] = in[r, j] - max_r - log(sum_k exp(in[r, k] - max_r)) */
clg_status clg_log_softmax_forward(clg_ctx *ctx, const clg_tensor *out, const clg_tensor *in);

#endif
