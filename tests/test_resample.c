/* test_resample.c: avgpool2x, blur_down and upsample2x (host/resample.h),
 * forward and backward, against plain C in double, on awkward shapes (N = 1,
 * odd N and C, H or W = 1 or 2, H != W), each tensor placed at a non-zero
 * offset between guard floats that must stay untouched.
 *
 * The C reference builds each op's 1-D operator as a dense matrix R
 * (out x in) from the definitions, independently of the kernels' tap
 * functions: the upsampling one from PyTorch's source-index rule
 * (src = (o + 0.5) / 2 - 0.5, clamped at 0; i1 = min(i0 + 1, n - 1)), so the
 * kernels' closed form (1/4, 3/4 weights) is checked against it. Then
 * out = Ry X Rx^T and dx = Ry^T dout Rx.
 *
 * Tolerances (max |got - ref| / max |ref|, clg_test_rel_err):
 *   forward, backward vs reference: 2e-6. Each element is a sum of at most
 *   25 (forward) or 16 (backward) products with exactly representable
 *   weights, so float gets it within about 26 ulps of its absolute sum, and
 *   that sum is at most 4 max|input| (a forward row of weights sums to 1 per
 *   axis, a backward column to at most 2): under 1e-6 of max|ref| for the
 *   random data here, whose outputs reach about half of max|input|;
 *   adjoint, |<A x, y> - <x, A^T y>| <= 4e-6 <|y|, A|x|>: both sides are
 *   double sums of float elements, each within 26 * 2^-24 (1.6e-6) of its
 *   absolute sum, which <|y|, A|x|> (= <A^T|y|, |x|>) bounds;
 *   pyramid identity, up(down(I)) + (I - up(down(I))) vs I: 1e-6, two
 *   float roundings of values at most 3 max|I|. */
#include "testutil.h"
#include "elementwise.h"
#include "resample.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PAD 7 /* guard floats before and after each tensor */

typedef enum { OP_AVGPOOL, OP_BLUR, OP_UP, OP_COUNT } op_kind;
static const char *op_names[OP_COUNT] = {"avgpool2x", "blur_down", "upsample2x"};

typedef clg_status (*resample_fn)(clg_ctx *, const clg_tensor *, const clg_tensor *);
static const resample_fn fwd_fn[OP_COUNT] = {clg_avgpool2x_forward, clg_blur_down_forward,
                                             clg_upsample2x_forward};
static const resample_fn bwd_fn[OP_COUNT] = {clg_avgpool2x_backward, clg_blur_down_backward,
                                             clg_upsample2x_backward};

static int out_size(op_kind op, int n) { return op == OP_UP ? 2 * n : n / 2; }

/* The op's 1-D operator over an axis of n inputs: R (out_size x n), row-major. */
static double *axis_matrix(op_kind op, int n) {
    const int m = out_size(op, n);
    double *r = calloc((size_t)m * n, sizeof *r);
    assert_non_null(r);
    for (int o = 0; o < m; o++) {
        double *row = r + (size_t)o * n;
        if (op == OP_AVGPOOL) {
            row[2 * o] = row[2 * o + 1] = 0.5;
        } else if (op == OP_BLUR) {
            static const double w5[5] = {1, 4, 6, 4, 1};
            for (int a = 0; a < 5; a++) {
                int j = 2 * o + a - 2;
                j = j < 0 ? 0 : j > n - 1 ? n - 1 : j;
                row[j] += w5[a] / 16.0;
            }
        } else {
            double src = (o + 0.5) * 0.5 - 0.5;
            if (src < 0) src = 0;
            int i0 = (int)floor(src), i1 = i0 + 1 < n ? i0 + 1 : n - 1;
            double l1 = src - i0;
            row[i0] += 1.0 - l1;
            row[i1] += l1;
        }
    }
    return r;
}

/* out[p] = Ry in[p] Rx^T (transpose = 0) or Ry^T in[p] Rx (transpose = 1) for
 * each of `planes` planes; (h, w) is the op's input size. */
