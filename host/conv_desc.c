/* conv_desc.c: convolution descriptors and kernel variants as data (see
 * conv_desc.h): shape arithmetic and checks, names, the variant text form.
 * No OpenCL calls. */
#include "conv_desc.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

clg_status clg_conv_desc_init(clg_conv_desc *d, int N, int C, int H, int W, int K, int R, int S,
                              int stride, int pad) {
    memset(d, 0, sizeof *d);
    if (N < 1 || C < 1 || H < 1 || W < 1 || K < 1 || R < 1 || S < 1)
        return clg_fail(CLG_ERR_INVALID_ARG,
                        "conv: sizes must be >= 1 (N=%d C=%d H=%d W=%d K=%d R=%d S=%d)", N, C, H,
                        W, K, R, S);
    if (stride < 1 || pad < 0)
        return clg_fail(CLG_ERR_INVALID_ARG, "conv: stride %d must be >= 1 and pad %d >= 0",
                        stride, pad);
    if (H + 2 * pad < R || W + 2 * pad < S)
        return clg_fail(CLG_ERR_INVALID_ARG,
                        "conv: kernel %dx%d larger than the padded input %dx%d (pad %d)", R, S,
                        H + 2 * pad, W + 2 * pad, pad);
    int P = (H + 2 * pad - R) / stride + 1, Q = (W + 2 * pad - S) / stride + 1;
    double big = (double)INT_MAX;
    if ((double)N * C * H * W >= big || (double)N * K * P * Q >= big ||
        (double)K * C * R * S >= big)
        return clg_fail(CLG_ERR_INVALID_ARG, "conv: a tensor has 2^31 elements or more");
    d->N = N, d->C = C, d->H = H, d->W = W, d->K = K, d->R = R, d->S = S;
    d->stride = stride, d->pad = pad, d->P = P, d->Q = Q; /* unplanned (memset above) */
    return CLG_OK;
}

clg_status clg_conv_transpose_desc_init(clg_conv_desc *d, int N, int C_in, int H_in, int W_in,
                                        int C_out, int R, int S, int stride, int pad) {
    memset(d, 0, sizeof *d);
    if (H_in < 1 || W_in < 1 || stride < 1 || R < 1 || S < 1)
        return clg_fail(CLG_ERR_INVALID_ARG,
                        "conv_transpose: sizes must be >= 1 (H_in=%d W_in=%d R=%d S=%d "
                        "stride=%d)",
                        H_in, W_in, R, S, stride);
    int H = (H_in - 1) * stride - 2 * pad + R, W = (W_in - 1) * stride - 2 * pad + S;
    if (H < 1 || W < 1)
        return clg_fail(CLG_ERR_INVALID_ARG,
                        "conv_transpose: output %dx%d is empty (H_in=%d stride=%d pad=%d R=%d)",
                        H, W, H_in, stride, pad, R);
    CLG_TRY(clg_conv_desc_init(d, N, C_out, H, W, C_in, R, S, stride, pad));
    if (d->P != H_in || d->Q != W_in)
        return clg_fail(CLG_ERR_INVALID_ARG, "conv_transpose: internal shape mismatch");
    return CLG_OK;
}

double clg_conv_flops(const clg_conv_desc *d) {
    return 2.0 * d->N * d->K * d->P * d->Q * (double)d->C * d->R * d->S;
}

const char *clg_conv_dir_name(clg_conv_dir dir) {
    switch (dir) {
    case CLG_CONV_FWD: return "fwd";
    case CLG_CONV_BWD_DATA: return "bwd_data";
    case CLG_CONV_BWD_WEIGHT: return "bwd_weight";
    default: return "?";
    }
}

void clg_conv_algo_format(const clg_conv_algo *a, char *buf, size_t cap) {
    int n;
    if (a->kind == CLG_CONV_TILED)
        n = snprintf(buf, cap, "tiled:%dx%dx%d:%dx%d", a->tm, a->tn, a->tk, a->wm, a->vw);
    else if (a->kind == CLG_CONV_MVEC)
        n = snprintf(buf, cap, "mvec:%dx%d:%d:%dx%d", a->wm, a->vw, a->nb, a->lx, a->ly);
    else
        n = snprintf(buf, cap, "direct:%dx%d:%dx%d:%dx%dx%d", a->wm, a->vw, a->lx, a->ly, a->tm,
                     a->tn, a->tk);
    if (a->split > 0 && n > 0 && (size_t)n < cap)
        snprintf(buf + n, cap - (size_t)n, ":s%d", a->split);
}

