/* test_conv.c: conv2d and conv_transpose2d, forward, backward-data and
 * backward-weight(+bias), every kernel variant, against plain C references
 * with double accumulation; backward passes also against central finite
 * differences of the reference forward.
 *
 * Tolerance: max |got - ref| / max |ref| over each output tensor <= 1e-4
 * (float32 sums of up to 8192 products). Finite differences of the (linear)
 * double reference are exact to ~1e-10, so they are held to the same 1e-4.
 *
 * Shapes: kernels 1, 3, 4, 5 (and 3x5), stride 1 and 2, padding 0, 1, 2,
 * batch 1, 2, 3, 64, channels 1, 3, 17, 64, spatial 1x1 to 33x33, odd and
 * non-square. Each shape runs every variant, a forced split-K (3 ways) and
 * the default selection. Every DCGAN-32/64 layer (ngf = ndf = 64) runs at
 * batch 2: each distinct convolution with every variant, and each of G's
 * transposed layers through the transposed API. Batch 2 rather than 64
 * because the batch only lengthens the GEMM's column range, which batch 64
 * covers in the sweep and in the layers whose columns are the batch (D's
 * last, G's first), run at 64. Tensors sit at a non-zero offset in their
 * buffers, with guard values around them that must survive; backward-weight
 * starts from random gradients (accumulation), backward-data from garbage
 * (overwrite).
 * CLGAN_TEST_SMALL=1 (Oclgrind) keeps a few small shapes, all variants. */
#include "testutil.h"
#include "conv.h"
#include "conv_quick.h"
#include "conv_tune.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TOL 1e-4
#define GUARD 3

typedef struct {
    int N, C, H, W, K, R, S, st, pad;
} shape;

/* ---- references (double accumulation) ------------------------------------ */

static size_t idx4(int a, int b, int c, int d, int B, int C, int D) {
    return (((size_t)a * B + b) * C + c) * D + d;
}

static void ref_fwd(double *out, const float *inp, const float *w, const float *bias,
                    const clg_conv_desc *d) {
    for (int n = 0; n < d->N; n++)
        for (int k = 0; k < d->K; k++)
            for (int p = 0; p < d->P; p++)
                for (int q = 0; q < d->Q; q++) {
                    double acc = bias ? bias[k] : 0.0;
                    for (int c = 0; c < d->C; c++)
                        for (int r = 0; r < d->R; r++)
                            for (int s = 0; s < d->S; s++) {
                                int h = p * d->stride - d->pad + r, x = q * d->stride - d->pad + s;
                                if (h < 0 || h >= d->H || x < 0 || x >= d->W) continue;
                                acc += (double)inp[idx4(n, c, h, x, d->C, d->H, d->W)] *
                                       w[idx4(k, c, r, s, d->C, d->R, d->S)];
                            }
                    out[idx4(n, k, p, q, d->K, d->P, d->Q)] = acc;
                }
}

/* The same forward on double inputs (for finite differences). */
static void ref_fwd_d(double *out, const double *inp, const double *w, const clg_conv_desc *d) {
    size_t no = (size_t)d->N * d->K * d->P * d->Q;
    memset(out, 0, no * sizeof *out);
    for (int n = 0; n < d->N; n++)
        for (int k = 0; k < d->K; k++)
            for (int p = 0; p < d->P; p++)
                for (int q = 0; q < d->Q; q++)
                    for (int c = 0; c < d->C; c++)
                        for (int r = 0; r < d->R; r++)
                            for (int s = 0; s < d->S; s++) {
                                int h = p * d->stride - d->pad + r, x = q * d->stride - d->pad + s;
                                if (h < 0 || h >= d->H || x < 0 || x >= d->W) continue;
                                out[idx4(n, k, p, q, d->K, d->P, d->Q)] +=
                                    inp[idx4(n, c, h, x, d->C, d->H, d->W)] *
                                    w[idx4(k, c, r, s, d->C, d->R, d->S)];
                            }
}

/* dinp as the scatter of dout through the taps (written independently of the
 * kernels' gather-by-phase). */
static void ref_bwd_data(double *dinp, const float *dout, const float *w, const float *bias,
                         const clg_conv_desc *d) {
    for (int n = 0; n < d->N; n++)
        for (int c = 0; c < d->C; c++)
            for (size_t i = 0; i < (size_t)d->H * d->W; i++)
                dinp[idx4(n, c, 0, 0, d->C, d->H, d->W) + i] = bias ? bias[c] : 0.0;
    for (int n = 0; n < d->N; n++)
        for (int k = 0; k < d->K; k++)
            for (int p = 0; p < d->P; p++)
                for (int q = 0; q < d->Q; q++) {
                    double g = dout[idx4(n, k, p, q, d->K, d->P, d->Q)];
                    for (int c = 0; c < d->C; c++)
                        for (int r = 0; r < d->R; r++)
                            for (int s = 0; s < d->S; s++) {
                                int h = p * d->stride - d->pad + r, x = q * d->stride - d->pad + s;
                                if (h < 0 || h >= d->H || x < 0 || x >= d->W) continue;
                                dinp[idx4(n, c, h, x, d->C, d->H, d->W)] +=
                                    g * w[idx4(k, c, r, s, d->C, d->R, d->S)];
                            }
                }
}

static void ref_bwd_weight(double *dw, double *db, const float *dw0, const float *db0,
                           const float *dout, const float *inp, const clg_conv_desc *d) {
    for (int k = 0; k < d->K; k++) {
        double b = db0[k];
        for (int n = 0; n < d->N; n++)
            for (int i = 0; i < d->P * d->Q; i++) b += dout[idx4(n, k, 0, 0, d->K, d->P, d->Q) + i];
        db[k] = b;
        for (int c = 0; c < d->C; c++)
            for (int r = 0; r < d->R; r++)
                for (int s = 0; s < d->S; s++) {
                    double acc = dw0[idx4(k, c, r, s, d->C, d->R, d->S)];
                    for (int n = 0; n < d->N; n++)
                        for (int p = 0; p < d->P; p++)
                            for (int q = 0; q < d->Q; q++) {
                                int h = p * d->stride - d->pad + r, x = q * d->stride - d->pad + s;
                                if (h < 0 || h >= d->H || x < 0 || x >= d->W) continue;
                                acc += (double)dout[idx4(n, k, p, q, d->K, d->P, d->Q)] *
                                       inp[idx4(n, c, h, x, d->C, d->H, d->W)];
                            }
                    dw[idx4(k, c, r, s, d->C, d->R, d->S)] = acc;
                }
    }
}

/* ConvTranspose2d straight from its definition (PyTorch): every input pixel
 * scatters weight (C_in, C_out, R, S) into the output. `d` is the adjoint
 * conv's descriptor: C_in = K, H_in = P, C_out = C, H_out = H. */
