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
