/* mbd.cl: minibatch discrimination (Salimans et al. 2016), the pairwise part.
 *
 * The host computes M = f T (host/conv's kernels) and stores it transposed, m = M^T
 * of shape (B*C, N): row b*C + c holds dimension c of kernel b for every
 * example, so the N values a work-item compares against are contiguous. Then
 *     c_b(i, j) = exp(-sum_c |M[i,b,c] - M[j,b,c]|)
 *     o[i, b]   = sum_{j != i} c_b(i, j) (+ bias[b])
 * lands in columns col0.. of the output rows (out = [f, o], row stride ldo).
 *
 * One work-item per (i, b) (i fastest, so a work-group shares b and reads
 * the same rows of m), looping over j in vectors of MBD_VW examples (explicit
 * SIMD on CPUs, plain registers on GPUs) and a scalar tail. The self pair is
 * masked, not subtracted, so identical rows give exactly N - 1. */

#ifndef MBD_VW /* examples per vector: 4, 8 or 16 */
#define MBD_VW 8
#endif

#define floatV CLG_VEC(float, MBD_VW)
#define intV CLG_VEC(int, MBD_VW)
#define vloadV CLG_VEC(vload, MBD_VW)
#define MBD_HSUM(v) CLG_HSUM(MBD_VW, v)
#if MBD_VW == 4
#define MBD_LANES ((int4)(0, 1, 2, 3))
#define MBD_GATHER(p, s) ((float4)((p)[0], (p)[(s)], (p)[2 * (s)], (p)[3 * (s)]))
#elif MBD_VW == 8
#define MBD_LANES ((int8)(0, 1, 2, 3, 4, 5, 6, 7))
#define MBD_GATHER(p, s)                                                                       \
    ((float8)((p)[0], (p)[(s)], (p)[2 * (s)], (p)[3 * (s)], (p)[4 * (s)], (p)[5 * (s)],       \
              (p)[6 * (s)], (p)[7 * (s)]))
#elif MBD_VW == 16
#define MBD_LANES ((int16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15))
#define MBD_GATHER(p, s)                                                                       \
    ((float16)((p)[0], (p)[(s)], (p)[2 * (s)], (p)[3 * (s)], (p)[4 * (s)], (p)[5 * (s)],      \
               (p)[6 * (s)], (p)[7 * (s)], (p)[8 * (s)], (p)[9 * (s)], (p)[10 * (s)],         \
               (p)[11 * (s)], (p)[12 * (s)], (p)[13 * (s)], (p)[14 * (s)], (p)[15 * (s)]))
#else
#error "MBD_VW must be 4, 8 or 16"
#endif

#define MBD_BIAS 1u /* flags: bias given */

/* o[i, b] into out[i*ldo + col0 + b]; m: (B*C, N); bias: (B). */
__kernel void mbd_pairs_fwd(__global float *out, uint out_off, uint ldo, uint col0,
                            __global const float *m, uint m_off,
                            __global const float *bias, uint bias_off,
                            uint N, uint B, uint C, uint flags) {
    CLG_FOR_EACH(gid, N * B) {
        const uint i = gid % N, b = gid / N;
        __global const float *mb = m + m_off + b * C * N;
        float o = 0.0f;
        uint j = 0;
        for (; j + MBD_VW <= N; j += MBD_VW) {
            floatV d = (floatV)(0.0f);
            for (uint c = 0; c < C; c++) d += fabs(vloadV(0, mb + c * N + j) - mb[c * N + i]);
            const floatV e = select(exp(-d), (floatV)(0.0f), MBD_LANES + (int)j == (intV)((int)i));
            o += MBD_HSUM(e);
        }
        for (; j < N; j++) {
            float d = 0.0f;
            for (uint c = 0; c < C; c++) d += fabs(mb[c * N + j] - mb[c * N + i]);
            o += j != i ? exp(-d) : 0.0f;
        }
        out[out_off + i * ldo + col0 + b] = o + ((flags & MBD_BIAS) ? bias[bias_off + b] : 0.0f);
    }
}

#ifndef MBD_CMAX /* C up to which the backward keeps its sums in vector registers */
#define MBD_CMAX 64
#endif

/* dm[b*C + c, i] = -sum_{j != i} (do[i,b] + do[j,b]) c_b(i,j) sign(M[i,b,c] - M[j,b,c])
 * (written), with do[i, b] = dout[i*ldo + col0 + b]. Each work-item owns the
 * C entries of its (i, b): for C <= MBD_CMAX it keeps one vector of partial
 * sums per c (one horizontal sum per c at the end), else it accumulates into
 * dm in place after each vector of examples. sign(0) = 0: the subgradient of
 * |.| at 0. */
