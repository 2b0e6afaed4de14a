/* rng.h: counter-based random numbers (Philox4x32-10) on the device, and the
 * same generator in plain C for host code and tests.
 *
 * The stream is defined once, in kernels/rng.cl's banner: element e of the
 * stream of `seed` is word e % 4 of Philox block e / 4 (counter (b lo32,
 * b hi32, 0, 0), key (seed lo32, seed hi32)). A call fills out[i] with
 * element offset + i, so results never depend on how a tensor is split into
 * calls, on the device, or on the launch shape (uniforms bit for bit;
 * normals up to the device's ulps in log/sqrt/sinpi/cospi).
 * Calls are enqueued, not waited for (clg_rng_raw waits). */
#ifndef CLG_RNG_H
#define CLG_RNG_H

#include "tensor.h"

#include <stdint.h>

/* Philox4x32-10 of one counter block, as Random123's philox4x32_10. */
void clg_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

/* The stream's map from a 32-bit word to (0, 1): the top 23 bits centred in
 * their cell, (word >> 9) * 2^-23 + 2^-24, exact in float, within
 * [2^-24, 1 - 2^-24]. */
static inline float clg_rng_u01(uint32_t word) {
    return (float)(word >> 9) * 0x1p-23f + 0x1p-24f;
}

/* out[i] = lo + (hi - lo) * u01(element offset + i of the stream of seed),
 * rounded as fmaf(hi - lo, u, lo). u never is 0 or 1, but the scaled value
 * may round to lo or hi when |lo| or |hi| is large against hi - lo. */
clg_status clg_rng_uniform(clg_ctx *ctx, const clg_tensor *out, uint64_t seed, uint64_t offset,
                           float lo, float hi);
/* out[i] = mean + std * z, z standard normal by Box-Muller (see rng.cl). */
clg_status clg_rng_normal(clg_ctx *ctx, const clg_tensor *out, uint64_t seed, uint64_t offset,
                          float mean, float std);
/* One Philox block computed on the device (known-answer tests, selfcheck);
 * blocking. */
clg_status clg_rng_raw(clg_ctx *ctx, const uint32_t ctr[4], const uint32_t key[2],
                       uint32_t out[4]);

/* Dropout as a pure function of (seed, offset): out = in * (u >= p) / (1 - p)
 * with u the stream's uniform for each element. The backward is the same
 * call on dout with the same seed and offset (nothing is stored). */
clg_status clg_dropout(clg_ctx *ctx, const clg_tensor *out, const clg_tensor *in, uint64_t seed,
                       uint64_t offset, float p);
/* Additive Gaussian noise: out = in + std * z, z the stream's normals (the
 * values clg_rng_normal gives for the same seed and offset). Its backward is
 * the identity. */
clg_status clg_add_noise(clg_ctx *ctx, const clg_tensor *out, const clg_tensor *in, uint64_t seed,
                         uint64_t offset, float std);

#endif