static int pow2(int x) { return x > 0 && (x & (x - 1)) == 0; }

/* The kernel's compile-time constraints (see the #error in conv.cl). */
/* mvec: the register block's bounds (its program's tile set is fixed). */
static int mvec_valid(const clg_conv_algo *a) {
    return pow2(a->vw) && a->vw <= 16 && a->wm >= 1 && a->wm <= 8 && a->nb >= 1 && a->nb <= 32 &&
           a->lx >= 1 && a->ly >= 1 && a->lx <= 1024 && a->ly <= 1024 && a->split >= 0 &&
           a->split <= 4096;
}

int clg_conv_algo_valid(const clg_conv_algo *a) {
    if (a->kind == CLG_CONV_MVEC) return mvec_valid(a);
    /* Bounds first (values come from files others may write: no product
     * below can overflow, no divisor be 0). */
    if (a->tm < 1 || a->tn < 1 || a->tk < 1 || a->tm > 1024 || a->tn > 1024 || a->tk > 1024 ||
        a->split < 0 || a->split > 4096 || a->lx > 1024 || a->ly > 1024)
        return 0;
    if (!pow2(a->vw) || a->vw > 16 || a->wm < 1 || a->wm > 16 || a->tm % a->wm || a->tn % a->vw)
        return 0;
    int wg = (a->tm / a->wm) * (a->tn / a->vw);
    if (wg % a->tk || (a->tm * a->tk) % wg || (a->tn * a->tk) % wg) return 0;
    if (a->kind == CLG_CONV_DIRECT && (a->lx < 1 || a->ly < 1)) return 0;
    return 1;
}

clg_status clg_conv_algo_parse(const char *s, clg_conv_algo *out) {
    clg_conv_algo a = {0};
    int used = 0;
    if (sscanf(s, "tiled:%dx%dx%d:%dx%d%n", &a.tm, &a.tn, &a.tk, &a.wm, &a.vw, &used) == 5) {
        a.kind = CLG_CONV_TILED;
    } else if (sscanf(s, "direct:%dx%d:%dx%d:%dx%dx%d%n", &a.wm, &a.vw, &a.lx, &a.ly, &a.tm,
                      &a.tn, &a.tk, &used) == 7) {
        a.kind = CLG_CONV_DIRECT;
    } else if (sscanf(s, "mvec:%dx%d:%d:%dx%d%n", &a.wm, &a.vw, &a.nb, &a.lx, &a.ly, &used) ==
               5) {
        a.kind = CLG_CONV_MVEC;
    } else {
        return clg_fail(CLG_ERR_FORMAT, "conv: cannot parse variant '%s'", s);
    }
    int more = 0;
    if (s[used] == ':' && sscanf(s + used, ":s%d%n", &a.split, &more) == 1) used += more;
    if (s[used] != '\0' || !clg_conv_algo_valid(&a))
        return clg_fail(CLG_ERR_FORMAT, "conv: invalid variant '%s'", s);
    *out = a;
    return CLG_OK;
}

/* The fields clg_conv_algo_format writes, compared directly: plain conv
 * calls ask this of the quick tune's lines on every call. */
int clg_conv_algo_same(const clg_conv_algo *a, const clg_conv_algo *b) {
    if (a->kind != b->kind || a->wm != b->wm || a->vw != b->vw ||
        (a->split > 0 ? a->split : 0) != (b->split > 0 ? b->split : 0))
        return 0;
    const int tile = a->tm == b->tm && a->tn == b->tn && a->tk == b->tk;
    const int local = a->lx == b->lx && a->ly == b->ly;
    if (a->kind == CLG_CONV_TILED) return tile;
    if (a->kind == CLG_CONV_MVEC) return local && a->nb == b->nb;
    return local && tile;
}
