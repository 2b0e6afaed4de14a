/* tensor.c: tensor views, owned tensors, blocks, host transfers, zeroing.
 * Not here: kernels over tensors (host/<family>.c). */
#include "tensor.h"

#include <string.h>

clg_tensor clg_tensor_view(cl_mem buf, size_t off_bytes, int n, int c, int h, int w) {
    clg_tensor t = {buf, off_bytes, n, c, h, w, 0};
    return t;
}

clg_tensor clg_tensor_slice(const clg_tensor *t, size_t first, int n, int c, int h, int w) {
    return clg_tensor_view(t->buf, t->off + first * sizeof(float), n, c, h, w);
}

static clg_status check_shape(int n, int c, int h, int w) {
    if (n <= 0 || c <= 0 || h <= 0 || w <= 0)
        return clg_fail(CLG_ERR_INVALID_ARG, "bad tensor shape (%d, %d, %d, %d)", n, c, h, w);
    return CLG_OK;
}

clg_status clg_tensor_create(clg_ctx *ctx, clg_tensor *t, int n, int c, int h, int w,
                             const char *what) {
    memset(t, 0, sizeof *t);
    CLG_TRY(check_shape(n, c, h, w));
    clg_tensor tmp = clg_tensor_view(NULL, 0, n, c, h, w);
    CLG_TRY(clg_buffer_create(ctx, clg_tensor_bytes(&tmp), what, &tmp.buf));
    tmp.owns = 1;
    *t = tmp;
    return CLG_OK;
}

void clg_tensor_free(clg_ctx *ctx, clg_tensor *t) {
    if (t->owns && t->buf) clg_buffer_release(ctx, t->buf, clg_tensor_bytes(t));
    memset(t, 0, sizeof *t);
}

/* Blocking host <-> device copies, shared by float tensors and int vectors. */
static clg_status write_bytes(clg_ctx *ctx, cl_mem buf, size_t off, size_t bytes,
                              const void *host, cl_bool wait) {
    CL_CHECK(clEnqueueWriteBuffer(ctx->queue, buf, wait, off, bytes, host, 0, NULL, NULL));
    return CLG_OK;
}

static clg_status read_bytes(clg_ctx *ctx, cl_mem buf, size_t off, size_t bytes, void *host) {
    CL_CHECK(clEnqueueReadBuffer(ctx->queue, buf, CL_TRUE, off, bytes, host, 0, NULL, NULL));
    return CLG_OK;
}

clg_status clg_tensor_upload(clg_ctx *ctx, const clg_tensor *t, const float *host) {
    return write_bytes(ctx, t->buf, t->off, clg_tensor_bytes(t), host, CL_TRUE);
}

clg_status clg_tensor_upload_async(clg_ctx *ctx, const clg_tensor *t, const float *host) {
    return write_bytes(ctx, t->buf, t->off, clg_tensor_bytes(t), host, CL_FALSE);
}

clg_status clg_tensor_download(clg_ctx *ctx, const clg_tensor *t, float *host) {
    return read_bytes(ctx, t->buf, t->off, clg_tensor_bytes(t), host);
}

clg_status clg_tensor_download_async(clg_ctx *ctx, const clg_tensor *t, float *host,
                                     cl_event *done) {
    CL_CHECK(clEnqueueReadBuffer(ctx->queue, t->buf, CL_FALSE, t->off, clg_tensor_bytes(t), host,
                                 0, NULL, done));
    return CLG_OK;
}

clg_status clg_tensor_fill(clg_ctx *ctx, const clg_tensor *t, float v) {
    if (t->off % sizeof(float))
        return clg_fail(CLG_ERR_INVALID_ARG, "tensor_fill: byte offset %zu is not a multiple of 4",
                        t->off);
    const cl_float pattern = v;
    cl_event ev = NULL;
    CL_CHECK(clEnqueueFillBuffer(ctx->queue, t->buf, &pattern, sizeof pattern, t->off,
                                 clg_tensor_bytes(t), 0, NULL, ctx->profile ? &ev : NULL));
    return ev ? clg_profile_record(ctx, ev, "fill_buffer") : CLG_OK;
}

