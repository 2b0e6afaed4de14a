/* bn_sync.c: batch norm with statistics over every rank (see bn_sync.h). */
#include "bn_sync.h"
#include "batchnorm.h"
#include "elementwise.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Host scratch, in units of C floats. */
enum { H_LMEAN, H_LVAR, H_PACK, H_MU_G = H_PACK + 3, H_RSTD, H_VAR, H_GAMMA, H_A, H_B,
       H_BR, H_DMX, H_DVX, H_COUNT };
#define AT(s, k) ((s)->h + (size_t)(k) * (size_t)(s)->C)

clg_status clg_bn_sync_create(clg_ctx *ctx, clg_bn_sync *s, int C) {
    memset(s, 0, sizeof *s);
    s->C = C;
    if (!(s->h = calloc((size_t)H_COUNT * (size_t)C, sizeof *s->h)))
        return clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory");
    clg_tensor ts[9];
    for (int k = 0; k < 9; k++) ts[k] = clg_tensor_view(NULL, 0, 1, C, 1, 1);
    CLG_TRY(clg_block_alloc(ctx, &s->blk, ts, 9, "synchronised batch norm"));
    s->lmean = ts[0], s->lvar = ts[1], s->lo = ts[2], s->gvar = ts[3], s->sa = ts[4];
    s->sb = ts[5], s->ones = ts[6], s->dmx = ts[7], s->dvx = ts[8];
    return clg_fill(ctx, &s->ones, 1.0f);
}

void clg_bn_sync_free(clg_ctx *ctx, clg_bn_sync *s) {
    clg_block_free(ctx, &s->blk);
    free(s->h);
    s->h = NULL;
}

/* Global mean, variance and rstd from every rank's (mean, var): with equal
 * counts, var = mean(var_r) + mean(mean_r^2) - mean^2. */
static clg_status global_stats(clg_dist *d, clg_bn_sync *s, float eps) {
    const int C = s->C;
    float *p = AT(s, H_PACK), *mu_r = AT(s, H_LMEAN), *var_r = AT(s, H_LVAR);
    for (int c = 0; c < C; c++) {
        p[c] = mu_r[c], p[C + c] = var_r[c];
        p[2 * C + c] = mu_r[c] * mu_r[c];
    }
    CLG_TRY(clg_dist_allreduce_sum(d, p, (size_t)3 * C));
    const double inv = 1.0 / d->size;
    for (int c = 0; c < C; c++) {
        double mu = p[c] * inv, var = p[C + c] * inv + (p[2 * C + c] * inv - mu * mu);
        if (var < 0) var = 0;
        AT(s, H_MU_G)[c] = (float)mu;
        AT(s, H_VAR)[c] = (float)var;
        AT(s, H_RSTD)[c] = 1.0f / sqrtf((float)var + eps);
    }
    return CLG_OK;
}

/* running = (1 - m) running + m batch, with the global count's unbiased
 * variance. */
static clg_status update_running(clg_ctx *ctx, const clg_bn_sync *s, const clg_tensor *mean,
                                 const clg_tensor *rm, const clg_tensor *rv, float m,
                                 double count) {
    CLG_TRY(clg_scale(ctx, rm, rm, 1.0f - m));
    CLG_TRY(clg_axpy(ctx, rm, m, mean));
    CLG_TRY(clg_scale(ctx, rv, rv, 1.0f - m));
    return clg_axpy(ctx, rv, (float)(m * count / (count - 1.0)), &s->gvar);
}

clg_status clg_bn_sync_forward(clg_ctx *ctx, clg_dist *d, clg_bn_sync *s,
                               const clg_tensor *out, const clg_tensor *mean,
                               const clg_tensor *rstd, const clg_tensor *inp,
                               const clg_tensor *gamma, const clg_tensor *beta,
                               const clg_tensor *running_mean, const clg_tensor *running_var,
                               float momentum, float eps) {
    if (inp->c != s->C)
        return clg_fail(CLG_ERR_INVALID_ARG, "synchronised batch norm: %d channels, built for %d",
                        inp->c, s->C);
    s->synced = 0;
    /* This rank's statistics (out and rstd are overwritten below). */
    CLG_TRY(clg_bn_forward_stats(ctx, out, &s->lmean, rstd, &s->lvar, &s->lo, inp, gamma, beta,
                                 NULL, NULL, momentum, eps));
    CLG_TRY(clg_tensor_download(ctx, &s->lmean, AT(s, H_LMEAN)));
    CLG_TRY(clg_tensor_download(ctx, &s->lvar, AT(s, H_LVAR)));
    CLG_TRY(global_stats(d, s, eps));
    CLG_TRY(clg_tensor_upload(ctx, mean, AT(s, H_MU_G)));
    CLG_TRY(clg_tensor_upload(ctx, rstd, AT(s, H_RSTD)));
    CLG_TRY(clg_tensor_upload(ctx, &s->gvar, AT(s, H_VAR)));
    CLG_TRY(clg_batchnorm_forward_inference(ctx, out, inp, gamma, beta, mean, &s->gvar, eps));
    double count = (double)inp->n * inp->h * inp->w * d->size;
    if (running_mean && count < 2)
        return clg_fail(CLG_ERR_INVALID_ARG, "synchronised batch norm: one value per channel "
                        "has no unbiased variance");
    if (running_mean)
        CLG_TRY(update_running(ctx, s, mean, running_mean, running_var, momentum, count));
    s->synced = 1;
    return CLG_OK;
}

