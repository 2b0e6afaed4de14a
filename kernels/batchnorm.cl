/* batchnorm.cl: batch normalisation over (N, H, W) per channel of an NCHW
 * tensor (a (N, C, 1, 1) tensor normalises fully connected features over N).
 *
 * Layout: channel c is N rows of P = H*W contiguous floats, row n starting at
 * (n*C + c)*P. GPUs take the split kernels at the end of this file (several
 * work-groups per channel, partial sums, three launches). In bn_fwd_train and
 * bn_bwd a work-group owns one channel at a time (groups loop over the
 * channels: a few per compute unit on CPUs)
 * and walks its rows with a loop over items of BN_VW floats when
 * P % BN_VW == 0, scalars otherwise (explicit SIMD, which PoCL cannot derive
 * from a loop inside a work-item); each work-item takes a contiguous range of
 * items on CPUs, every L-th item on GPUs (BN_BLOCKED). The first pass streams
 * the channel from memory, the later passes find it in cache (a channel of
 * DCGAN-64 is at most 256 KiB), so x costs about one trip to memory. On CPUs
 * short rows (P < 256) go to bn_fwd_train8/bn_bwd8 further down, which take
 * 8 channels at a time.
 *
 * Statistics are shifted sums: sum(x - K) and sum((x - K)^2) with K the
 * channel's first element, so the variance does not cancel at large means
 * (mean 1e3, std 1e-2 is tested). Every work-item reaches every barrier.
 *
 * Not here: virtual batch norm's per-example pass (vbn.cl); its reference
 * batch uses bn_fwd_train (BN_SAVE_VAR) and bn_bwd (BN_DSTATS). */

#ifndef BN_VW /* floats per vector item: 4, 8 or 16; the device's width (prelude) */
#define BN_VW CLG_FLOAT_VW
#endif

#define floatV CLG_VEC(float, BN_VW)
#define vloadV CLG_VEC(vload, BN_VW)
#define vstoreV CLG_VEC(vstore, BN_VW)
#define BN_HSUM(v) CLG_HSUM(BN_VW, v)

/* flags */
#define BN_AFFINE 1u   /* gamma, beta given */
#define BN_RUNNING 2u  /* update running mean / var */
#define BN_SAVE_VAR 4u /* write the biased batch variance */
#define BN_HAS_DOUT 8u /* bn_bwd: dout given (else zero) */
#define BN_DSTATS 16u  /* bn_bwd: extra gradients w.r.t. the batch mean and variance */
#define BN_NO_PGRAD 32u /* bn_bwd: leave dgamma, dbeta untouched (a pass through a frozen net) */

/* An activation fused after the normalisation (BN_ACT: 0 none, 1 ReLU, 2
 * leaky ReLU of slope BN_SLOPE), computed as activation.cl computes it, so
 * that the fused layer is bit-identical to batch norm then the activation:
 * BN_ACT_F on the normalised value; BN_ACT_B on the gradient g arriving at
 * the activation's output y (the layer's output, which the backward kernels
 * then read beside dout). Scalars or vectors. */
#ifndef BN_ACT
#define BN_ACT 0
#endif
#if BN_ACT == 1
#define BN_ACT_F(v) fmax((v), 0.0f)
#define BN_ACT_B(g, y) ((y) > 0.0f ? (g) : 0.0f)
#elif BN_ACT == 2
#define BN_ACT_F(v) ((v) > 0.0f ? (v) : BN_SLOPE * (v))
#define BN_ACT_B(g, y) ((y) > 0.0f ? (g) : BN_SLOPE * (g))
#else
#define BN_ACT_F(v) (v)
#define BN_ACT_B(g, y) (g)
#endif
/* The gradient at the normalised value: vector q of rows dy, y; element i. */
#define BN_DYV(q, dy, y) BN_ACT_B(vloadV(q, dy), vloadV(q, y))
#define BN_DY(i, dy, y) BN_ACT_B((dy)[i], (y)[i])

#ifndef BN_BLOCKED /* 1: blocked item ranges (CPUs), 0: interleaved (GPUs) */
#define BN_BLOCKED CLG_DEVICE_IS_CPU
#endif

/* This work-item's share of slice s of S (S = 1: the whole channel; the
 * split kernels' slices are ceil(nq / S) items) of a channel's nq items,
 * stored as rows of `per` items, walked as (row, col): on CPUs a contiguous
 * range [q0_, q1_) as nested loops over rows and columns (PoCL runs the
 * work-items of a group one after another, so each streams through memory,
 * and the inner loop is plain); on GPUs every L-th item (coalesced), keeping
 * (row, col) without a division per item. */
#define BN_SLICE_(nq, s, S)                                                     \
    const uint sl_ = ((nq) + (S) - 1u) / (S), qs_ = min((s) * sl_, (nq)),      \
               qe_ = min(qs_ + sl_, (nq))