clg_status clg_tensor_zero(clg_ctx *ctx, const clg_tensor *t) { return clg_tensor_fill(ctx, t, 0.0f); }

clg_itensor clg_itensor_view(cl_mem buf, size_t off_bytes, int n) {
    clg_itensor t = {buf, off_bytes, n, 0};
    return t;
}

clg_itensor clg_itensor_slice(const clg_itensor *t, size_t first, int n) {
    return clg_itensor_view(t->buf, t->off + first * sizeof(cl_int), n);
}

clg_status clg_itensor_create(clg_ctx *ctx, clg_itensor *t, int n, const char *what) {
    memset(t, 0, sizeof *t);
    if (n <= 0) return clg_fail(CLG_ERR_INVALID_ARG, "bad int vector length %d (%s)", n, what);
    CLG_TRY(clg_buffer_create(ctx, (size_t)n * sizeof(cl_int), what, &t->buf));
    t->n = n;
    t->owns = 1;
    return CLG_OK;
}

void clg_itensor_free(clg_ctx *ctx, clg_itensor *t) {
    if (t->owns && t->buf) clg_buffer_release(ctx, t->buf, clg_itensor_bytes(t));
    memset(t, 0, sizeof *t);
}

clg_status clg_itensor_upload(clg_ctx *ctx, const clg_itensor *t, const int32_t *host) {
    return write_bytes(ctx, t->buf, t->off, clg_itensor_bytes(t), host, CL_TRUE);
}

clg_status clg_itensor_download(clg_ctx *ctx, const clg_itensor *t, int32_t *host) {
    return read_bytes(ctx, t->buf, t->off, clg_itensor_bytes(t), host);
}

clg_status clg_itensor_upload_labels(clg_ctx *ctx, const clg_itensor *t, const int32_t *host,
                                     int classes) {
    if (classes < 1)
        return clg_fail(CLG_ERR_INVALID_ARG, "upload_labels: %d classes", classes);
    for (int i = 0; i < t->n; i++)
        if (host[i] < 0 || host[i] >= classes)
            return clg_fail(CLG_ERR_INVALID_ARG,
                            "upload_labels: label %d is %d, outside [0, %d)", i, (int)host[i],
                            classes);
    return clg_itensor_upload(ctx, t, host);
}

static size_t align_up(size_t x, size_t a) { return (x + a - 1) / a * a; }

clg_status clg_block_alloc(clg_ctx *ctx, clg_block *b, clg_tensor *tensors, int count,
                           const char *what) {
    memset(b, 0, sizeof *b);
    size_t total = 0;
    for (int i = 0; i < count; i++) {
        CLG_TRY(check_shape(tensors[i].n, tensors[i].c, tensors[i].h, tensors[i].w));
        total = align_up(total, CLG_BLOCK_ALIGN) + clg_tensor_numel(&tensors[i]);
    }
    total = align_up(total, CLG_BLOCK_ALIGN);
    cl_mem buf;
    CLG_TRY(clg_buffer_create(ctx, total * sizeof(float), what, &buf));
    clg_block blk = {buf, total};
    clg_tensor whole = clg_block_tensor(&blk);
    clg_status s = clg_tensor_zero(ctx, &whole);
    if (s != CLG_OK) {
        clg_buffer_release(ctx, buf, total * sizeof(float));
        return s;
    }
    size_t at = 0;
    for (int i = 0; i < count; i++) {
        at = align_up(at, CLG_BLOCK_ALIGN);
        tensors[i].buf = buf;
        tensors[i].off = at * sizeof(float);
        tensors[i].owns = 0;
        at += clg_tensor_numel(&tensors[i]);
    }
    *b = blk;
    return CLG_OK;
}

void clg_block_free(clg_ctx *ctx, clg_block *b) {
    if (b->buf) clg_buffer_release(ctx, b->buf, b->numel * sizeof(float));
    memset(b, 0, sizeof *b);
}

clg_tensor clg_block_tensor(const clg_block *b) {
    return clg_tensor_view(b->buf, 0, 1, (int)b->numel, 1, 1);
}
