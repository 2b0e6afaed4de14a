/* gemm.c: GEMM through CLBlast (row-major), with its errors named. */
#include "gemm.h"

#include <clblast_c.h>

const char *clg_clblast_status_name(int code) {
    switch (code) {
#define N(c) case c: return #c
    N(CLBlastSuccess);
    N(CLBlastOpenCLCompilerNotAvailable);
    N(CLBlastTempBufferAllocFailure);
    N(CLBlastOpenCLOutOfResources);
    N(CLBlastOpenCLOutOfHostMemory);
    N(CLBlastOpenCLBuildProgramFailure);
    N(CLBlastInvalidValue);
    N(CLBlastInvalidCommandQueue);
    N(CLBlastInvalidMemObject);
    N(CLBlastInvalidBinary);
    N(CLBlastInvalidBuildOptions);
    N(CLBlastInvalidProgram);
    N(CLBlastInvalidProgramExecutable);
    N(CLBlastInvalidKernelName);
    N(CLBlastInvalidKernelDefinition);
    N(CLBlastInvalidKernel);
    N(CLBlastInvalidArgIndex);
    N(CLBlastInvalidArgValue);
    N(CLBlastInvalidArgSize);
    N(CLBlastInvalidKernelArgs);
    N(CLBlastInvalidLocalNumDimensions);
    N(CLBlastInvalidLocalThreadsTotal);
    N(CLBlastInvalidLocalThreadsDim);
    N(CLBlastInvalidGlobalOffset);
    N(CLBlastInvalidEventWaitList);
    N(CLBlastInvalidEvent);
    N(CLBlastInvalidOperation);
    N(CLBlastInvalidBufferSize);
    N(CLBlastInvalidGlobalWorkSize);
    N(CLBlastNotImplemented);
    N(CLBlastInvalidMatrixA);
    N(CLBlastInvalidMatrixB);
    N(CLBlastInvalidMatrixC);
    N(CLBlastInvalidVectorX);
    N(CLBlastInvalidVectorY);
    N(CLBlastInvalidDimension);
    N(CLBlastInvalidLeadDimA);
    N(CLBlastInvalidLeadDimB);
    N(CLBlastInvalidLeadDimC);
    N(CLBlastInvalidIncrementX);
    N(CLBlastInvalidIncrementY);
    N(CLBlastInsufficientMemoryA);
    N(CLBlastInsufficientMemoryB);
    N(CLBlastInsufficientMemoryC);
    N(CLBlastInsufficientMemoryX);
    N(CLBlastInsufficientMemoryY);
    N(CLBlastInsufficientMemoryTemp);
    N(CLBlastInvalidBatchCount);
    N(CLBlastInvalidOverrideKernel);
    N(CLBlastMissingOverrideParameter);
    N(CLBlastInvalidLocalMemUsage);
    N(CLBlastNoHalfPrecision);
    N(CLBlastNoDoublePrecision);
    N(CLBlastInvalidVectorScalar);
    N(CLBlastInsufficientMemoryScalar);
    N(CLBlastDatabaseError);
    N(CLBlastUnknownError);
    N(CLBlastUnexpectedError);
#undef N
    default: return clg_cl_error_name(code);
    }
}

clg_status clg_gemm(clg_ctx *ctx, int trans_a, int trans_b, size_t m, size_t n, size_t k,
                    float alpha, const clg_tensor *a, size_t lda, const clg_tensor *b,
                    size_t ldb, float beta, const clg_tensor *c, size_t ldc, cl_event *ev) {
    /* Stored extents (row-major): A is M x K (or K x M transposed), etc. */
    size_t a_rows = trans_a ? k : m, a_cols = trans_a ? m : k;
    size_t b_rows = trans_b ? n : k, b_cols = trans_b ? k : n;
    if (m == 0 || n == 0 || k == 0)
        return clg_fail(CLG_ERR_INVALID_ARG, "gemm: zero dimension (M=%zu N=%zu K=%zu)", m, n, k);
    if (lda < a_cols || ldb < b_cols || ldc < n)
        return clg_fail(CLG_ERR_INVALID_ARG,
                        "gemm: leading dimension too small (lda=%zu<%zu, ldb=%zu<%zu or "
                        "ldc=%zu<%zu)",
                        lda, a_cols, ldb, b_cols, ldc, n);
    if ((a_rows - 1) * lda + a_cols > clg_tensor_numel(a) ||
        (b_rows - 1) * ldb + b_cols > clg_tensor_numel(b) ||
        (m - 1) * ldc + n > clg_tensor_numel(c))
        return clg_fail(CLG_ERR_INVALID_ARG,
                        "gemm: a matrix extends past its tensor (M=%zu N=%zu K=%zu)", m, n, k);
    cl_event own = NULL;
    if (ctx->profile && !ev) ev = &own;
    CLBlastStatusCode st = CLBlastSgemm(
        CLBlastLayoutRowMajor, trans_a ? CLBlastTransposeYes : CLBlastTransposeNo,
        trans_b ? CLBlastTransposeYes : CLBlastTransposeNo, m, n, k, alpha, a->buf, a->off / 4,
        lda, b->buf, b->off / 4, ldb, beta, c->buf, c->off / 4, ldc, &ctx->queue, ev);
    if (st != CLBlastSuccess)
        return clg_fail(st == CLBlastTempBufferAllocFailure ? CLG_ERR_OUT_OF_MEMORY
                                                             : CLG_ERR_CLBLAST,
                        "%s in CLBlastSgemm (M=%zu N=%zu K=%zu, trans %d%d) on %s",
                        clg_clblast_status_name(st), m, n, k, trans_a, trans_b, ctx->dev.name);
    if (own) CLG_TRY(clg_profile_record(ctx, own, "gemm (CLBlast)"));
    return CLG_OK;
}
