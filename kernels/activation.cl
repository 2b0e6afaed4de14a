/* activation.cl: elementwise activations (identity, ReLU, leaky ReLU, tanh,
 * sigmoid, softplus) and their backward passes, over flat float ranges.
 *
 * act_fwd_<name>: out = f(in).
 * act_bwd_<name>: din = dout * f'(x), with f'(x) computed from the forward
 * OUTPUT y = f(x) (ReLU: y > 0; leaky: y > 0 ? 1 : slope; tanh: 1 - y^2;
 * sigmoid: y (1 - y); softplus: sigmoid(x) = 1 - exp(-y)), so the forward
 * may run in place.
 *
 * Memory bound, no tiling: one element per work-item, global size >= n,
 * guarded by i < n (compared as size_t so a global size rounded up past
 * 2^32 cannot wrap; the host keeps offset + n < 2^32). One kernel per
 * activation rather than a switch on an argument, and no grid-stride loop:
 * on PoCL either one stops the work-group vectoriser, which made tanh and
 * sigmoid 3-4x slower (measured on 2^24 floats).
 * Aliasing out == in (forward) and din == dout (backward) at the same
 * offset is allowed: each work-item reads its element before writing it. */

/* 1 / (1 + exp(-x)) without overflow: exp only ever sees -|x| <= 0, so
 * sigmoid(-100) is e / (1 + e) with e = exp(-100) ~ 0, never inf/inf. */
inline float act_sigmoid(float x) {
    const float e = exp(-fabs(x));
    const float s = 1.0f / (1.0f + e);
    return x >= 0.0f ? s : e * s;
}

/* log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)): exp never overflows, and
 * for x << 0 the result is exp(x) to full relative precision (the naive
 * form rounds 1 + exp(x) to 1 and returns 0 below x ~ -17). Its derivative
 * sigmoid(x) = 1 - exp(-y) is taken from the output y as -expm1(-y), which
 * keeps that precision where y is tiny (1 - exp(-y) would cancel to 0). */
inline float act_softplus(float x) { return fmax(x, 0.0f) + log1p(exp(-fabs(x))); }

/* Defines act_fwd_NAME (FWD: an expression in x) and act_bwd_NAME (BWD: an
 * expression in y = f(x) and g = dout). `slope` is read by leaky ReLU only;
 * every kernel takes it so that all share one argument list (the identity
 * backward's unused load of y is dropped by the compiler). */
#define ACT_KERNELS(NAME, FWD, BWD)                                             \
    __kernel void act_fwd_##NAME(__global float *out, uint out_off,             \
                                 __global const float *in, uint in_off,         \
                                 uint n, float slope) {                         \
        const size_t i = get_global_id(0);                                      \
        if (i < n) {                                                            \
            const float x = in[in_off + i];                                     \
            out[out_off + i] = (FWD);                                           \
        }                                                                       \
    }                                                                           \
    __kernel void act_bwd_##NAME(__global float *din, uint din_off,             \
                                 __global const float *dout, uint dout_off,     \
                                 __global const float *out, uint out_off,       \
                                 uint n, float slope) {                         \
        const size_t i = get_global_id(0);                                      \
        if (i < n) {                                                            \
            const float y = out[out_off + i];                                   \
            const float g = dout[dout_off + i];                                 \
            din[din_off + i] = (BWD);                                           \
        }                                                                       \
    }

ACT_KERNELS(identity, x, g)
ACT_KERNELS(relu, fmax(x, 0.0f), y > 0.0f ? g : 0.0f)
ACT_KERNELS(leaky_relu, x > 0.0f ? x : slope * x, y > 0.0f ? g : slope * g)
ACT_KERNELS(tanh, tanh(x), g * (1.0f - y * y))
ACT_KERNELS(sigmoid, act_sigmoid(x), g * (y * (1.0f - y)))
ACT_KERNELS(softplus, act_softplus(x), g * -expm1(-y))
