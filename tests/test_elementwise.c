/* test_elementwise.c: fill, copy, scale, axpy, add, mul against plain C, on
 * awkward sizes (1, 7, 1000003: not multiples of the work-group size) and at
 * a non-zero offset inside a buffer. Tolerance: exact for fill and copy;
 * 1e-6 relative to the tensor's scale for arithmetic (one float rounding).
 *
 * concat_planes forward and dx: exact (copies). dv, a float sum of H*W
 * terms in four running sums: 2e-6 relative to max |dv|; the adjoint
 * identity <concat(x, v), y> = <x, dx> + <v, dv>: 1e-6 of the sum of
 * |terms|. Both hold with room at H*W <= 1024: each running sum of <= 256
 * terms of |.| <= 1 is within 256 ulps (1.5e-5) of its absolute sum in the
 * worst case, ~16 ulps typically, and the random-sign sums are ~sqrt(H*W)
 * in size. */
#include "testutil.h"
#include "elementwise.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const size_t sizes_full[] = {1, 7, 1000003};
static const size_t sizes_small[] = {1, 7, 1031};

static size_t nsizes(const size_t **sizes) {
    *sizes = clg_test_small() ? sizes_small : sizes_full;
    return 3;
}

typedef enum { OP_FILL, OP_COPY, OP_SCALE, OP_AXPY, OP_ADD, OP_MUL } op_kind;

/* Runs one op on n elements placed `pad` floats into their buffers, and
 * checks both the result and that the padding in front was not touched. */
static void run_op(clg_ctx *ctx, op_kind op, size_t n) {
    const size_t pad = 5;
    float *a = malloc((n + pad) * sizeof *a), *b = malloc((n + pad) * sizeof *b);
    float *y = malloc((n + pad) * sizeof *y), *got = malloc((n + pad) * sizeof *got);
    double *ref = malloc(n * sizeof *ref);
    assert_non_null(a && b && y && got && ref);
    clg_test_fill_uniform(a, n + pad, 1 + n, -2.0f, 2.0f);
    clg_test_fill_uniform(b, n + pad, 2 + n, -2.0f, 2.0f);
    clg_test_fill_uniform(y, n + pad, 3 + n, -2.0f, 2.0f);
    clg_tensor ta = clg_test_tensor(ctx, 1, (int)(n + pad), 1, 1, a);
    clg_tensor tb = clg_test_tensor(ctx, 1, (int)(n + pad), 1, 1, b);
    clg_tensor ty = clg_test_tensor(ctx, 1, (int)(n + pad), 1, 1, y);
    clg_tensor va = clg_tensor_slice(&ta, pad, 1, (int)n, 1, 1);
    clg_tensor vb = clg_tensor_slice(&tb, pad, 1, (int)n, 1, 1);
    clg_tensor vy = clg_tensor_slice(&ty, pad, 1, (int)n, 1, 1);
    const float s = 0.37f;
    double tol = 1e-6;
    switch (op) {
    case OP_FILL:
        CLG_ASSERT_OK(clg_fill(ctx, &vy, -3.25f));
        for (size_t i = 0; i < n; i++) ref[i] = -3.25;
        tol = 0.0;
        break;
    case OP_COPY:
        CLG_ASSERT_OK(clg_copy(ctx, &vy, &va));
        for (size_t i = 0; i < n; i++) ref[i] = a[pad + i];
        tol = 0.0;
        break;
    case OP_SCALE:
        CLG_ASSERT_OK(clg_scale(ctx, &vy, &va, s));
        for (size_t i = 0; i < n; i++) ref[i] = (double)s * a[pad + i];
        break;
    case OP_AXPY:
        CLG_ASSERT_OK(clg_axpy(ctx, &vy, s, &va));
        for (size_t i = 0; i < n; i++) ref[i] = y[pad + i] + (double)s * a[pad + i];
        break;
    case OP_ADD:
        CLG_ASSERT_OK(clg_add(ctx, &vy, &va, &vb));
        for (size_t i = 0; i < n; i++) ref[i] = (double)a[pad + i] + b[pad + i];
        break;
    case OP_MUL:
        CLG_ASSERT_OK(clg_mul(ctx, &vy, &va, &vb));
        for (size_t i = 0; i < n; i++) ref[i] = (double)a[pad + i] * b[pad + i];
        break;
    }
    CLG_ASSERT_OK(clg_tensor_download(ctx, &ty, got));
    for (size_t i = 0; i < pad; i++) assert_true(got[i] == y[i]); /* untouched */
    CLG_ASSERT_CLOSE(got + pad, ref, n, tol);
    clg_tensor_free(ctx, &ta);
    clg_tensor_free(ctx, &tb);
    clg_tensor_free(ctx, &ty);
    free(a), free(b), free(y), free(got), free(ref);
}

