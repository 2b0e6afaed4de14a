/* grad_buckets.c: gradient averaging over the ranks, by buckets overlapped
 * with the backward pass or in one allreduce (see grad_buckets.h). */
#include "grad_buckets.h"
#include "dist.h"

/* Layer l's stretch [*lo, *hi) of the gradient block, in bytes; 0 when it has none. */
static int stretch(const clg_layer *l, size_t *lo, size_t *hi) {
    int any = 0;
    for (int s = 0; s < l->nslots; s++) {
        if (l->slot[s].block != CLG_SLOT_PARAM) continue;
        const size_t a = l->dt[s].off, b = a + clg_tensor_numel(&l->dt[s]) * sizeof(float);
        if (!any || a < *lo) *lo = a;
        if (!any || b > *hi) *hi = b;
        any = 1;
    }
    return any;
}

static void close_bucket(clg_grad_buckets *gb, int first, size_t lo, size_t hi) {
    gb->b[gb->count++] = (clg_grad_bucket){first, lo, hi - lo, NULL};
}

/* Buckets of at least `bytes` from the last layer down; the last one takes the rest. */
static void plan(clg_net *net, size_t bytes) {
    clg_grad_buckets *gb = &net->buckets;
    size_t lo = 0, hi = 0;
    int open = 0, lowest = -1;
    gb->count = 0;
    for (int i = net->count - 1; i >= 0; i--) {
        size_t a, b;
        if (!stretch(&net->layers[i], &a, &b)) continue;
        if (!open) hi = b, open = 1;
        lo = a, lowest = i;
        if (hi - lo >= bytes) close_bucket(gb, i, lo, hi), open = 0;
    }
    if (open) close_bucket(gb, lowest, lo, hi);
    gb->planned = bytes;
}

void clg_grad_buckets_release(clg_net *net) {
    clg_grad_buckets *gb = &net->buckets;
    for (int k = 0; k < gb->count; k++) {
        if (gb->b[k].ready) clReleaseEvent(gb->b[k].ready);
        gb->b[k].ready = NULL;
    }
    gb->armed = 0;
}

clg_status clg_grad_buckets_arm(clg_ctx *ctx, clg_net *net) {
    const clg_dist *d = ctx->dist;
    if (!d || d->size < 2 || !d->bucket_bytes || !net->grads.buf) return CLG_OK;
    if (net->buckets.planned != d->bucket_bytes) plan(net, d->bucket_bytes);
    clg_grad_buckets_release(net);
    net->buckets.armed = 1;
    return CLG_OK;
}

clg_status clg_grad_buckets_mark(clg_ctx *ctx, clg_net *net, int i) {
    clg_grad_buckets *gb = &net->buckets;
    if (gb->armed != 1) return CLG_OK;
    if (i < 0) {
        gb->armed = 2;
        return CLG_OK;
    }
    for (int k = 0; k < gb->count; k++)
        if (gb->b[k].first == i)
            CL_CHECK(clEnqueueMarkerWithWaitList(ctx->queue, 0, NULL, &gb->b[k].ready));
    return CLG_OK;
}

/* Each bucket as the device reaches it; then wait for the writes back,
 * which read the staging buffer. */
static clg_status average_buckets(clg_ctx *ctx, clg_net *net, float scale) {
    clg_grad_buckets *gb = &net->buckets;
    float *host;
    clg_status rc = clg_dist_staging(ctx->dist, net->grads.numel, &host);
    for (int k = 0; k < gb->count && rc == CLG_OK; k++) {
        const clg_grad_bucket *b = &gb->b[k];
        clg_tensor t = clg_tensor_view(net->grads.buf, b->off, (int)(b->bytes / sizeof(float)),
                                       1, 1, 1);
        rc = clg_dist_allreduce_after(ctx, ctx->dist, &t, b->ready, scale,
                                      host + b->off / sizeof(float));
    }
    clg_status fin = clg_ctx_finish(ctx);
    clg_grad_buckets_release(net);
    return rc != CLG_OK ? rc : fin;
}

clg_status clg_grad_average(clg_ctx *ctx, clg_net *net) {
    clg_dist *d = ctx->dist;
    if (!d || d->size < 2) return CLG_OK;
    const float scale = 1.0f / (float)d->size;
    if (net->buckets.armed == 2) return average_buckets(ctx, net, scale);
    clg_grad_buckets_release(net);
    clg_tensor g = clg_block_tensor(&net->grads);
    return clg_dist_allreduce_tensor(ctx, d, &g, scale);
}