#if BN_BLOCKED
#define BN_RANGE(nq, s, S)                                                      \
    BN_SLICE_(nq, s, S);                                                        \
    const uint chunk_ = (qe_ - qs_ + L - 1u) / L, q0_ = min(qs_ + lid * chunk_, qe_), \
               q1_ = min(q0_ + chunk_, qe_)
#define BN_WALK(row, col, per)                                                  \
    for (uint row = q0_ / (per), r1_ = (q1_ + (per) - 1u) / (per); row < r1_; row++) \
        for (uint col = max(q0_, row * (per)) - row * (per),                    \
                  ce_ = min(q1_ - row * (per), (per));                          \
             col < ce_; col++)
#else
#define BN_RANGE(nq, s, S)                                                      \
    BN_SLICE_(nq, s, S);                                                        \
    const uint q0_ = qs_ + lid, q1_ = qe_, st_ = L
#define BN_WALK(row, col, per)                                                  \
    for (uint q_ = q0_, row = q0_ / (per), col = q0_ % (per), sn_ = st_ / (per), \
              sr_ = st_ % (per);                                                \
         q_ < q1_;                                                              \
         q_ += st_, col += sr_, row += sn_ + (col >= (per) ? 1u : 0u),          \
              col -= (col >= (per) ? (per) : 0u))
#endif

/* This work-item's sum(x - K) and sum((x - K)^2) over its share of slice s
 * of S of the channel at x (N rows of P, rs floats apart). */
float2 bn_fwd_sums(__global const float *x, uint rs, uint N, uint P, float K, uint s, uint S) {
    const uint lid = (uint)get_local_id(0), L = (uint)get_local_size(0);
    float s1 = 0.0f, s2 = 0.0f;
    if (P % BN_VW == 0u) {
        const uint per = P / BN_VW;
        BN_RANGE(N * per, s, S);
        floatV a1 = (floatV)(0.0f), a2 = (floatV)(0.0f);
        BN_WALK(n, j, per) {
            const floatV d = vloadV(j, x + n * rs) - K;
            a1 += d;
            a2 += d * d;
        }
        s1 = BN_HSUM(a1);
        s2 = BN_HSUM(a2);
    } else {
        BN_RANGE(N * P, s, S);
        BN_WALK(n, j, P) {
            const float d = x[n * rs + j] - K;
            s1 += d;
            s2 += d * d;
        }
    }
    return (float2)(s1, s2);
}

/* This work-item's sum(x - mu), sum(dy), sum(dy * (x - mu)) over its share
 * of slice s of S of the channel at x, dy (dy counts as 0 without has_dy;
 * with a fused activation dy is the gradient at its input, from dout and
 * the layer's output yo). */
float3 bn_bwd_sums(__global const float *x, __global const float *dy, __global const float *yo,
                   uint rs, uint N, uint P, float mu, int has_dy, uint s, uint S) {
    const uint lid = (uint)get_local_id(0), L = (uint)get_local_size(0);
    float s0 = 0.0f, sa = 0.0f, sb = 0.0f;
    if (P % BN_VW == 0u) {
        const uint per = P / BN_VW;
        BN_RANGE(N * per, s, S);
        floatV a0 = (floatV)(0.0f), a = (floatV)(0.0f), b = (floatV)(0.0f);
        BN_WALK(n, j, per) {
            const floatV xc = vloadV(j, x + n * rs) - mu;
            const floatV d = has_dy ? BN_DYV(j, dy + n * rs, yo + n * rs) : (floatV)(0.0f);
            a0 += xc;
            a += d;
            b += d * xc;
        }
        s0 = BN_HSUM(a0);
        sa = BN_HSUM(a);
        sb = BN_HSUM(b);
    } else {
        BN_RANGE(N * P, s, S);
        BN_WALK(n, j, P) {
            const float xc = x[n * rs + j] - mu;
            const float d = has_dy ? BN_DY(n * rs + j, dy, yo) : 0.0f;
            s0 += xc;
            sa += d;
            sb += d * xc;
        }
    }
    return (float3)(s0, sa, sb);
}

/* Channel c's statistics (mean mu = K + dm, biased variance v, r =
 * 1/sqrt(v + eps), M elements) into mean and rstd and, by flags, var and
 * mean_lo (BN_SAVE_VAR: mean = K + dm exactly as mean + mean_lo, TwoSum; VBN
 * needs the reference mean beyond float precision at large means) and the
 * running statistics with the unbiased variance (BN_RUNNING). Every pointer
 * is at its buffer's offset. */
void bn_store_stats(__global float *mean, __global float *rstd, __global float *var,
                    __global float *mean_lo, __global float *run_mean,
                    __global float *run_var, uint c, float K, float dm, float v, float r,
                    float M, float momentum, uint flags) {
    const float mu = K + dm;
    mean[c] = mu;
    rstd[c] = r;
    if (flags & BN_SAVE_VAR) {
        const float bb = mu - K;
        var[c] = v;
        mean_lo[c] = (K - (mu - bb)) + (dm - bb);
    }
    if (flags & BN_RUNNING) {
        run_mean[c] = (1.0f - momentum) * run_mean[c] + momentum * mu;
        run_var[c] = (1.0f - momentum) * run_var[c] + momentum * v * (M / (M - 1.0f));
    }
}

