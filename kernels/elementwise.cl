/* elementwise.cl: fill, copy, scale, axpy, add, mul over flat float ranges.
 *
 * One grid-stride loop per kernel (see CLG_FOR_EACH); memory bound, so no
 * tiling. In-place use (out == in, same offset) is allowed everywhere. */

__kernel void fill(__global float *out, uint out_off, uint n, float v) {
    CLG_FOR_EACH(i, n) out[out_off + i] = v;
}

__kernel void copy(__global float *out, uint out_off,
                   __global const float *in, uint in_off, uint n) {
    CLG_FOR_EACH(i, n) out[out_off + i] = in[in_off + i];
}

/* out = a * in */
__kernel void scale(__global float *out, uint out_off,
                    __global const float *in, uint in_off, uint n, float a) {
    CLG_FOR_EACH(i, n) out[out_off + i] = a * in[in_off + i];
}

/* y += a * x */
__kernel void axpy(__global float *y, uint y_off,
                   __global const float *x, uint x_off, uint n, float a) {
    CLG_FOR_EACH(i, n) y[y_off + i] += a * x[x_off + i];
}

/* out = a + b */
__kernel void add(__global float *out, uint out_off, __global const float *a, uint a_off,
                  __global const float *b, uint b_off, uint n) {
    CLG_FOR_EACH(i, n) out[out_off + i] = a[a_off + i] + b[b_off + i];
}

/* out = a * b */
__kernel void mul(__global float *out, uint out_off, __global const float *a, uint a_off,
                  __global const float *b, uint b_off, uint n) {
    CLG_FOR_EACH(i, n) out[out_off + i] = a[a_off + i] * b[b_off + i];
}

/* Channel-slice copy between NCHW tensors of equal N, H, W:
 * out[n, oc0 + c, p] = in[n, ic0 + c, p] for c < count (concatenation along
 * channels, and its backward, the split). */
__kernel void copy_channels(__global float *out, uint out_off, uint out_c, uint oc0,
                            __global const float *in, uint in_off, uint in_c, uint ic0,
                            uint n, uint count, uint hw) {
    CLG_FOR_EACH(i, n * count * hw) {
        const uint p = i % hw, c = (i / hw) % count, b = i / (hw * count);
        out[out_off + (b * out_c + oc0 + c) * hw + p] = in[in_off + (b * in_c + ic0 + c) * hw + p];
    }
}
