/* grad_buckets.h: data-parallel gradient averaging by buckets overlapped
 * with the backward pass, or the whole gradient block at once.
 *
 * A net's gradient block holds its layers' gradients in layer order, and
 * the backward pass runs from the last layer down, so the gradients of the
 * last layers are final first. With ctx->dist->bucket_bytes > 0, the block
 * is cut (once) into buckets of at least that many bytes, from the last
 * layer down; a caller arms the net before the backward pass that
 * completes its gradients, that pass enqueues a marker after each bucket's
 * lowest layer, and clg_grad_average then sums bucket by bucket as the
 * device reaches each marker (read on the side queue, allreduce on the
 * host, write back on the main queue) while the device goes on with the
 * layers below. Nothing may write the gradients between the armed
 * backward and clg_grad_average. The sums are the same element by element
 * as the one allreduce's, so the results are bit for bit the same. */
#ifndef CLG_GRAD_BUCKETS_H
#define CLG_GRAD_BUCKETS_H

#include "net.h"

/* Arm net's next backward with parameter gradients (a no-op with one rank
 * or bucket_bytes 0). */
clg_status clg_grad_buckets_arm(clg_ctx *ctx, clg_net *net);
/* For clg_net_backward_taps: after layer i's backward, and at the end (i = -1). */
clg_status clg_grad_buckets_mark(clg_ctx *ctx, clg_net *net, int i);
/* Average net's gradients over the ranks of ctx->dist: by the marked
 * buckets, or in one allreduce. */
clg_status clg_grad_average(clg_ctx *ctx, clg_net *net);
/* Drop markers left by a backward that failed (clg_net_free). */
void clg_grad_buckets_release(clg_net *net);

#endif