/* out = (x - mean) * rstd * gamma + beta with batch statistics.
 * mean, rstd: (C) saved for bn_bwd; var: (C) biased variance and mean_lo: (C)
 * the rounding error of mean (BN_SAVE_VAR);
 * run_mean, run_var: (C), running = (1 - momentum) * running + momentum *
 * batch, with the unbiased variance (BN_RUNNING; needs N*P > 1). Buffers whose
 * flag is off are never touched (the host passes any valid buffer). */
__kernel void bn_fwd_train(__global float *out, uint out_off,
                           __global float *mean, uint mean_off,
                           __global float *rstd, uint rstd_off,
                           __global float *var, uint var_off,
                           __global float *mean_lo, uint lo_off,
                           __global float *run_mean, uint rm_off,
                           __global float *run_var, uint rv_off,
                           __global const float *inp, uint inp_off,
                           __global const float *gamma, uint g_off,
                           __global const float *beta, uint b_off,
                           uint N, uint C, uint P, float eps, float momentum, uint flags,
                           __local float *scratch) {
    /* Channels grid-stride over the groups: on CPUs a few groups each take
     * many channels, which saves PoCL's per-group cost on small channels. */
    for (uint c = (uint)get_group_id(0); c < C; c += (uint)get_num_groups(0)) {
        const uint lid = (uint)get_local_id(0), L = (uint)get_local_size(0);
        const uint rs = C * P; /* row stride */
        __global const float *x = inp + inp_off + c * P;
        __global float *y = out + out_off + c * P;
        const float K = x[0];
        const float M = (float)N * (float)P;

        const float2 sums = bn_fwd_sums(x, rs, N, P, K, 0u, 1u);
        const float s1 = clg_group_sum(sums.x, scratch), s2 = clg_group_sum(sums.y, scratch);
        const float dm = s1 / M;
        const float v = fmax(s2 / M - dm * dm, 0.0f);
        const float r = 1.0f / sqrt(v + eps);
        if (lid == 0u)
            bn_store_stats(mean + mean_off, rstd + rstd_off, var + var_off, mean_lo + lo_off,
                           run_mean + rm_off, run_var + rv_off, c, K, dm, v, r, M, momentum,
                           flags);
        const float sc = (flags & BN_AFFINE) ? r * gamma[g_off + c] : r;
        const float sh = (flags & BN_AFFINE) ? beta[b_off + c] : 0.0f;
        if (P % BN_VW == 0u) {
            const uint per = P / BN_VW;
            BN_RANGE(N * per, 0u, 1u);
            BN_WALK(n, j, per) {
                vstoreV(BN_ACT_F(((vloadV(j, x + n * rs) - K) - dm) * sc + sh), j, y + n * rs);
            }
        } else {
            BN_RANGE(N * P, 0u, 1u);
            BN_WALK(n, j, P) { y[n * rs + j] = BN_ACT_F(((x[n * rs + j] - K) - dm) * sc + sh); }
        }
    }
}

/* Inference: out = (x - run_mean) / sqrt(run_var + eps) * gamma + beta,
 * one element per work-item. */
__kernel void bn_fwd_infer(__global float *out, uint out_off,
                           __global const float *inp, uint inp_off,
                           __global const float *run_mean, uint rm_off,
                           __global const float *run_var, uint rv_off,
                           __global const float *gamma, uint g_off,
                           __global const float *beta, uint b_off,
                           uint total, uint C, uint P, float eps, uint flags) {
    CLG_FOR_EACH(i, total) {
        const uint c = (i / P) % C;
        float sc = 1.0f / sqrt(run_var[rv_off + c] + eps);
        float sh = 0.0f;
        if (flags & BN_AFFINE) {
            sc *= gamma[g_off + c];
            sh = beta[b_off + c];
        }
        out[out_off + i] = BN_ACT_F((inp[inp_off + i] - run_mean[rm_off + c]) * sc + sh);
    }
}

/* Backward of bn_fwd_train. With xhat = (x - mean) * rstd, g = gamma (or 1),
 * M = N*P, A = sum(dout), B = sum(dout * xhat) over the channel:
 *   dgamma += B, dbeta += A                       (BN_AFFINE; accumulated)
 *   dmean_t = -rstd*g*A + dmean_x,  dvar_t = -rstd^2*g*B/2 + dvar_x
 *   dinp    = rstd*g*dout + (dmean_t + 2*(x - mean)*dvar_t) / M   (written)
 * dmean_x, dvar_x (C) are extra gradients w.r.t. this batch's mean and biased
 * variance (BN_DSTATS: VBN's reference batch), else 0. Without BN_HAS_DOUT
 * dout counts as zero. dinp may alias dout: each element is read and then
 * written by the same work-item, after the reductions. */
