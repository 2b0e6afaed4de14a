/* conv.cl: 2-D convolution (cross-correlation, as PyTorch) on NCHW float32,
 * any R x S kernel, stride, zero padding, as implicit GEMM. No im2col buffer.
 *
 * Two GEMM shapes cover the three directions (and transposed convolution,
 * whose forward is conv's backward-data and whose backward-data is conv's
 * forward; the host maps them, there are no transposed copies here):
 *
 *   conv2d_igemm_*  out[m, col] = sum_kd A[m, kd] * B[kd, col] (+ bias[m])
 *     mode 0, forward:   m = k (output channel), col = (n, p, q),
 *                        kd = (c, r, s), A = weight, B = im2col(inp).
 *     mode 1, bwd data:  m = c (input channel), col = (n, h, w) of one stride
 *                        phase (h % stride, w % stride), kd = (k, j, l) over
 *                        the taps r = r0 + stride*j that reach that phase, so
 *                        no multiply is spent on the zeros a strided col2im
 *                        would insert. Phases run as separate work-groups.
 *     mode 2, bwd data when dout is smaller than the taps that reach one
 *                        output (G's 1x1 -> 4x4 layer): one phase per output
 *                        position, visiting only the taps that land in dout;
 *                        columns are the batch.
 *   conv2d_bwdw_*   dweight[k, crs] (+)= sum_(n,p,q) dout[n,k,p,q] * im2col(inp)[crs, (n,p,q)]
 *
 * Variants: *_tiled stages a TM x TK tile of A and a TK x TN tile of B in
 * local memory per step; each work-item keeps a WM x VW block of outputs in
 * registers (VW-wide vectors along columns, so CPUs get SIMD and GPUs get
 * independent FMAs). *_direct has no local memory and no barriers: each
 * work-item reads its WM rows of A and VW columns of B straight from global
 * memory (caches serve the reuse); it suits small problems and CPUs.
 * *_mvec (CPUs) vectorises along the GEMM rows instead, as oneDNN does
 * along output channels: A comes packed with its rows contiguous
 * (conv_pack_rows, m fastest, padded to whole blocks), each work-item keeps
 * MV_MB vectors of VW rows for MV_NB columns in registers, and per reduction
 * step loads MV_MB vectors of A and broadcasts one B value per column. It
 * also runs backward-weight as mode 3: m = k, col = (c, r, s), kd = (n, p,
 * q), A = dout packed as (N, P, Q, K), B = inp.
 * All take a split-K factor: group row index = tile + tiles * (phase +
 * phases * split); with more than one split each split writes its partial
 * sums to a scratch slice and conv_split_reduce adds them up.
 *
 * Index decoding of kd is incremental (no divisions in the inner loops).
 * Multiply-adds are written a * b + c under FP_CONTRACT so that compilers
 * emit FMAs where the hardware has them.
 * Tunables: TM, TN, TK, WM, VW (tiled); WM, VW (direct); VW, MV_MB, MV_NB
 * (mvec). Signed int
 * indexing: the host keeps every tensor below 2^31 elements. */

#ifndef TM
#define TM 64
#endif
#ifndef TN
#define TN 64
#endif
#ifndef TK
#define TK 16
#endif
#ifndef WM
#define WM 8
#endif
#ifndef VW
#define VW 8
#endif

#ifndef MV_MB
#define MV_MB 2
#endif
#ifndef MV_NB
#define MV_NB 6
#endif

#define WG_X (TN / VW)
#define WG_Y (TM / WM)
#define WG (WG_X * WG_Y)
#define AJ (TM * TK / WG) /* A-tile elements each work-item loads per step */
#define BJ (TN * TK / WG) /* B-tile elements each work-item loads per step */

#if (TM % WM) || (TN % VW) || (WG % TK) || ((TM * TK) % WG) || ((TN * TK) % WG)
#error "conv.cl: tile sizes must satisfy TM%WM == TN%VW == WG%TK == TM*TK%WG == TN*TK%WG == 0"
#endif

#if VW == 1
typedef float floatv;
#define VLOAD(i, p) ((p)[i])
#define VSTORE(v, p) ((p)[0] = (v))
#elif VW == 2
typedef float2 floatv;
#define VLOAD(i, p) vload2((i), (p))
#define VSTORE(v, p) vstore2((v), 0, (p))
#elif VW == 4
typedef float4 floatv;
#define VLOAD(i, p) vload4((i), (p))
#define VSTORE(v, p) vstore4((v), 0, (p))
#elif VW == 8
typedef float8 floatv;
#define VLOAD(i, p) vload8((i), (p))
#define VSTORE(v, p) vstore8((v), 0, (p))
#elif VW == 16
typedef float16 floatv;
#define VLOAD(i, p) vload16((i), (p))
#define VSTORE(v, p) vstore16((v), 0, (p))
#else
#error "conv.cl: VW must be 1, 2, 4, 8 or 16"
#endif

/* A column outside the GEMM gets this row origin: every tap misses. */
#define CONV_OFF_GRID (-(1 << 28))

#define CONV_FLAG_BIAS 1u
#define CONV_FLAG_ACCUMULATE 2u
/* Then an activation, as activation.cl's: */
#define CONV_FLAG_RELU 4u  /* fmax(x, 0) */
#define CONV_FLAG_LEAKY 8u /* x > 0 ? x : slope * x */

/* The GEMM view of one phase of conv2d_igemm (see the banner). Columns are
 * col = n * chw + yy * cw + xx; B[kd, col] = src[n * src_n + ch * src_plane +
 * y * Ws + x] with y = cy0 + cys * yy + dy * r (x likewise, with dy), zero
 * outside [0, Hs) x [0, Ws); kd = (ch, r, s) over (., D1, D2). */
