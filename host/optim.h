/* optim.h: Adam and SGD with momentum over parameter blocks, on the device.
 * Parameters, gradients and each moment are parallel tensors of one layout
 * (typically whole blocks, see clg_block_tensor), so one launch steps a
 * whole network. The semantics are PyTorch's (torch.optim.Adam, SGD). */
#ifndef CLG_OPTIM_H
#define CLG_OPTIM_H

#include "tensor.h"

typedef struct {
    float lr, beta1, beta2, eps, weight_decay;
    long step; /* steps taken so far; clg_adam_step increments it first */
} clg_adam;

/* DCGAN's settings: lr 2e-4, beta1 0.5, beta2 0.999, eps 1e-8. */
clg_adam clg_adam_default(void);

/* One Adam step: p, g, m, v have equal element counts; m and v start at 0. */
clg_status clg_adam_step(clg_ctx *ctx, clg_adam *opt, const clg_tensor *p, const clg_tensor *g,
                         const clg_tensor *m, const clg_tensor *v);

/* One SGD step with momentum mu (buf starts at 0). */
clg_status clg_sgd_step(clg_ctx *ctx, const clg_tensor *p, const clg_tensor *g,
                        const clg_tensor *buf, float lr, float mu, float weight_decay);

#endif