static void run_all_sizes(void **state, op_kind op) {
    const size_t *sizes;
    size_t k = nsizes(&sizes);
    for (size_t i = 0; i < k; i++) run_op(*state, op, sizes[i]);
}

static void test_fill(void **state) { run_all_sizes(state, OP_FILL); }
static void test_copy(void **state) { run_all_sizes(state, OP_COPY); }
static void test_scale(void **state) { run_all_sizes(state, OP_SCALE); }
static void test_axpy(void **state) { run_all_sizes(state, OP_AXPY); }
static void test_add(void **state) { run_all_sizes(state, OP_ADD); }
static void test_mul(void **state) { run_all_sizes(state, OP_MUL); }

static void test_mismatched_sizes_rejected(void **state) {
    clg_ctx *ctx = *state;
    clg_tensor a = clg_test_tensor(ctx, 1, 10, 1, 1, NULL);
    clg_tensor b = clg_test_tensor(ctx, 1, 11, 1, 1, NULL);
    assert_int_equal(clg_copy(ctx, &a, &b), CLG_ERR_INVALID_ARG);
    assert_non_null(strstr(clg_last_error(), "element counts differ"));
    clg_tensor_free(ctx, &a);
    clg_tensor_free(ctx, &b);
}

/* concat_planes on (n, c, h, w) with l label channels. Every tensor is a
 * slice of one buffer, PAD floats apart, with the gaps holding junk that
 * must survive; x, v, dout random. */