typedef struct {
    int M, ncols, kd, D1, D2;
    int cw, chw;
    int src_n, src_plane, Hs, Ws, dy, cy0, cys, cx0, cxs;
    /* A[m, kd] = weight[m*a_m + ch*a_ch + r*a_r + s*a_s + a_base] */
    int a_m, a_ch, a_r, a_s, a_base;
    int o_n, o_plane, o_W, oy0, oys, ox0, oxs; /* out[n*o_n + m*o_plane + oy*o_W + ox] */
} conv_geom;

static conv_geom conv_geom_make(int mode, int phase, int N, int C, int H, int W, int K,
                                int R, int S, int st, int pad, int P, int Q) {
    conv_geom g;
    if (mode == 0) {
        g.M = K;
        g.cw = Q;
        g.chw = P * Q;
        g.ncols = N * P * Q;
        g.D1 = R;
        g.D2 = S;
        g.kd = C * R * S;
        g.src_n = C * H * W;
        g.src_plane = H * W;
        g.Hs = H;
        g.Ws = W;
        g.dy = 1;
        g.cy0 = -pad;
        g.cys = st;
        g.cx0 = -pad;
        g.cxs = st;
        g.a_m = C * R * S;
        g.a_ch = R * S;
        g.a_r = S;
        g.a_s = 1;
        g.a_base = 0;
        g.o_n = K * P * Q;
        g.o_plane = P * Q;
        g.o_W = Q;
        g.oy0 = 0;
        g.oys = 1;
        g.ox0 = 0;
        g.oxs = 1;
    } else if (mode == 1) {
        /* Output rows h = ph + st*i take taps r = r0 + st*j with
         * r0 = (ph + pad) % st, reading dout row p = i + dp - j. */
        const int ph = phase / st, pw = phase % st;
        const int r0 = (ph + pad) % st, s0 = (pw + pad) % st;
        const int Rj = R > r0 ? (R - r0 + st - 1) / st : 0;
        const int Sj = S > s0 ? (S - s0 + st - 1) / st : 0;
        const int Hp = H > ph ? (H - ph + st - 1) / st : 0;
        const int Wp = W > pw ? (W - pw + st - 1) / st : 0;
        g.M = C;
        g.cw = Wp;
        g.chw = Hp * Wp;
        g.ncols = N * Hp * Wp;
        g.D1 = Rj;
        g.D2 = Sj;
        g.kd = K * Rj * Sj;
        g.src_n = K * P * Q;
        g.src_plane = P * Q;
        g.Hs = P;
        g.Ws = Q;
        g.dy = -1;
        g.cy0 = (ph + pad - r0) / st;
        g.cys = 1;
        g.cx0 = (pw + pad - s0) / st;
        g.cxs = 1;
        g.a_m = R * S;
        g.a_ch = C * R * S;
        g.a_r = st * S;
        g.a_s = st;
        g.a_base = r0 * S + s0;
        g.o_n = C * H * W;
        g.o_plane = H * W;
        g.o_W = W;
        g.oy0 = ph;
        g.oys = st;
        g.ox0 = pw;
        g.oxs = st;
    } else if (mode == 3) {
        /* mode 3, backward-weight (mvec only): m = k, col = (c, r, s),
         * kd = (n, p, q); B = inp at y = st*p - pad + r. a_* give the
         * packed dout (N, P, Q, Mp) in units of Mp. */
        g = (conv_geom){.M = K, .ncols = C * R * S, .kd = N * P * Q, .D1 = P, .D2 = Q,
                        .cw = S, .chw = R * S, .src_n = H * W, .src_plane = C * H * W,
                        .Hs = H, .Ws = W, .dy = st, .cy0 = -pad, .cys = 1, .cx0 = -pad,
                        .cxs = 1, .a_m = 1, .a_ch = P * Q, .a_r = Q, .a_s = 1, .a_base = 0,
                        .o_n = R * S, .o_plane = C * R * S, .o_W = S, .oy0 = 0, .oys = 1,
                        .ox0 = 0, .oxs = 1};
    } else {
        /* mode 2, backward-data for a small output: one phase per output
         * position (h, w), so only the taps that land inside dout are
         * visited (dout smaller than the kernel: most taps miss). Columns
         * are the batch. Taps r = r0 + st*(jlo + j), dout row dp - jlo - j. */
        const int h = phase / W, w = phase % W;
        const int r0 = (h + pad) % st, s0 = (w + pad) % st;
        const int Rj = R > r0 ? (R - r0 + st - 1) / st : 0;
        const int Sj = S > s0 ? (S - s0 + st - 1) / st : 0;
        const int dp = (h + pad - r0) / st, dq = (w + pad - s0) / st;
        const int jlo = max(0, dp - P + 1), jhi = min(Rj - 1, dp);
        const int llo = max(0, dq - Q + 1), lhi = min(Sj - 1, dq);
        g.M = C;
        g.cw = 1;
        g.chw = 1;
        g.ncols = N;
        g.D1 = max(0, jhi - jlo + 1);
        g.D2 = max(0, lhi - llo + 1);
        g.kd = K * g.D1 * g.D2;
        g.src_n = K * P * Q;
        g.src_plane = P * Q;
        g.Hs = P;
        g.Ws = Q;
        g.dy = -1;
        g.cy0 = dp - jlo;
        g.cys = 0;
        g.cx0 = dq - llo;
        g.cxs = 0;
        g.a_m = R * S;
        g.a_ch = C * R * S;
        g.a_r = st * S;
        g.a_s = st;
        g.a_base = (r0 + st * jlo) * S + s0 + st * llo;
        g.o_n = C * H * W;
        g.o_plane = H * W;
        g.o_W = W;
        g.oy0 = h;
        g.oys = 0;
        g.ox0 = w;
        g.oxs = 0;
    }
    return g;
}