__kernel void bn_bwd(__global float *dinp, uint dinp_off,
                     __global float *dgamma, uint dg_off,
                     __global float *dbeta, uint db_off,
                     __global const float *dout, uint dout_off,
                     __global const float *yout, uint yout_off,
                     __global const float *inp, uint inp_off,
                     __global const float *mean, uint mean_off,
                     __global const float *rstd, uint rstd_off,
                     __global const float *gamma, uint g_off,
                     __global const float *dmean_x, uint dmx_off,
                     __global const float *dvar_x, uint dvx_off,
                     uint N, uint C, uint P, uint flags, __local float *scratch) {
    /* Channels grid-stride over the groups: on CPUs a few groups each take
     * many channels, which saves PoCL's per-group cost on small channels. */
    for (uint c = (uint)get_group_id(0); c < C; c += (uint)get_num_groups(0)) {
        const uint lid = (uint)get_local_id(0), L = (uint)get_local_size(0);
        const uint rs = C * P;
        __global const float *x = inp + inp_off + c * P;
        __global const float *dy = dout + dout_off + c * P, *yo = yout + yout_off + c * P;
        __global float *dx = dinp + dinp_off + c * P;
        const float mu = mean[mean_off + c], r = rstd[rstd_off + c];
        const float g = (flags & BN_AFFINE) ? gamma[g_off + c] : 1.0f;
        const float M = (float)N * (float)P;
        const int has_dy = (flags & BN_HAS_DOUT) != 0u;

        /* The saved mean is rounded to float; at |mean| >> std that rounding is
         * visible in x - mean, so this pass also measures the residual
         * delta = mean(x - mean_saved) and uses (x - mean_saved) - delta. */
        const float3 sums = bn_bwd_sums(x, dy, yo, rs, N, P, mu, has_dy, 0u, 1u);
        const float s0 = clg_group_sum(sums.x, scratch), sa = clg_group_sum(sums.y, scratch);
        float sb = clg_group_sum(sums.z, scratch);
        const float delta = s0 / M;
        sb = (sb - delta * sa) * r; /* sum(dout * xhat) */
        if (lid == 0u && (flags & BN_AFFINE) && !(flags & BN_NO_PGRAD) && has_dy) {
            dgamma[dg_off + c] += sb;
            dbeta[db_off + c] += sa;
        }
        float dmt = -r * g * sa, dvt = -0.5f * r * r * g * sb;
        if (flags & BN_DSTATS) {
            dmt += dmean_x[dmx_off + c];
            dvt += dvar_x[dvx_off + c];
        }
        const float k0 = dmt / M, k1 = 2.0f * dvt / M, rg = has_dy ? r * g : 0.0f;
        if (P % BN_VW == 0u) {
            const uint per = P / BN_VW;
            BN_RANGE(N * per, 0u, 1u);
            BN_WALK(n, j, per) {
                const floatV d = has_dy ? BN_DYV(j, dy + n * rs, yo + n * rs) : (floatV)(0.0f);
                vstoreV(rg * d + k0 + k1 * ((vloadV(j, x + n * rs) - mu) - delta), j, dx + n * rs);
            }
        } else {
            BN_RANGE(N * P, 0u, 1u);
            BN_WALK(n, j, P) {
                const float d = has_dy ? BN_DY(n * rs + j, dy, yo) : 0.0f;
                dx[n * rs + j] = rg * d + k0 + k1 * ((x[n * rs + j] - mu) - delta);
            }
        }
    }
}

/* ---- small channels: blocks of 8 ------------------------------------------
 * bn_fwd_train8 and bn_bwd8 compute what bn_fwd_train and bn_bwd do, for
 * blocks of BN_CB = 8 consecutive channels: example n's 8 rows are then one
 * contiguous run in memory, where the one-channel walk visits one small row
 * per page (a 4x4 row is 64 bytes, rows of a channel are C*64 bytes apart)
 * and waits on a cache miss for each. Statistics are float8 math, one lane
 * per channel. CPU kernels: one work-item per group (PoCL runs a group on
 * one core anyway), so no barriers; the host uses them on CPUs for rows
 * under 256 floats. */

#define BN_CB 8

