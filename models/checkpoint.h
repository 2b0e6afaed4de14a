/* checkpoint.h: checkpoints of any model (models/model.h) in the
 * safetensors format.
 *
 * Tensors, for each of the model's parts in order: the net's parameters and
 * buffers under their state_dict names with the part's prefix (DCGAN's G
 * under pytorch/examples' names, "main.0.weight", so
 * `{k: v for k, v in sd.items() if k.startswith("main.")}` loads into
 * pytorch/examples' Generator; D as "netD.main..."), the optimiser's Adam
 * moments as "<opt>.exp_avg.<name>" and "<opt>.exp_avg_sq.<name>", a
 * weight average as "ema.<prefix><name>", historical averaging's running
 * mean as "hist.<prefix><name>".
 * __metadata__: format, model (the kind), config (JSON), step, epoch, data
 * position, each optimiser's step, the RNG (counter-based: the seed and the
 * step are its state, plus each net's dropout/noise counter when it has
 * drawn), clgan version, device; the writer adds the data's CRC32.
 * Written atomically (temporary file, fsync, rename). Loading validates
 * every tensor's presence and shape, and that the file holds no other
 * tensors, before anything is uploaded. */
#ifndef CLG_CHECKPOINT_H
#define CLG_CHECKPOINT_H

#include "dcgan.h"
#include "model.h"

typedef struct {
    long epoch, data_pos; /* where the data loader continues */
} clg_ckpt_extra;

clg_status clg_ckpt_save(clg_ctx *ctx, clg_model *m, const clg_ckpt_extra *extra,
                         const char *path);

/* The model kind and configuration stored in a checkpoint (to build the
 * model): *cfg is malloc'd (free() it). */
clg_status clg_ckpt_read_config(const char *path, const clg_model_ops **ops, void **cfg);
/* The same for a checkpoint that must hold a DCGAN. */
clg_status clg_ckpt_read_dcgan_config(const char *path, clg_dcgan_config *cfg);

/* Load a checkpoint into `m` (built from the same config): weights, buffers,
 * Adam moments, the step counters; `extra` receives the data position. */
clg_status clg_ckpt_load(clg_ctx *ctx, clg_model *m, const char *path, clg_ckpt_extra *extra);

/* Build the model a checkpoint names for generating gen_batch images at a
 * time, and load what generating needs: the weight average when the
 * checkpoint has one and `raw` is 0, else the trained weights (buffers such
 * as BN's running statistics from the trained ones either way). *averaged
 * (may be NULL) says which was loaded. The model must generate. */
clg_status clg_ckpt_open_generator(clg_ctx *ctx, const char *path, int gen_batch, int raw,
                                   clg_model **out, int *averaged);

/* Any network: save its parameters and buffers under their state_dict
 * names and the given metadata pairs; load them back under `prefix`,
 * checking every tensor's presence and shape before anything is uploaded. */
clg_status clg_net_save(clg_ctx *ctx, const clg_net *net, const char *path,
                        const char *const *meta, int nmeta);
clg_status clg_net_load(clg_ctx *ctx, clg_net *net, const char *path, const char *prefix);

#endif
