/* train.h: the training run of any model (models/model.h): data, the step
 * loop, logs, sample grids, checkpoints, resume, the stop conditions and
 * the NaN guard. The caller (the CLI) gets a progress callback per logged
 * step and prints; nothing here prints. Nothing here knows a model.
 *
 * Under opts->out: config.json (model, settings, device, clgan version),
 * metrics.jsonl (one JSON line per logged step, and one per evaluation),
 * real.png, samples/NNNNNN.png (from a fixed noise batch, for models that
 * generate), checkpoint.safetensors (the latest, written atomically).
 *
 * Data-parallel (ctx->dist with several ranks, models/parallel.h): the
 * model's batch_size is the global batch; every rank shuffles alike and
 * trains on its equal slice of each batch, gradients are averaged per net
 * and step, metrics averaged (ctx->sync_bn: BN statistics too); rank 0
 * alone writes under opts->out. */
#ifndef CLG_TRAIN_H
#define CLG_TRAIN_H

#include "model.h"

typedef struct {
    const clg_model_ops *ops;
    void *cfg;              /* the model's settings (ops->config_size bytes) */
    const char *data;       /* "fashion-mnist", an IDX file, a CIFAR-10 folder, a PNG folder */
    const char *test_data;  /* held-out data for models that evaluate, or NULL */
    const char *out;        /* output folder (created) */
    long steps;             /* total steps of the whole run (resumed runs included); 0: none */
    long epochs;            /* 0: none */
    double minutes;         /* wall-clock budget of this invocation; 0: none */
    int resume;             /* continue from out/checkpoint.safetensors */
    long sample_every, ckpt_every, log_every;
    int profile;            /* time kernel families and host overhead */
} clg_train_opts;

typedef struct {
    long step, total_steps; /* total_steps 0 when the run is bounded by time only */
    long epoch;
    double images_per_s, elapsed_s, eta_s; /* eta_s < 0: unknown */
    clg_metrics m;
} clg_progress;

typedef struct {
    void (*on_start)(void *user, const char *message); /* setup facts, one per call */
    void (*on_progress)(void *user, const clg_progress *p);
    void (*on_eval)(void *user, long epoch, const clg_metrics *m); /* may be NULL */
    void *user;
} clg_train_hooks;

/* Per-family device time and the host's share, filled when opts->profile. */
typedef struct {
    clg_profile_entry families[48];
    int count;
    double device_ms, wall_ms;
    long steps;
} clg_train_profile;

clg_status clg_train(clg_ctx *ctx, const clg_train_opts *opts, const clg_train_hooks *hooks,
                     clg_train_profile *profile);

#endif