static void run_concat_planes(clg_ctx *ctx, int n, int c, int h, int w, int l) {
    enum { PAD = 3 };
    const size_t hw = (size_t)h * w, nx = (size_t)n * c * hw, nv = (size_t)n * l;
    const size_t no = (size_t)n * (c + l) * hw;
    /* layout: PAD x PAD v PAD out PAD dout PAD dx PAD dv PAD */
    const size_t at_x = PAD, at_v = at_x + nx + PAD, at_o = at_v + nv + PAD;
    const size_t at_g = at_o + no + PAD, at_dx = at_g + no + PAD, at_dv = at_dx + nx + PAD;
    const size_t total = at_dv + nv + PAD;
    float *host = malloc(total * sizeof *host), *got = malloc(total * sizeof *got);
    double *ref = malloc(no * sizeof *ref);
    assert_non_null(host && got && ref);
    clg_test_fill_uniform(host, total, 1000 + total, -1.0f, 1.0f);
    clg_tensor buf = clg_test_tensor(ctx, 1, (int)total, 1, 1, host);
    clg_tensor x = clg_tensor_slice(&buf, at_x, n, c, h, w);
    clg_tensor v = clg_tensor_slice(&buf, at_v, n, l, 1, 1);
    clg_tensor out = clg_tensor_slice(&buf, at_o, n, c + l, h, w);
    clg_tensor dout = clg_tensor_slice(&buf, at_g, n, c + l, h, w);
    clg_tensor dx = clg_tensor_slice(&buf, at_dx, n, c, h, w);
    clg_tensor dv = clg_tensor_slice(&buf, at_dv, n, l, 1, 1);

    for (int pass = 0; pass < 3; pass++) { /* both gradients, then dx only, dv only */
        CLG_ASSERT_OK(clg_tensor_upload(ctx, &buf, host));
        if (pass == 0) CLG_ASSERT_OK(clg_concat_planes_forward(ctx, &out, &x, &v));
        CLG_ASSERT_OK(clg_concat_planes_backward(ctx, pass == 2 ? NULL : &dx,
                                                 pass == 1 ? NULL : &dv, &dout));
        CLG_ASSERT_OK(clg_tensor_download(ctx, &buf, got));
        for (size_t i = 0; i < total; i++) { /* everything but the outputs kept */
            int in_out = pass == 0 && i >= at_o && i < at_o + no;
            int in_dx = pass != 2 && i >= at_dx && i < at_dx + nx;
            int in_dv = pass != 1 && i >= at_dv && i < at_dv + nv;
            if (!in_out && !in_dx && !in_dv && got[i] != host[i])
                fail_msg("pass %d: float %zu outside the outputs changed", pass, i);
        }
        for (size_t i = 0; i < no; i++) {
            size_t p = i % hw, ch = (i / hw) % (size_t)(c + l), b = i / (hw * (size_t)(c + l));
            ref[i] = ch < (size_t)c ? host[at_x + (b * c + ch) * hw + p]
                                    : host[at_v + b * l + ch - c];
        }
        if (pass == 0) CLG_ASSERT_CLOSE(got + at_o, ref, no, 0.0);
        if (pass != 2) {
            for (size_t i = 0; i < nx; i++) {
                size_t p = i % hw, ch = (i / hw) % (size_t)c, b = i / (hw * (size_t)c);
                ref[i] = host[at_g + (b * (c + l) + ch) * hw + p];
            }
            CLG_ASSERT_CLOSE(got + at_dx, ref, nx, 0.0);
        }
        if (pass != 1) {
            for (size_t i = 0; i < nv; i++) {
                size_t j = i % (size_t)l, b = i / (size_t)l;
                const float *plane = host + at_g + (b * (c + l) + c + j) * hw;
                ref[i] = 0;
                for (size_t p = 0; p < hw; p++) ref[i] += plane[p];
            }
            CLG_ASSERT_CLOSE(got + at_dv, ref, nv, 2e-6);
        }
        if (pass == 0) { /* <concat(x, v), dout> = <x, dx> + <v, dv> */
            double lhs = 0, rhs = 0, scale = 0;
            for (size_t i = 0; i < no; i++) {
                lhs += (double)got[at_o + i] * host[at_g + i];
                scale += fabs((double)got[at_o + i] * host[at_g + i]);
            }
            for (size_t i = 0; i < nx; i++) rhs += (double)host[at_x + i] * got[at_dx + i];
            for (size_t i = 0; i < nv; i++) rhs += (double)host[at_v + i] * got[at_dv + i];
            if (!(fabs(lhs - rhs) <= 1e-6 * scale))
                fail_msg("(%d, %d, %d, %d) + %d planes: <Ax, y> = %.12g, <x, A^T y> = %.12g", n,
                         c, h, w, l, lhs, rhs);
        }
    }
    clg_tensor_free(ctx, &buf);
    free(host), free(got), free(ref);
}

static void test_concat_planes(void **state) {
    static const int shapes[][5] = {/* n, c, h, w, l */
                                    {1, 3, 5, 7, 2},  {3, 5, 1, 1, 4}, {2, 1, 4, 4, 10},
                                    {1, 1, 1, 1, 1},  {2, 2, 3, 1, 1}, {5, 7, 2, 3, 3}};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        run_concat_planes(*state, shapes[i][0], shapes[i][1], shapes[i][2], shapes[i][3],
                          shapes[i][4]);
    if (!clg_test_small()) run_concat_planes(*state, 16, 64, 32, 32, 10);
}

