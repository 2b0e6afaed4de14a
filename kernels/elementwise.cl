/* elementwise.cl: fill, copy, scale, axpy, add, mul over flat float ranges;
 * channel copies and side-input planes for concatenation along channels.
 *
 * One grid-stride loop per kernel (see CLG_FOR_EACH); memory bound, so no
 * tiling. In-place use (out == in, same offset) is allowed for the flat
 * kernels, not for the channel and plane ones. */

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

/* Side inputs as constant planes (conditional DCGAN's label planes):
 * out (n, c + l, hw) = [x (n, c, hw), v (n, l) broadcast over hw]. */
__kernel void concat_planes_fwd(__global float *out, uint out_off,
                                __global const float *x, uint x_off,
                                __global const float *v, uint v_off,
                                uint n, uint c, uint l, uint hw) {
    const uint oc = c + l;
    CLG_FOR_EACH(i, n * oc * hw) {
        const uint p = i % hw, ch = (i / hw) % oc, b = i / (hw * oc);
        out[out_off + i] = ch < c ? x[x_off + (b * c + ch) * hw + p] : v[v_off + b * l + ch - c];
    }
}

/* Its backward for v: dv[b, j] = the sum of dout (n, c + l, hw)'s plane
 * (b, c + j), written. One plane per work-item, looped with four
 * accumulators: there are only n * l planes, but label planes are small
 * (hw <= 64 x 64), so a work-group reduction per plane would cost more in
 * barriers than it saves. */
__kernel void plane_sums(__global float *dv, uint dv_off,
                         __global const float *dout, uint dout_off,
                         uint n, uint c, uint l, uint hw) {
    CLG_FOR_EACH(i, n * l) {
        const uint j = i % l, b = i / l;
        __global const float *src = dout + dout_off + (b * (c + l) + c + j) * hw;
        float4 acc = (float4)(0.0f);
        uint p = 0;
        for (; p + 4 <= hw; p += 4) acc += vload4(0, src + p);
        for (; p < hw; p++) acc.x += src[p];
        dv[dv_off + i] = (acc.x + acc.y) + (acc.z + acc.w);
    }
}