static void ref_apply(op_kind op, int transpose, int planes, int h, int w, const double *in,
                      double *out) {
    const int oh = out_size(op, h), ow = out_size(op, w);
    double *ry = axis_matrix(op, h), *rx = axis_matrix(op, w);
    const int ih = transpose ? oh : h, iw = transpose ? ow : w; /* in's plane */
    const int rh = transpose ? h : oh, rw = transpose ? w : ow; /* out's plane */
    for (int p = 0; p < planes; p++) {
        const double *src = in + (size_t)p * ih * iw;
        double *dst = out + (size_t)p * rh * rw;
        for (int y = 0; y < rh; y++)
            for (int x = 0; x < rw; x++) {
                double acc = 0;
                for (int a = 0; a < ih; a++)
                    for (int b = 0; b < iw; b++) {
                        double wy = transpose ? ry[(size_t)a * h + y] : ry[(size_t)y * h + a];
                        double wx = transpose ? rx[(size_t)b * w + x] : rx[(size_t)x * w + b];
                        acc += wy * wx * src[(size_t)a * iw + b];
                    }
                dst[(size_t)y * rw + x] = acc;
            }
    }
    free(ry), free(rx);
}

/* A device tensor of shape (n, c, h, w) PAD floats into a buffer filled from
 * `host` (numel + 2 PAD floats); the buffer is returned, the view in *view. */
static clg_tensor padded(clg_ctx *ctx, int n, int c, int h, int w, const float *host,
                         clg_tensor *view) {
    size_t numel = (size_t)n * c * h * w;
    clg_tensor t = clg_test_tensor(ctx, 1, (int)(numel + 2 * PAD), 1, 1, host);
    *view = clg_tensor_slice(&t, PAD, n, c, h, w);
    return t;
}

/* Downloads the padded buffer into got and checks that the guards kept `orig`. */
static void download_guarded(clg_ctx *ctx, const clg_tensor *t, float *got, const float *orig,
                             size_t numel) {
    CLG_ASSERT_OK(clg_tensor_download(ctx, t, got));
    for (size_t i = 0; i < PAD; i++) {
        assert_true(got[i] == orig[i]);
        assert_true(got[PAD + numel + i] == orig[PAD + numel + i]);
    }
}

static double *to_double(const float *x, size_t n, int absolute) {
    double *d = malloc(n * sizeof *d);
    assert_non_null(d);
    for (size_t i = 0; i < n; i++) d[i] = absolute ? fabs((double)x[i]) : x[i];
    return d;
}

