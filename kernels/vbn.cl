/* vbn.cl: virtual batch normalisation (Salimans et al. 2016), the pass over
 * the examples of a minibatch. Each example n is normalised per channel c
 * with the statistics of {reference batch} + {itself}, itself weighted
 * a = 1/(N_ref + 1), b = 1 - a:
 *     mean = a*m_n + b*m_r
 *     var  = a*E_n[x^2] + b*E_r[x^2] - mean^2
 *          = a*v_n + b*v_r + a*b*(m_n - m_r)^2        (the form used: no
 *                                                      cancellation at large means)
 *     out  = (x - mean) / sqrt(var + eps) * gamma + beta
 * with m, v the mean and biased variance over the spatial positions (P = H*W)
 * of one example, or over the reference batch and its positions (m_r, v_r,
 * from bn_fwd_train in batchnorm.cl, with m_r's float rounding error kept
 * beside it so that m_r - x stays exact at large means). An example's
 * output depends on no other example of its minibatch.
 *
 * Layout: a row is example n's P contiguous floats of channel c, at
 * (n*C + c)*P. GPUs take the row kernels at the end of this file (T
 * work-items per row, N*C rows over the whole device). In vbn_fwd and
 * vbn_bwd a work-group owns a block of VBN_ROWS = 8 consecutive channels
 * (groups loop over blocks) and walks the examples; for example n its 8 rows
 * are contiguous in memory, so a work-item keeps all 8 in flight: their sums
 * first, then their statistics as float8 math (one lane per channel: the
 * divisions and square root cost once per 8 rows), then their outputs. Small
 * rows (DCGAN's 4x4 are one vector each) are thus streamed 8 at a time
 * instead of one row per page. T work-items share a row (a power of two
 * fixed at build time: 1 on CPUs; on GPUs enough for a few items each), each
 * a contiguous part of it on CPUs, every T-th item on GPUs, in items of
 * VBN_VW floats (or scalars when P % VBN_VW != 0); rows are reduced with a
 * segmented tree in local memory. Row sums are shifted by the row's first
 * element K, as in batchnorm.cl.
 *
 * Not here: the reference batch's own pass and its backward (batchnorm.cl). */

#ifndef VBN_VW /* floats per vector item: 4, 8 or 16; the device's width (prelude) */
#define VBN_VW CLG_FLOAT_VW
#endif

#define floatV CLG_VEC(float, VBN_VW)
#define vloadV CLG_VEC(vload, VBN_VW)
#define vstoreV CLG_VEC(vstore, VBN_VW)
#define VBN_HSUM(v) CLG_HSUM(VBN_VW, v)

#define VBN_AFFINE 1u
#define VBN_NO_PGRAD 2u /* vbn_bwd: leave dgamma, dbeta untouched */

#ifndef VBN_BLOCKED /* 1: blocked item ranges (CPUs), 0: interleaved (GPUs) */
#define VBN_BLOCKED CLG_DEVICE_IS_CPU
#endif

/* Work-item t's items q of a row of Q: a contiguous range on CPUs (PoCL runs
 * work-items one after another), q = t, t + T, ... on GPUs (coalesced). */
#if VBN_BLOCKED
#define VBN_ROW(q)                                                              \
    for (uint c_ = (Q + T - 1u) / T, q = min(t * c_, Q), e_ = min(q + c_, Q); q < e_; q++)
#else
#define VBN_ROW(q) for (uint q = t; q < Q; q += T)
#endif

#define VBN_ROWS 8 /* channels per block, rows in flight per work-item (float8 statistics) */

#ifndef VBN_T /* work-items per row, a power of two; the host builds one program per value */
#define VBN_T 1
#endif
#define T VBN_T

/* Sum over each segment of tw consecutive work-items (tw a power of two
 * dividing the local size, the same for the whole group, so every work-item
 * reaches every barrier); every work-item gets its segment's total. */
