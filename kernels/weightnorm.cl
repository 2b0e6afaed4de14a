/* weightnorm.cl: weight normalisation (Salimans and Kingma 2016) of a weight
 * whose rows are output units: v (K, Cin) row-major (PyTorch's Linear
 * layout; a conv weight (K, C, R, S) is the same with Cin = C*R*S), g (K):
 *   weightnorm_fwd:  norm_k = sqrt(sum_j v_kj^2), w_kj = (g_k / norm_k) v_kj;
 *   weightnorm_bwd:  dg_k = sum_j dw_kj v_kj / norm_k,
 *                    dv_kj = (g_k / norm_k) (dw_kj - dg_k v_kj / norm_k),
 *                    written, or added to dv and dg when `accumulate` is 1;
 * and the data-dependent initialisation of g and b (improved-gan's nn.py;
 * see host/weightnorm.h for the formula and where it is from):
 *   weightnorm_data_init: from pre-activations pre (N, K, HW) of a forward
 *                    with b = 0, per unit k over its N*HW values: mean m,
 *                    biased std s; then g_k *= init_scale / s and
 *                    b_k = -m init_scale / s.
 * No epsilon anywhere, as in the reference: a zero row of v, or a unit whose
 * pre-activations are all equal, gives non-finite results.
 *
 * fwd and bwd: one work-group per row k (group id), local size a power of
 * two; work-item lid takes columns lid, lid + ls, ..., so any row length
 * works with any local size and neighbours read neighbouring addresses. The
 * row sum meets in clg_group_sum, which every work-item reaches (the column
 * loops hold no barrier). Each column is read and written by the same
 * work-item, after the sum.
 * data_init: one unit per work-item (grid-stride), two passes over its
 * values (mean, then the centred sum of squares: no cancellation when
 * |mean| >> std). It runs once per layer at initialisation, on K <= ~1000
 * units, so a group reduction per unit would buy nothing. */

__kernel void weightnorm_fwd(__global float *w, uint w_off, __global float *norm,
                             uint norm_off, __global const float *v, uint v_off,
                             __global const float *g, uint g_off, uint cols,
                             __local float *scratch) {
    const uint k = (uint)get_group_id(0);
    const uint lid = (uint)get_local_id(0), ls = (uint)get_local_size(0);
    __global const float *vk = v + v_off + (size_t)k * cols;
    __global float *wk = w + w_off + (size_t)k * cols;
    float ss = 0.0f;
    for (uint j = lid; j < cols; j += ls) ss += vk[j] * vk[j];
    const float nk = sqrt(clg_group_sum(ss, scratch));
    const float scale = g[g_off + k] / nk;
    for (uint j = lid; j < cols; j += ls) wk[j] = scale * vk[j];
    if (lid == 0) norm[norm_off + k] = nk;
}

__kernel void weightnorm_bwd(__global float *dv, uint dv_off, __global float *dg, uint dg_off,
                             __global const float *dw, uint dw_off,
                             __global const float *v, uint v_off,
                             __global const float *g, uint g_off,
                             __global const float *norm, uint norm_off, uint cols,
                             uint accumulate, __local float *scratch) {
    const uint k = (uint)get_group_id(0);
    const uint lid = (uint)get_local_id(0), ls = (uint)get_local_size(0);
    __global const float *vk = v + v_off + (size_t)k * cols;
    __global const float *dwk = dw + dw_off + (size_t)k * cols;
    __global float *dvk = dv + dv_off + (size_t)k * cols;
    float dot = 0.0f;
    for (uint j = lid; j < cols; j += ls) dot += dwk[j] * vk[j];
    dot = clg_group_sum(dot, scratch);
    const float nk = norm[norm_off + k];
    const float dgk = dot / nk, scale = g[g_off + k] / nk, proj = dgk / nk;
    for (uint j = lid; j < cols; j += ls) {
        const float d = scale * (dwk[j] - proj * vk[j]);
        dvk[j] = accumulate ? dvk[j] + d : d;
    }
    if (lid == 0) dg[dg_off + k] = accumulate ? dg[dg_off + k] + dgk : dgk;
}

__kernel void weightnorm_data_init(__global float *g, uint g_off, __global float *b, uint b_off,
                                   __global const float *pre, uint pre_off, uint n, uint units,
                                   uint hw, float init_scale) {
    CLG_FOR_EACH(k, units) {
        const float count = (float)n * (float)hw;
        float sum = 0.0f;
        for (uint i = 0; i < n; i++) {
            __global const float *p = pre + pre_off + ((size_t)i * units + k) * hw;
            for (uint q = 0; q < hw; q++) sum += p[q];
        }
        const float mean = sum / count;
        float ss = 0.0f;
        for (uint i = 0; i < n; i++) {
            __global const float *p = pre + pre_off + ((size_t)i * units + k) * hw;
            for (uint q = 0; q < hw; q++) {
                const float d = p[q] - mean;
                ss += d * d;
            }
        }
        const float inv_std = init_scale / sqrt(ss / count);
        g[g_off + k] *= inv_std;
        b[b_off + k] = -mean * inv_std;
    }
}
