/* checkpoint.h: DCGAN checkpoints in the safetensors format.
 *
 * Tensors: G's under pytorch/examples' names ("main.0.weight", BN's
 * running_mean/var too), so `safetensors.torch.load_file` then
 * `{k: v for k, v in sd.items() if k.startswith("main.")}` loads into
 * pytorch/examples' Generator; D's as "netD.main..."; Adam's moments as
 * "optG.exp_avg.<name>", "optG.exp_avg_sq.<name>", "optD....".
 * __metadata__: format, model, config (JSON), step, epoch, data position,
 * optimiser steps, seed, clgan version, device, and the data's CRC32.
 * With cfg.ema > 0, G's weight average as "ema.main...." too.
 * Written atomically (temporary file, fsync, rename). Loading validates
 * every tensor's presence and shape against the model the config builds. */
#ifndef CLG_CHECKPOINT_H
#define CLG_CHECKPOINT_H

#include "dcgan.h"

#define CLG_CKPT_FORMAT "clgan-dcgan-1"

typedef struct {
    long epoch, data_pos; /* where the data loader continues */
} clg_ckpt_extra;

clg_status clg_ckpt_save(clg_ctx *ctx, const clg_dcgan *m, const clg_ckpt_extra *extra,
                         const char *path);

/* Read the configuration stored in a checkpoint (to build the model). */
clg_status clg_ckpt_read_config(const char *path, clg_dcgan_config *cfg);

/* Load a checkpoint into `m` (built from the same config): weights, buffers,
 * Adam moments, the step counters; `extra` receives the data position. */
clg_status clg_ckpt_load(clg_ctx *ctx, clg_dcgan *m, const char *path, clg_ckpt_extra *extra);

/* Any network: save its parameters and buffers under their state_dict
 * names (with `prefix` before each) and the given metadata pairs; load them
 * back from an opened file, checking every tensor's presence and shape
 * before anything is uploaded. */
clg_status clg_net_save(clg_ctx *ctx, const clg_net *net, const char *path,
                        const char *const *meta, int nmeta);
clg_status clg_net_load(clg_ctx *ctx, clg_net *net, const char *path, const char *prefix);

/* Load only G into `g`, a generator built by clg_dcgan_build_g from the
 * checkpoint's config with any batch size: the average of its weights
 * ("ema.main.*") when the checkpoint has one and `raw` is 0, else the trained
 * weights ("main.*"); BN's running statistics from "main.*" either way.
 * *averaged (may be NULL) says which was loaded. */
clg_status clg_ckpt_load_g(clg_ctx *ctx, clg_net *g, const char *path, int raw, int *averaged);

/* The config as a JSON object (also written into config.json). */
void clg_dcgan_config_json(const clg_dcgan_config *c, char *buf, size_t cap);

#endif
