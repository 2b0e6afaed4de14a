/* tensor.h: float32 tensor views on device buffers, int32 vectors (labels),
 * and blocks (one buffer holding many tensors, as llm.c's
 * malloc_and_point_parameters).
 *
 * A tensor is (buffer, byte offset, NCHW shape); it owns its buffer only when
 * made by clg_tensor_create. Kernels take the offset in elements (off / 4),
 * passed through CLG_TENSOR_ARGS. */
#ifndef CLG_TENSOR_H
#define CLG_TENSOR_H

#include "runtime.h"

typedef struct {
    cl_mem buf;
    size_t off;     /* bytes from the buffer's start; a multiple of 4 */
    int n, c, h, w; /* NCHW; unused trailing dims are 1 */
    int owns;       /* 1: clg_tensor_free releases buf */
} clg_tensor;

static inline size_t clg_tensor_numel(const clg_tensor *t) {
    return (size_t)t->n * (size_t)t->c * (size_t)t->h * (size_t)t->w;
}
static inline size_t clg_tensor_bytes(const clg_tensor *t) {
    return clg_tensor_numel(t) * sizeof(float);
}
/* A tensor as kernels take it: its buffer, then its offset in elements as a
 * cl_uint, checked by clg_set_args against 32-bit indexing (see CLG_ARG_OFF
 * in runtime.h). CLG_TENSOR_OFF alone for kernels that take one offset for
 * several buffers. */
#define CLG_TENSOR_OFF(t) CLG_ARG_OFF((t)->off / sizeof(float), clg_tensor_numel(t))
#define CLG_TENSOR_ARGS(t) CLG_ARG((t)->buf), CLG_TENSOR_OFF(t)

/* A view: no allocation, does not own `buf`. */
clg_tensor clg_tensor_view(cl_mem buf, size_t off_bytes, int n, int c, int h, int w);
/* A sub-view of `t` starting `first` elements in, of shape n x c x h x w. */
clg_tensor clg_tensor_slice(const clg_tensor *t, size_t first, int n, int c, int h, int w);

/* A tensor with its own buffer (contents undefined until written). */
clg_status clg_tensor_create(clg_ctx *ctx, clg_tensor *t, int n, int c, int h, int w,
                             const char *what);
void clg_tensor_free(clg_ctx *ctx, clg_tensor *t);

/* Blocking copies between host memory (numel floats) and the tensor. */
clg_status clg_tensor_upload(clg_ctx *ctx, const clg_tensor *t, const float *host);
/* The same without waiting: `host` must stay untouched until the queue has
 * passed the copy (any later blocking call, or clg_ctx_finish). */
clg_status clg_tensor_upload_async(clg_ctx *ctx, const clg_tensor *t, const float *host);
clg_status clg_tensor_download(clg_ctx *ctx, const clg_tensor *t, float *host);
/* The same without waiting: `host` is written once *done completes
 * (clWaitForEvents; the caller releases the event). */
clg_status clg_tensor_download_async(clg_ctx *ctx, const clg_tensor *t, float *host,
                                     cl_event *done);
/* Every element := v, by clEnqueueFillBuffer; enqueued, not waited for.
 * Fails unless t->off is a multiple of 4. */
clg_status clg_tensor_fill(clg_ctx *ctx, const clg_tensor *t, float v);
/* Every element := 0.0f, by clEnqueueFillBuffer (no kernel, so nothing to
 * build first); enqueued, not waited for. Fails unless t->off is a multiple
 * of 4. */
clg_status clg_tensor_zero(clg_ctx *ctx, const clg_tensor *t);

/* An int32 device vector (class labels, say), on the same terms as a
 * tensor: (buffer, byte offset, count), owning its buffer only when made by
 * clg_itensor_create. Kernels take it as (int *, element offset). */
typedef struct {
    cl_mem buf;
    size_t off; /* bytes from the buffer's start; a multiple of 4 */
    int n;      /* elements */
    int owns;   /* 1: clg_itensor_free releases buf */
} clg_itensor;

static inline size_t clg_itensor_bytes(const clg_itensor *t) {
    return (size_t)t->n * sizeof(cl_int);
}
#define CLG_ITENSOR_ARGS(t) \
    CLG_ARG((t)->buf), CLG_ARG_OFF((t)->off / sizeof(cl_int), (size_t)(t)->n)

clg_itensor clg_itensor_view(cl_mem buf, size_t off_bytes, int n);
/* Elements [first, first + n) of `t`. */
clg_itensor clg_itensor_slice(const clg_itensor *t, size_t first, int n);
clg_status clg_itensor_create(clg_ctx *ctx, clg_itensor *t, int n, const char *what);
void clg_itensor_free(clg_ctx *ctx, clg_itensor *t);
/* Blocking copies of t->n int32 values. */
clg_status clg_itensor_upload(clg_ctx *ctx, const clg_itensor *t, const int32_t *host);
clg_status clg_itensor_download(clg_ctx *ctx, const clg_itensor *t, int32_t *host);
/* clg_itensor_upload of class labels: fails with CLG_ERR_INVALID_ARG, naming
 * the first bad index and value and uploading nothing, unless every label
 * is in [0, classes). Kernels cannot report a bad label once it is on the
 * device (clg_one_hot writes a row of `off` for one), so check here. */
clg_status clg_itensor_upload_labels(clg_ctx *ctx, const clg_itensor *t, const int32_t *host,
                                     int classes);

/* A block: one buffer for many tensors. Each tensor starts on a 64-byte
 * boundary; the gaps are zero, so an elementwise pass over the whole block
 * (an optimiser step, say) is a single launch. */
#define CLG_BLOCK_ALIGN 16 /* floats */
typedef struct {
    cl_mem buf;
    size_t numel; /* floats in the buffer, gaps included */
} clg_block;

/* The caller sets n, c, h, w of tensors[0..count); this allocates one zeroed
 * buffer and points each tensor into it. */
clg_status clg_block_alloc(clg_ctx *ctx, clg_block *b, clg_tensor *tensors, int count,
                           const char *what);
void clg_block_free(clg_ctx *ctx, clg_block *b);
/* The whole block as one flat tensor (1 x numel). */
clg_tensor clg_block_tensor(const clg_block *b);

#endif