static void test_concat_planes_bad_shapes(void **state) {
    clg_ctx *ctx = *state;
    clg_tensor out = clg_test_tensor(ctx, 2, 5, 4, 4, NULL);
    clg_tensor x = clg_test_tensor(ctx, 2, 3, 4, 4, NULL);
    clg_tensor v = clg_test_tensor(ctx, 2, 2, 1, 1, NULL);
    clg_tensor x_wide = clg_test_tensor(ctx, 2, 3, 4, 5, NULL);
    clg_tensor v_plane = clg_test_tensor(ctx, 2, 2, 4, 4, NULL);
    clg_tensor v_three = clg_test_tensor(ctx, 2, 3, 1, 1, NULL);
    assert_int_equal(clg_concat_planes_forward(ctx, &out, &x_wide, &v), CLG_ERR_INVALID_ARG);
    assert_non_null(strstr(clg_last_error(), "concat_planes_forward: out (2, 5, 4, 4), x "
                                             "(2, 3, 4, 5) and v (2, 2, 1, 1)"));
    assert_int_equal(clg_concat_planes_forward(ctx, &out, &x, &v_plane), CLG_ERR_INVALID_ARG);
    assert_int_equal(clg_concat_planes_forward(ctx, &out, &x, &v_three), CLG_ERR_INVALID_ARG);
    assert_int_equal(clg_concat_planes_backward(ctx, &x, &v_three, &out), CLG_ERR_INVALID_ARG);
    assert_int_equal(clg_concat_planes_backward(ctx, NULL, &v_plane, &out), CLG_ERR_INVALID_ARG);
    assert_int_equal(clg_concat_planes_backward(ctx, &x_wide, NULL, &out), CLG_ERR_INVALID_ARG);
    assert_non_null(strstr(clg_last_error(), "concat_planes_backward: dout (2, 5, 4, 4), x "
                                             "(2, 3, 4, 5) and v none"));
    CLG_ASSERT_OK(clg_concat_planes_backward(ctx, NULL, NULL, &out));
    CLG_ASSERT_OK(clg_concat_planes_forward(ctx, &out, &x, &v));
    CLG_ASSERT_OK(clg_ctx_finish(ctx));
    clg_tensor_free(ctx, &out), clg_tensor_free(ctx, &x), clg_tensor_free(ctx, &v);
    clg_tensor_free(ctx, &x_wide), clg_tensor_free(ctx, &v_plane), clg_tensor_free(ctx, &v_three);
}

/* Kernels index with uint: a view reaching past element 2^32 - 1 (wholly
 * past it, or straddling it) is rejected with a message naming the kernel,
 * and nothing is launched (profiling would record the launch). The views
 * are made by hand on a small buffer: nothing is allocated for them. */
static void test_offsets_past_32_bits_rejected(void **state) {
    clg_ctx *ctx = *state;
    clg_tensor a = clg_test_tensor(ctx, 1, 10, 1, 1, NULL);
    const size_t firsts[2] = {((size_t)1 << 32) + 16, ((size_t)1 << 32) - 4};
    ctx->profile = 1;
    for (int i = 0; i < 2; i++) {
        clg_tensor far = clg_tensor_view(a.buf, firsts[i] * sizeof(float), 1, 10, 1, 1);
        const int launched = ctx->prof_n;
        assert_int_equal(clg_copy(ctx, &far, &a), CLG_ERR_INVALID_ARG);
        assert_non_null(strstr(clg_last_error(), "kernel copy"));
        assert_non_null(strstr(clg_last_error(), "32-bit indexing"));
        assert_int_equal(clg_copy(ctx, &a, &far), CLG_ERR_INVALID_ARG);
        assert_int_equal(clg_fill(ctx, &far, 1.0f), CLG_ERR_INVALID_ARG);
        assert_int_equal(ctx->prof_n, launched);
    }
    ctx->profile = 0;
    CLG_ASSERT_OK(clg_profile_collect(ctx));
    clg_tensor_free(ctx, &a);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fill),  cmocka_unit_test(test_copy),
        cmocka_unit_test(test_scale), cmocka_unit_test(test_axpy),
        cmocka_unit_test(test_add),   cmocka_unit_test(test_mul),
        cmocka_unit_test(test_mismatched_sizes_rejected),
        cmocka_unit_test(test_concat_planes),
        cmocka_unit_test(test_concat_planes_bad_shapes),
        cmocka_unit_test(test_offsets_past_32_bits_rejected),
    };
    return cmocka_run_group_tests_name("elementwise", tests, clg_test_group_setup,
                                       clg_test_group_teardown);
}
