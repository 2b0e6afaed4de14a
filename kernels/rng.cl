/* rng.cl: counter-based random numbers, Philox4x32-10 (Salmon et al., "Parallel
 * random numbers: as easy as 1, 2, 3", SC 2011; matches Random123's
 * philox4x32_10 and its known-answer vectors).
 *
 * The stream (host/rng.c's clg_philox4x32_10 and tests/test_rng.c implement
 * the same definition in C):
 *   key = (seed lo32, seed hi32).
 *   Element e = offset + i of the output (i = flat index into the tensor)
 *   comes from block b = e / 4, counter (b lo32, b hi32, 0, 0), word w = e % 4.
 *   Uniform in (0, 1): u(word) = (word >> 9) * 2^-23 + 2^-24, i.e. the top 23
 *     bits centred in their cell: exact in float, u in [2^-24, 1 - 2^-24]
 *     (24 bits plus 2^-25 would round up to 1.0f at the top); the output is
 *     lo + (hi - lo) * u, evaluated as fma(hi - lo, u, lo).
 *   Normal: Box-Muller on the words (2*(w/2), 2*(w/2) + 1) of the same
 *     block: u1, u2 as above, r = sqrt(-2 ln u1); even e gives
 *     r cos(2 pi u2), odd e gives r sin(2 pi u2); the output is
 *     fma(std, z, mean). cospi/sinpi take 2*u2 exactly.
 * So any (seed, offset) window is the same numbers as the whole stream
 * sliced: a tensor filled in pieces equals one filled at once, bit for bit.
 *
 * Layout: one work-item per Philox block (4 outputs) in a grid-stride loop
 * over the blocks the window touches; the first and last blocks write only
 * their words inside the window. 64-bit seed and offset arrive as uint pairs. */

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

/* Scalar words and 32 x 32 -> 64-bit products rather than a uint4 and
 * mul_hi: the same bits, and PoCL vectorises this form across work-items
 * (rng_add_normal 1.8x faster on AVX-512 than the uint4/mul_hi form,
 * `train ssl --profile`, BENCHMARKS.md). */
uint4 philox4x32_10(uint4 ctr, uint2 key) {
    uint c0 = ctr.x, c1 = ctr.y, c2 = ctr.z, c3 = ctr.w, k0 = key.x, k1 = key.y;
    for (int r = 0; r < 10; r++) {
        if (r > 0) {
            k0 += PHILOX_W0;
            k1 += PHILOX_W1;
        }
        const ulong p0 = (ulong)PHILOX_M0 * c0, p1 = (ulong)PHILOX_M1 * c2;
        const uint n0 = (uint)(p1 >> 32) ^ c1 ^ k0, n2 = (uint)(p0 >> 32) ^ c3 ^ k1;
        c1 = (uint)p1;
        c3 = (uint)p0;
        c0 = n0;
        c2 = n2;
    }
    return (uint4)(c0, c1, c2, c3);
}

float rng_u01(uint word) {
    return (float)(word >> 9) * 0x1p-23f + 0x1p-24f;
}

/* Block b of the stream of `key`, as the four words. */
uint4 rng_block(ulong b, uint2 key) {
    return philox4x32_10((uint4)((uint)b, (uint)(b >> 32), 0u, 0u), key);
}

/* The first block and the number of blocks covering [offset, offset + n). */
#define RNG_WINDOW(offset, n, b0, nb)                                              \
    const ulong b0 = (offset) / 4;                                                  \
    const uint nb = (uint)(((offset) + (n) - 1) / 4 - b0 + 1)

/* Writes the words of block b that fall inside the window [offset, offset + n)
 * to out[out_off + e - offset]: all four at once in the window's interior. */
void rng_store(__global float *out, uint out_off, uint n, ulong offset, ulong b, float4 y) {
    const ulong e0 = 4 * b;
    if (e0 >= offset && e0 - offset + 4 <= n) {
        const uint i = out_off + (uint)(e0 - offset);
        out[i] = y.x;
        out[i + 1] = y.y;
        out[i + 2] = y.z;
        out[i + 3] = y.w;
    } else {
        const float yw[4] = {y.x, y.y, y.z, y.w};
        for (uint w = 0; w < 4; w++) {
            const ulong e = e0 + w;
            if (e >= offset && e - offset < n) out[out_off + (uint)(e - offset)] = yw[w];
        }
    }
}

__kernel void rng_uniform(__global float *out, uint out_off, uint n, uint seed_lo,
                          uint seed_hi, uint offset_lo, uint offset_hi, float lo, float hi) {
    const uint2 key = (uint2)(seed_lo, seed_hi);
    const ulong offset = ((ulong)offset_hi << 32) | offset_lo;
    const float scale = hi - lo;
    RNG_WINDOW(offset, n, b0, nb);
    CLG_FOR_EACH(t, nb) {
        const ulong b = b0 + t;
        const uint4 v = rng_block(b, key);
        const float4 y = (float4)(fma(scale, rng_u01(v.x), lo), fma(scale, rng_u01(v.y), lo),
                                  fma(scale, rng_u01(v.z), lo), fma(scale, rng_u01(v.w), lo));
        rng_store(out, out_off, n, offset, b, y);
    }
}