__kernel __attribute__((reqd_work_group_size(1, 1, 1))) void
bn_fwd_train8(__global float *out, uint out_off,
                            __global float *mean, uint mean_off,
                            __global float *rstd, uint rstd_off,
                            __global float *var, uint var_off,
                            __global float *mean_lo, uint lo_off,
                            __global float *run_mean, uint rm_off,
                            __global float *run_var, uint rv_off,
                            __global const float *inp, uint inp_off,
                            __global const float *gamma, uint g_off,
                            __global const float *beta, uint b_off,
                            uint N, uint C, uint P, float eps, float momentum, uint flags,
                            __local float *scratch) {
    const int vec = P % BN_VW == 0u;
    const uint Q = vec ? P / BN_VW : P;
    (void)scratch;
    const float M = (float)N * (float)P;
    const uint blocks = (C + BN_CB - 1u) / BN_CB;
    for (uint cb = (uint)get_group_id(0); cb < blocks; cb += (uint)get_num_groups(0)) {
        const uint c0 = cb * BN_CB, kn = min((uint)BN_CB, C - c0); /* channels in the block */
        float kv[BN_CB], s1[BN_CB], s2[BN_CB];
        for (uint k = 0; k < BN_CB; k++) {
            /* K: the channel's first element */
            kv[k] = c0 + k < C ? inp[inp_off + (c0 + k) * P] : 0.0f;
            s1[k] = s2[k] = 0.0f;
        }
        floatV a1[BN_CB], a2[BN_CB];
        for (uint k = 0; k < BN_CB; k++) a1[k] = a2[k] = (floatV)(0.0f);
        for (uint n = 0; n < N; n++) {
            for (uint k = 0; k < kn; k++) {
                __global const float *x = inp + inp_off + (n * C + c0 + k) * P;
                const float K = kv[k];
                if (vec) {
                    for (uint q = 0; q < Q; q++) {
                        const floatV d = vloadV(q, x) - K;
                        a1[k] += d;
                        a2[k] += d * d;
                    }
                } else {
                    for (uint q = 0; q < Q; q++) {
                        const float d = x[q] - K;
                        s1[k] += d;
                        s2[k] += d * d;
                    }
                }
            }
        }
        if (vec) {
            CLG_ROWSUMS8(BN_VW, a1, s1);
            CLG_ROWSUMS8(BN_VW, a2, s2);
        }
        float gv[BN_CB], shv[BN_CB], dmv[BN_CB], scv[BN_CB];
        clg_load8(gv, gamma, g_off, c0, C, (flags & BN_AFFINE) != 0u, 1.0f);
        clg_load8(shv, beta, b_off, c0, C, (flags & BN_AFFINE) != 0u, 0.0f);
        {
            const float8 K = vload8(0, kv), dm = vload8(0, s1) / M;
            const float8 v = fmax(vload8(0, s2) / M - dm * dm, 0.0f);
            const float8 r = 1.0f / sqrt(v + eps);
            vstore8(dm, 0, dmv);
            vstore8(r * vload8(0, gv), 0, scv);
            vstore8(K + dm, 0, s1); /* the float mean */
            vstore8(r, 0, s2);
            vstore8(v, 0, gv);      /* gamma no longer needed: the variance */
        }
        {
            for (uint k = 0; k < kn; k++) {
                const uint c = c0 + k;
                const float mu = s1[k], v = gv[k];
                mean[mean_off + c] = mu;
                rstd[rstd_off + c] = s2[k];
                if (flags & BN_SAVE_VAR) {
                    const float bb = mu - kv[k]; /* TwoSum, as in bn_fwd_train */
                    var[var_off + c] = v;
                    mean_lo[lo_off + c] = (kv[k] - (mu - bb)) + (dmv[k] - bb);
                }
                if (flags & BN_RUNNING) {
                    run_mean[rm_off + c] = (1.0f - momentum) * run_mean[rm_off + c] + momentum * mu;
                    run_var[rv_off + c] =
                        (1.0f - momentum) * run_var[rv_off + c] + momentum * v * (M / (M - 1.0f));
                }
            }
        }
        for (uint n = 0; n < N; n++) {
            for (uint k = 0; k < kn; k++) {
                __global const float *x = inp + inp_off + (n * C + c0 + k) * P;
                __global float *y = out + out_off + (n * C + c0 + k) * P;
                const float K = kv[k], dm = dmv[k], sc = scv[k], sh = shv[k];
                if (vec) {
                    for (uint q = 0; q < Q; q++)
                        vstoreV(BN_ACT_F(((vloadV(q, x) - K) - dm) * sc + sh), q, y);
                } else {
                    for (uint q = 0; q < Q; q++) y[q] = BN_ACT_F(((x[q] - K) - dm) * sc + sh);
                }
            }
        }
    }
}

