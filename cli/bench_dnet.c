/* bench_dnet.c: `clgan bench` records for DCGAN's discriminator with and
 * without minibatch discrimination (--filter dnet): one training forward
 * and backward of D (batch 64, DCGAN-32 at ndf = 32 as the ablation trains
 * it, and DCGAN-64 at ndf = 64), and MBD's share of it:
 *   share = (t(D with MBD 100,5) - t(D)) / t(D with MBD 100,5),
 * the two nets timed alternately, three rounds, best of --reps each (the
 * difference also holds the last linear layer's 100 extra inputs, a
 * rounding error against its 8*ndf*4*4). */
#include "bench.h"
#include "dcgan.h"
#include "elementwise.h"
#include "rng.h"

#include <stdio.h>

typedef struct {
    clg_net d;
    clg_tensor x;
} dnet_arg;

static clg_status dnet_op(clg_ctx *ctx, void *p) {
    dnet_arg *a = p;
    clg_tensor dout = clg_net_doutput(&a->d);
    CLG_TRY(clg_net_forward(ctx, &a->d, &a->x, CLG_NET_TRAIN));
    CLG_TRY(clg_fill(ctx, &dout, 0.01f));
    return clg_net_backward(ctx, &a->d, &a->x, NULL, 1);
}

static clg_status dnet_make(clg_ctx *ctx, dnet_arg *a, int size, int ndf, int mbd) {
    clg_dcgan_config c = clg_dcgan_config_default();
    c.image_size = size, c.ndf = ndf, c.batch = 64;
    c.mbd[0] = mbd ? 100 : 0, c.mbd[1] = mbd ? 5 : 0;
    CLG_TRY(clg_dcgan_build_d(&a->d, &c));
    CLG_TRY(clg_net_alloc(ctx, &a->d));
    CLG_TRY(clg_net_init_params(ctx, &a->d, 1));
    CLG_TRY(clg_tensor_create(ctx, &a->x, 64, c.nc, size, size, "bench D input"));
    return clg_rng_uniform(ctx, &a->x, 7, 0, -1.0f, 1.0f);
}

static void dnet_free(clg_ctx *ctx, dnet_arg *a) {
    clg_net_free(ctx, &a->d);
    clg_tensor_free(ctx, &a->x);
}

/* Both nets of one size, timed alternately; records for each and the share. */
static clg_status dnet_pair(bench_state *st, int size, int ndf) {
    dnet_arg a[2] = {0};
    double best[2] = {1e30, 1e30}, t;
    char name[64], shape[96];
    clg_status rc = CLG_OK;
    for (int k = 0; k < 2 && rc == CLG_OK; k++) rc = dnet_make(st->ctx, &a[k], size, ndf, k);
    for (int round = 0; round < 3 && rc == CLG_OK; round++)
        for (int k = 0; k < 2 && rc == CLG_OK; k++) {
            rc = bench_time(st, dnet_op, &a[k], &t);
            if (t < best[k]) best[k] = t;
        }
    snprintf(shape, sizeof shape, "DCGAN-%d ndf=%d N=64", size, ndf);
    for (int k = 0; k < 2 && rc == CLG_OK; k++) {
        snprintf(name, sizeof name, "dnet_fwd+bwd%s/%d", k ? "_mbd" : "", size);
        rc = bench_add(st, name, shape, k ? "D + MBD 100,5" : "D", best[k], 0, 0);
    }
    if (rc == CLG_OK) {
        /* the record's time is MBD's own (t_mbd - t); the share goes in its label */
        char what[48];
        double share = 100.0 * (best[1] - best[0]) / best[1];
        snprintf(name, sizeof name, "dnet_mbd_extra/%d", size);
        snprintf(what, sizeof what, "t_mbd - t: %.1f%% of t_mbd", share);
        printf("  MBD (100,5) share of D's forward + backward, DCGAN-%d: %.1f%%\n", size, share);
        rc = bench_add(st, name, shape, what, best[1] - best[0], 0, 0);
    }
    dnet_free(st->ctx, &a[0]);
    dnet_free(st->ctx, &a[1]);
    return rc;
}

clg_status bench_dnet(bench_state *st, const char *filter) {
    if (bench_wanted(filter, "dnet_fwd+bwd/32") || bench_wanted(filter, "dnet_mbd_extra/32"))
        CLG_TRY(dnet_pair(st, 32, 32));
    if (bench_wanted(filter, "dnet_fwd+bwd/64") || bench_wanted(filter, "dnet_mbd_extra/64"))
        CLG_TRY(dnet_pair(st, 64, 64));
    return CLG_OK;
}
