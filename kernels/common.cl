/* common.cl: helpers shared by every kernel family; prepended to each
 * program after the host's prelude of #defines (device traits, tunables).
 *
 * Conventions: every buffer argument is followed by its offset in floats
 * (`out, out_off`); sizes are uint; grid-stride loops cover any n with a
 * bounded launch. */

/* Grid-stride loop over [0, n): every work-item of every group takes part. */
#define CLG_FOR_EACH(i, n) \
    for (uint i = (uint)get_global_id(0); i < (n); i += (uint)get_global_size(0))

/* Work-group tree reduction of `v` (a sum) in local memory `scratch` of
 * get_local_size(0) floats; the local size must be a power of two. Every
 * work-item of the group must call it; all get the total back. */
float clg_group_sum(float v, __local float *scratch) {
    const uint lid = (uint)get_local_id(0);
    const uint ls = (uint)get_local_size(0);
    scratch[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint s = ls / 2; s > 0; s >>= 1) {
        if (lid < s) scratch[lid] += scratch[lid + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float total = scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE); /* scratch may be reused right after */
    return total;
}

/* Same, for the maximum. */
float clg_group_max(float v, __local float *scratch) {
    const uint lid = (uint)get_local_id(0);
    const uint ls = (uint)get_local_size(0);
    scratch[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint s = ls / 2; s > 0; s >>= 1) {
        if (lid < s) scratch[lid] = fmax(scratch[lid], scratch[lid + s]);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float total = scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return total;
}

/* Vector-width helpers for families whose items are floatN, N = 4, 8 or 16
 * chosen by a tunable (batchnorm.cl, vbn.cl, mbd.cl):
 *   floatN   CLG_VEC(float, N)
 *   lanes    CLG_HSUM(N, v), pairwise
 *   8 rows   CLG_ROWSUMS8(N, v, out): out[k] = the lanes of v[k] summed. */
#define CLG_CAT_(a, b) a##b
#define CLG_CAT(a, b) CLG_CAT_(a, b)
#define CLG_VEC(type, n) CLG_CAT(type, n)
#define CLG_HSUM4(v) (((v).s0 + (v).s1) + ((v).s2 + (v).s3))
#define CLG_HSUM8(v) (CLG_HSUM4((v).lo) + CLG_HSUM4((v).hi))
#define CLG_HSUM16(v) (CLG_HSUM8((v).lo) + CLG_HSUM8((v).hi))
#define CLG_HSUM(n, v) CLG_CAT(CLG_HSUM, n)(v)
#define CLG_ROWSUMS8(n, v, out) CLG_CAT(clg_rowsums8_f, n)(v, out)

void clg_rowsums8_f4(const float4 *v, float *out) {
    for (uint k = 0; k < 8u; k++) out[k] = CLG_HSUM4(v[k]);
}

void clg_rowsums8_f8(const float8 *v, float *out) {
    for (uint k = 0; k < 8u; k++) out[k] = CLG_HSUM8(v[k]);
}

/* float16 rows: a transposed tree, 8 shuffle-and-add steps for all 8 rows
 * instead of 8 horizontal sums of 4 steps each. */
void clg_rowsums8_f16(const float16 *v, float *out) {
    float16 h[4];
    for (uint k = 0; k < 4u; k++)
        h[k] = (float16)(v[2 * k].even + v[2 * k].odd, v[2 * k + 1].even + v[2 * k + 1].odd);
    for (uint k = 0; k < 2u; k++)
        h[k] = (float16)(h[2 * k].even + h[2 * k].odd, h[2 * k + 1].even + h[2 * k + 1].odd);
    h[0] = (float16)(h[0].even + h[0].odd, h[1].even + h[1].odd);
    vstore8(h[0].even + h[0].odd, 0, out);
}

/* dst[k] = src[off + c0 + k] for k < 8 while `have` and c0 + k < C, else
 * dflt: per-channel constants of an 8-channel block in private memory. */
void clg_load8(float *dst, __global const float *src, uint off, uint c0, uint C, int have,
               float dflt) {
    for (uint k = 0; k < 8u; k++) dst[k] = (have && c0 + k < C) ? src[off + c0 + k] : dflt;
}
