/* test_elementwise.c: fill, copy, scale, axpy, add, mul against plain C, on
 * awkward sizes (1, 7, 1000003: not multiples of the work-group size) and at
 * a non-zero offset inside a buffer. Tolerance: exact for fill and copy;
 * 1e-6 relative to the tensor's scale for arithmetic (one float rounding). */
#include "testutil.h"
#include "elementwise.h"

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
        cmocka_unit_test(test_offsets_past_32_bits_rejected),
    };
    return cmocka_run_group_tests_name("elementwise", tests, clg_test_group_setup,
                                       clg_test_group_teardown);
}