/* The block's four normals: Box-Muller on words (x, y) and (z, w). */
float4 rng_normal4(uint4 v) {
    const float r0 = sqrt(-2.0f * log(rng_u01(v.x)));
    const float a0 = 2.0f * rng_u01(v.y);
    const float r1 = sqrt(-2.0f * log(rng_u01(v.z)));
    const float a1 = 2.0f * rng_u01(v.w);
    return (float4)(r0 * cospi(a0), r0 * sinpi(a0), r1 * cospi(a1), r1 * sinpi(a1));
}

__kernel void rng_normal(__global float *out, uint out_off, uint n, uint seed_lo,
                         uint seed_hi, uint offset_lo, uint offset_hi, float mean, float std) {
    const uint2 key = (uint2)(seed_lo, seed_hi);
    const ulong offset = ((ulong)offset_hi << 32) | offset_lo;
    RNG_WINDOW(offset, n, b0, nb);
    CLG_FOR_EACH(t, nb) {
        const ulong b = b0 + t;
        const float4 z = rng_normal4(rng_block(b, key));
        rng_store(out, out_off, n, offset, b, fma((float4)(std), z, (float4)(mean)));
    }
}

/* One block, for known-answer tests: out[0..4) = philox4x32_10(ctr, key). */
__kernel void rng_raw(__global uint *out, uint c0, uint c1, uint c2, uint c3, uint k0,
                      uint k1) {
    if (get_global_id(0) == 0) {
        const uint4 v = philox4x32_10((uint4)(c0, c1, c2, c3), (uint2)(k0, k1));
        out[0] = v.x;
        out[1] = v.y;
        out[2] = v.z;
        out[3] = v.w;
    }
}

/* ---- ops that draw from the stream: element e = offset + i uses word
 * e % 4 of block e / 4, as above, so a backward pass regenerates the same
 * draws from (seed, offset) instead of storing a mask. ---- */

/* The words of block b inside the window [offset, offset + n): for each,
 * BODY runs with y its value of the block's four (an array) and i its index
 * in the window. One work-item per block, as the fills above, so each block's
 * Philox rounds and Box-Muller run once, not once per element. Words are
 * picked through an array: Oclgrind 21.10 picked the wrong word from a chain
 * of ?: on a vector's components (PoCL was right). */
#define RNG_FOR_WORDS(offset, n, b, y4, i, BODY)                                   \
    do {                                                                            \
        const float ys_[4] = {(y4).x, (y4).y, (y4).z, (y4).w};                      \
        for (uint w_ = 0; w_ < 4; w_++) {                                           \
            const ulong e_ = 4 * (b) + w_;                                          \
            if (e_ >= (offset) && e_ - (offset) < (n)) {                            \
                const uint i = (uint)(e_ - (offset));                               \
                const float y = ys_[w_];                                            \
                BODY;                                                               \
            }                                                                       \
        }                                                                           \
    } while (0)

/* out = in * (u >= p) * scale: dropout's forward on x, and its backward on
 * dout with the same (seed, offset). */
__kernel void rng_dropout(__global float *out, uint out_off, __global const float *in,
                          uint in_off, uint n, uint seed_lo, uint seed_hi, uint offset_lo,
                          uint offset_hi, float p, float scale) {
    const uint2 key = (uint2)(seed_lo, seed_hi);
    const ulong offset = ((ulong)offset_hi << 32) | offset_lo;
    RNG_WINDOW(offset, n, b0, nb);
    CLG_FOR_EACH(t, nb) {
        const ulong b = b0 + t;
        const uint4 v = rng_block(b, key);
        const float4 u = (float4)(rng_u01(v.x), rng_u01(v.y), rng_u01(v.z), rng_u01(v.w));
        RNG_FOR_WORDS(offset, n, b, u, i,
                      out[out_off + i] = y >= p ? in[in_off + i] * scale : 0.0f);
    }
}

/* out = in + std * z, z the stream's normal for element e (as rng_normal). */
__kernel void rng_add_normal(__global float *out, uint out_off, __global const float *in,
                             uint in_off, uint n, uint seed_lo, uint seed_hi, uint offset_lo,
                             uint offset_hi, float std) {
    const uint2 key = (uint2)(seed_lo, seed_hi);
    const ulong offset = ((ulong)offset_hi << 32) | offset_lo;
    RNG_WINDOW(offset, n, b0, nb);
    CLG_FOR_EACH(t, nb) {
        const ulong b = b0 + t;
        const float4 z = rng_normal4(rng_block(b, key));
        RNG_FOR_WORDS(offset, n, b, z, i, out[out_off + i] = fma(std, y, in[in_off + i]));
    }
}