__kernel __attribute__((reqd_work_group_size(1, 1, 1))) void
bn_bwd8(__global float *dinp, uint dinp_off,
                      __global float *dgamma, uint dg_off,
                      __global float *dbeta, uint db_off,
                      __global const float *dout, uint dout_off,
                      __global const float *yout, uint yout_off,
                      __global const float *inp, uint inp_off,
                      __global const float *mean, uint mean_off,
                      __global const float *rstd, uint rstd_off,
                      __global const float *gamma, uint g_off,
                      __global const float *dmean_x, uint dmx_off,
                      __global const float *dvar_x, uint dvx_off,
                      uint N, uint C, uint P, uint flags, __local float *scratch) {
    const int vec = P % BN_VW == 0u;
    const uint Q = vec ? P / BN_VW : P;
    (void)scratch;
    const float M = (float)N * (float)P;
    const int has_dy = (flags & BN_HAS_DOUT) != 0u;
    const uint blocks = (C + BN_CB - 1u) / BN_CB;
    for (uint cb = (uint)get_group_id(0); cb < blocks; cb += (uint)get_num_groups(0)) {
        const uint c0 = cb * BN_CB, kn = min((uint)BN_CB, C - c0); /* channels in the block */
        float muv[BN_CB], rv[BN_CB], gv[BN_CB], s0[BN_CB], sa[BN_CB], sb[BN_CB];
        clg_load8(muv, mean, mean_off, c0, C, 1, 0.0f);
        clg_load8(rv, rstd, rstd_off, c0, C, 1, 0.0f);
        clg_load8(gv, gamma, g_off, c0, C, (flags & BN_AFFINE) != 0u, 1.0f);
        floatV a0[BN_CB], aa[BN_CB], ab[BN_CB];
        for (uint k = 0; k < BN_CB; k++) {
            s0[k] = sa[k] = sb[k] = 0.0f;
            a0[k] = aa[k] = ab[k] = (floatV)(0.0f);
        }
        /* (x - mean_saved), as bn_bwd: its mean is the rounding residual */
        for (uint n = 0; n < N; n++) {
            for (uint k = 0; k < kn; k++) {
                __global const float *x = inp + inp_off + (n * C + c0 + k) * P;
                __global const float *dy = dout + dout_off + (n * C + c0 + k) * P;
                __global const float *yo = yout + yout_off + (n * C + c0 + k) * P;
                const float mu = muv[k];
                if (vec) {
                    for (uint q = 0; q < Q; q++) {
                        const floatV xc = vloadV(q, x) - mu;
                        const floatV d = has_dy ? BN_DYV(q, dy, yo) : (floatV)(0.0f);
                        a0[k] += xc;
                        aa[k] += d;
                        ab[k] += d * xc;
                    }
                } else {
                    for (uint q = 0; q < Q; q++) {
                        const float xc = x[q] - mu, d = has_dy ? BN_DY(q, dy, yo) : 0.0f;
                        s0[k] += xc;
                        sa[k] += d;
                        sb[k] += d * xc;
                    }
                }
            }
        }
        if (vec) {
            CLG_ROWSUMS8(BN_VW, a0, s0);
            CLG_ROWSUMS8(BN_VW, aa, sa);
            CLG_ROWSUMS8(BN_VW, ab, sb);
        }
        float dmx[BN_CB], dvx[BN_CB];
        clg_load8(dmx, dmean_x, dmx_off, c0, C, (flags & BN_DSTATS) != 0u, 0.0f);
        clg_load8(dvx, dvar_x, dvx_off, c0, C, (flags & BN_DSTATS) != 0u, 0.0f);
        float dlv[BN_CB], k0v[BN_CB], k1v[BN_CB], rgv[BN_CB];
        {
            const float8 r = vload8(0, rv), g = vload8(0, gv), A = vload8(0, sa);
            const float8 delta = vload8(0, s0) / M;
            const float8 B = (vload8(0, sb) - delta * A) * r; /* sum(dout * xhat) */
            const float8 dmt = -r * g * A + vload8(0, dmx);
            const float8 dvt = -0.5f * r * r * g * B + vload8(0, dvx);
            vstore8(delta, 0, dlv);
            vstore8(dmt / M, 0, k0v);
            vstore8(2.0f * dvt / M, 0, k1v);
            vstore8(has_dy ? r * g : (float8)(0.0f), 0, rgv);
            vstore8(B, 0, sb);
        }
        if ((flags & BN_AFFINE) && !(flags & BN_NO_PGRAD) && has_dy) {
            for (uint k = 0; k < kn; k++) {
                dgamma[dg_off + c0 + k] += sb[k];
                dbeta[db_off + c0 + k] += sa[k];
            }
        }
        for (uint n = 0; n < N; n++) {
            for (uint k = 0; k < kn; k++) {
                __global const float *x = inp + inp_off + (n * C + c0 + k) * P;
                __global const float *dy = dout + dout_off + (n * C + c0 + k) * P;
                __global const float *yo = yout + yout_off + (n * C + c0 + k) * P;
                __global float *dx = dinp + dinp_off + (n * C + c0 + k) * P;
                const float mu = muv[k], dl = dlv[k], k0 = k0v[k], k1 = k1v[k], rg = rgv[k];
                if (vec) {
                    for (uint q = 0; q < Q; q++) {
                        const floatV d = has_dy ? BN_DYV(q, dy, yo) : (floatV)(0.0f);
                        vstoreV(rg * d + k0 + k1 * ((vloadV(q, x) - mu) - dl), q, dx);
                    }
                } else {
                    for (uint q = 0; q < Q; q++) {
                        const float d = has_dy ? BN_DY(q, dy, yo) : 0.0f;
                        dx[q] = rg * d + k0 + k1 * ((x[q] - mu) - dl);
                    }
                }
            }
        }
    }
}

