/* pool.cl: adaptive max pooling of NCHW to a fixed OH x OW grid (PyTorch's
 * AdaptiveMaxPool2d bins: rows [floor(i H / OH), ceil((i + 1) H / OH))).
 *
 * Forward: one output per work-item, scanning its bin; the flat index of
 * the maximum within the (H, W) plane is saved for backward (first maximum
 * wins on ties). Backward gathers: each input element sums the gradients of
 * the outputs whose saved maximum it is (bins overlap when H % OH != 0, so a
 * scatter would race); it only visits the bins that can contain it. */

uint bin_start(uint i, uint in_size, uint out_size) { return (i * in_size) / out_size; }
uint bin_end(uint i, uint in_size, uint out_size) {
    return ((i + 1) * in_size + out_size - 1) / out_size;
}

__kernel void adaptive_max_pool_fwd(__global float *out, uint out_off, __global int *arg,
                                    uint arg_off, __global const float *x, uint x_off, uint nc,
                                    uint h, uint w, uint oh, uint ow) {
    CLG_FOR_EACH(i, nc * oh * ow) {
        const uint ox = i % ow, oy = (i / ow) % oh, plane = i / (ow * oh);
        const uint y0 = bin_start(oy, h, oh), y1 = bin_end(oy, h, oh);
        const uint x0 = bin_start(ox, w, ow), x1 = bin_end(ox, w, ow);
        __global const float *src = x + x_off + (size_t)plane * h * w;
        float best = src[y0 * w + x0];
        int where = (int)(y0 * w + x0);
        for (uint y = y0; y < y1; y++)
            for (uint xx = x0; xx < x1; xx++) {
                const float v = src[y * w + xx];
                if (v > best || (isnan(v) && !isnan(best))) {
                    best = v;
                    where = (int)(y * w + xx);
                }
            }
        out[out_off + i] = best;
        arg[arg_off + i] = where;
    }
}

__kernel void adaptive_max_pool_bwd(__global float *dx, uint dx_off,
                                    __global const float *dout, uint dout_off,
                                    __global const int *arg, uint arg_off, uint nc, uint h,
                                    uint w, uint oh, uint ow) {
    CLG_FOR_EACH(i, nc * h * w) {
        const uint xx = i % w, y = (i / w) % h, plane = i / (w * h);
        /* Bins containing row y: from the one starting at or before y. */
        const uint oy0 = (y * oh) / h, ox0 = (xx * ow) / w;
        float g = 0.0f;
        for (uint oy = oy0 > 0 ? oy0 - 1 : 0; oy < oh && bin_start(oy, h, oh) <= y; oy++) {
            if (bin_end(oy, h, oh) <= y) continue;
            for (uint ox = ox0 > 0 ? ox0 - 1 : 0; ox < ow && bin_start(ox, w, ow) <= xx; ox++) {
                if (bin_end(ox, w, ow) <= xx) continue;
                const uint o = (plane * oh + oy) * ow + ox;
                if (arg[arg_off + o] == (int)(y * w + xx)) g += dout[dout_off + o];
            }
        }
        dx[dx_off + i] = g;
    }
}