static double dot(const float *a, const float *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

/* One op on input shape (n, c, h, w): forward and backward vs the reference,
 * then the adjoint identity <A x, y> = <x, A^T y>. */
static void run_op(clg_ctx *ctx, op_kind op, int n, int c, int h, int w) {
    const int oh = out_size(op, h), ow = out_size(op, w), planes = n * c;
    const size_t nin = (size_t)planes * h * w, nout = (size_t)planes * oh * ow;
    const size_t bin = nin + 2 * PAD, bout = nout + 2 * PAD;
    float *x = malloc(bin * sizeof *x), *y = malloc(bout * sizeof *y);
    float *junk_in = malloc(bin * sizeof *junk_in), *junk_out = malloc(bout * sizeof *junk_out);
    float *ax = malloc(bout * sizeof *ax), *aty = malloc(bin * sizeof *aty);
    double *ref_out = malloc(nout * sizeof *ref_out), *ref_in = malloc(nin * sizeof *ref_in);
    assert_non_null(x && y && junk_in && junk_out && ax && aty && ref_out && ref_in);
    clg_test_fill_uniform(x, bin, 100 + nin + op, -2.0f, 2.0f);
    clg_test_fill_uniform(y, bout, 200 + nout + op, -2.0f, 2.0f);
    clg_test_fill_uniform(junk_in, bin, 300 + nin, -9.0f, 9.0f);
    clg_test_fill_uniform(junk_out, bout, 400 + nout, -9.0f, 9.0f);
    clg_tensor vx, vy, vax, vaty;
    clg_tensor tx = padded(ctx, n, c, h, w, x, &vx);
    clg_tensor ty = padded(ctx, n, c, oh, ow, y, &vy);
    clg_tensor tax = padded(ctx, n, c, oh, ow, junk_out, &vax);
    clg_tensor taty = padded(ctx, n, c, h, w, junk_in, &vaty);

    CLG_ASSERT_OK(fwd_fn[op](ctx, &vax, &vx));
    download_guarded(ctx, &tax, ax, junk_out, nout);
    double *xd = to_double(x + PAD, nin, 0);
    ref_apply(op, 0, planes, h, w, xd, ref_out);
    CLG_ASSERT_CLOSE(ax + PAD, ref_out, nout, 2e-6);

    CLG_ASSERT_OK(bwd_fn[op](ctx, &vaty, &vy));
    download_guarded(ctx, &taty, aty, junk_in, nin);
    double *yd = to_double(y + PAD, nout, 0);
    ref_apply(op, 1, planes, h, w, yd, ref_in);
    CLG_ASSERT_CLOSE(aty + PAD, ref_in, nin, 2e-6);

    /* <A x, y> vs <x, A^T y>, both from device results */
    double lhs = dot(ax + PAD, y + PAD, nout), rhs = dot(x + PAD, aty + PAD, nin);
    double *xabs = to_double(x + PAD, nin, 1), scale = 0;
    ref_apply(op, 0, planes, h, w, xabs, ref_out);
    for (size_t i = 0; i < nout; i++) scale += fabs((double)y[PAD + i]) * ref_out[i];
    if (!(fabs(lhs - rhs) <= 4e-6 * scale))
        fail_msg("%s (%d, %d, %d, %d): <Ax, y> = %.12g but <x, A^T y> = %.12g (scale %.6g)",
                 op_names[op], n, c, h, w, lhs, rhs, scale);

    clg_tensor_free(ctx, &tx), clg_tensor_free(ctx, &ty);
    clg_tensor_free(ctx, &tax), clg_tensor_free(ctx, &taty);
    free(x), free(y), free(junk_in), free(junk_out), free(ax), free(aty);
    free(ref_out), free(ref_in), free(xd), free(yd), free(xabs);
}

/* Input shapes (n, c, h, w): even H, W for the down ops, any for upsampling. */
static const int down_shapes[][4] = {{1, 1, 2, 2}, {1, 3, 10, 14}, {3, 5, 6, 2}, {2, 3, 4, 40}};
static const int up_shapes[][4] = {{1, 1, 1, 1}, {1, 3, 5, 7}, {3, 5, 7, 1}, {2, 1, 2, 9}};
static const int big_down[4] = {2, 3, 64, 48}, big_up[4] = {2, 3, 32, 24};

static void run_shapes(void **state, op_kind op) {
    const int(*shapes)[4] = op == OP_UP ? up_shapes : down_shapes;
    for (int i = 0; i < 4; i++)
        run_op(*state, op, shapes[i][0], shapes[i][1], shapes[i][2], shapes[i][3]);
    if (!clg_test_small()) {
        const int *b = op == OP_UP ? big_up : big_down;
        run_op(*state, op, b[0], b[1], b[2], b[3]);
    }
}

static void test_avgpool2x(void **state) { run_shapes(state, OP_AVGPOOL); }
static void test_blur_down(void **state) { run_shapes(state, OP_BLUR); }
static void test_upsample2x(void **state) { run_shapes(state, OP_UP); }

/* Values written out by hand, not by the reference: PyTorch's
 * F.interpolate(x, scale_factor=2, mode='bilinear', align_corners=False) of
 * [[1, 2], [3, 4]], the 2x2 mean of it, and the binomial REDUCE of an 8x8
 * impulse at (4, 4): (6/16)^2 at output (2, 2) which is centred on it,
 * (1/16)(6/16) one output over (the impulse on its outer tap), 0 two over. */
static void test_known_values(void **state) {
    clg_ctx *ctx = *state;
    const float x[4] = {1, 2, 3, 4};
    const float want_up[16] = {1.0f, 1.25f, 1.75f, 2.0f, 1.5f, 1.75f, 2.25f, 2.5f,
                               2.5f, 2.75f, 3.25f, 3.5f, 3.0f, 3.25f, 3.75f, 4.0f};
    float got[16], impulse[64] = {0};
    clg_tensor tx = clg_test_tensor(ctx, 1, 1, 2, 2, x);
    clg_tensor tu = clg_test_tensor(ctx, 1, 1, 4, 4, NULL);
    clg_tensor tp = clg_test_tensor(ctx, 1, 1, 1, 1, NULL);
    CLG_ASSERT_OK(clg_upsample2x_forward(ctx, &tu, &tx));
    CLG_ASSERT_OK(clg_tensor_download(ctx, &tu, got));
    for (int i = 0; i < 16; i++) assert_true(got[i] == want_up[i]);
    CLG_ASSERT_OK(clg_avgpool2x_forward(ctx, &tp, &tx));
    CLG_ASSERT_OK(clg_tensor_download(ctx, &tp, got));
    assert_true(got[0] == 2.5f);

    impulse[4 * 8 + 4] = 1.0f;
    clg_tensor ti = clg_test_tensor(ctx, 1, 1, 8, 8, impulse);
    clg_tensor tb = clg_test_tensor(ctx, 1, 1, 4, 4, NULL);
    CLG_ASSERT_OK(clg_blur_down_forward(ctx, &tb, &ti));
    CLG_ASSERT_OK(clg_tensor_download(ctx, &tb, got));
    assert_true(got[2 * 4 + 2] == 36.0f / 256.0f);
    assert_true(got[2 * 4 + 1] == 6.0f / 256.0f && got[1 * 4 + 2] == 6.0f / 256.0f);
    assert_true(got[1 * 4 + 1] == 1.0f / 256.0f && got[2 * 4 + 0] == 0.0f);
    clg_tensor_free(ctx, &tx), clg_tensor_free(ctx, &tu), clg_tensor_free(ctx, &tp);
    clg_tensor_free(ctx, &ti), clg_tensor_free(ctx, &tb);
}

/* Laplacian-pyramid round trip through the device, with I, down(I),
 * u = up(down(I)), h = I - u and r = u + h packed back to back in one buffer
 * (so a write past any of them lands in a neighbour): r must equal I to float
 * rounding, I must be untouched, and u must match the reference (so the
 * identity is not met by u = 0). Run with both down ops. */
static void test_pyramid_identity(void **state) {
    clg_ctx *ctx = *state;
    const int n = 2, c = 3, h = clg_test_small() ? 6 : 34, w = clg_test_small() ? 10 : 18;
    const size_t big = (size_t)n * c * h * w, small = big / 4;
    const size_t total = PAD + 4 * big + small + PAD;
    float *host = malloc(total * sizeof *host), *got = malloc(total * sizeof *got);
    double *ref_d = malloc(small * sizeof *ref_d), *ref_u = malloc(big * sizeof *ref_u);
    double *ref_i = malloc(big * sizeof *ref_i);
    assert_non_null(host && got && ref_d && ref_u && ref_i);
    const op_kind downs[2] = {OP_BLUR, OP_AVGPOOL};
    for (int k = 0; k < 2; k++) {
        clg_test_fill_uniform(host, total, 77 + k, -1.0f, 1.0f);
        clg_tensor buf = clg_test_tensor(ctx, 1, (int)total, 1, 1, host);
        size_t at = PAD;
        clg_tensor ti = clg_tensor_slice(&buf, at, n, c, h, w);
        clg_tensor td = clg_tensor_slice(&buf, at += big, n, c, h / 2, w / 2);
        clg_tensor tu = clg_tensor_slice(&buf, at += small, n, c, h, w);
        clg_tensor th = clg_tensor_slice(&buf, at += big, n, c, h, w);
        clg_tensor tr = clg_tensor_slice(&buf, at += big, n, c, h, w);
        CLG_ASSERT_OK(fwd_fn[downs[k]](ctx, &td, &ti));
        CLG_ASSERT_OK(clg_upsample2x_forward(ctx, &tu, &td));
        CLG_ASSERT_OK(clg_copy(ctx, &th, &ti));
        CLG_ASSERT_OK(clg_axpy(ctx, &th, -1.0f, &tu));
        CLG_ASSERT_OK(clg_add(ctx, &tr, &tu, &th));
        CLG_ASSERT_OK(clg_tensor_download(ctx, &buf, got));
        for (size_t i = 0; i < PAD; i++) assert_true(got[i] == host[i]);
        for (size_t i = PAD + 4 * big + small; i < total; i++) assert_true(got[i] == host[i]);
        for (size_t i = 0; i < big; i++) assert_true(got[PAD + i] == host[PAD + i]);
        double *id = to_double(host + PAD, big, 0);
        ref_apply(downs[k], 0, n * c, h, w, id, ref_d);
        ref_apply(OP_UP, 0, n * c, h / 2, w / 2, ref_d, ref_u);
        CLG_ASSERT_CLOSE(got + PAD + big + small, ref_u, big, 2e-6);
        for (size_t i = 0; i < big; i++) ref_i[i] = host[PAD + i];
        CLG_ASSERT_CLOSE(got + PAD + 3 * big + small, ref_i, big, 1e-6);
        clg_tensor_free(ctx, &buf);
        free(id);
    }
    free(host), free(got), free(ref_d), free(ref_u), free(ref_i);
}

static void expect_invalid(clg_status s, const char *needle) {
    assert_int_equal(s, CLG_ERR_INVALID_ARG);
    if (!strstr(clg_last_error(), needle))
        fail_msg("error \"%s\" does not mention \"%s\"", clg_last_error(), needle);
}

static void test_bad_shapes_rejected(void **state) {
    clg_ctx *ctx = *state;
    clg_tensor odd = clg_test_tensor(ctx, 1, 3, 5, 6, NULL);
    clg_tensor half = clg_test_tensor(ctx, 1, 3, 2, 3, NULL);
    clg_tensor big = clg_test_tensor(ctx, 1, 3, 4, 6, NULL);
    clg_tensor other_c = clg_test_tensor(ctx, 1, 2, 2, 3, NULL);
    expect_invalid(clg_avgpool2x_forward(ctx, &half, &odd),
                   "avgpool2x_forward: x (1, 3, 5, 6): height and width must be even");
    expect_invalid(clg_blur_down_backward(ctx, &odd, &half), "blur_down_backward: dx (1, 3, 5, 6)");
    expect_invalid(clg_blur_down_forward(ctx, &other_c, &big),
                   "blur_down_forward: x (1, 3, 4, 6) is not out (1, 2, 2, 3)");
    expect_invalid(clg_upsample2x_forward(ctx, &odd, &half),
                   "upsample2x_forward: out (1, 3, 5, 6) is not x (1, 3, 2, 3)");
    expect_invalid(clg_upsample2x_backward(ctx, &other_c, &big), "upsample2x_backward");
    CLG_ASSERT_OK(clg_upsample2x_forward(ctx, &big, &half));
    CLG_ASSERT_OK(clg_ctx_finish(ctx));
    clg_tensor_free(ctx, &odd), clg_tensor_free(ctx, &half);
    clg_tensor_free(ctx, &big), clg_tensor_free(ctx, &other_c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_avgpool2x),
        cmocka_unit_test(test_blur_down),
        cmocka_unit_test(test_upsample2x),
        cmocka_unit_test(test_known_values),
        cmocka_unit_test(test_pyramid_identity),
        cmocka_unit_test(test_bad_shapes_rejected),
    };
    return cmocka_run_group_tests_name("resample", tests, clg_test_group_setup,
                                       clg_test_group_teardown);
}