float vbn_seg_sum_tw(float v, __local float *scratch, uint lid, uint tw) {
    const uint t = lid & (tw - 1u);
    scratch[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint s = tw / 2u; s > 0u; s >>= 1) {
        if (t < s) scratch[lid] += scratch[lid + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float total = scratch[lid - t];
    barrier(CLK_LOCAL_MEM_FENCE);
    return total;
}

/* The same for segments of T = VBN_T. With T = 1 there is nothing to add
 * and no barrier at all: small rows (DCGAN's 4x4 and 8x8) would otherwise
 * pay several barriers per row. */
float vbn_seg_sum(float v, __local float *scratch, uint lid) {
#if VBN_T > 1
    return vbn_seg_sum_tw(v, scratch, lid, T);
#else
    (void)scratch;
    (void)lid;
    return v;
#endif
}

/* mean, rstd: (N, C), the combined statistics per example and channel
 * (saved; mean is informational: the backward recomputes it exactly). */
__kernel void vbn_fwd(__global float *out, uint out_off,
                      __global float *mean, uint mean_off,
                      __global float *rstd, uint rstd_off,
                      __global const float *inp, uint inp_off,
                      __global const float *ref_mean, uint rm_off,
                      __global const float *ref_mean_lo, uint lo_off,
                      __global const float *ref_var, uint rv_off,
                      __global const float *gamma, uint g_off,
                      __global const float *beta, uint b_off,
                      uint N, uint C, uint P, float a, float eps, uint flags,
                      __local float *scratch) {
    const uint lid = (uint)get_local_id(0), L = (uint)get_local_size(0);
    const uint t = lid & (T - 1u), R = L / T;
    const int vec = P % VBN_VW == 0u;
    const uint Q = vec ? P / VBN_VW : P;
    const float b = 1.0f - a, invP = 1.0f / (float)P;
    const int affine = (flags & VBN_AFFINE) != 0u;
    const uint blocks = (C + VBN_ROWS - 1u) / VBN_ROWS;
    for (uint cb = (uint)get_group_id(0); cb < blocks; cb += (uint)get_num_groups(0)) {
        const uint c0 = cb * VBN_ROWS;
        float tmp[VBN_ROWS];
        clg_load8(tmp, ref_mean, rm_off, c0, C, 1, 0.0f);
        const float8 mr = vload8(0, tmp);
        clg_load8(tmp, ref_mean_lo, lo_off, c0, C, 1, 0.0f);
        const float8 mlo = vload8(0, tmp);
        clg_load8(tmp, ref_var, rv_off, c0, C, 1, 1.0f);
        const float8 vr = vload8(0, tmp);
        clg_load8(tmp, gamma, g_off, c0, C, affine, 1.0f);
        const float8 g = vload8(0, tmp);
        float shv[VBN_ROWS];
        clg_load8(shv, beta, b_off, c0, C, affine, 0.0f);
        for (uint n0 = 0; n0 < N; n0 += R) {
            const uint n = n0 + lid / T;
            float kv[VBN_ROWS], s1v[VBN_ROWS], s2v[VBN_ROWS], rv[VBN_ROWS];
            floatV a1[VBN_ROWS], a2[VBN_ROWS];
            for (uint k = 0; k < VBN_ROWS; k++) {
                const int act = n < N && c0 + k < C;
                __global const float *x = inp + inp_off + (n * C + c0 + k) * P;
                const float K = act ? x[0] : 0.0f;
                float s1 = 0.0f, s2 = 0.0f;
                a1[k] = a2[k] = (floatV)(0.0f);
                if (act && vec) {
                    VBN_ROW(q) {
                        const floatV d = vloadV(q, x) - K;
                        a1[k] += d;
                        a2[k] += d * d;
                    }
                } else if (act) {
                    VBN_ROW(q) {
                        const float d = x[q] - K;
                        s1 += d;
                        s2 += d * d;
                    }
                }
                kv[k] = K;
                s1v[k] = s1;
                s2v[k] = s2;
            }
            if (vec) {
                CLG_ROWSUMS8(VBN_VW, a1, s1v);
                CLG_ROWSUMS8(VBN_VW, a2, s2v);
            }
            for (uint k = 0; k < VBN_ROWS; k++) {
                s1v[k] = vbn_seg_sum(s1v[k], scratch, lid);
                s2v[k] = vbn_seg_sum(s2v[k], scratch, lid);
            }
            {
                /* The 8 channels' statistics side by side; s1v becomes
                 * mean - K, s2v the output scale. */
                const float8 K = vload8(0, kv), dm = vload8(0, s1v) * invP;
                const float8 vn = fmax(vload8(0, s2v) * invP - dm * dm, 0.0f);
                const float8 mrK = (mr - K) + mlo; /* m_r - K, exact to float at large means */
                const float8 dnr = dm - mrK;       /* m_n - m_r */
                const float8 r = 1.0f / sqrt(a * vn + b * vr + a * b * dnr * dnr + eps);
                vstore8(a * dm + b * mrK, 0, s1v);
                vstore8(r * g, 0, s2v);
                if (n < N && t == 0u) {
                    /* 8 channels of one example are contiguous: one store each */
                    if (c0 + VBN_ROWS <= C) {
                        vstore8(K + a * dm + b * mrK, 0, mean + mean_off + n * C + c0);
                        vstore8(r, 0, rstd + rstd_off + n * C + c0);
                    } else {
                        vstore8(K + a * dm + b * mrK, 0, kv); /* kv is free after this */
                        vstore8(r, 0, rv);
                        for (uint k = 0; c0 + k < C; k++) {
                            mean[mean_off + n * C + c0 + k] = kv[k];
                            rstd[rstd_off + n * C + c0 + k] = rv[k];
                        }
                        vstore8(K, 0, kv);
                    }
                }
            }
            for (uint k = 0; k < VBN_ROWS; k++) {
                const int act = n < N && c0 + k < C;
                __global const float *x = inp + inp_off + (n * C + c0 + k) * P;
                __global float *y = out + out_off + (n * C + c0 + k) * P;
                const float K = kv[k], muK = s1v[k], sc = s2v[k], sh = shv[k];
                if (act && vec) {
                    VBN_ROW(q) vstoreV(((vloadV(q, x) - K) - muK) * sc + sh, q, y);
                } else if (act) {
                    VBN_ROW(q) y[q] = ((x[q] - K) - muK) * sc + sh;
                }
            }
        }
    }
}

/* Backward of vbn_fwd. Per example and channel, with g = gamma (or 1),
 * xhat = (x - mean)*rstd, A = sum(dout), Bx = sum(dout*xhat) over P:
 *   dinp      = rstd*g*(dout - (a/P)*A - (a/P)*xhat*Bx)          (written)
 *   dgamma   += sum_n Bx, dbeta += sum_n A                        (VBN_AFFINE)
 *   dref_mean += sum_n (-b*rstd*g*A + a*b*rstd^2*g*Bx*(m_n - m_r)) (d/d m_r, v_r fixed)
 *   dref_var  += sum_n (-b*rstd^2*g*Bx/2)                          (d/d v_r)
 * The example's mean is recomputed from x in the pass that reads it anyway,
 * so x - mean is as exact as in the forward. dinp may alias dout. */
__kernel void vbn_bwd(__global float *dinp, uint dinp_off,
                      __global float *dgamma, uint dg_off,
                      __global float *dbeta, uint db_off,
                      __global float *dref_mean, uint drm_off,
                      __global float *dref_var, uint drv_off,
                      __global const float *dout, uint dout_off,
                      __global const float *inp, uint inp_off,
                      __global const float *rstd, uint rstd_off,
                      __global const float *ref_mean, uint rm_off,
                      __global const float *ref_mean_lo, uint lo_off,
                      __global const float *gamma, uint g_off,
                      uint N, uint C, uint P, float a, uint flags,
                      __local float *scratch) {
    const uint lid = (uint)get_local_id(0), L = (uint)get_local_size(0);
    const uint t = lid & (T - 1u), R = L / T;
    const int vec = P % VBN_VW == 0u;
    const uint Q = vec ? P / VBN_VW : P;
    const float b = 1.0f - a, invP = 1.0f / (float)P, aP = a / (float)P;
    const int affine = (flags & VBN_AFFINE) != 0u;
    const uint blocks = (C + VBN_ROWS - 1u) / VBN_ROWS;
    for (uint cb = (uint)get_group_id(0); cb < blocks; cb += (uint)get_num_groups(0)) {
        const uint c0 = cb * VBN_ROWS;
        float tmp[VBN_ROWS];
        clg_load8(tmp, ref_mean, rm_off, c0, C, 1, 0.0f);
        const float8 mr = vload8(0, tmp);
        clg_load8(tmp, ref_mean_lo, lo_off, c0, C, 1, 0.0f);
        const float8 mlo = vload8(0, tmp);
        clg_load8(tmp, gamma, g_off, c0, C, affine, 1.0f);
        const float8 g = vload8(0, tmp);
        /* this work-item's rows, one lane per channel */
        float8 acc_g = (float8)(0.0f), acc_b = (float8)(0.0f);
        float8 acc_m = (float8)(0.0f), acc_v = (float8)(0.0f);
        for (uint n0 = 0; n0 < N; n0 += R) {
            const uint n = n0 + lid / T;
            /* per row: K, rstd; sum(x-K) -> mean - K; sum(dy) -> k0; sum(dy*(x-K)) -> k1 */
            float kv[VBN_ROWS], rv[VBN_ROWS], s1v[VBN_ROWS], sav[VBN_ROWS], sev[VBN_ROWS];
            floatV a1[VBN_ROWS], aa[VBN_ROWS], ae[VBN_ROWS];
            for (uint k = 0; k < VBN_ROWS; k++) {
                const int act = n < N && c0 + k < C;
                __global const float *x = inp + inp_off + (n * C + c0 + k) * P;
                __global const float *dy = dout + dout_off + (n * C + c0 + k) * P;
                const float K = act ? x[0] : 0.0f;
                float s1 = 0.0f, sa = 0.0f, se = 0.0f;
                a1[k] = aa[k] = ae[k] = (floatV)(0.0f);
                if (act && vec) {
                    VBN_ROW(q) {
                        const floatV d = vloadV(q, x) - K, e = vloadV(q, dy);
                        a1[k] += d;
                        aa[k] += e;
                        ae[k] += e * d;
                    }
                } else if (act) {
                    VBN_ROW(q) {
                        const float d = x[q] - K, e = dy[q];
                        s1 += d;
                        sa += e;
                        se += e * d;
                    }
                }
                kv[k] = K;
                rv[k] = act ? rstd[rstd_off + n * C + c0 + k] : 0.0f;
                s1v[k] = s1;
                sav[k] = sa;
                sev[k] = se;
            }
            if (vec) {
                CLG_ROWSUMS8(VBN_VW, a1, s1v);
                CLG_ROWSUMS8(VBN_VW, aa, sav);
                CLG_ROWSUMS8(VBN_VW, ae, sev);
            }
            for (uint k = 0; k < VBN_ROWS; k++) {
                s1v[k] = vbn_seg_sum(s1v[k], scratch, lid);
                sav[k] = vbn_seg_sum(sav[k], scratch, lid);
                sev[k] = vbn_seg_sum(sev[k], scratch, lid);
            }
            {
                /* Inactive rows have r = 0 and zero sums: they add nothing. */
                const float8 K = vload8(0, kv), r = vload8(0, rv), sa = vload8(0, sav);
                const float8 dm = vload8(0, s1v) * invP;
                const float8 mrK = (mr - K) + mlo; /* m_r - K */
                const float8 muK = a * dm + b * mrK;
                const float8 bx = (vload8(0, sev) - muK * sa) * r; /* sum(dy * xhat) */
                if (t == 0u) {
                    acc_g += bx;
                    acc_b += sa;
                    acc_m += -b * r * g * sa + a * b * r * r * g * bx * (dm - mrK);
                    acc_v += -0.5f * b * r * r * g * bx;
                }
                vstore8(muK, 0, s1v);
                vstore8(aP * sa, 0, sav);
                vstore8(aP * bx * r, 0, sev);
                vstore8(r * g, 0, rv);
            }
            for (uint k = 0; k < VBN_ROWS; k++) {
                const int act = n < N && c0 + k < C;
                __global const float *x = inp + inp_off + (n * C + c0 + k) * P;
                __global const float *dy = dout + dout_off + (n * C + c0 + k) * P;
                __global float *dx = dinp + dinp_off + (n * C + c0 + k) * P;
                const float K = kv[k], muK = s1v[k], k0 = sav[k], k1 = sev[k], rg = rv[k];
                if (act && vec) {
                    VBN_ROW(q)
                        vstoreV(rg * (vloadV(q, dy) - k0 - k1 * ((vloadV(q, x) - K) - muK)), q, dx);
                } else if (act) {
                    VBN_ROW(q) dx[q] = rg * (dy[q] - k0 - k1 * ((x[q] - K) - muK));
                }
            }
        }
        float accs[4][VBN_ROWS];
        vstore8(acc_g, 0, accs[0]);
        vstore8(acc_b, 0, accs[1]);
        vstore8(acc_m, 0, accs[2]);
        vstore8(acc_v, 0, accs[3]);
        for (uint k = 0; k < VBN_ROWS; k++) {
            for (uint j = 0; j < 4u; j++) accs[j][k] = clg_group_sum(accs[j][k], scratch);
            if (lid == 0u && c0 + k < C) {
                if (affine && !(flags & VBN_NO_PGRAD)) {
                    dgamma[dg_off + c0 + k] += accs[0][k];
                    dbeta[db_off + c0 + k] += accs[1][k];
                }
                dref_mean[drm_off + c0 + k] += accs[2][k];
                dref_var[drv_off + c0 + k] += accs[3][k];
            }
        }
    }
}

/* ---- one row per tw work-items (GPUs) -------------------------------------
 * vbn_fwd and vbn_bwd give a work-group a block of 8 channels and walk the
 * examples: C/8 groups (64 on DCGAN-64's widest layer), too few for a GPU.
 * Here row = n*C + c is the unit: tw work-items per row (a power of two
 * dividing the local size, chosen by the host so each takes a couple of
 * items, strided: coalesced), L/tw rows per work-group, N*C rows in all, the
 * same per-row arithmetic in scalars. tw is an argument, not VBN_T: one
 * program serves every row length (PoCL takes minutes to build vbn_fwd and
 * vbn_bwd for each VBN_T > 1 at a large local size).
 * vbn_bwd_row's sums over the examples (dgamma, dbeta, dref_mean, dref_var)
 * go per row into part: (4, N, C) floats (the host's scratch), added up per
 * channel by vbn_bwd_final. */

/* Work-item t's strided items of a row of Q. */
#define VBN_ROW_STRIDED(q) for (uint q = t; q < Q; q += tw)

__kernel void vbn_fwd_row(__global float *out, uint out_off,
                          __global float *mean, uint mean_off,
                          __global float *rstd, uint rstd_off,
                          __global const float *inp, uint inp_off,
                          __global const float *ref_mean, uint rm_off,
                          __global const float *ref_mean_lo, uint lo_off,
                          __global const float *ref_var, uint rv_off,
                          __global const float *gamma, uint g_off,
                          __global const float *beta, uint b_off,
                          uint N, uint C, uint P, float a, float eps, uint flags, uint tw,
                          __local float *scratch) {
    const uint lid = (uint)get_local_id(0), L = (uint)get_local_size(0), t = lid & (tw - 1u);
    const uint row = (uint)get_group_id(0) * (L / tw) + lid / tw;
    const int act = row < N * C, vec = P % VBN_VW == 0u;
    const uint Q = act ? (vec ? P / VBN_VW : P) : 0u, c = act ? row % C : 0u;
    const float b = 1.0f - a, invP = 1.0f / (float)P;
    __global const float *x = inp + inp_off + row * P;
    __global float *y = out + out_off + row * P;
    const float K = act ? x[0] : 0.0f;
    float s1 = 0.0f, s2 = 0.0f;
    if (vec) {
        floatV a1 = (floatV)(0.0f), a2 = (floatV)(0.0f);
        VBN_ROW_STRIDED(q) {
            const floatV d = vloadV(q, x) - K;
            a1 += d;
            a2 += d * d;
        }
        s1 = VBN_HSUM(a1);
        s2 = VBN_HSUM(a2);
    } else {
        VBN_ROW_STRIDED(q) {
            const float d = x[q] - K;
            s1 += d;
            s2 += d * d;
        }
    }
    s1 = vbn_seg_sum_tw(s1, scratch, lid, tw);
    s2 = vbn_seg_sum_tw(s2, scratch, lid, tw);
    const float dm = s1 * invP, vn = fmax(s2 * invP - dm * dm, 0.0f);
    const float mrK = (ref_mean[rm_off + c] - K) + ref_mean_lo[lo_off + c]; /* m_r - K */
    const float dnr = dm - mrK;                                             /* m_n - m_r */
    const float r = 1.0f / sqrt(a * vn + b * ref_var[rv_off + c] + a * b * dnr * dnr + eps);
    const float muK = a * dm + b * mrK;
    const float sc = (flags & VBN_AFFINE) ? r * gamma[g_off + c] : r;
    const float sh = (flags & VBN_AFFINE) ? beta[b_off + c] : 0.0f;
    if (act && t == 0u) {
        mean[mean_off + row] = K + a * dm + b * mrK;
        rstd[rstd_off + row] = r;
    }
    if (vec) {
        VBN_ROW_STRIDED(q) vstoreV(((vloadV(q, x) - K) - muK) * sc + sh, q, y);
    } else {
        VBN_ROW_STRIDED(q) y[q] = ((x[q] - K) - muK) * sc + sh;
    }
}

/* vbn_bwd per row; the row's four contributions to the sums over examples
 * go to part[j*N*C + row] (j: dgamma, dbeta, dref_mean, dref_var). */
__kernel void vbn_bwd_row(__global float *dinp, uint dinp_off,
                          __global float *part, uint part_off,
                          __global const float *dout, uint dout_off,
                          __global const float *inp, uint inp_off,
                          __global const float *rstd, uint rstd_off,
                          __global const float *ref_mean, uint rm_off,
                          __global const float *ref_mean_lo, uint lo_off,
                          __global const float *gamma, uint g_off,
                          uint N, uint C, uint P, float a, uint flags, uint tw,
                          __local float *scratch) {
    const uint lid = (uint)get_local_id(0), L = (uint)get_local_size(0), t = lid & (tw - 1u);
    const uint row = (uint)get_group_id(0) * (L / tw) + lid / tw, NC = N * C;
    const int act = row < NC, vec = P % VBN_VW == 0u;
    const uint Q = act ? (vec ? P / VBN_VW : P) : 0u, c = act ? row % C : 0u;
    const float b = 1.0f - a, invP = 1.0f / (float)P, aP = a / (float)P;
    __global const float *x = inp + inp_off + row * P;
    __global const float *dy = dout + dout_off + row * P;
    __global float *dx = dinp + dinp_off + row * P;
    const float K = act ? x[0] : 0.0f;
    float s1 = 0.0f, sa = 0.0f, se = 0.0f;
    if (vec) {
        floatV a1 = (floatV)(0.0f), aa = (floatV)(0.0f), ae = (floatV)(0.0f);
        VBN_ROW_STRIDED(q) {
            const floatV d = vloadV(q, x) - K, e = vloadV(q, dy);
            a1 += d;
            aa += e;
            ae += e * d;
        }
        s1 = VBN_HSUM(a1);
        sa = VBN_HSUM(aa);
        se = VBN_HSUM(ae);
    } else {
        VBN_ROW_STRIDED(q) {
            const float d = x[q] - K, e = dy[q];
            s1 += d;
            sa += e;
            se += e * d;
        }
    }
    s1 = vbn_seg_sum_tw(s1, scratch, lid, tw);
    sa = vbn_seg_sum_tw(sa, scratch, lid, tw);
    se = vbn_seg_sum_tw(se, scratch, lid, tw);
    const float r = act ? rstd[rstd_off + row] : 0.0f;
    const float g = (flags & VBN_AFFINE) ? gamma[g_off + c] : 1.0f;
    const float dm = s1 * invP, mrK = (ref_mean[rm_off + c] - K) + ref_mean_lo[lo_off + c];
    const float muK = a * dm + b * mrK;
    const float bx = (se - muK * sa) * r; /* sum(dy * xhat) */
    if (act && t == 0u) {
        part[part_off + row] = bx;
        part[part_off + NC + row] = sa;
        part[part_off + 2u * NC + row] = -b * r * g * sa + a * b * r * r * g * bx * (dm - mrK);
        part[part_off + 3u * NC + row] = -0.5f * b * r * r * g * bx;
    }
    const float k0 = aP * sa, k1 = aP * bx * r, rg = r * g;
    if (vec) {
        VBN_ROW_STRIDED(q)
            vstoreV(rg * (vloadV(q, dy) - k0 - k1 * ((vloadV(q, x) - K) - muK)), q, dx);
    } else {
        VBN_ROW_STRIDED(q) dx[q] = rg * (dy[q] - k0 - k1 * ((x[q] - K) - muK));
    }
}

/* Adds vbn_bwd_row's per-row terms over the examples, one work-item per
 * channel, into dgamma, dbeta (VBN_AFFINE, not VBN_NO_PGRAD), dref_mean and
 * dref_var. */
__kernel void vbn_bwd_final(__global float *dgamma, uint dg_off,
                            __global float *dbeta, uint db_off,
                            __global float *dref_mean, uint drm_off,
                            __global float *dref_var, uint drv_off,
                            __global const float *part, uint part_off,
                            uint N, uint C, uint flags) {
    const uint NC = N * C;
    CLG_FOR_EACH(c, C) {
        float s[4] = {0.0f, 0.0f, 0.0f, 0.0f};
        for (uint n = 0; n < N; n++)
            for (uint j = 0; j < 4u; j++) s[j] += part[part_off + j * NC + n * C + c];
        if ((flags & VBN_AFFINE) && !(flags & VBN_NO_PGRAD)) {
            dgamma[dg_off + c] += s[0];
            dbeta[db_off + c] += s[1];
        }
        dref_mean[drm_off + c] += s[2];
        dref_var[drv_off + c] += s[3];
    }
}
