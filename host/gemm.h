/* gemm.h: C = alpha * op(A) op(B) + beta * C through CLBlast, row-major.
 * op(A) is M x K, op(B) is K x N, C is M x N; lda/ldb/ldc are the row
 * strides of the matrices as stored. Offsets come from the tensors. */
#ifndef CLG_GEMM_H
#define CLG_GEMM_H

#include "tensor.h"

clg_status clg_gemm(clg_ctx *ctx, int trans_a, int trans_b, size_t m, size_t n, size_t k,
                    float alpha, const clg_tensor *a, size_t lda, const clg_tensor *b,
                    size_t ldb, float beta, const clg_tensor *c, size_t ldc, cl_event *ev);

/* CLBlast's name for its status code ("CLBlastInvalidLeadDimA"), or an
 * OpenCL code's name for the codes CLBlast passes through. */
const char *clg_clblast_status_name(int code);

#endif