static void ref_convT_fwd_d(double *out, const double *inp, const double *w, const double *bias,
                            const clg_conv_desc *d) {
    for (int n = 0; n < d->N; n++)
        for (int co = 0; co < d->C; co++)
            for (int i = 0; i < d->H * d->W; i++)
                out[idx4(n, co, 0, 0, d->C, d->H, d->W) + i] = bias ? bias[co] : 0.0;
    for (int n = 0; n < d->N; n++)
        for (int ci = 0; ci < d->K; ci++)
            for (int h = 0; h < d->P; h++)
                for (int x = 0; x < d->Q; x++) {
                    double v = inp[idx4(n, ci, h, x, d->K, d->P, d->Q)];
                    for (int co = 0; co < d->C; co++)
                        for (int r = 0; r < d->R; r++)
                            for (int s = 0; s < d->S; s++) {
                                int oh = h * d->stride - d->pad + r;
                                int ow = x * d->stride - d->pad + s;
                                if (oh < 0 || oh >= d->H || ow < 0 || ow >= d->W) continue;
                                out[idx4(n, co, oh, ow, d->C, d->H, d->W)] +=
                                    v * w[idx4(ci, co, r, s, d->C, d->R, d->S)];
                            }
                }
}

static double *to_double(const float *x, size_t n) {
    double *y = malloc(n * sizeof *y);
    assert_non_null(y);
    for (size_t i = 0; i < n; i++) y[i] = x[i];
    return y;
}

/* ---- device tensors with guards ------------------------------------------ */

typedef struct {
    clg_tensor base, t;
    size_t numel;
    float *host; /* GUARD + numel + GUARD as uploaded */
} gtensor;

static gtensor dev_make(clg_ctx *ctx, int n, int c, int h, int w, const float *data,
                        uint64_t seed) {
    gtensor d;
    d.numel = (size_t)n * c * h * w;
    size_t total = d.numel + 2 * GUARD;
    d.host = malloc(total * sizeof(float));
    assert_non_null(d.host);
    clg_test_fill_uniform(d.host, total, seed, -1.0f, 1.0f);
    if (data) memcpy(d.host + GUARD, data, d.numel * sizeof(float));
    d.base = clg_test_tensor(ctx, 1, (int)total, 1, 1, d.host);
    d.t = clg_tensor_slice(&d.base, GUARD, n, c, h, w);
    return d;
}

/* Download the tensor, check its guards survived, return the values. */
static float *dev_get(clg_ctx *ctx, gtensor *d) {
    size_t total = d->numel + 2 * GUARD;
    float *all = malloc(total * sizeof(float));
    assert_non_null(all);
    CLG_ASSERT_OK(clg_tensor_download(ctx, &d->base, all));
    for (int i = 0; i < GUARD; i++) {
        assert_true(all[i] == d->host[i]);
        assert_true(all[GUARD + d->numel + i] == d->host[GUARD + d->numel + i]);
    }
    memmove(all, all + GUARD, d->numel * sizeof(float));
    return all;
}

static void dev_free(clg_ctx *ctx, gtensor *d) {
    clg_tensor_free(ctx, &d->base);
    free(d->host);
}

static float *rnd(size_t n, uint64_t seed) {
    float *x = malloc((n ? n : 1) * sizeof *x);
    assert_non_null(x);
    clg_test_fill_uniform(x, n, seed, -1.0f, 1.0f);
    return x;
}

/* ---- one shape, one variant, all directions ------------------------------- */

/* One shape's host data and references, computed once for all variants. */
typedef struct {
    clg_conv_desc d;
    size_t ni, no, nw;
    float *inp, *w, *bias, *dout, *dw0, *db0, *bias_c;
    double *ref_fwd, *ref_bwd, *ref_bwd_bias, *ref_dw, *ref_db;
} conv_case;

static void case_init(conv_case *c, const clg_conv_desc *d) {
    c->d = *d;
    c->ni = (size_t)d->N * d->C * d->H * d->W;
    c->no = (size_t)d->N * d->K * d->P * d->Q;
    c->nw = (size_t)d->K * d->C * d->R * d->S;
    c->inp = rnd(c->ni, 11 + c->ni), c->w = rnd(c->nw, 12 + c->nw);
    c->bias = rnd((size_t)d->K, 13), c->dout = rnd(c->no, 14 + c->no);
    c->dw0 = rnd(c->nw, 15), c->db0 = rnd((size_t)d->K, 16), c->bias_c = rnd((size_t)d->C, 17);
    c->ref_fwd = malloc(c->no * sizeof(double));
    c->ref_bwd = malloc(c->ni * sizeof(double));
    c->ref_bwd_bias = malloc(c->ni * sizeof(double));
    c->ref_dw = malloc(c->nw * sizeof(double));
    c->ref_db = malloc((size_t)d->K * sizeof(double));
    assert_non_null(c->ref_fwd && c->ref_bwd && c->ref_bwd_bias && c->ref_dw && c->ref_db);
    ref_fwd(c->ref_fwd, c->inp, c->w, c->bias, d);
    ref_bwd_data(c->ref_bwd, c->dout, c->w, NULL, d);
    ref_bwd_data(c->ref_bwd_bias, c->dout, c->w, c->bias_c, d);
    ref_bwd_weight(c->ref_dw, c->ref_db, c->dw0, c->db0, c->dout, c->inp, d);
}

static void case_free(conv_case *c) {
    free(c->inp), free(c->w), free(c->bias), free(c->dout), free(c->dw0), free(c->db0);
    free(c->bias_c), free(c->ref_fwd), free(c->ref_bwd), free(c->ref_bwd_bias);
    free(c->ref_dw), free(c->ref_db);
}

/* The fused activations (ReLU; leaky ReLU 0.2) give, bit for bit, the
 * unfused output `plain` (n values) passed through the activation. */
static void check_fused_act(clg_ctx *ctx, const clg_conv_algo *a, const clg_conv_desc *d,
                            int transposed, gtensor *out, const gtensor *in,
                            const gtensor *w, const gtensor *bias, const float *plain, size_t n,
                            const char *label) {
    static const clg_fused_act acts[2] = {{CLG_ACT_RELU, 0.0f}, {CLG_ACT_LEAKY_RELU, 0.2f}};
    float *want = malloc(n * sizeof *want);
    assert_non_null(want);
    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; i < n; i++)
            want[i] = k == 0 ? fmaxf(plain[i], 0.0f) : plain[i] > 0.0f ? plain[i] : 0.2f * plain[i];
        if (transposed)
            CLG_ASSERT_OK(clg_conv2d_backward_data_act_algo(ctx, a, &out->t, &in->t, &w->t,
                                                            &bias->t, &acts[k], d));
        else
            CLG_ASSERT_OK(clg_conv2d_forward_act_algo(ctx, a, &out->t, &in->t, &w->t, &bias->t,
                                                      &acts[k], d));
        float *got = dev_get(ctx, out);
        if (memcmp(got, want, n * sizeof *got))
            fail_msg("%s: fused %s differs from the unfused pair", label,
                     clg_act_name(acts[k].act));
        free(got);
    }
    free(want);
}

