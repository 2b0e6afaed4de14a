/* parallel.h: what the generic trainer (train.c) adds for data-parallel
 * training over the ranks of ctx->dist (host/dist.h): every rank builds the
 * model with its share of the global batch, starts from rank 0's tensors,
 * and averages each step's metrics (the gradients are averaged in
 * clg_model_adam_step, BN statistics with --sync-bn in the BN layer).
 * With ctx->dist NULL or one rank, each of these is the identity. */
#ifndef CLG_PARALLEL_H
#define CLG_PARALLEL_H

#include "model.h"

/* Ranks of ctx->dist (1 without one), and this one's rank. */
int clg_dp_ranks(const clg_ctx *ctx);
int clg_dp_rank(const clg_ctx *ctx);

/* A copy of cfg (free() it) whose "batch_size" is the global one over
 * `ranks`; fails unless the model has that field and it divides. */
clg_status clg_dp_share_config(const clg_model_ops *ops, const void *cfg, int ranks, void **out);

/* Every tensor of every part (parameters, buffers, Adam moments, weight
 * average, historical mean) from rank 0 to all. */
clg_status clg_dp_bcast_model(clg_ctx *ctx, clg_model *m);

/* The metrics averaged over ranks, and *stop set when any rank's is: one
 * allreduce, so every rank takes the same decisions after a step. */
clg_status clg_dp_step_metrics(clg_ctx *ctx, clg_metrics *mt, int *stop);

#endif