/* ---- split statistics: several work-groups per channel (GPUs) -------------
 * The kernels above give a channel one work-group: on a GPU at most C groups
 * (512 on DCGAN-64) walk the tensor in dependent passes and the device waits.
 * Here each step is its own launch over the whole device:
 *   1. bn_split_fwd_stats / bn_split_bwd_stats: work-group (c, s) reduces
 *      slice s of channel c's N*P elements (S slices of ceil(items / S),
 *      walked as bn_fwd_train walks a channel: strided on GPUs, so
 *      coalesced) into partial sums, part:
 *      (J, C, S) floats, J = 2 forward (sum(x - K), sum((x - K)^2)) or
 *      3 backward (sum(x - mean), sum(dout), sum(dout * (x - mean)));
 *   2. bn_split_fwd_final / bn_split_bwd_final: one work-item per channel
 *      adds its S partials in order and writes what the per-channel kernels
 *      write (same numerics: K the channel's first element, TwoSum mean_lo,
 *      running statistics, gradients), plus the channel's coefficients,
 *      coef: (4, C) forward (K, mean - K, scale, shift) or (5, C) backward
 *      (mean, delta, rstd * gamma, k0, k1);
 *   3. bn_split_fwd_apply / bn_split_bwd_apply: elementwise over the tensor,
 *      BN_VW floats per work-item when P % BN_VW == 0 (a vector never spans
 *      two rows), else one.
 * part and coef are the context's scratch buffer (host/batchnorm.c). */

__kernel void bn_split_fwd_stats(__global float *part, uint part_off,
                                 __global const float *inp, uint inp_off,
                                 uint N, uint C, uint P, uint S, __local float *scratch) {
    const uint c = (uint)get_group_id(0) / S, s = (uint)get_group_id(0) % S;
    __global const float *x = inp + inp_off + c * P;
    const float2 sums = bn_fwd_sums(x, C * P, N, P, x[0], s, S);
    const float s1 = clg_group_sum(sums.x, scratch), s2 = clg_group_sum(sums.y, scratch);
    if (get_local_id(0) == 0) {
        part[part_off + c * S + s] = s1;
        part[part_off + (C + c) * S + s] = s2;
    }
}

/* Statistics and outputs as bn_fwd_train's, from the partial sums. */
__kernel void bn_split_fwd_final(__global float *coef, uint coef_off,
                                 __global float *mean, uint mean_off,
                                 __global float *rstd, uint rstd_off,
                                 __global float *var, uint var_off,
                                 __global float *mean_lo, uint lo_off,
                                 __global float *run_mean, uint rm_off,
                                 __global float *run_var, uint rv_off,
                                 __global const float *part, uint part_off,
                                 __global const float *inp, uint inp_off,
                                 __global const float *gamma, uint g_off,
                                 __global const float *beta, uint b_off,
                                 uint N, uint C, uint P, uint S, float eps, float momentum,
                                 uint flags) {
    CLG_FOR_EACH(c, C) {
        float s1 = 0.0f, s2 = 0.0f;
        for (uint s = 0; s < S; s++) {
            s1 += part[part_off + c * S + s];
            s2 += part[part_off + (C + c) * S + s];
        }
        const float K = inp[inp_off + c * P], M = (float)N * (float)P;
        const float dm = s1 / M;
        const float v = fmax(s2 / M - dm * dm, 0.0f);
        const float r = 1.0f / sqrt(v + eps);
        bn_store_stats(mean + mean_off, rstd + rstd_off, var + var_off, mean_lo + lo_off,
                       run_mean + rm_off, run_var + rv_off, c, K, dm, v, r, M, momentum, flags);
        coef[coef_off + c] = K;
        coef[coef_off + C + c] = dm;
        coef[coef_off + 2u * C + c] = (flags & BN_AFFINE) ? r * gamma[g_off + c] : r;
        coef[coef_off + 3u * C + c] = (flags & BN_AFFINE) ? beta[b_off + c] : 0.0f;
    }
}

/* out = ((x - K) - (mean - K)) * scale + shift; total = N*C*P. */
__kernel void bn_split_fwd_apply(__global float *out, uint out_off,
                                 __global const float *inp, uint inp_off,
                                 __global const float *coef, uint coef_off,
                                 uint total, uint C, uint P) {
    __global const float *x = inp + inp_off;
    __global float *y = out + out_off;
    __global const float *cf = coef + coef_off;
    if (P % BN_VW == 0u) {
        const uint per = P / BN_VW;
        CLG_FOR_EACH(i, total / BN_VW) {
            const uint c = (i / per) % C;
            vstoreV(BN_ACT_F(((vloadV(i, x) - cf[c]) - cf[C + c]) * cf[2u * C + c] + cf[3u * C + c]),
                    i, y);
        }
    } else {
        CLG_FOR_EACH(i, total) {
            const uint c = (i / P) % C;
            y[i] = BN_ACT_F(((x[i] - cf[c]) - cf[C + c]) * cf[2u * C + c] + cf[3u * C + c]);
        }
    }
}

