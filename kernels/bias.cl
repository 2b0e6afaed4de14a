/* bias.cl: per-channel bias over NCHW (or (N, F) rows, HW = 1).
 *
 * bias_add: out[n, c, hw] += bias[c], one element per work-item.
 * bias_grad: dbias[c] += sum over n, hw of dout[n, c, hw]; one work-group per
 * channel (power-of-two local size), strided loop, then a tree reduction. */

__kernel void bias_add(__global float *out, uint out_off, __global const float *bias,
                       uint bias_off, uint n, uint c, uint hw) {
    CLG_FOR_EACH(i, n * c * hw) out[out_off + i] += bias[bias_off + (i / hw) % c];
}

__kernel void bias_grad(__global float *dbias, uint dbias_off, __global const float *dout,
                        uint dout_off, uint n, uint c, uint hw, __local float *scratch) {
    const uint ch = (uint)get_group_id(0);
    const uint count = n * hw;
    float acc = 0.0f;
    for (uint j = (uint)get_local_id(0); j < count; j += (uint)get_local_size(0)) {
        const uint b = j / hw, p = j % hw;
        acc += dout[dout_off + (b * c + ch) * hw + p];
    }
    acc = clg_group_sum(acc, scratch);
    if (get_local_id(0) == 0) dbias[dbias_off + ch] += acc;
}
