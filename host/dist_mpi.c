/* dist_mpi.c: the process group over MPI (see dist.h). MPI is initialised
 * only under a launcher; errors come back as statuses (MPI_ERRORS_RETURN)
 * with MPI's own message. Counts go in chunks of at most INT_MAX. */
#include "dist.h"

#include <limits.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHUNK ((size_t)INT_MAX)

const char *clg_dist_backend(void) { return "mpi"; }

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static clg_status mpi_fail(int err, const char *call) {
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(err, msg, &len) != MPI_SUCCESS) len = 0;
    msg[len] = '\0';
    return clg_fail(CLG_ERR_COMM, "%s failed: %s (MPI error %d)", call, len ? msg : "?", err);
}

#define MPI_TRY(call)                                                           \
    do {                                                                        \
        int mpi_err_ = (call);                                                  \
        if (mpi_err_ != MPI_SUCCESS) return mpi_fail(mpi_err_, #call);          \
    } while (0)

/* Ranks that share memory with this one: the machine. */
static clg_status local_ranks(clg_dist *d) {
    MPI_Comm node;
    MPI_TRY(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, d->rank, MPI_INFO_NULL,
                                &node));
    int rc = MPI_Comm_rank(node, &d->local_rank);
    if (rc == MPI_SUCCESS) rc = MPI_Comm_size(node, &d->local_size);
    MPI_Comm_free(&node);
    return rc == MPI_SUCCESS ? CLG_OK : mpi_fail(rc, "MPI_Comm_rank/size on the node");
}

clg_status clg_dist_init(clg_dist *d) {
    memset(d, 0, sizeof *d);
    d->size = d->local_size = 1;
    if (!clg_dist_launcher_size()) return CLG_OK;
    int inited = 0;
    MPI_TRY(MPI_Initialized(&inited));
    if (!inited) {
        MPI_TRY(MPI_Init(NULL, NULL));
        d->joined = 1;
    }
    MPI_TRY(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
    MPI_TRY(MPI_Comm_rank(MPI_COMM_WORLD, &d->rank));
    MPI_TRY(MPI_Comm_size(MPI_COMM_WORLD, &d->size));
    return local_ranks(d);
}

void clg_dist_finalize(clg_dist *d) {
    free(d->host);
    d->host = NULL;
    d->host_cap = 0;
    if (d->joined) MPI_Finalize();
    d->joined = 0;
}

clg_status clg_dist_allreduce_sum(clg_dist *d, float *buf, size_t n) {
    if (d->size == 1) return CLG_OK;
    double t0 = now_s();
    for (size_t at = 0; at < n; at += CHUNK) {
        int count = (int)(n - at < CHUNK ? n - at : CHUNK);
        MPI_TRY(MPI_Allreduce(MPI_IN_PLACE, buf + at, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD));
    }
    d->comm_s += now_s() - t0;
    return CLG_OK;
}

clg_status clg_dist_bcast(clg_dist *d, void *buf, size_t bytes, int root) {
    if (root < 0 || root >= d->size)
        return clg_fail(CLG_ERR_INVALID_ARG, "broadcast from rank %d of %d", root, d->size);
    if (d->size == 1) return CLG_OK;
    double t0 = now_s();
    for (size_t at = 0; at < bytes; at += CHUNK) {
        int count = (int)(bytes - at < CHUNK ? bytes - at : CHUNK);
        MPI_TRY(MPI_Bcast((char *)buf + at, count, MPI_BYTE, root, MPI_COMM_WORLD));
    }
    d->comm_s += now_s() - t0;
    return CLG_OK;
}

clg_status clg_dist_barrier(clg_dist *d) {
    if (d->size > 1) MPI_TRY(MPI_Barrier(MPI_COMM_WORLD));
    return CLG_OK;
}

void clg_dist_abort(clg_dist *d, int code) {
    if (d->size > 1) MPI_Abort(MPI_COMM_WORLD, code ? code : 1);
}