/* Run every direction of one case with variant `a` (NULL: the selection). */
static void check_conv(clg_ctx *ctx, const conv_case *c, const clg_conv_algo *a,
                       const char *label) {
    const clg_conv_desc *d = &c->d;
    gtensor ti = dev_make(ctx, d->N, d->C, d->H, d->W, c->inp, 1);
    gtensor tw = dev_make(ctx, d->K, d->C, d->R, d->S, c->w, 2);
    gtensor tb = dev_make(ctx, 1, d->K, 1, 1, c->bias, 3);
    gtensor tbc = dev_make(ctx, 1, d->C, 1, 1, c->bias_c, 9);
    gtensor to = dev_make(ctx, d->N, d->K, d->P, d->Q, NULL, 4);
    gtensor tdo = dev_make(ctx, d->N, d->K, d->P, d->Q, c->dout, 5);
    gtensor tdi = dev_make(ctx, d->N, d->C, d->H, d->W, NULL, 6);
    gtensor tdw = dev_make(ctx, d->K, d->C, d->R, d->S, c->dw0, 7);
    gtensor tdb = dev_make(ctx, 1, d->K, 1, 1, c->db0, 8);
    char what[160];
    float *got;

    /* forward with bias */
    CLG_ASSERT_OK(clg_conv2d_forward_algo(ctx, a, &to.t, &ti.t, &tw.t, &tb.t, d));
    got = dev_get(ctx, &to);
    snprintf(what, sizeof what, "%s fwd", label);
    clg_test_assert_close(got, c->ref_fwd, c->no, TOL, what, __FILE__, __LINE__);
    check_fused_act(ctx, a, d, 0, &to, &ti, &tw, &tb, got, c->no, what);
    free(got);

    /* backward-data (overwriting garbage), and with a bias: a transposed forward */
    CLG_ASSERT_OK(clg_conv2d_backward_data_algo(ctx, a, &tdi.t, &tdo.t, &tw.t, NULL, d));
    got = dev_get(ctx, &tdi);
    snprintf(what, sizeof what, "%s bwd_data", label);
    clg_test_assert_close(got, c->ref_bwd, c->ni, TOL, what, __FILE__, __LINE__);
    free(got);
    CLG_ASSERT_OK(clg_conv2d_backward_data_algo(ctx, a, &tdi.t, &tdo.t, &tw.t, &tbc.t, d));
    got = dev_get(ctx, &tdi);
    snprintf(what, sizeof what, "%s bwd_data+bias", label);
    clg_test_assert_close(got, c->ref_bwd_bias, c->ni, TOL, what, __FILE__, __LINE__);
    check_fused_act(ctx, a, d, 1, &tdi, &tdo, &tw, &tbc, got, c->ni, what);
    free(got);

    /* backward-weight and bias, accumulating onto random gradients */
    CLG_ASSERT_OK(clg_conv2d_backward_weight_algo(ctx, a, &tdw.t, &tdb.t, &tdo.t, &ti.t, d));
    got = dev_get(ctx, &tdw);
    snprintf(what, sizeof what, "%s bwd_weight", label);
    clg_test_assert_close(got, c->ref_dw, c->nw, TOL, what, __FILE__, __LINE__);
    free(got);
    got = dev_get(ctx, &tdb);
    snprintf(what, sizeof what, "%s bwd_bias", label);
    clg_test_assert_close(got, c->ref_db, (size_t)d->K, TOL, what, __FILE__, __LINE__);
    free(got);

    dev_free(ctx, &ti), dev_free(ctx, &tw), dev_free(ctx, &tb), dev_free(ctx, &tbc);
    dev_free(ctx, &to), dev_free(ctx, &tdo), dev_free(ctx, &tdi), dev_free(ctx, &tdw);
    dev_free(ctx, &tdb);
}

static void make_desc(const shape *s, clg_conv_desc *d) {
    CLG_ASSERT_OK(clg_conv_desc_init(d, s->N, s->C, s->H, s->W, s->K, s->R, s->S, s->st, s->pad));
}

/* Every variant (all = 0: the first only), a forced split-K on the first,
 * the last and the 4-vector mvec ones (its split partials share the
 * scratch with the packed A), and the default selection. */
static void check_all_algos(clg_ctx *ctx, const clg_conv_desc *d, int all) {
    char label[256], an[64];
    conv_case c;
    case_init(&c, d);
    int n = clg_conv_algo_count();
    for (int i = 0; i < n; i++) {
        if (!all && i > 0) break;
        clg_conv_algo a = *clg_conv_algo_at(i);
        if (clg_conv_algo_check(ctx, &a) != CLG_OK) {
            print_message("skipping variant %d on this device: %s\n", i, clg_last_error());
            continue;
        }
        for (int split = 0; split <= 3; split += 3) {
            int mvec4 = a.kind == CLG_CONV_MVEC && a.wm == 4;
            if (split && i != 0 && i != n - 1 && !mvec4) continue;
            a.split = split;
            clg_conv_algo_format(&a, an, sizeof an);
            snprintf(label, sizeof label, "N%d C%d %dx%d K%d %dx%d s%d p%d [%s]", d->N, d->C,
                     d->H, d->W, d->K, d->R, d->S, d->stride, d->pad, an);
            check_conv(ctx, &c, &a, label);
        }
    }
    snprintf(label, sizeof label, "N%d C%d %dx%d K%d %dx%d s%d p%d [selected]", d->N, d->C, d->H,
             d->W, d->K, d->R, d->S, d->stride, d->pad);
    check_conv(ctx, &c, NULL, label);
    case_free(&c);
}