/* Where column `col` of the GEMM reads its B origin and writes its output. */
static void conv_col(const conv_geom *g, int col, int *src_base, int *cy, int *cx,
                     int *out_base) {
    if (col < g->ncols) {
        const int n = col / g->chw, rem = col - n * g->chw;
        const int yy = rem / g->cw, xx = rem - yy * g->cw;
        *src_base = n * g->src_n;
        *cy = g->cy0 + g->cys * yy;
        *cx = g->cx0 + g->cxs * xx;
        *out_base = n * g->o_n + (g->oy0 + g->oys * yy) * g->o_W + g->ox0 + g->oxs * xx;
    } else {
        *src_base = 0;
        *cy = CONV_OFF_GRID;
        *cx = CONV_OFF_GRID;
        *out_base = -1;
    }
}

/* kd -> (a, b, c) over (., D1, D2); D1 * D2 > 0. */
static void conv_decode3(int kd, int D1, int D2, int *a, int *b, int *c) {
    const int d12 = D1 * D2;
    *a = kd / d12;
    const int rem = kd - *a * d12;
    *b = rem / D2;
    *c = rem - *b * D2;
}

/* Advance (a, b, c) by `step` given the precomputed digits of step. */
#define CONV_ADVANCE(a, b, c, da, db, dc, D1, D2) \
    do {                                          \
        (c) += (dc);                              \
        (b) += (db);                              \
        if ((c) >= (D2)) {                        \
            (c) -= (D2);                          \
            (b)++;                                \
        }                                         \
        (a) += (da);                              \
        if ((b) >= (D1)) {                        \
            (b) -= (D1);                          \
            (a)++;                                \
        }                                         \
    } while (0)

/* Multiply-add as an expression the compiler may contract into an FMA
 * where the hardware has one (mad() stayed a multiply and an add on PoCL). */
#pragma OPENCL FP_CONTRACT ON
#define CONV_FMA(a, b, c) ((a) * (b) + (c))

/* One TK step of the tiled GEMM on a work-item's WM x VW block. The block
 * is copied into fully unrolled locals for the loop: `acc` lives across
 * barriers, which CPU implementations (PoCL) keep in memory, and would
 * otherwise be loaded and stored around every multiply-add. */
static void conv_tile_mac(floatv *acc, __local const float *As, __local const float *Bs,
                          int tx, int ty) {
    floatv r[WM];
#pragma unroll
    for (int wm = 0; wm < WM; wm++) r[wm] = acc[wm];
    for (int t = 0; t < TK; t++) {
        const floatv b = VLOAD(tx, Bs + t * TN);
        __local const float *a = As + t * TM + ty * WM;
#pragma unroll
        for (int wm = 0; wm < WM; wm++) r[wm] = CONV_FMA((floatv)(a[wm]), b, r[wm]);
    }
#pragma unroll
    for (int wm = 0; wm < WM; wm++) acc[wm] = r[wm];
}

/* The activation of the flags, if any. */
static float conv_act(float r, uint flags, float slope) {
    if (flags & CONV_FLAG_RELU) return fmax(r, 0.0f);
    return (flags & CONV_FLAG_LEAKY) && !(r > 0.0f) ? slope * r : r;
}

/* Write a WM x VW register block: out[idx] = act(acc (+ bias) (+ out[idx])). */
static void conv_store_block(__global float *out, int out_off, const floatv *acc, int m0,
                             int M, const int *obase, int o_plane, uint flags,
                             __global const float *bias, int bias_off, float slope) {
    for (int wm = 0; wm < WM; wm++) {
        const int m = m0 + wm;
        if (m < M) {
            float v[VW];
            VSTORE(acc[wm], v);
            const float b = (flags & CONV_FLAG_BIAS) ? bias[bias_off + m] : 0.0f;
            for (int i = 0; i < VW; i++)
                if (obase[i] >= 0) {
                    const int idx = out_off + obase[i] + m * o_plane;
                    float r = v[i] + b;
                    if (flags & CONV_FLAG_ACCUMULATE) r += out[idx];
                    r = conv_act(r, flags, slope);
                    out[idx] = r;
                }
        }
    }
}

/* ---- forward / backward-data: tiled ---------------------------------------- */

/* Local size (TN/VW, TM/WM); global (ceil(ncols_max/TN) * TN/VW,
 * ceil(M/TM) * TM/WM * phases * splits). `out` of split z starts at
 * out_off + z * out_numel. */
