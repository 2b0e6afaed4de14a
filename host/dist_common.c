/* dist_common.c: what both implementations of dist.h share: the launcher
 * in the environment, and collectives over device tensors, staged through
 * one growing host buffer (read, reduce, write back). */
#include "dist.h"
#include "runtime.h"

#include <stdlib.h>
#include <time.h>

int clg_dist_launcher_size(void) {
    static const char *const sizes[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        const char *v = getenv(sizes[i]);
        if (v && atoi(v) > 0) return atoi(v);
    }
    return getenv("PMIX_RANK") ? 1 : 0;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static clg_status staging(clg_dist *d, size_t n) {
    if (n <= d->host_cap) return CLG_OK;
    float *p = realloc(d->host, n * sizeof *p);
    if (!p) return clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory (%zu floats)", n);
    d->host = p, d->host_cap = n;
    return CLG_OK;
}

clg_status clg_dist_staging(clg_dist *d, size_t n, float **host) {
    CLG_TRY(staging(d, n));
    *host = d->host;
    return CLG_OK;
}

clg_status clg_dist_allreduce_after(clg_ctx *ctx, clg_dist *d, const clg_tensor *t,
                                    cl_event ready, float scale, float *host) {
    const size_t n = clg_tensor_numel(t);
    cl_command_queue side;
    CLG_TRY(clg_ctx_side_queue(ctx, &side));
    CL_CHECK(clWaitForEvents(1, &ready));
    double t0 = now_s();
    CL_CHECK(clEnqueueReadBuffer(side, t->buf, CL_TRUE, t->off, n * sizeof(float), host, 1,
                                 &ready, NULL));
    CLG_TRY(clg_dist_allreduce_sum(d, host, n));
    for (size_t i = 0; i < n; i++) host[i] *= scale;
    CL_CHECK(clEnqueueWriteBuffer(ctx->queue, t->buf, CL_FALSE, t->off, n * sizeof(float), host,
                                  0, NULL, NULL));
    d->tensor_s += now_s() - t0;
    d->tensor_calls++;
    return CLG_OK;
}

clg_status clg_dist_allreduce_tensor(clg_ctx *ctx, clg_dist *d, const clg_tensor *t,
                                     float scale) {
    if (d->size == 1 && scale == 1.0f) return CLG_OK;
    const size_t n = clg_tensor_numel(t);
    CLG_TRY(staging(d, n));
    /* The kernels before this belong to the step, not to the reduction. */
    CLG_TRY(clg_ctx_finish(ctx));
    double t0 = now_s();
    CLG_TRY(clg_tensor_download(ctx, t, d->host));
    CLG_TRY(clg_dist_allreduce_sum(d, d->host, n));
    for (size_t i = 0; i < n; i++) d->host[i] *= scale;
    CLG_TRY(clg_tensor_upload(ctx, t, d->host));
    d->tensor_s += now_s() - t0;
    d->tensor_calls++;
    return CLG_OK;
}

clg_status clg_dist_bcast_tensor(clg_ctx *ctx, clg_dist *d, const clg_tensor *t) {
    if (d->size == 1) return CLG_OK;
    const size_t n = clg_tensor_numel(t);
    CLG_TRY(staging(d, n));
    if (d->rank == 0) CLG_TRY(clg_tensor_download(ctx, t, d->host));
    CLG_TRY(clg_dist_bcast(d, d->host, n * sizeof(float), 0));
    return d->rank == 0 ? CLG_OK : clg_tensor_upload(ctx, t, d->host);
}