__kernel void mbd_pairs_bwd(__global float *dm, uint dm_off,
                            __global const float *dout, uint dout_off, uint ldo, uint col0,
                            __global const float *m, uint m_off,
                            uint N, uint B, uint C) {
    CLG_FOR_EACH(gid, N * B) {
        const uint i = gid % N, b = gid / N;
        __global const float *mb = m + m_off + b * C * N;
        __global float *db = dm + dm_off + b * C * N;
        __global const float *dob = dout + dout_off + col0 + b;
        const float doi = dob[i * ldo];
        for (uint c = 0; c < C; c++) db[c * N + i] = 0.0f;
        const uint jv = N - N % MBD_VW; /* examples covered by whole vectors */
        if (C <= MBD_CMAX) {
            floatV acc[MBD_CMAX];
            for (uint c = 0; c < C; c++) acc[c] = (floatV)(0.0f);
            for (uint j = 0; j < jv; j += MBD_VW) {
                floatV d = (floatV)(0.0f);
                for (uint c = 0; c < C; c++) d += fabs(vloadV(0, mb + c * N + j) - mb[c * N + i]);
                const floatV w = select((doi + MBD_GATHER(dob + j * ldo, ldo)) * exp(-d),
                                        (floatV)(0.0f), MBD_LANES + (int)j == (intV)((int)i));
                for (uint c = 0; c < C; c++)
                    acc[c] += w * sign(mb[c * N + i] - vloadV(0, mb + c * N + j));
            }
            for (uint c = 0; c < C; c++) db[c * N + i] = -MBD_HSUM(acc[c]);
        } else {
            for (uint j = 0; j < jv; j += MBD_VW) {
                floatV d = (floatV)(0.0f);
                for (uint c = 0; c < C; c++) d += fabs(vloadV(0, mb + c * N + j) - mb[c * N + i]);
                const floatV w = select((doi + MBD_GATHER(dob + j * ldo, ldo)) * exp(-d),
                                        (floatV)(0.0f), MBD_LANES + (int)j == (intV)((int)i));
                for (uint c = 0; c < C; c++) {
                    const floatV s = sign(mb[c * N + i] - vloadV(0, mb + c * N + j));
                    db[c * N + i] -= MBD_HSUM(w * s);
                }
            }
        }
        uint j = jv;
        for (; j < N; j++) {
            if (j == i) continue;
            float d = 0.0f;
            for (uint c = 0; c < C; c++) d += fabs(mb[c * N + j] - mb[c * N + i]);
            const float w = (doi + dob[j * ldo]) * exp(-d);
            for (uint c = 0; c < C; c++) db[c * N + i] -= w * sign(mb[c * N + i] - mb[c * N + j]);
        }
    }
}

/* dbias[b] += sum_i dout[i*ldo + col0 + b]. */
__kernel void mbd_dbias(__global float *dbias, uint dbias_off,
                        __global const float *dout, uint dout_off, uint ldo, uint col0,
                        uint N, uint B) {
    CLG_FOR_EACH(b, B) {
        float s = 0.0f;
        for (uint i = 0; i < N; i++) s += dout[dout_off + i * ldo + col0 + b];
        dbias[dbias_off + b] += s;
    }
}

/* dst[r*ldd + col] = src[r*lds + col] (added to dst with add != 0) for
 * col < cols; a 2-D launch of (cols rounded up, rows). */
__kernel void mbd_copy_cols(__global float *dst, uint dst_off, uint ldd,
                            __global const float *src, uint src_off, uint lds, uint cols,
                            uint add) {
    const uint col = (uint)get_global_id(0), r = (uint)get_global_id(1);
    if (col >= cols) return;
    const float v = src[src_off + r * lds + col];
    dst[dst_off + r * ldd + col] = add ? dst[dst_off + r * ldd + col] + v : v;
}

/* dst (cols, rows) = src (rows, cols)^T; a 2-D launch of (rows rounded up,
 * cols), so that neighbouring work-items write neighbouring values. */
__kernel void mbd_transpose(__global float *dst, uint dst_off, __global const float *src,
                            uint src_off, uint rows, uint cols) {
    const uint r = (uint)get_global_id(0), c = (uint)get_global_id(1);
    if (r < rows) dst[dst_off + c * rows + r] = src[src_off + r * cols + c];
}