__kernel void conv2d_igemm_tiled(__global float *out, uint out_off,
                                 __global const float *src, uint src_off,
                                 __global const float *wt, uint wt_off,
                                 __global const float *bias, uint bias_off,
                                 uint N, uint C, uint H, uint W, uint K, uint R, uint S,
                                 uint stride, uint pad, uint P, uint Q,
                                 uint mode, uint flags, uint split_len, uint out_numel,
                                 float slope) {
    __local float As[TK * TM]; /* As[kk * TM + m] */
    __local float Bs[TK * TN]; /* Bs[kk * TN + col] */
    const int st = (int)stride;
    const int nphase = mode == 2 ? (int)(H * W) : mode ? st * st : 1;
    const int M = mode ? (int)C : (int)K;
    const int row_tiles = (M + TM - 1) / TM;
    const int gy = (int)get_group_id(1);
    const int z = gy / row_tiles;
    const int phase = z % nphase, split = z / nphase;
    const conv_geom g = conv_geom_make((int)mode, phase, (int)N, (int)C, (int)H, (int)W,
                                       (int)K, (int)R, (int)S, st, (int)pad, (int)P, (int)Q);
    const int m0 = (gy - z * row_tiles) * TM, n0 = (int)get_group_id(0) * TN;
    const int kbeg = split * (int)split_len;
    const int kend = min(g.kd, kbeg + (int)split_len);
    const int tx = (int)get_local_id(0), ty = (int)get_local_id(1);
    const int lid = ty * WG_X + tx;
    const int kk = lid % TK, crow = lid / TK;

    int cbase[BJ], cy[BJ], cx[BJ], arow[AJ];
    for (int j = 0; j < BJ; j++) {
        int ob;
        conv_col(&g, n0 + crow + j * (WG / TK), &cbase[j], &cy[j], &cx[j], &ob);
    }
    for (int j = 0; j < AJ; j++) {
        const int m = m0 + crow + j * (WG / TK);
        arow[j] = m < M ? m * g.a_m : -1;
    }
    /* This work-item's kd slot, decoded once and then advanced by TK. */
    int ch = 0, r = 0, s = 0, dch = 0, dr = 0, ds = 0;
    if (kend > kbeg) {
        conv_decode3(kbeg + kk, g.D1, g.D2, &ch, &r, &s);
        conv_decode3(TK, g.D1, g.D2, &dch, &dr, &ds);
    }
    floatv acc[WM];
    for (int wm = 0; wm < WM; wm++) acc[wm] = (floatv)(0.0f);

    for (int k0 = kbeg; k0 < kend; k0 += TK) {
        const int kval = k0 + kk < kend;
        const int aoff = (int)wt_off + g.a_base + ch * g.a_ch + r * g.a_r + s * g.a_s;
        for (int j = 0; j < AJ; j++)
            As[kk * TM + crow + j * (WG / TK)] =
                (kval && arow[j] >= 0) ? wt[aoff + arow[j]] : 0.0f;
        const int boff = (int)src_off + ch * g.src_plane, ry = g.dy * r, sx = g.dy * s;
        for (int j = 0; j < BJ; j++) {
            const int y = cy[j] + ry, x = cx[j] + sx;
            const int ok = kval && y >= 0 && y < g.Hs && x >= 0 && x < g.Ws;
            Bs[kk * TN + crow + j * (WG / TK)] =
                ok ? src[boff + cbase[j] + y * g.Ws + x] : 0.0f;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        conv_tile_mac(acc, As, Bs, tx, ty);
        barrier(CLK_LOCAL_MEM_FENCE);
        CONV_ADVANCE(ch, r, s, dch, dr, ds, g.D1, g.D2);
    }

    int obase[VW];
    for (int i = 0; i < VW; i++) {
        int sb, yy, xx;
        conv_col(&g, n0 + tx * VW + i, &sb, &yy, &xx, &obase[i]);
    }
    conv_store_block(out, (int)out_off + split * (int)out_numel, acc, m0 + ty * WM, M, obase,
                     g.o_plane, flags, bias, (int)bias_off, slope);
}

/* ---- forward / backward-data: direct --------------------------------------- */

/* Any local size; global (ceil(ncols_max/VW), pad(ceil(M/WM)) * phases * splits)
 * where pad() rounds up to the local size in dimension 1. */
__kernel void conv2d_igemm_direct(__global float *out, uint out_off,
                                  __global const float *src, uint src_off,
                                  __global const float *wt, uint wt_off,
                                  __global const float *bias, uint bias_off,
                                  uint N, uint C, uint H, uint W, uint K, uint R, uint S,
                                  uint stride, uint pad, uint P, uint Q,
                                  uint mode, uint flags, uint split_len, uint out_numel,
                                  float slope) {
    const int st = (int)stride;
    const int nphase = mode == 2 ? (int)(H * W) : mode ? st * st : 1;
    const int M = mode ? (int)C : (int)K;
    const int ls1 = (int)get_local_size(1);
    const int row_blocks = ((M + WM - 1) / WM + ls1 - 1) / ls1 * ls1;
    const int gy = (int)get_global_id(1);
    const int z = gy / row_blocks;
    const int phase = z % nphase, split = z / nphase;
    const int m0 = (gy - z * row_blocks) * WM;
    if (m0 < M) {
        const conv_geom g = conv_geom_make((int)mode, phase, (int)N, (int)C, (int)H, (int)W,
                                           (int)K, (int)R, (int)S, st, (int)pad, (int)P,
                                           (int)Q);
        const int kbeg = split * (int)split_len;
        const int kend = min(g.kd, kbeg + (int)split_len);
        const int n0 = (int)get_global_id(0) * VW;
        int cbase[VW], cy[VW], cx[VW], obase[VW], arow[WM];
        for (int i = 0; i < VW; i++) conv_col(&g, n0 + i, &cbase[i], &cy[i], &cx[i], &obase[i]);
        for (int wm = 0; wm < WM; wm++) arow[wm] = m0 + wm < M ? (m0 + wm) * g.a_m : -1;
        /* Columns on one source row at consecutive x (stride-1 forward, and
         * backward-data, where a phase's columns step x by one) load as one
         * vector. */
        int contig = 1;
        for (int i = 1; i < VW; i++)
            contig &= obase[i] >= 0 && cbase[i] == cbase[0] && cy[i] == cy[0] &&
                      cx[i] == cx[0] + i;
        floatv acc[WM];
        for (int wm = 0; wm < WM; wm++) acc[wm] = (floatv)(0.0f);
        int ch = 0, r = 0, s = 0;
        if (kend > kbeg) conv_decode3(kbeg, g.D1, g.D2, &ch, &r, &s);
        for (int kd = kbeg; kd < kend; kd++) {
            const int aoff = (int)wt_off + g.a_base + ch * g.a_ch + r * g.a_r + s * g.a_s;
            const int boff = (int)src_off + ch * g.src_plane, ry = g.dy * r, sx = g.dy * s;
            const int y0 = cy[0] + ry, x0 = cx[0] + sx;
            const int lin = boff + cbase[0] + y0 * g.Ws + x0;
            floatv b;
            if (contig && (y0 < 0 || y0 >= g.Hs)) {
                b = (floatv)(0.0f);
            } else if (contig && x0 >= 0 && x0 + VW <= g.Ws) {
                b = VLOAD(0, src + lin);
            } else {
                float bv[VW];
                for (int i = 0; i < VW; i++) {
                    const int y = cy[i] + ry, x = cx[i] + sx;
                    bv[i] = (y >= 0 && y < g.Hs && x >= 0 && x < g.Ws)
                                ? src[boff + cbase[i] + y * g.Ws + x] : 0.0f;
                }
                b = VLOAD(0, bv);
            }
            for (int wm = 0; wm < WM; wm++) {
                const float a = arow[wm] >= 0 ? wt[aoff + arow[wm]] : 0.0f;
                acc[wm] = CONV_FMA((floatv)(a), b, acc[wm]);
            }
            if (++s == g.D2) {
                s = 0;
                if (++r == g.D1) {
                    r = 0;
                    ch++;
                }
            }
        }
        conv_store_block(out, (int)out_off + split * (int)out_numel, acc, m0, M, obase,
                         g.o_plane, flags, bias, (int)bias_off, slope);
    }
}

/* ---- all directions: rows vectorised (CPUs) ---------------------------------- */

/* dst[((x * D2 + c) * D3 + d) * Mp + m] = src (D0, D1, D2, D3) at m along
 * dimension `dim` (0 or 1) and x along the other, 0 for m >= that size: the
 * GEMM's A with its rows contiguous. Weights (K, C, R, S) give (C, R, S, Kp)
 * for forward (dim 0) and (K, R, S, Cp) for backward-data (dim 1); dout
 * (N, K, P, Q) gives (N, P, Q, Kp) for backward-weight (dim 1). */
/* One work-item per destination row (x, c, d): Mp contiguous writes. */
__kernel void conv_pack_rows(__global float *dst, uint dst_off,
                             __global const float *src, uint src_off,
                             uint D0, uint D1, uint D2, uint D3, uint dim, uint Mp) {
    const uint M = dim ? D1 : D0, X = dim ? D0 : D1, plane = D2 * D3;
    /* Source step between consecutive m, and the row's origin. */
    const uint m_step = dim ? plane : D1 * plane;
    CLG_FOR_EACH(row, X * plane) {
        const uint x = row / plane, cd = row - x * plane;
        const uint base = src_off + (dim ? x * D1 * plane : x * plane) + cd;
        const uint o = dst_off + row * Mp;
        for (uint m = 0; m < Mp; m++) dst[o + m] = m < M ? src[base + m * m_step] : 0.0f;
    }
}

/* Write an MV_NB x (MV_MB VW-vectors) block: out[obase[j] + m * o_plane] =
 * acc (+ bias[m]) (+ out), for rows m < M and columns that exist. */
static void conv_mvec_store(__global float *out, int out_off, const floatv *acc, int m0, int M,
                            const int *obase, int o_plane, uint flags,
                            __global const float *bias, int bias_off, float slope) {
    for (int j = 0; j < MV_NB; j++) {
        if (obase[j] < 0) continue;
        for (int mb = 0; mb < MV_MB; mb++) {
            float v[VW];
            VSTORE(acc[j * MV_MB + mb], v);
            for (int i = 0; i < VW; i++) {
                const int m = m0 + mb * VW + i;
                if (m >= M) break;
                const int idx = out_off + obase[j] + m * o_plane;
                float r = v[i];
                if (flags & CONV_FLAG_BIAS) r += bias[bias_off + m];
                if (flags & CONV_FLAG_ACCUMULATE) r += out[idx];
                out[idx] = conv_act(r, flags, slope);
            }
        }
    }
}

/* The source with `lo` zeros before and `hi` after each row and column of
 * every plane: taps that fall in the padding read zeros, so the padded
 * kernel needs no bounds checks. */
static void conv_geom_pad(conv_geom *g, int lo, int hi) {
    const int plane = g->Hs * g->Ws, Hp = g->Hs + lo + hi, Wp = g->Ws + lo + hi;
    g->src_n = g->src_n / plane * (Hp * Wp);
    g->src_plane = g->src_plane / plane * (Hp * Wp);
    g->Hs = Hp;
    g->Ws = Wp;
    g->cy0 += lo;
    g->cx0 += lo;
}

/* Where each column's source taps of reduction step (ch, r, .) start (its
 * column origin included; tap s adds dy s), or -1 where that source row
 * lies outside an unpadded source. */
static void conv_mvec_rows(const conv_geom *g, int src_off, int ch, int r, const int *cbase,
                           const int *cy, const int *cx, int *row) {
    const int boff = src_off + ch * g->src_plane, ry = g->dy * r;
    for (int j = 0; j < MV_NB; j++) {
        const int y = cy[j] + ry;
        row[j] = (uint)y < (uint)g->Hs ? boff + cbase[j] + y * g->Ws + cx[j] : -1;
    }
}

/* One reduction step of the MV_NB x MV_MB block: B value j is LOAD_B(j). */
#define CONV_MVEC_STEP(LOAD_B)                                                           \
    do {                                                                                 \
        __global const float *a = pk + pk_off + g.a_base * (int)Mp + ch * p_ch +         \
                                  r * p_r + s * p_s + m0;                                \
        floatv av[MV_MB];                                                                \
        _Pragma("unroll") for (int mb = 0; mb < MV_MB; mb++) av[mb] = VLOAD(0, a + mb * VW); \
        const int sx = g.dy * s;                                                         \
        _Pragma("unroll") for (int j = 0; j < MV_NB; j++) {                              \
            const float b = LOAD_B(j);                                                   \
            _Pragma("unroll") for (int mb = 0; mb < MV_MB; mb++)                         \
                acc[j * MV_MB + mb] = CONV_FMA((floatv)(b), av[mb], acc[j * MV_MB + mb]); \
        }                                                                                \
        if (++s == g.D2) {                                                               \
            s = 0;                                                                       \
            if (++r == g.D1) {                                                           \
                r = 0;                                                                   \
                ch++;                                                                    \
            }                                                                            \
            conv_mvec_rows(&g, (int)src_off, ch, r, cbase, cy, cx, row);                 \
        }                                                                                \
    } while (0)
#define CONV_B_PADDED(j) src[row[j] + sx]
#define CONV_B_CHECKED(j) \
    ((row[j] >= 0 && (uint)(cx[j] + sx) < (uint)g.Ws) ? src[row[j] + sx] : 0.0f)

/* Any local size; global (pad(ceil(ncols_max / MV_NB)), pad(Mp / (MV_MB VW))
 * * phases * splits), pad() rounding up to the local size. `pk` is A packed
 * by conv_pack_rows with Mp rows (a multiple of MV_MB VW). Modes 0 to 3.
 * spad_lo, spad_hi: the zeros around each plane of src (conv_pad_planes),
 * or spad_hi = 0xffffffff for an unpadded src, read with bounds checks. */
__kernel void conv2d_igemm_mvec(__global float *out, uint out_off,
                                __global const float *src, uint src_off,
                                __global const float *pk, uint pk_off,
                                __global const float *bias, uint bias_off,
                                uint N, uint C, uint H, uint W, uint K, uint R, uint S,
                                uint stride, uint pad, uint P, uint Q,
                                uint mode, uint flags, uint split_len, uint out_numel, uint Mp,
                                uint spad_lo, uint spad_hi, float slope) {
    const int st = (int)stride;
    const int nphase = mode == 2 ? (int)(H * W) : mode == 1 ? st * st : 1;
    const int M = (mode == 1 || mode == 2) ? (int)C : (int)K;
    const int ls1 = (int)get_local_size(1);
    const int row_blocks = ((int)Mp / (MV_MB * VW) + ls1 - 1) / ls1 * ls1;
    const int gy = (int)get_global_id(1);
    const int z = gy / row_blocks;
    const int phase = z % nphase, split = z / nphase;
    const int m0 = (gy - z * row_blocks) * (MV_MB * VW);
    conv_geom g = conv_geom_make((int)mode, phase, (int)N, (int)C, (int)H, (int)W, (int)K,
                                 (int)R, (int)S, st, (int)pad, (int)P, (int)Q);
    if (m0 >= M || g.ncols == 0) return; /* no barriers in this kernel */
    const int padded = spad_hi != 0xffffffffu;
    if (padded) conv_geom_pad(&g, (int)spad_lo, (int)spad_hi);
    const int kbeg = split * (int)split_len;
    const int kend = min(g.kd, kbeg + (int)split_len);
    /* Packed A: row m of reduction step (ch, r, s) at p_ch ch + p_r r + p_s s. */
    const int p_ch = (mode == 3 ? g.a_ch : (int)(R * S)) * (int)Mp;
    const int p_r = g.a_r * (int)Mp, p_s = g.a_s * (int)Mp;
    const int n0 = (int)get_global_id(0) * MV_NB;
    int cbase[MV_NB], cy[MV_NB], cx[MV_NB], obase[MV_NB], row[MV_NB];
    for (int j = 0; j < MV_NB; j++) {
        conv_col(&g, n0 + j, &cbase[j], &cy[j], &cx[j], &obase[j]);
        /* Padded: a column past the end reads column 0's taps (never stored). */
        int unused;
        if (padded && obase[j] < 0) conv_col(&g, 0, &cbase[j], &cy[j], &cx[j], &unused);
    }
    floatv acc[MV_NB * MV_MB];
#pragma unroll
    for (int i = 0; i < MV_NB * MV_MB; i++) acc[i] = (floatv)(0.0f);
    int ch = 0, r = 0, s = 0;
    if (kend > kbeg) conv_decode3(kbeg, g.D1, g.D2, &ch, &r, &s);
    conv_mvec_rows(&g, (int)src_off, ch, r, cbase, cy, cx, row);
    if (padded)
        for (int kd = kbeg; kd < kend; kd++) CONV_MVEC_STEP(CONV_B_PADDED);
    else
        for (int kd = kbeg; kd < kend; kd++) CONV_MVEC_STEP(CONV_B_CHECKED);
    conv_mvec_store(out, (int)out_off + split * (int)out_numel, acc, m0, M, obase, g.o_plane,
                    flags, bias, (int)bias_off, slope);
}

/* dst (planes, H + lo + hi, W + lo + hi) = src (planes, H, W) with zeros
 * around; one work-item per destination row. */
__kernel void conv_pad_planes(__global float *dst, uint dst_off,
                              __global const float *src, uint src_off,
                              uint planes, uint H, uint W, uint lo, uint hi) {
    const uint Hp = H + lo + hi, Wp = W + lo + hi;
    CLG_FOR_EACH(rowi, planes * Hp) {
        const uint pl = rowi / Hp, yp = rowi - pl * Hp;
        const uint o = dst_off + rowi * Wp;
        const int y = (int)yp - (int)lo;
        if (y < 0 || y >= (int)H) {
            for (uint x = 0; x < Wp; x++) dst[o + x] = 0.0f;
        } else {
            const uint in = src_off + (pl * H + (uint)y) * W;
            for (uint x = 0; x < lo; x++) dst[o + x] = 0.0f;
            for (uint x = 0; x < W; x++) dst[o + lo + x] = src[in + x];
            for (uint x = lo + W; x < Wp; x++) dst[o + x] = 0.0f;
        }
    }
}

/* ---- backward-weight ---------------------------------------------------------- */

/* GEMM rows m = k, columns col = (c, r, s), reduction kd = (n, p, q). Column
 * `col` reads inp at channel offset *cb and tap (*cr, *cs). */
static void conv_wcol(int col, int CRS, int RS, int S, int HW, int *cb, int *cr, int *cs,
                      int *obase) {
    if (col < CRS) {
        const int c = col / RS, rem = col - c * RS;
        *cb = c * HW;
        *cr = rem / S;
        *cs = rem - *cr * S;
        *obase = col;
    } else {
        *cb = 0;
        *cr = CONV_OFF_GRID;
        *cs = CONV_OFF_GRID;
        *obase = -1;
    }
}

/* Local size (TN/VW, TM/WM); global (ceil(CRS/TN) * TN/VW, ceil(K/TM) * TM/WM
 * * splits). dweight (K, C, R, S) of split z starts at out_off + z * out_numel;
 * flags: CONV_FLAG_ACCUMULATE adds to what is there. */
__kernel void conv2d_bwdw_tiled(__global float *dw, uint dw_off,
                                __global const float *dout, uint dout_off,
                                __global const float *inp, uint inp_off,
                                uint N, uint C, uint H, uint W, uint K, uint R, uint S,
                                uint stride, uint pad, uint P, uint Q,
                                uint flags, uint split_len, uint out_numel) {
    __local float As[TK * TM];
    __local float Bs[TK * TN];
    const int st = (int)stride, pd = (int)pad;
    const int M = (int)K, RS = (int)(R * S), CRS = (int)C * RS, HW = (int)(H * W);
    const int PQ = (int)(P * Q), KD = (int)N * PQ;
    const int row_tiles = (M + TM - 1) / TM;
    const int gy = (int)get_group_id(1);
    const int split = gy / row_tiles;
    const int m0 = (gy - split * row_tiles) * TM, n0 = (int)get_group_id(0) * TN;
    const int kbeg = split * (int)split_len;
    const int kend = min(KD, kbeg + (int)split_len);
    const int tx = (int)get_local_id(0), ty = (int)get_local_id(1);
    const int lid = ty * WG_X + tx;
    const int kk = lid % TK, crow = lid / TK;

    int cb[BJ], cr[BJ], cs[BJ], arow[AJ];
    for (int j = 0; j < BJ; j++) {
        int ob;
        conv_wcol(n0 + crow + j * (WG / TK), CRS, RS, (int)S, HW, &cb[j], &cr[j], &cs[j], &ob);
    }
    for (int j = 0; j < AJ; j++) {
        const int m = m0 + crow + j * (WG / TK);
        arow[j] = m < M ? m * PQ : -1;
    }
    int n = 0, p = 0, q = 0, dn = 0, dp = 0, dq = 0;
    if (kend > kbeg) {
        conv_decode3(kbeg + kk, (int)P, (int)Q, &n, &p, &q);
        conv_decode3(TK, (int)P, (int)Q, &dn, &dp, &dq);
    }
    floatv acc[WM];
    for (int wm = 0; wm < WM; wm++) acc[wm] = (floatv)(0.0f);

    for (int k0 = kbeg; k0 < kend; k0 += TK) {
        const int kval = k0 + kk < kend;
        const int aoff = (int)dout_off + n * M * PQ + p * (int)Q + q;
        for (int j = 0; j < AJ; j++)
            As[kk * TM + crow + j * (WG / TK)] =
                (kval && arow[j] >= 0) ? dout[aoff + arow[j]] : 0.0f;
        const int boff = (int)inp_off + n * (int)C * HW;
        const int y0 = p * st - pd, x0 = q * st - pd;
        for (int j = 0; j < BJ; j++) {
            const int y = y0 + cr[j], x = x0 + cs[j];
            const int ok = kval && y >= 0 && y < (int)H && x >= 0 && x < (int)W;
            Bs[kk * TN + crow + j * (WG / TK)] = ok ? inp[boff + cb[j] + y * (int)W + x] : 0.0f;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        conv_tile_mac(acc, As, Bs, tx, ty);
        barrier(CLK_LOCAL_MEM_FENCE);
        CONV_ADVANCE(n, p, q, dn, dp, dq, (int)P, (int)Q);
    }

    int obase[VW];
    for (int i = 0; i < VW; i++) {
        int c0, c1, c2;
        conv_wcol(n0 + tx * VW + i, CRS, RS, (int)S, HW, &c0, &c1, &c2, &obase[i]);
    }
    conv_store_block(dw, (int)dw_off + split * (int)out_numel, acc, m0 + ty * WM, M, obase,
                     CRS, flags & CONV_FLAG_ACCUMULATE, dw, 0, 0.0f);
}

/* Any local size; global (ceil(CRS/VW), pad(ceil(K/WM)) * splits). */
__kernel void conv2d_bwdw_direct(__global float *dw, uint dw_off,
                                 __global const float *dout, uint dout_off,
                                 __global const float *inp, uint inp_off,
                                 uint N, uint C, uint H, uint W, uint K, uint R, uint S,
                                 uint stride, uint pad, uint P, uint Q,
                                 uint flags, uint split_len, uint out_numel) {
    const int st = (int)stride, pd = (int)pad;
    const int M = (int)K, RS = (int)(R * S), CRS = (int)C * RS, HW = (int)(H * W);
    const int PQ = (int)(P * Q), KD = (int)N * PQ;
    const int ls1 = (int)get_local_size(1);
    const int row_blocks = ((M + WM - 1) / WM + ls1 - 1) / ls1 * ls1;
    const int gy = (int)get_global_id(1);
    const int split = gy / row_blocks;
    const int m0 = (gy - split * row_blocks) * WM;
    if (m0 < M) {
        const int kbeg = split * (int)split_len;
        const int kend = min(KD, kbeg + (int)split_len);
        const int n0 = (int)get_global_id(0) * VW;
        int cb[VW], cr[VW], cs[VW], obase[VW], arow[WM];
        for (int i = 0; i < VW; i++)
            conv_wcol(n0 + i, CRS, RS, (int)S, HW, &cb[i], &cr[i], &cs[i], &obase[i]);
        for (int wm = 0; wm < WM; wm++) arow[wm] = m0 + wm < M ? (m0 + wm) * PQ : -1;
        floatv acc[WM];
        for (int wm = 0; wm < WM; wm++) acc[wm] = (floatv)(0.0f);
        int n = 0, p = 0, q = 0;
        if (kend > kbeg) conv_decode3(kbeg, (int)P, (int)Q, &n, &p, &q);
        for (int kd = kbeg; kd < kend; kd++) {
            const int aoff = (int)dout_off + n * M * PQ + p * (int)Q + q;
            const int boff = (int)inp_off + n * (int)C * HW;
            const int y0 = p * st - pd, x0 = q * st - pd;
            float bv[VW];
            for (int i = 0; i < VW; i++) {
                const int y = y0 + cr[i], x = x0 + cs[i];
                bv[i] = (y >= 0 && y < (int)H && x >= 0 && x < (int)W)
                            ? inp[boff + cb[i] + y * (int)W + x] : 0.0f;
            }
            const floatv b = VLOAD(0, bv);
            for (int wm = 0; wm < WM; wm++) {
                const float a = arow[wm] >= 0 ? dout[aoff + arow[wm]] : 0.0f;
                acc[wm] = CONV_FMA((floatv)(a), b, acc[wm]);
            }
            if (++q == (int)Q) {
                q = 0;
                if (++p == (int)P) {
                    p = 0;
                    n++;
                }
            }
        }
        conv_store_block(dw, (int)dw_off + split * (int)out_numel, acc, m0, M, obase, CRS,
                         flags & CONV_FLAG_ACCUMULATE, dw, 0, 0.0f);
    }
}

/* ---- helpers: split-K reduction, bias gradient ---------------------------------- */

/* out[i] = sum_z part[z * numel + i] (+ bias[(i / plane) % nchan]) (+ out[i]). */
__kernel void conv_split_reduce(__global float *out, uint out_off,
                                __global const float *part, uint part_off,
                                __global const float *bias, uint bias_off,
                                uint numel, uint nsplit, uint plane, uint nchan, uint flags,
                                float slope) {
    CLG_FOR_EACH(i, numel) {
        float v = 0.0f;
        for (uint z = 0; z < nsplit; z++) v += part[part_off + z * numel + i];
        if (flags & CONV_FLAG_BIAS) v += bias[bias_off + (i / plane) % nchan];
        if (flags & CONV_FLAG_ACCUMULATE) v += out[out_off + i];
        out[out_off + i] = conv_act(v, flags, slope);
    }
}

/* dbias[c] += sum over n and the plane of x (N, C, plane). One work-group per
 * channel; the local size is a power of two. */
__kernel void conv_bias_grad(__global float *dbias, uint dbias_off,
                             __global const float *x, uint x_off,
                             uint N, uint C, uint plane, __local float *scratch) {
    const uint c = (uint)get_group_id(0);
    const uint lid = (uint)get_local_id(0), ls = (uint)get_local_size(0);
    float v = 0.0f;
    for (uint n = 0; n < N; n++) {
        const uint base = x_off + (n * C + c) * plane;
        for (uint i = lid; i < plane; i += ls) v += x[base + i];
    }
    const float total = clg_group_sum(v, scratch);
    if (lid == 0) dbias[dbias_off + c] += total;
}

/* The same sums with one work-item per channel walking its N planes (CPUs,
 * and small planes anywhere: a fully connected layer's plane is 1, where a
 * work-group per channel would leave all but one of its items idle);
 * neighbouring items read neighbouring channels. */
__kernel void conv_bias_grad_cols(__global float *dbias, uint dbias_off,
                                  __global const float *x, uint x_off,
                                  uint N, uint C, uint plane) {
    CLG_FOR_EACH(c, C) {
        float v = 0.0f;
        for (uint n = 0; n < N; n++) {
            __global const float *row = x + x_off + (n * C + c) * plane;
            for (uint i = 0; i < plane; i++) v += row[i];
        }
        dbias[dbias_off + c] += v;
    }
}
