/* lagged.c: see lagged.h. */
#include "lagged.h"

#include <math.h>

clg_status clg_lagged_init(clg_lagged *l, const clg_tensor *t) {
    *l = (clg_lagged){0};
    if (t && clg_tensor_numel(t) > CLG_LAGGED_MAX)
        return clg_fail(CLG_ERR_INVALID_ARG, "lagged statistics: %zu floats, at most %d",
                        clg_tensor_numel(t), CLG_LAGGED_MAX);
    l->t = t;
    return CLG_OK;
}

clg_status clg_lagged_begin(clg_ctx *ctx, clg_lagged *l, long step) {
    if (l->n == 2) return clg_fail(CLG_ERR_INVALID_ARG, "lagged statistics: two reads in flight");
    int s = (l->first + l->n) % 2;
    l->step[s] = step;
    CLG_TRY(clg_tensor_download_async(ctx, l->t, l->v[s], &l->ev[s]));
    l->n++;
    return CLG_OK;
}

/* The oldest read in flight: waited for, released, checked. */
static clg_status finish_oldest(clg_lagged *l, const char *ckpt) {
    int s = l->first;
    cl_int err = clWaitForEvents(1, &l->ev[s]);
    clReleaseEvent(l->ev[s]);
    l->first ^= 1, l->n--;
    if (err != CL_SUCCESS)
        return clg_fail(CLG_ERR_OPENCL, "%s reading the statistics of step %ld",
                        clg_cl_error_name(err), l->step[s]);
    for (size_t i = 0; i < clg_tensor_numel(l->t); i++)
        if (!isfinite(l->v[s][i]))
            return clg_fail(CLG_ERR_DIVERGED,
                            "non-finite loss statistics (%g) at step %ld: training stopped; the "
                            "last good checkpoint is %s (try a lower --lr)",
                            l->v[s][i], l->step[s], ckpt);
    return CLG_OK;
}

clg_status clg_lagged_check(clg_lagged *l, int keep, const char *ckpt) {
    while (l->n > keep) CLG_TRY(finish_oldest(l, ckpt));
    return CLG_OK;
}

void clg_lagged_free(clg_lagged *l) {
    while (l->n > 0) {
        clWaitForEvents(1, &l->ev[l->first]);
        clReleaseEvent(l->ev[l->first]);
        l->first ^= 1, l->n--;
    }
}
