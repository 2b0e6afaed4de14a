/* parallel.c: data-parallel helpers of the trainer (see parallel.h). */
#include "parallel.h"
#include "dist.h"

#include <stdlib.h>
#include <string.h>

int clg_dp_ranks(const clg_ctx *ctx) { return ctx->dist ? ctx->dist->size : 1; }
int clg_dp_rank(const clg_ctx *ctx) { return ctx->dist ? ctx->dist->rank : 0; }

clg_status clg_dp_share_config(const clg_model_ops *ops, const void *cfg, int ranks, void **out) {
    void *c = malloc(ops->config_size);
    if (!c) return clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory");
    memcpy(c, cfg, ops->config_size);
    *out = c;
    if (ranks == 1) return CLG_OK;
    for (int i = 0; i < ops->nfields; i++) {
        const clg_config_field *f = &ops->fields[i];
        if (strcmp(f->key, "batch_size") != 0 || f->type != CLG_FIELD_INT) continue;
        int *b = (int *)((char *)c + f->offset);
        if (*b % ranks != 0 || *b / ranks < 2)
            return clg_fail(CLG_ERR_INVALID_ARG, "--batch-size %d is the global batch: it must "
                            "split into %d equal shares of at least 2", *b, ranks);
        *b /= ranks;
        return CLG_OK;
    }
    return clg_fail(CLG_ERR_INVALID_ARG, "%s has no batch_size setting to split over %d ranks",
                    ops->kind, ranks);
}


static clg_status bcast_block(clg_ctx *ctx, const clg_block *b) {
    if (!b->buf) return CLG_OK;
    clg_tensor t = clg_block_tensor(b);
    return clg_dist_bcast_tensor(ctx, ctx->dist, &t);
}

clg_status clg_dp_bcast_model(clg_ctx *ctx, clg_model *m) {
    if (clg_dp_ranks(ctx) == 1) return CLG_OK;
    clg_model_part parts[CLG_MODEL_MAX_PARTS];
    int n = m->ops->parts(m, parts);
    for (int k = 0; k < n; k++) {
        const clg_net *net = parts[k].net;
        const clg_block *blocks[4] = {&net->params, &net->buffers, &net->adam_m, &net->adam_v};
        for (int i = 0; i < 4; i++) CLG_TRY(bcast_block(ctx, blocks[i]));
        if (parts[k].avg) CLG_TRY(clg_dist_bcast_tensor(ctx, ctx->dist, parts[k].avg));
        if (parts[k].hist) CLG_TRY(clg_dist_bcast_tensor(ctx, ctx->dist, parts[k].hist));
    }
    return CLG_OK;
}

clg_status clg_dp_step_metrics(clg_ctx *ctx, clg_metrics *mt, int *stop) {
    const int ranks = clg_dp_ranks(ctx);
    if (ranks == 1) return CLG_OK;
    float v[CLG_METRICS_MAX + 1];
    for (int i = 0; i < mt->count; i++) v[i] = mt->v[i];
    v[mt->count] = *stop ? 1.0f : 0.0f;
    CLG_TRY(clg_dist_allreduce_sum(ctx->dist, v, (size_t)mt->count + 1));
    for (int i = 0; i < mt->count; i++) mt->v[i] = v[i] / (float)ranks;
    *stop = v[mt->count] > 0.0f;
    return CLG_OK;
}