/* The extra gradients w.r.t. the local mean and variance that turn bn_bwd's
 * local terms into the global ones (bn_sync.h); A, B: this rank's sums,
 * Ag, Bg: the global ones, B of bn_bwd around the local mean. dstats's
 * gradients w.r.t. the global statistics (or NULL) in the local terms: a
 * value's share of the global mean is 1/ranks of its share of the local
 * one, and (x - mu_g)^2 = (x - mu_l)^2 + 2 (x - mu_l) dmu + dmu^2 moves
 * 2 dmu of the variance's gradient onto the mean. */
static void corrections(clg_bn_sync *s, const float *q, int ranks, const float *dstats) {
    const int C = s->C;
    for (int c = 0; c < C; c++) {
        const double r = AT(s, H_RSTD)[c], g = AT(s, H_GAMMA)[c];
        const double A = AT(s, H_A)[c], Bl = AT(s, H_B)[c], Ag = q[c], Bg = q[C + c];
        const double dmu = (double)AT(s, H_LMEAN)[c] - AT(s, H_MU_G)[c];
        const double em = dstats ? dstats[c] : 0.0, ev = dstats ? dstats[C + c] : 0.0;
        AT(s, H_DVX)[c] = (float)(-0.5 * r * r * g * (Bg / ranks - Bl) + ev);
        AT(s, H_DMX)[c] =
            (float)(r * g * (A - Ag / ranks) - r * r * g * Bg * dmu / ranks + em + 2.0 * dmu * ev);
    }
}

/* This rank's A and B (around the global mean), summed over ranks into q. */
static clg_status global_sums(clg_ctx *ctx, clg_dist *d, clg_bn_sync *s, const clg_tensor *gamma,
                              float *q) {
    const int C = s->C;
    float *A = AT(s, H_A), *B = AT(s, H_B), *Br = AT(s, H_BR);
    CLG_TRY(clg_tensor_download(ctx, &s->sa, A));
    CLG_TRY(clg_tensor_download(ctx, &s->sb, B));
    if (gamma) CLG_TRY(clg_tensor_download(ctx, gamma, AT(s, H_GAMMA)));
    for (int c = 0; c < C; c++) {
        if (!gamma) AT(s, H_GAMMA)[c] = 1.0f;
        Br[c] = B[c] + AT(s, H_RSTD)[c] * (AT(s, H_LMEAN)[c] - AT(s, H_MU_G)[c]) * A[c];
        q[c] = A[c], q[C + c] = Br[c];
    }
    return clg_dist_allreduce_sum(d, q, (size_t)2 * C);
}

clg_status clg_bn_sync_backward(clg_ctx *ctx, clg_dist *d, clg_bn_sync *s,
                                const clg_tensor *dinp, const clg_tensor *dgamma,
                                const clg_tensor *dbeta, const clg_tensor *dout,
                                const clg_tensor *inp, const clg_tensor *rstd,
                                const clg_tensor *gamma, const float *dstats) {
    if (!s->synced)
        return clg_fail(CLG_ERR_INVALID_ARG, "synchronised batch norm: backward without its "
                        "forward");
    const clg_tensor *g = gamma ? gamma : &s->ones;
    float *q = AT(s, H_PACK);
    /* Pass 1: this rank's sums into sb, sa (dinp written, then rewritten). */
    CLG_TRY(clg_tensor_zero(ctx, &s->sa));
    CLG_TRY(clg_tensor_zero(ctx, &s->sb));
    CLG_TRY(clg_bn_backward_stats(ctx, dinp, &s->sb, &s->sa, dout, inp, &s->lmean, rstd, g, NULL,
                                  NULL));
    CLG_TRY(global_sums(ctx, d, s, gamma, q));
    corrections(s, q, d->size, dstats);
    CLG_TRY(clg_tensor_upload(ctx, &s->dmx, AT(s, H_DMX)));
    CLG_TRY(clg_tensor_upload(ctx, &s->dvx, AT(s, H_DVX)));
    /* Pass 2: the input gradient with the global terms. */
    CLG_TRY(clg_bn_backward_stats(ctx, dinp, NULL, NULL, dout, inp, &s->lmean, rstd, g, &s->dmx,
                                  &s->dvx));
    if (!dgamma) return CLG_OK;
    CLG_TRY(clg_tensor_upload(ctx, &s->sb, AT(s, H_BR)));
    CLG_TRY(clg_tensor_upload(ctx, &s->sa, AT(s, H_A)));
    CLG_TRY(clg_axpy(ctx, dgamma, 1.0f, &s->sb));
    return clg_axpy(ctx, dbeta, 1.0f, &s->sa);
}
