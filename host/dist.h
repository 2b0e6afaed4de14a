/* dist.h: the process group of data-parallel training: rank, size, local
 * rank, sum of a float block over every rank, broadcast, barrier, abort.
 *
 * Two implementations, one chosen at build time (Makefile MPI=1|0):
 * host/dist_mpi.c over MPI (Open MPI or MPICH), and host/dist_single.c, one
 * process. The MPI one joins MPI only when a launcher started the process
 * (mpirun sets OMPI_COMM_WORLD_SIZE, Hydra PMI_SIZE, PMIx PMIX_RANK): run
 * without mpirun, clgan is one process and never initialises MPI, so a
 * user who never calls MPI sees no difference.
 *
 * The device-tensor helpers (dist_common.c) stage through host memory:
 * read the buffer, reduce, write back. Nothing here knows a model. */
#ifndef CLG_DIST_H
#define CLG_DIST_H

#include "tensor.h"

#include <stddef.h>

typedef struct clg_dist {
    int rank, size;             /* in the whole job */
    int local_rank, local_size; /* among the ranks on this machine */
    int joined;                 /* 1: clg_dist_init initialised MPI (finalize ends it) */
    float *host;                /* staging for device tensors */
    size_t host_cap;            /* floats */
    double comm_s;              /* wall time inside allreduce/broadcast calls */
    double tensor_s;            /* wall time of clg_dist_allreduce_tensor (read, sum, write) */
    long tensor_calls;
    size_t bucket_bytes;        /* gradient buckets overlapped with the backward pass
                                   (models/grad_buckets.h); 0: one allreduce per net */
} clg_dist;

/* "mpi" or "single": the implementation built in. */
const char *clg_dist_backend(void);

/* The rank count a launcher put in the environment (Open MPI's
 * OMPI_COMM_WORLD_SIZE, Hydra's PMI_SIZE), 1 for PMIx's PMIX_RANK alone,
 * 0 without a launcher. */
int clg_dist_launcher_size(void);

/* Join the job a launcher started (rank, size, local rank), or stand alone
 * (rank 0 of 1). */
clg_status clg_dist_init(clg_dist *d);
void clg_dist_finalize(clg_dist *d);

/* buf[0..n) = its sum over every rank, on every rank. */
clg_status clg_dist_allreduce_sum(clg_dist *d, float *buf, size_t n);
/* `bytes` of buf from rank `root` to every rank. */
clg_status clg_dist_bcast(clg_dist *d, void *buf, size_t bytes, int root);
clg_status clg_dist_barrier(clg_dist *d);
/* End every rank of the job with `code` (MPI_Abort): for the CLI after it
 * printed why; the library never calls it. With one process it returns. */
void clg_dist_abort(clg_dist *d, int code);

/* Device tensors (dist_common.c). t = scale * (sum of t over ranks). */
clg_status clg_dist_allreduce_tensor(clg_ctx *ctx, clg_dist *d, const clg_tensor *t, float scale);
/* The same, overlapped: once `ready` (an event of ctx's queue) has
 * completed, read t on the side queue into host[0..numel), sum it over the
 * ranks, scale it, and enqueue its write back on ctx's queue without
 * waiting (host must stay untouched until that write is done). Only the
 * time after `ready` counts in tensor_s. */
clg_status clg_dist_allreduce_after(clg_ctx *ctx, clg_dist *d, const clg_tensor *t,
                                    cl_event ready, float scale, float *host);
/* d's staging buffer with room for n floats (for clg_dist_allreduce_after). */
clg_status clg_dist_staging(clg_dist *d, size_t n, float **host);
/* t from rank 0 on every rank. */
clg_status clg_dist_bcast_tensor(clg_ctx *ctx, clg_dist *d, const clg_tensor *t);

#endif
