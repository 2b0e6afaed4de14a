/* mbd.h: minibatch discrimination (Salimans et al. 2016; kernels/mbd.cl).
 *
 * For features f (N, A) and a learned T (A, B*C) (viewed as A x B x C):
 *     M = f T                                  (N, B, C), on host/conv's kernels
 *     c_b(i, j) = exp(-||M[i,b,:] - M[j,b,:]||_1)
 *     o[i, b]   = sum_{j != i} c_b(i, j) + bias[b]     (bias optional)
 *     out       = [f, o]                       (N, A + B)
 * Real and generated minibatches go through separately (the caller's job).
 *
 * Forward saves m = M^T (B*C, N), the caller's tensor, for the backward;
 * mn (N, B*C) is the caller's scratch for M before it is transposed (and
 * for dM in the backward). Backward WRITES df and ACCUMULATES into dt and
 * dbias (cleared by a zero_grad); it needs a scratch dm of m's shape.
 * clg_mbd_reserve grows the context's scratch for the projection at setup. Tensors are 2-D in the
 * sense of their element counts: f has N*A elements with N = f->n.
 * Calls are enqueued, not waited for. */
#ifndef CLG_MBD_H
#define CLG_MBD_H

#include "tensor.h"

clg_status clg_mbd_reserve(clg_ctx *ctx, int N, int A, int B, int C);

/* out (N, A+B); m (B*C, N) saved; mn (N, B*C) scratch; f (N, A); t (A, B*C);
 * bias (B) or NULL. */
clg_status clg_mbd_forward(clg_ctx *ctx, const clg_tensor *out, const clg_tensor *m,
                           const clg_tensor *mn, const clg_tensor *f, const clg_tensor *t,
                           const clg_tensor *bias, int B, int C);

/* df (N, A) written (may not alias dout); dt (A, B*C) and dbias (B) accumulated
 * (either NULL: not wanted); dm (B*C, N) and mn (N, B*C) scratch; dout
 * (N, A+B); f, t, m as in forward. */
clg_status clg_mbd_backward(clg_ctx *ctx, const clg_tensor *df, const clg_tensor *dt,
                            const clg_tensor *dbias, const clg_tensor *dm, const clg_tensor *mn,
                            const clg_tensor *dout, const clg_tensor *f, const clg_tensor *t,
                            const clg_tensor *m, int B, int C);

/* The pairwise kernels alone (benchmarks, tests): o into out[:, A:A+B] from
 * m; and dm (written) and dbias (accumulated, may be NULL) from dout[:, A:]. */
clg_status clg_mbd_pairs_forward(clg_ctx *ctx, const clg_tensor *out, const clg_tensor *m,
                                 const clg_tensor *bias, int N, int A, int B, int C);
clg_status clg_mbd_pairs_backward(clg_ctx *ctx, const clg_tensor *dm, const clg_tensor *dbias,
                                  const clg_tensor *dout, const clg_tensor *m, int N, int A,
                                  int B, int C);

#endif