static const shape sweep_full[] = {
    /* N  C   H   W   K   R  S st pad */
    {3, 17, 1, 1, 5, 1, 1, 1, 0},    {1, 3, 1, 1, 7, 3, 3, 1, 1},
    {3, 1, 1, 1, 4, 4, 4, 1, 2},     {1, 1, 5, 7, 1, 3, 3, 1, 1},
    {3, 3, 7, 5, 17, 3, 3, 2, 1},    {3, 17, 9, 11, 3, 4, 4, 2, 1},
    {1, 3, 33, 33, 17, 5, 5, 2, 2},  {3, 1, 33, 31, 3, 4, 4, 2, 0},
    {3, 17, 12, 10, 17, 5, 5, 1, 2}, {1, 3, 8, 8, 64, 1, 1, 2, 0},
    {3, 64, 6, 5, 64, 3, 3, 1, 1},   {2, 3, 9, 7, 5, 3, 5, 2, 1},
    {3, 3, 17, 19, 4, 1, 1, 1, 1},   {1, 2, 6, 6, 3, 1, 1, 2, 2},
    {3, 17, 15, 13, 17, 4, 4, 1, 2}, {64, 3, 8, 8, 17, 4, 4, 2, 1},
    {64, 64, 4, 4, 3, 3, 3, 1, 1},   {3, 3, 33, 33, 64, 5, 5, 1, 0},
    {2, 5, 4, 4, 3, 4, 4, 2, 0},     {1, 3, 3, 5, 2, 5, 5, 2, 1},
};
static const shape sweep_small[] = {
    {3, 17, 1, 1, 5, 1, 1, 1, 0}, {1, 3, 1, 1, 7, 3, 3, 1, 1}, {3, 3, 7, 5, 17, 3, 3, 2, 1},
    {2, 3, 9, 7, 5, 3, 5, 2, 1},  {1, 2, 6, 6, 3, 1, 1, 2, 2}, {2, 4, 6, 5, 3, 4, 4, 2, 1},
    {2, 5, 4, 4, 3, 4, 4, 2, 0},
};

static void test_sweep(void **state) {
    clg_ctx *ctx = *state;
    const shape *list = clg_test_small() ? sweep_small : sweep_full;
    size_t n = clg_test_small() ? sizeof sweep_small / sizeof *sweep_small
                                : sizeof sweep_full / sizeof *sweep_full;
    for (size_t i = 0; i < n; i++) {
        clg_conv_desc d;
        make_desc(&list[i], &d);
        check_all_algos(ctx, &d, 1);
    }
}

/* ---- transposed convolution ---------------------------------------------- */

/* Transposed layer: inp (N, Cin, Hin, Win), weight (Cin, Cout, R, S). Checks
 * forward against the scatter definition, backward-data and -weight (+bias)
 * against central differences of that definition (exact: it is linear) on
 * small shapes, else against the conv references through the adjoint. */
static void check_convT(clg_ctx *ctx, int N, int Cin, int Hin, int Win, int Cout, int R, int S,
                        int st, int pad, int use_fd) {
    clg_conv_desc d;
    CLG_ASSERT_OK(clg_conv_transpose_desc_init(&d, N, Cin, Hin, Win, Cout, R, S, st, pad));
    assert_int_equal(d.K, Cin);
    assert_int_equal(d.P, Hin);
    assert_int_equal(d.H, (Hin - 1) * st - 2 * pad + R);
    size_t ni = (size_t)N * Cin * Hin * Win, no = (size_t)N * Cout * d.H * d.W;
    size_t nw = (size_t)Cin * Cout * R * S;
    float *inp = rnd(ni, 21), *w = rnd(nw, 22), *bias = rnd((size_t)Cout, 23);
    float *dout = rnd(no, 24), *dw0 = rnd(nw, 25), *db0 = rnd((size_t)Cout, 26);
    double *ref = malloc((no > ni ? (no > nw ? no : nw) : (ni > nw ? ni : nw)) * sizeof *ref);
    double *refb = malloc((size_t)Cout * sizeof *refb);
    assert_non_null(ref && refb);
    gtensor ti = dev_make(ctx, N, Cin, Hin, Win, inp, 1);
    gtensor tw = dev_make(ctx, Cin, Cout, R, S, w, 2);
    gtensor tb = dev_make(ctx, 1, Cout, 1, 1, bias, 3);
    gtensor to = dev_make(ctx, N, Cout, d.H, d.W, NULL, 4);
    gtensor tdo = dev_make(ctx, N, Cout, d.H, d.W, dout, 5);
    gtensor tdi = dev_make(ctx, N, Cin, Hin, Win, NULL, 6);
    gtensor tdw = dev_make(ctx, Cin, Cout, R, S, dw0, 7);
    gtensor tdb = dev_make(ctx, 1, Cout, 1, 1, db0, 8);
    char what[128];
    snprintf(what, sizeof what, "convT N%d %d->%d %dx%d k%dx%d s%d p%d", N, Cin, Cout, Hin, Win,
             R, S, st, pad);
    float *got;

    CLG_ASSERT_OK(clg_conv_transpose2d_forward(ctx, &to.t, &ti.t, &tw.t, &tb.t, &d));
    double *inpd = to_double(inp, ni), *wd = to_double(w, nw), *bd = to_double(bias, (size_t)Cout);
    ref_convT_fwd_d(ref, inpd, wd, bd, &d);
    got = dev_get(ctx, &to);
    clg_test_assert_close(got, ref, no, TOL, what, __FILE__, __LINE__);
    free(got);

    CLG_ASSERT_OK(clg_conv_transpose2d_backward_data(ctx, &tdi.t, &tdo.t, &tw.t, &d));
    CLG_ASSERT_OK(clg_conv_transpose2d_backward_weight(ctx, &tdw.t, &tdb.t, &tdo.t, &ti.t, &d));
    float *gdi = dev_get(ctx, &tdi), *gdw = dev_get(ctx, &tdw), *gdb = dev_get(ctx, &tdb);
    double *fo = malloc(no * sizeof *fo);
    assert_non_null(fo);
    if (use_fd) {
        /* L = sum dout * convT(inp, w) + bias; dL/dx by central differences. */
        const double eps = 1e-3;
        double *g = malloc((ni > nw ? ni : nw) * sizeof *g);
        assert_non_null(g);
        for (int which = 0; which < 3; which++) {
            double *x = which == 0 ? inpd : which == 1 ? wd : bd;
            size_t nx = which == 0 ? ni : which == 1 ? nw : (size_t)Cout;
            for (size_t i = 0; i < nx; i++) {
                double keep = x[i], lp = 0, lm = 0;
                x[i] = keep + eps;
                ref_convT_fwd_d(fo, inpd, wd, bd, &d);
                for (size_t j = 0; j < no; j++) lp += dout[j] * fo[j];
                x[i] = keep - eps;
                ref_convT_fwd_d(fo, inpd, wd, bd, &d);
                for (size_t j = 0; j < no; j++) lm += dout[j] * fo[j];
                x[i] = keep;
                g[i] = (lp - lm) / (2 * eps);
                if (which == 1) g[i] += dw0[i];
                if (which == 2) g[i] += db0[i];
            }
            const float *gotx = which == 0 ? gdi : which == 1 ? gdw : gdb;
            char w2[160];
            snprintf(w2, sizeof w2, "%s %s vs finite differences", what,
                     which == 0 ? "dinp" : which == 1 ? "dweight" : "dbias");
            clg_test_assert_close(gotx, g, nx, TOL, w2, __FILE__, __LINE__);
        }
        free(g);
    } else {
        /* Through the adjoint: dinp = conv forward of dout, etc. */
        ref_fwd(ref, dout, w, NULL, &d);
        clg_test_assert_close(gdi, ref, ni, TOL, what, __FILE__, __LINE__);
        float *db0k = calloc((size_t)Cin, sizeof(float));
        double *refbk = malloc((size_t)Cin * sizeof *refbk);
        assert_non_null(db0k && refbk);
        ref_bwd_weight(ref, refbk, dw0, db0k, inp, dout, &d);
        clg_test_assert_close(gdw, ref, nw, TOL, what, __FILE__, __LINE__);
        free(db0k), free(refbk);
        for (int co = 0; co < Cout; co++) {
            double b = db0[co];
            for (int n = 0; n < N; n++)
                for (int i = 0; i < d.H * d.W; i++)
                    b += dout[idx4(n, co, 0, 0, Cout, d.H, d.W) + i];
            refb[co] = b;
        }
        clg_test_assert_close(gdb, refb, (size_t)Cout, TOL, what, __FILE__, __LINE__);
    }
    free(fo), free(gdi), free(gdw), free(gdb), free(inpd), free(wd), free(bd);
    dev_free(ctx, &ti), dev_free(ctx, &tw), dev_free(ctx, &tb), dev_free(ctx, &to);
    dev_free(ctx, &tdo), dev_free(ctx, &tdi), dev_free(ctx, &tdw), dev_free(ctx, &tdb);
    free(inp), free(w), free(bias), free(dout), free(dw0), free(db0), free(ref), free(refb);
}