/* bn_bwd's sums over slice s of channel c (see bn_bwd for the residual). */
__kernel void bn_split_bwd_stats(__global float *part, uint part_off,
                                 __global const float *dout, uint dout_off,
                                 __global const float *yout, uint yout_off,
                                 __global const float *inp, uint inp_off,
                                 __global const float *mean, uint mean_off,
                                 uint N, uint C, uint P, uint S, uint flags,
                                 __local float *scratch) {
    const uint c = (uint)get_group_id(0) / S, s = (uint)get_group_id(0) % S;
    const float3 sums = bn_bwd_sums(inp + inp_off + c * P, dout + dout_off + c * P,
                                    yout + yout_off + c * P, C * P, N, P, mean[mean_off + c],
                                    (flags & BN_HAS_DOUT) != 0u, s, S);
    const float s0 = clg_group_sum(sums.x, scratch), sa = clg_group_sum(sums.y, scratch);
    const float sb = clg_group_sum(sums.z, scratch);
    if (get_local_id(0) == 0) {
        part[part_off + c * S + s] = s0;
        part[part_off + (C + c) * S + s] = sa;
        part[part_off + (2u * C + c) * S + s] = sb;
    }
}

/* bn_bwd's gradients w.r.t. gamma and beta and its per-channel terms. */
__kernel void bn_split_bwd_final(__global float *coef, uint coef_off,
                                 __global float *dgamma, uint dg_off,
                                 __global float *dbeta, uint db_off,
                                 __global const float *part, uint part_off,
                                 __global const float *mean, uint mean_off,
                                 __global const float *rstd, uint rstd_off,
                                 __global const float *gamma, uint g_off,
                                 __global const float *dmean_x, uint dmx_off,
                                 __global const float *dvar_x, uint dvx_off,
                                 uint N, uint C, uint P, uint S, uint flags) {
    CLG_FOR_EACH(c, C) {
        float s0 = 0.0f, sa = 0.0f, sb = 0.0f;
        for (uint s = 0; s < S; s++) {
            s0 += part[part_off + c * S + s];
            sa += part[part_off + (C + c) * S + s];
            sb += part[part_off + (2u * C + c) * S + s];
        }
        const float r = rstd[rstd_off + c], M = (float)N * (float)P;
        const float g = (flags & BN_AFFINE) ? gamma[g_off + c] : 1.0f;
        const int has_dy = (flags & BN_HAS_DOUT) != 0u;
        const float delta = s0 / M;
        sb = (sb - delta * sa) * r; /* sum(dout * xhat) */
        if ((flags & BN_AFFINE) && !(flags & BN_NO_PGRAD) && has_dy) {
            dgamma[dg_off + c] += sb;
            dbeta[db_off + c] += sa;
        }
        float dmt = -r * g * sa, dvt = -0.5f * r * r * g * sb;
        if (flags & BN_DSTATS) {
            dmt += dmean_x[dmx_off + c];
            dvt += dvar_x[dvx_off + c];
        }
        coef[coef_off + c] = mean[mean_off + c];
        coef[coef_off + C + c] = delta;
        coef[coef_off + 2u * C + c] = has_dy ? r * g : 0.0f;
        coef[coef_off + 3u * C + c] = dmt / M;
        coef[coef_off + 4u * C + c] = 2.0f * dvt / M;
    }
}

/* dinp = rg * dout + k0 + k1 * ((x - mean) - delta); dinp may alias dout. */
__kernel void bn_split_bwd_apply(__global float *dinp, uint dinp_off,
                                 __global const float *dout, uint dout_off,
                                 __global const float *yout, uint yout_off,
                                 __global const float *inp, uint inp_off,
                                 __global const float *coef, uint coef_off,
                                 uint total, uint C, uint P, uint flags) {
    __global const float *x = inp + inp_off, *dy = dout + dout_off, *yo = yout + yout_off;
    __global float *dx = dinp + dinp_off;
    __global const float *cf = coef + coef_off;
    const int has_dy = (flags & BN_HAS_DOUT) != 0u;
    if (P % BN_VW == 0u) {
        const uint per = P / BN_VW;
        CLG_FOR_EACH(i, total / BN_VW) {
            const uint c = (i / per) % C;
            const floatV d = has_dy ? BN_DYV(i, dy, yo) : (floatV)(0.0f);
            vstoreV(cf[2u * C + c] * d + cf[3u * C + c] +
                        cf[4u * C + c] * ((vloadV(i, x) - cf[c]) - cf[C + c]),
                    i, dx);
        }
    } else {
        CLG_FOR_EACH(i, total) {
            const uint c = (i / P) % C;
            const float d = has_dy ? BN_DY(i, dy, yo) : 0.0f;
            dx[i] = cf[2u * C + c] * d + cf[3u * C + c] +
                    cf[4u * C + c] * ((x[i] - cf[c]) - cf[C + c]);
        }
    }
}
