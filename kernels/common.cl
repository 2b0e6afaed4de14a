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