static void test_transpose_finite_differences(void **state) {
    clg_ctx *ctx = *state;
    check_convT(ctx, 2, 3, 3, 4, 2, 4, 4, 2, 1, 1);
    check_convT(ctx, 1, 2, 1, 1, 3, 4, 4, 1, 0, 1);
    check_convT(ctx, 2, 1, 4, 3, 2, 3, 3, 2, 2, 1);
    if (!clg_test_small()) check_convT(ctx, 1, 3, 5, 5, 2, 5, 3, 2, 1, 1);
}

/* Conv backward passes against central differences of the conv forward. */
static void check_conv_fd(clg_ctx *ctx, const shape *s) {
    clg_conv_desc d;
    make_desc(s, &d);
    size_t ni = (size_t)d.N * d.C * d.H * d.W, no = (size_t)d.N * d.K * d.P * d.Q;
    size_t nw = (size_t)d.K * d.C * d.R * d.S;
    float *inp = rnd(ni, 31), *w = rnd(nw, 32), *dout = rnd(no, 33);
    gtensor ti = dev_make(ctx, d.N, d.C, d.H, d.W, inp, 1);
    gtensor tw = dev_make(ctx, d.K, d.C, d.R, d.S, w, 2);
    gtensor tdo = dev_make(ctx, d.N, d.K, d.P, d.Q, dout, 5);
    gtensor tdi = dev_make(ctx, d.N, d.C, d.H, d.W, NULL, 6);
    float *zero = calloc(nw + (size_t)d.K, sizeof(float));
    assert_non_null(zero);
    gtensor tdw = dev_make(ctx, d.K, d.C, d.R, d.S, zero, 7);
    gtensor tdb = dev_make(ctx, 1, d.K, 1, 1, zero, 8);
    CLG_ASSERT_OK(clg_conv2d_backward_data(ctx, &tdi.t, &tdo.t, &tw.t, &d));
    CLG_ASSERT_OK(clg_conv2d_backward_weight(ctx, &tdw.t, &tdb.t, &tdo.t, &ti.t, &d));
    float *gdi = dev_get(ctx, &tdi), *gdw = dev_get(ctx, &tdw), *gdb = dev_get(ctx, &tdb);
    double *inpd = to_double(inp, ni), *wd = to_double(w, nw);
    double *fo = malloc(no * sizeof *fo), *g = malloc((ni > nw ? ni : nw) * sizeof *g);
    assert_non_null(fo && g);
    const double eps = 1e-3;
    for (int which = 0; which < 2; which++) {
        double *x = which ? wd : inpd;
        size_t nx = which ? nw : ni;
        for (size_t i = 0; i < nx; i++) {
            double keep = x[i], lp = 0, lm = 0;
            x[i] = keep + eps;
            ref_fwd_d(fo, inpd, wd, &d);
            for (size_t j = 0; j < no; j++) lp += dout[j] * fo[j];
            x[i] = keep - eps;
            ref_fwd_d(fo, inpd, wd, &d);
            for (size_t j = 0; j < no; j++) lm += dout[j] * fo[j];
            x[i] = keep;
            g[i] = (lp - lm) / (2 * eps);
        }
        clg_test_assert_close(which ? gdw : gdi, g, nx, TOL, which ? "conv dweight vs FD" :
                              "conv dinp vs FD", __FILE__, __LINE__);
    }
    /* d/dbias of sum dout * (conv + bias) is the sum of dout per channel. */
    for (int k = 0; k < d.K; k++) {
        double b = 0;
        for (int n = 0; n < d.N; n++)
            for (int i = 0; i < d.P * d.Q; i++) b += dout[idx4(n, k, 0, 0, d.K, d.P, d.Q) + i];
        g[k] = b;
    }
    clg_test_assert_close(gdb, g, (size_t)d.K, TOL, "conv dbias", __FILE__, __LINE__);
    free(gdi), free(gdw), free(gdb), free(inpd), free(wd), free(fo), free(g), free(zero);
    dev_free(ctx, &ti), dev_free(ctx, &tw), dev_free(ctx, &tdo), dev_free(ctx, &tdi);
    dev_free(ctx, &tdw), dev_free(ctx, &tdb);
    free(inp), free(w), free(dout);
}

