/* dist_single.c: the process group of one (see dist.h), for builds
 * without MPI: every collective is the identity. */
#include "dist.h"

#include <stdlib.h>
#include <string.h>

const char *clg_dist_backend(void) { return "single"; }

clg_status clg_dist_init(clg_dist *d) {
    memset(d, 0, sizeof *d);
    d->size = d->local_size = 1;
    int n = clg_dist_launcher_size();
    if (n > 1) /* each would train alone, all into one --out */
        return clg_fail(CLG_ERR_UNSUPPORTED, "started by mpirun as one of %d ranks, but this "
                        "clgan was built without MPI: install Open MPI (make deps), then "
                        "make clean; make", n);
    return CLG_OK;
}

void clg_dist_finalize(clg_dist *d) {
    free(d->host); /* the staging buffer of the tensor collectives */
    d->host = NULL;
    d->host_cap = 0;
}

clg_status clg_dist_allreduce_sum(clg_dist *d, float *buf, size_t n) {
    (void)d, (void)buf, (void)n;
    return CLG_OK;
}

clg_status clg_dist_bcast(clg_dist *d, void *buf, size_t bytes, int root) {
    (void)d, (void)buf, (void)bytes;
    if (root != 0) return clg_fail(CLG_ERR_INVALID_ARG, "broadcast from rank %d of 1", root);
    return CLG_OK;
}

clg_status clg_dist_barrier(clg_dist *d) {
    (void)d;
    return CLG_OK;
}

void clg_dist_abort(clg_dist *d, int code) { (void)d, (void)code; }
