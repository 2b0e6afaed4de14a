/* resample.cl: 2x resampling of NCHW planes for image pyramids, forward and
 * backward:
 *   avgpool2x    2x2 mean, stride 2 (H, W even).
 *   blur_down    the Gaussian pyramid's REDUCE (Burt and Adelson 1983): the
 *                5-tap binomial [1 4 6 4 1] / 16 along rows and along
 *                columns, then every second pixel: out[i] reads
 *                in[2i - 2 .. 2i + 2]. Borders clamp (replicate) the index.
 *   upsample2x   bilinear 2x, as PyTorch's F.interpolate(scale_factor=2,
 *                mode='bilinear', align_corners=False): out[o] samples
 *                in[(o + 0.5) / 2 - 0.5], i.e. out[2k] = 1/4 in[k - 1] +
 *                3/4 in[k] and out[2k + 1] = 3/4 in[k] + 1/4 in[k + 1],
 *                indices clamped to [0, size).
 * Each op is separable: out = Ry . in . Rx^T, with one 1-D operator per axis
 * given by its taps (OP_taps: the input indices and weights output o reads).
 * Not a general resampler: factors other than 2 are not here.
 *
 * Forward: one output per work-item, the (at most 5 x 5) taps summed row by
 * row. Backward is the exact transpose as a gather, no atomics: one input
 * gradient per work-item, summing the outputs that read it. OP_outputs gives
 * the (at most 4) outputs whose taps may reach input i; their weights come
 * from OP_taps itself, so forward and backward cannot disagree (a clamped
 * border index collects every tap that clamps onto it). No tiling: memory
 * bound, and each input is read by a handful of neighbouring work-items. */

#define RS_MAX_TAPS 5
#define RS_MAX_OUTPUTS 4

/* Per-axis operators. OP_taps(o, n, idx, wt): the taps of output o over an
 * input axis of n, returned as their count. OP_outputs(i, n_out, *o0): the
 * outputs [*o0, returned) that may read input i. */

uint avgpool2x_taps(uint o, uint n, uint *idx, float *wt) {
    idx[0] = 2 * o, idx[1] = 2 * o + 1;
    wt[0] = wt[1] = 0.5f;
    return 2;
}
uint avgpool2x_outputs(uint i, uint n_out, uint *o0) {
    *o0 = i / 2;
    return i / 2 + 1;
}

uint blur_down_taps(uint o, uint n, uint *idx, float *wt) {
    const float w5[5] = {0.0625f, 0.25f, 0.375f, 0.25f, 0.0625f};
    for (uint a = 0; a < 5; a++) {
        const int j = (int)(2 * o + a) - 2;
        idx[a] = (uint)clamp(j, 0, (int)n - 1);
        wt[a] = w5[a];
    }
    return 5;
}
/* |2o - i| <= 2; a clamped index (i = 0 or n - 1) adds no other output:
 * only o = 0 reaches below 0 and only o = n_out - 1 past n - 1. */
uint blur_down_outputs(uint i, uint n_out, uint *o0) {
    *o0 = i <= 2 ? 0 : (i - 1) / 2;
    return min(i / 2 + 2, n_out);
}

uint upsample2x_taps(uint o, uint n, uint *idx, float *wt) {
    const uint k = o / 2;
    if (o % 2 == 0) {
        idx[0] = k > 0 ? k - 1 : 0, idx[1] = k;
        wt[0] = 0.25f, wt[1] = 0.75f;
    } else {
        idx[0] = k, idx[1] = min(k + 1, n - 1);
        wt[0] = 0.75f, wt[1] = 0.25f;
    }
    return 2;
}
uint upsample2x_outputs(uint i, uint n_out, uint *o0) {
    *o0 = i > 0 ? 2 * i - 1 : 0;
    return min(2 * i + 3, n_out);
}

/* Defines NAME_adjoint(i, n, n_out, *o0, wt): the outputs [*o0, returned)
 * that may read input i of an axis of n, and wt[o - *o0], the weight with
 * which each does (0 when it does not); NAME_fwd: out (nc, oh, ow) =
 * Ry x Rx^T per plane; NAME_bwd: dx (nc, h, w) = Ry^T dout Rx (written). */
#define RESAMPLE_KERNELS(NAME)                                                         \
    uint NAME##_adjoint(uint i, uint n, uint n_out, uint *o0, float *wt) {             \
        uint idx[RS_MAX_TAPS];                                                         \
        float tw[RS_MAX_TAPS];                                                         \
        const uint o1 = NAME##_outputs(i, n_out, o0);                                  \
        for (uint o = *o0; o < o1; o++) {                                              \
            const uint t = NAME##_taps(o, n, idx, tw);                                 \
            float c = 0.0f;                                                            \
            for (uint a = 0; a < t; a++) c += idx[a] == i ? tw[a] : 0.0f;              \
            wt[o - *o0] = c;                                                           \
        }                                                                              \
        return o1;                                                                     \
    }                                                                                  \
    __kernel void NAME##_fwd(__global float *out, uint out_off, __global const float *x, \
                             uint x_off, uint nc, uint h, uint w, uint oh, uint ow) {  \
        CLG_FOR_EACH(i, nc * oh * ow) {                                                \
            const uint ox = i % ow, oy = (i / ow) % oh, plane = i / (ow * oh);         \
            uint ry[RS_MAX_TAPS], rx[RS_MAX_TAPS];                                     \
            float wy[RS_MAX_TAPS], wx[RS_MAX_TAPS];                                    \
            const uint ty = NAME##_taps(oy, h, ry, wy), tx = NAME##_taps(ox, w, rx, wx); \
            __global const float *src = x + x_off + (size_t)plane * h * w;             \
            float acc = 0.0f;                                                          \
            for (uint a = 0; a < ty; a++) {                                            \
                float row = 0.0f;                                                      \
                for (uint b = 0; b < tx; b++) row += wx[b] * src[ry[a] * w + rx[b]];   \
                acc += wy[a] * row;                                                    \
            }                                                                          \
            out[out_off + i] = acc;                                                    \
        }                                                                              \
    }                                                                                  \
    __kernel void NAME##_bwd(__global float *dx, uint dx_off, __global const float *dout, \
                             uint dout_off, uint nc, uint h, uint w, uint oh, uint ow) { \
        CLG_FOR_EACH(i, nc * h * w) {                                                  \
            const uint xx = i % w, y = (i / w) % h, plane = i / (w * h);               \
            uint oy0, ox0;                                                             \
            float cy[RS_MAX_OUTPUTS], cx[RS_MAX_OUTPUTS];                              \
            const uint oy1 = NAME##_adjoint(y, h, oh, &oy0, cy);                       \
            const uint ox1 = NAME##_adjoint(xx, w, ow, &ox0, cx);                      \
            __global const float *g = dout + dout_off + (size_t)plane * oh * ow;       \
            float acc = 0.0f;                                                          \
            for (uint oy = oy0; oy < oy1; oy++) {                                      \
                float row = 0.0f;                                                      \
                for (uint ox = ox0; ox < ox1; ox++) row += cx[ox - ox0] * g[oy * ow + ox]; \
                acc += cy[oy - oy0] * row;                                             \
            }                                                                          \
            dx[dx_off + i] = acc;                                                      \
        }                                                                              \
    }

RESAMPLE_KERNELS(avgpool2x)
RESAMPLE_KERNELS(blur_down)
RESAMPLE_KERNELS(upsample2x)