static void test_conv_finite_differences(void **state) {
    static const shape cases[] = {
        {2, 3, 5, 6, 4, 3, 3, 1, 1},
        {2, 2, 7, 6, 3, 4, 4, 2, 1},
        {1, 3, 5, 5, 2, 5, 5, 2, 2},
        {2, 2, 4, 3, 3, 1, 1, 2, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) check_conv_fd(*state, &cases[i]);
}

/* ---- DCGAN layers -------------------------------------------------------- */

typedef struct {
    int transposed, Cin, Cout, Hin, R, st, pad;
} layer;

/* DCGAN-64 and DCGAN-32 (nc = 3, plus nc = 1 for the 32-pixel ends), k4. */
static const layer dcgan_layers[] = {
    /* DCGAN-64 D */
    {0, 3, 64, 64, 4, 2, 1}, {0, 64, 128, 32, 4, 2, 1}, {0, 128, 256, 16, 4, 2, 1},
    {0, 256, 512, 8, 4, 2, 1}, {0, 512, 1, 4, 4, 1, 0},
    /* DCGAN-64 G */
    {1, 100, 512, 1, 4, 1, 0}, {1, 512, 256, 4, 4, 2, 1}, {1, 256, 128, 8, 4, 2, 1},
    {1, 128, 64, 16, 4, 2, 1}, {1, 64, 3, 32, 4, 2, 1},
    /* DCGAN-32 D */
    {0, 3, 64, 32, 4, 2, 1}, {0, 1, 64, 32, 4, 2, 1}, {0, 64, 128, 16, 4, 2, 1},
    {0, 128, 256, 8, 4, 2, 1}, {0, 256, 1, 4, 4, 1, 0},
    /* DCGAN-32 G */
    {1, 100, 256, 1, 4, 1, 0}, {1, 256, 128, 4, 4, 2, 1}, {1, 128, 64, 8, 4, 2, 1},
    {1, 64, 3, 16, 4, 2, 1}, {1, 64, 1, 16, 4, 2, 1},
};

static void layer_desc(const layer *l, int N, clg_conv_desc *d) {
    if (l->transposed)
        CLG_ASSERT_OK(clg_conv_transpose_desc_init(d, N, l->Cin, l->Hin, l->Hin, l->Cout, l->R,
                                                   l->R, l->st, l->pad));
    else
        CLG_ASSERT_OK(clg_conv_desc_init(d, N, l->Cin, l->Hin, l->Hin, l->Cout, l->R, l->R,
                                         l->st, l->pad));
}

static void test_dcgan_layers(void **state) {
    clg_ctx *ctx = *state;
    if (clg_test_small()) skip(); /* too large for Oclgrind; the sweep covers the code paths */
    /* A transposed layer runs its adjoint conv's GEMMs: G's layers repeat
     * D's descriptors, so each distinct descriptor runs once here (and
     * test_dcgan_transposed_and_batch64 checks the transposed mapping). */
    clg_conv_desc seen[sizeof dcgan_layers / sizeof *dcgan_layers];
    int nseen = 0;
    for (size_t i = 0; i < sizeof dcgan_layers / sizeof *dcgan_layers; i++) {
        clg_conv_desc d;
        layer_desc(&dcgan_layers[i], 2, &d);
        int dup = 0;
        for (int j = 0; j < nseen; j++) dup |= !memcmp(&seen[j], &d, sizeof d);
        if (dup) continue;
        seen[nseen++] = d;
        check_all_algos(ctx, &d, 1);
    }
}

static void test_dcgan_transposed_and_batch64(void **state) {
    clg_ctx *ctx = *state;
    if (clg_test_small()) skip();
    for (size_t i = 0; i < sizeof dcgan_layers / sizeof *dcgan_layers; i++) {
        const layer *l = &dcgan_layers[i];
        if (l->transposed)
            check_convT(ctx, 2, l->Cin, l->Hin, l->Hin, l->Cout, l->R, l->R, l->st, l->pad, 0);
    }
    /* The layers whose GEMM columns are the batch itself, at batch 64. */
    clg_conv_desc d;
    layer_desc(&dcgan_layers[4], 64, &d);
    check_all_algos(ctx, &d, 0);
    layer_desc(&dcgan_layers[5], 64, &d);
    check_all_algos(ctx, &d, 0);
    check_convT(ctx, 64, 100, 1, 1, 256, 4, 4, 1, 0, 0);
}

/* ---- argument checks ----------------------------------------------------- */

/* clg_conv_reserve chooses each direction's variant once, as a plain call
 * would (d.plan), and plain calls with that descriptor then run the plan
 * without choosing: with the plan set by hand to each kind of variant, the
 * forward launches that kind's kernel, and every direction stays right. */
static void test_reserve_plans(void **state) {
    clg_ctx *ctx = *state;
    clg_conv_desc d;
    CLG_ASSERT_OK(clg_conv_desc_init(&d, 2, 5, 9, 7, 6, 3, 3, 2, 1));
    assert_int_equal(d.planned, 0);
    CLG_ASSERT_OK(clg_conv_reserve(ctx, &d));
    assert_int_equal(d.planned, 1);
    for (int dir = 0; dir < CLG_CONV_DIR_COUNT; dir++) {
        clg_conv_algo sel;
        CLG_ASSERT_OK(clg_conv_algo_select(ctx, (clg_conv_dir)dir, &d, &sel));
        assert_true(clg_conv_algo_same(&sel, &d.plan[dir]));
    }
    static const char *const fwd_kernel[] = {"conv2d_igemm_tiled", "conv2d_igemm_direct",
                                             "conv2d_igemm_mvec"};
    for (int kind = CLG_CONV_TILED; kind <= CLG_CONV_MVEC; kind++) {
        int i = 0;
        while (i < clg_conv_algo_count() &&
               (clg_conv_algo_at(i)->kind != (clg_conv_kind)kind ||
                clg_conv_algo_check(ctx, clg_conv_algo_at(i)) != CLG_OK))
            i++;
        if (i == clg_conv_algo_count()) continue; /* none launchable here */
        for (int dir = 0; dir < CLG_CONV_DIR_COUNT; dir++) d.plan[dir] = *clg_conv_algo_at(i);
        conv_case c;
        case_init(&c, &d);
        ctx->profile = 1, ctx->profile_kernels = 1;
        const int first = ctx->prof_n;
        check_conv(ctx, &c, NULL, fwd_kernel[kind]);
        int seen = 0;
        for (int e = first; e < ctx->prof_n; e++)
            seen |= !strcmp(ctx->prof_families[e], fwd_kernel[kind]);
        ctx->profile = 0, ctx->profile_kernels = 0;
        CLG_ASSERT_OK(clg_profile_collect(ctx));
        if (!seen) fail_msg("the plan's %s did not run", fwd_kernel[kind]);
        case_free(&c);
    }
}

static void test_invalid_args(void **state) {
    clg_ctx *ctx = *state;
    clg_conv_desc d;
    assert_int_equal(clg_conv_desc_init(&d, 1, 3, 2, 2, 4, 5, 5, 1, 1), CLG_ERR_INVALID_ARG);
    assert_non_null(strstr(clg_last_error(), "larger than the padded input"));
    assert_int_equal(clg_conv_desc_init(&d, 1, 3, 8, 8, 4, 3, 3, 0, 1), CLG_ERR_INVALID_ARG);
    assert_int_equal(clg_conv_desc_init(&d, 0, 3, 8, 8, 4, 3, 3, 1, 1), CLG_ERR_INVALID_ARG);
    assert_int_equal(clg_conv_transpose_desc_init(&d, 1, 3, 1, 1, 4, 1, 1, 1, 1),
                     CLG_ERR_INVALID_ARG);
    CLG_ASSERT_OK(clg_conv_desc_init(&d, 2, 3, 8, 8, 4, 3, 3, 2, 1));
    assert_int_equal(d.P, 4);
    assert_int_equal(d.Q, 4);
    clg_tensor inp = clg_test_tensor(ctx, 2, 3, 8, 8, NULL);
    clg_tensor out = clg_test_tensor(ctx, 2, 4, 4, 4, NULL);
    clg_tensor w = clg_test_tensor(ctx, 4, 3, 3, 3, NULL);
    clg_tensor wbad = clg_test_tensor(ctx, 3, 4, 3, 3, NULL);
    clg_tensor b = clg_test_tensor(ctx, 1, 5, 1, 1, NULL);
    assert_int_equal(clg_conv2d_forward(ctx, &out, &inp, &wbad, NULL, &d), CLG_ERR_INVALID_ARG);
    assert_non_null(strstr(clg_last_error(), "weight is (3, 4, 3, 3), expected (4, 3, 3, 3)"));
    assert_int_equal(clg_conv2d_forward(ctx, &out, &inp, &w, &b, &d), CLG_ERR_INVALID_ARG);
    assert_int_equal(clg_conv2d_backward_data(ctx, &out, &out, &w, &d), CLG_ERR_INVALID_ARG);
    clg_conv_desc bad = d;
    bad.P = 5;
    assert_int_equal(clg_conv2d_forward(ctx, &out, &inp, &w, NULL, &bad), CLG_ERR_INVALID_ARG);
    clg_conv_algo a = *clg_conv_algo_at(0);
    a.wm = 3; /* 64 % 3 != 0 */
    assert_int_equal(clg_conv2d_forward_algo(ctx, &a, &out, &inp, &w, NULL, &d),
                     CLG_ERR_INVALID_ARG);
    /* transposed: d's adjoint is conv(4 -> 3): inp (2, 4, 4, 4) -> out (2, 3, 8, 8) */
    assert_int_equal(clg_conv_transpose2d_forward(ctx, &inp, &inp, &w, NULL, &d),
                     CLG_ERR_INVALID_ARG);
    assert_non_null(strstr(clg_last_error(), "conv_transpose2d_forward"));
    clg_tensor_free(ctx, &inp), clg_tensor_free(ctx, &out), clg_tensor_free(ctx, &w);
    clg_tensor_free(ctx, &wbad), clg_tensor_free(ctx, &b);
}

static void test_algo_strings(void **state) {
    (void)state;
    char buf[64];
    for (int i = 0; i < clg_conv_algo_count(); i++) {
        clg_conv_algo a = *clg_conv_algo_at(i), back;
        a.split = i % 2 ? 5 : 0;
        clg_conv_algo_format(&a, buf, sizeof buf);
        CLG_ASSERT_OK(clg_conv_algo_parse(buf, &back));
        assert_memory_equal(&a, &back, sizeof a);
    }
    /* Two variants are the same exactly when their text forms are. */
    for (int i = 0; i < clg_conv_algo_count(); i++)
        for (int j = 0; j < clg_conv_algo_count(); j++)
            for (int sp = 0; sp < 2; sp++) {
                clg_conv_algo x = *clg_conv_algo_at(i), y = *clg_conv_algo_at(j);
                char bx[64], by[64];
                y.split = sp * 3;
                clg_conv_algo_format(&x, bx, sizeof bx);
                clg_conv_algo_format(&y, by, sizeof by);
                assert_int_equal(clg_conv_algo_same(&x, &y), !strcmp(bx, by));
            }
    clg_conv_algo a;
    assert_int_equal(clg_conv_algo_parse("tiled:64x64x16:3x8", &a), CLG_ERR_FORMAT);
    assert_int_equal(clg_conv_algo_parse("tiled:64x64x16:8x8junk", &a), CLG_ERR_FORMAT);
    /* A tampered tune table (issue 13): sizes whose products overflow an
     * int (they once made a divisor 0) are refused, not used. */
    assert_int_equal(clg_conv_algo_parse("tiled:1073741824x1073741824x1:1x1", &a),
                     CLG_ERR_FORMAT);
    assert_int_equal(clg_conv_algo_parse("tiled:2048x2048x2048:16x16", &a), CLG_ERR_FORMAT);
    assert_int_equal(clg_conv_algo_parse("direct:1x1:99999x1:8x8x8", &a), CLG_ERR_FORMAT);
    /* Whole table lines (what fuzz_tune feeds): kept only when every field is. */
    clg_conv_tune_entry e;
    assert_int_equal(clg_conv_tune_parse_line("bwd_data 64 16 16 16 32 4 4 2 1 "
                                              "direct:2x4:8x8:32x32x8:s2\n", &e), 1);
    assert_int_equal(e.dir, CLG_CONV_BWD_DATA);
    assert_int_equal(e.v[0], 64);
    assert_int_equal(e.v[8], 1);
    assert_int_equal(e.algo.kind, CLG_CONV_DIRECT);
    assert_int_equal(e.algo.split, 2);
    const char *ignored[] = {"# a comment\n", "sideways 1 1 1 1 1 1 1 1 1 tiled:64x64x16:4x4\n",
                             "fwd 1 1 1 1 1 1 1 1 tiled:64x64x16:4x4\n",
                             "fwd 1 1 1 1 1 1 1 1 1 tiled:2048x2048x2048:16x16\n", ""};
    for (int i = 0; i < 5; i++) assert_int_equal(clg_conv_tune_parse_line(ignored[i], &e), 0);
    /* The quick tune's lines: a default and its replacement. */
    assert_int_equal(
        clg_conv_tune_parse_line("default bwd_weight mvec:4x16:6:8x1 mvec:2x8:8:8x1\n", &e), 1);
    assert_int_equal(e.is_default, 1);
    assert_int_equal(e.dir, CLG_CONV_BWD_WEIGHT);
    assert_int_equal(e.from.kind, CLG_CONV_MVEC);
    assert_int_equal(e.from.wm, 4);
    assert_int_equal(e.algo.vw, 8);
    assert_int_equal(e.algo.nb, 8);
    const char *bad_defaults[] = {"default mvec:4x16:6:8x1 mvec:2x8:8:8x1\n", /* no direction */
                                  "default fwd mvec:4x16:6:8x1\n",
                                  "default fwd junk mvec:2x8:8:8x1\n",
                                  "default fwd mvec:4x16:6:8x1 tiled:2048x2048x2048:16x16\n"};
    for (int i = 0; i < 4; i++)
        assert_int_equal(clg_conv_tune_parse_line(bad_defaults[i], &e), 0);
}

/* A stored choice is found again, also after the table is re-read from disk. */
static void test_tune_store_lookup(void **state) {
    clg_ctx *ctx = *state;
    char dir[] = "/tmp/clgan-conv-tune-XXXXXX", other[] = "/tmp/clgan-conv-tune-XXXXXX";
    assert_non_null(mkdtemp(dir));
    assert_non_null(mkdtemp(other));
    clg_test_cache_env env;
    clg_test_cache_env_set(&env, dir);
    clg_conv_desc d, d2;
    CLG_ASSERT_OK(clg_conv_desc_init(&d, 7, 3, 9, 9, 5, 3, 3, 2, 1));
    CLG_ASSERT_OK(clg_conv_desc_init(&d2, 8, 3, 9, 9, 5, 3, 3, 2, 1));
    clg_conv_algo a = *clg_conv_algo_at(3), got;
    a.split = 2;
    int found = 1;
    CLG_ASSERT_OK(clg_conv_tune_lookup(ctx, CLG_CONV_BWD_DATA, &d, &got, &found));
    assert_int_equal(found, 0);
    CLG_ASSERT_OK(clg_conv_tune_store(ctx, CLG_CONV_BWD_DATA, &d, &a));
    CLG_ASSERT_OK(clg_conv_tune_lookup(ctx, CLG_CONV_BWD_DATA, &d, &got, &found));
    assert_int_equal(found, 1);
    assert_memory_equal(&got, &a, sizeof a);
    /* other direction, other batch: not found */
    CLG_ASSERT_OK(clg_conv_tune_lookup(ctx, CLG_CONV_FWD, &d, &got, &found));
    assert_int_equal(found, 0);
    CLG_ASSERT_OK(clg_conv_tune_lookup(ctx, CLG_CONV_BWD_DATA, &d2, &got, &found));
    assert_int_equal(found, 0);
    /* away and back: the table is read from the file */
    setenv("XDG_CACHE_HOME", other, 1);
    CLG_ASSERT_OK(clg_conv_tune_lookup(ctx, CLG_CONV_BWD_DATA, &d, &got, &found));
    assert_int_equal(found, 0);
    setenv("XDG_CACHE_HOME", dir, 1);
    CLG_ASSERT_OK(clg_conv_tune_lookup(ctx, CLG_CONV_BWD_DATA, &d, &got, &found));
    assert_int_equal(found, 1);
    assert_memory_equal(&got, &a, sizeof a);
    char path[4096], cmd[8400];
    CLG_ASSERT_OK(clg_conv_tune_path(ctx, path, sizeof path));
    assert_int_equal(remove(path), 0);
    snprintf(cmd, sizeof cmd, "%s/clgan", dir);
    rmdir(cmd), rmdir(dir), rmdir(other);
    clg_test_cache_env_restore(&env);
}

static void count_progress(void *user, int done, int total) {
    int *calls = user;
    assert_int_equal(done, ++*calls);
    assert_true(done <= total);
}

/* The quick tune stores a replacement for the default of the shapes it
 * timed, plain calls pick it up, a hand-stored one is followed, and a
 * choice stored for the very shape still wins. Its own cache (programs
 * included), two candidates. */
static void test_quick_tune(void **state) {
    clg_ctx *ctx = *state;
    char dir[] = "/tmp/clgan-conv-quick-XXXXXX";
    assert_non_null(mkdtemp(dir));
    clg_test_cache_env env;
    clg_test_cache_env_set(&env, dir);
    clg_conv_desc d, other;
    CLG_ASSERT_OK(clg_conv_desc_init(&d, 2, 8, 6, 6, 32, 3, 3, 1, 1));
    CLG_ASSERT_OK(clg_conv_desc_init(&other, 3, 8, 6, 6, 32, 3, 3, 1, 1));
    clg_conv_dir fwd = CLG_CONV_FWD;
    clg_conv_algo def, got;
    clg_conv_algo_default(ctx, fwd, &d, &def);
    assert_int_equal(clg_conv_quick_done(ctx), 0);
    /* A line for a variant no shape takes by default leaves the work to do. */
    CLG_ASSERT_OK(clg_conv_tune_default_store(ctx, CLG_CONV_FWD, clg_conv_algo_at(1),
                                              clg_conv_algo_at(1)));
    assert_int_equal(clg_conv_quick_done(ctx), 0);
    int calls = 0;
    CLG_ASSERT_OK(clg_conv_quick_tune_shapes(ctx, &d, &fwd, 1, 2, count_progress, &calls));
    assert_true(calls >= 1 && calls <= 2);
    clg_conv_algo stored;
    int found = 0;
    CLG_ASSERT_OK(clg_conv_tune_default_lookup(ctx, fwd, &def, &stored, &found));
    assert_int_equal(found, 1);
    assert_int_equal(stored.kind, def.kind); /* a candidate of the default's kind */
    CLG_ASSERT_OK(clg_conv_algo_select(ctx, fwd, &other, &got));
    assert_true(clg_conv_algo_same(&got, &stored));
    /* Another variant of the same kind, stored by hand, is followed. */
    clg_conv_algo alt = def;
    for (int i = 0; i < clg_conv_algo_count(); i++) {
        clg_conv_algo a = *clg_conv_algo_at(i);
        if (a.kind == CLG_CONV_MVEC) a.vw = def.vw;
        if (a.kind == def.kind && !clg_conv_algo_same(&a, &def) && clg_conv_algo_check(ctx, &a) == CLG_OK)
            alt = a;
    }
    assert_false(clg_conv_algo_same(&alt, &def));
    CLG_ASSERT_OK(clg_conv_tune_default_store(ctx, fwd, &def, &alt));
    CLG_ASSERT_OK(clg_conv_algo_select(ctx, fwd, &other, &got));
    assert_true(clg_conv_algo_same(&got, &alt));
    /* ... in its direction only: backward-data keeps its own. */
    clg_conv_algo def_bd;
    clg_conv_algo_default(ctx, CLG_CONV_BWD_DATA, &other, &def_bd);
    CLG_ASSERT_OK(clg_conv_algo_select(ctx, CLG_CONV_BWD_DATA, &other, &got));
    assert_true(clg_conv_algo_same(&got, &def_bd));
    /* A choice for the very shape comes first. */
    CLG_ASSERT_OK(clg_conv_tune_store(ctx, fwd, &other, &def));
    CLG_ASSERT_OK(clg_conv_algo_select(ctx, fwd, &other, &got));
    assert_true(clg_conv_algo_same(&got, &def));
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    clg_test_cache_env_restore(&env);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reserve_plans),
        cmocka_unit_test(test_invalid_args),
        cmocka_unit_test(test_algo_strings),
        cmocka_unit_test(test_tune_store_lookup),
        cmocka_unit_test(test_quick_tune),
        cmocka_unit_test(test_sweep),
        cmocka_unit_test(test_conv_finite_differences),
        cmocka_unit_test(test_transpose_finite_differences),
        cmocka_unit_test(test_dcgan_layers),
        cmocka_unit_test(test_dcgan_transposed_and_batch64),
    };
    return cmocka_run_group_tests_name("conv", tests, clg_test_group_setup,
                                       clg_test_group_teardown);
}
