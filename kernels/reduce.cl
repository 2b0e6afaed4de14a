/* reduce.cl: per-channel statistics of an NCHW tensor: the sum, the mean and
 * the biased (population) variance over N*H*W, as batch normalisation needs.
 *
 * Layout: one work-group per channel c (group id = c), local size a power of
 * two; partials meet in clg_group_sum. The channel's M = N*HW elements, in
 * flat order m = n*HW + j, are shared out in one of two ways (REDUCE_LAYOUT,
 * which the host sets; host/reduce.c also picks the local size per layout):
 *   0 (strided, GPUs): work-item lid takes m = lid, lid + ls, ...: neighbours
 *     read neighbouring addresses (coalesced). (n, j) are stepped without a
 *     division, so small HW (1x1 maps) keeps every work-item busy.
 *   1 (contiguous, CPUs): work-item lid takes the range
 *     [lid*chunk, (lid+1)*chunk): a CPU runs a work-group's items one after
 *     the other, so this sweeps memory once, in order, with four independent
 *     accumulators per item to break the add latency chain.
 *
 * Numerics (a corrected two-pass algorithm, Chan, Golub and LeVeque 1983):
 *   pass 1: s  = sum(x - K), with the shift K = the channel's first element,
 *           so float partials hold deviations, not magnitudes: the mean's
 *           error scales with the spread of x, not with |mean|;
 *           mean = K + s / M.
 *   pass 2: d = x - mean; var = (sum(d^2) - sum(d)^2 / M) / M, the second
 *           term cancelling what is left of the mean's rounding error.
 *           Subtracting the mean before squaring is what holds the variance
 *           at mean 1e3, std 1e-2, where E[x^2] - E[x]^2 in float gives 0.
 *   sum = K * M + s.
 * x is read twice; the kernel is memory bound. */

#ifndef REDUCE_LAYOUT
#define REDUCE_LAYOUT CLG_DEVICE_IS_CPU
#endif

/* sum(p[0..len) - k), four accumulators. */
float seg_shifted_sum(__global const float *p, uint len, float k) {
    float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
    uint i = 0;
    for (; i + 4 <= len; i += 4) {
        a0 += p[i] - k;
        a1 += p[i + 1] - k;
        a2 += p[i + 2] - k;
        a3 += p[i + 3] - k;
    }
    for (; i < len; i++) a0 += p[i] - k;
    return (a0 + a1) + (a2 + a3);
}

/* (sum(d), sum(d^2)) with d = p[0..len) - mu, four accumulators each. */
float2 seg_dev_sums(__global const float *p, uint len, float mu) {
    float4 s1 = (float4)(0.0f), s2 = (float4)(0.0f);
    uint i = 0;
    for (; i + 4 <= len; i += 4) {
        const float4 d = (float4)(p[i], p[i + 1], p[i + 2], p[i + 3]) - mu;
        s1 += d;
        s2 += d * d;
    }
    for (; i < len; i++) {
        const float d = p[i] - mu;
        s1.x += d;
        s2.x += d * d;
    }
    return (float2)((s1.x + s1.y) + (s1.z + s1.w), (s2.x + s2.y) + (s2.z + s2.w));
}

__kernel void channel_stats(__global float *sum, uint sum_off,
                            __global float *mean, uint mean_off,
                            __global float *var, uint var_off,
                            __global const float *x, uint x_off,
                            uint N, uint C, uint HW, __local float *scratch) {
    const uint c = (uint)get_group_id(0);
    const uint lid = (uint)get_local_id(0);
    const uint ls = (uint)get_local_size(0);
    const uint cstride = C * HW;
    __global const float *xc = x + x_off + c * HW;
    const float shift = xc[0];
    const float m = (float)N * (float)HW;
#if REDUCE_LAYOUT == 1
    const uint total = N * HW, chunk = (total + ls - 1) / ls;
    const uint m0 = min(lid * chunk, total), m1 = min(m0 + chunk, total);
    const uint n0 = m0 / HW, j0 = m0 % HW;
    float acc = 0.0f;
    for (uint i = m0, n = n0, j = j0; i < m1; n++, j = 0) {
        const uint len = min(HW - j, m1 - i);
        acc += seg_shifted_sum(xc + n * cstride + j, len, shift);
        i += len;
    }
#else
    const uint dn = ls / HW, dj = ls % HW; /* one stride in (n, j) */
    const uint n0 = lid / HW, j0 = lid % HW;
    float acc = 0.0f;
    for (uint n = n0, j = j0; n < N;) {
        acc += xc[n * cstride + j] - shift;
        j += dj;
        n += dn;
        if (j >= HW) {
            j -= HW;
            n++;
        }
    }
#endif
    const float s = clg_group_sum(acc, scratch);
    const float mu = shift + s / m;

    float acc1 = 0.0f, acc2 = 0.0f;
#if REDUCE_LAYOUT == 1
    for (uint i = m0, n = n0, j = j0; i < m1; n++, j = 0) {
        const uint len = min(HW - j, m1 - i);
        const float2 d = seg_dev_sums(xc + n * cstride + j, len, mu);
        acc1 += d.x;
        acc2 += d.y;
        i += len;
    }
#else
    for (uint n = n0, j = j0; n < N;) {
        const float d = xc[n * cstride + j] - mu;
        acc1 += d;
        acc2 += d * d;
        j += dj;
        n += dn;
        if (j >= HW) {
            j -= HW;
            n++;
        }
    }
#endif
    const float s1 = clg_group_sum(acc1, scratch);
    const float s2 = clg_group_sum(acc2, scratch);
    if (lid == 0) {
        sum[sum_off + c] = shift * m + s;
        mean[mean_off + c] = mu;
        var[var_off + c] = fmax((s2 - s1 * s1 / m) / m, 0.0f);
    }
}
