/* lagged.h: reading a model's step statistics without waiting for the step.
 *
 * On a GPU, a trainer that reads each step's losses before enqueuing the
 * next leaves the device idle while the host enqueues (DCGAN-32 on the
 * H200: 45% of the step). On steps that log, save and end nothing, the
 * trainer instead starts a non-blocking read of the model's statistics
 * tensor (clg_model_ops.step_stats) and checks the values one step later,
 * after the next step is enqueued: the device always has a step queued.
 * Two reads are in flight at most. */
#ifndef CLG_LAGGED_H
#define CLG_LAGGED_H

#include "tensor.h"

#define CLG_LAGGED_MAX 16 /* floats of statistics */

typedef struct {
    const clg_tensor *t; /* NULL: no lag, every step waits */
    float v[2][CLG_LAGGED_MAX];
    cl_event ev[2];
    long step[2];
    int first, n; /* the oldest read's slot, reads in flight */
} clg_lagged;

/* Lag on t's values (NULL: none); fails if t holds more than CLG_LAGGED_MAX. */
clg_status clg_lagged_init(clg_lagged *l, const clg_tensor *t);
/* A non-blocking read of t, the statistics of `step`. */
clg_status clg_lagged_begin(clg_ctx *ctx, clg_lagged *l, long step);
/* Waits for the reads in flight but the newest `keep`; each must hold finite
 * values, else CLG_ERR_DIVERGED naming its step (and `ckpt`). */
clg_status clg_lagged_check(clg_lagged *l, int keep, const char *ckpt);
/* Waits for and releases every read in flight. */
void clg_lagged_free(clg_lagged *l);

#endif
