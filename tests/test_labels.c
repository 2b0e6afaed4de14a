/* test_labels.c: int32 label vectors (clg_itensor: create, views, slices,
 * transfers, the range-checked upload) and clg_one_hot against a plain C
 * reference on awkward shapes: N 1 and 37, 1 and 10 classes, 1x1 and 4x4
 * planes, with out and labels placed inside larger buffers whose leading
 * elements are checked untouched. Tolerance: exact (the kernel only
 * stores `on` or `off`). */
#include "testutil.h"
#include "labels.h"

#include <stdlib.h>
#include <string.h>

#define PAD 3 /* elements in front of every view */

/* What clg_one_hot must write: a label outside [0, classes) gives all off. */
static void one_hot_ref(float *out, const int32_t *labels, int n, int classes, int plane,
                        float on, float off) {
    for (int b = 0; b < n; b++)
        for (int c = 0; c < classes; c++)
            for (int p = 0; p < plane; p++)
                out[((size_t)b * classes + c) * plane + p] = labels[b] == c ? on : off;
}

/* One-hot `labels` (uploaded unchecked, PAD elements into their vector)
 * into out (n, classes, h, w), PAD floats into a buffer of 7s. */
static void run_one_hot(clg_ctx *ctx, const int32_t *labels, int n, int classes, int h, int w,
                        float on, float off) {
    const size_t numel = (size_t)n * classes * h * w;
    float *got = malloc((numel + PAD) * sizeof *got), *want = malloc(numel * sizeof *want);
    assert_non_null(got && want);
    clg_itensor lab;
    CLG_ASSERT_OK(clg_itensor_create(ctx, &lab, n + PAD, "test labels"));
    clg_itensor lv = clg_itensor_slice(&lab, PAD, n);
    CLG_ASSERT_OK(clg_itensor_upload(ctx, &lv, labels));
    clg_tensor t = clg_test_tensor(ctx, 1, (int)(numel + PAD), 1, 1, NULL);
    CLG_ASSERT_OK(clg_tensor_fill(ctx, &t, 7.0f));
    clg_tensor v = clg_tensor_slice(&t, PAD, n, classes, h, w);
    CLG_ASSERT_OK(clg_one_hot(ctx, &v, &lv, classes, on, off));
    CLG_ASSERT_OK(clg_tensor_download(ctx, &t, got));
    one_hot_ref(want, labels, n, classes, h * w, on, off);
    for (int i = 0; i < PAD; i++) assert_true(got[i] == 7.0f);
    for (size_t i = 0; i < numel; i++)
        if (got[PAD + i] != want[i])
            fail_msg("one_hot (%d, %d, %d, %d): element %zu is %g, want %g", n, classes, h, w, i,
                     (double)got[PAD + i], (double)want[i]);
    clg_tensor_free(ctx, &t);
    clg_itensor_free(ctx, &lab);
    free(got), free(want);
}

static void test_one_hot_shapes(void **state) {
    const int ns[2] = {1, 37}, cs[2] = {1, 10}, hws[2] = {1, 4};
    const float ons[2] = {1.0f, 0.9f}, offs[2] = {0.0f, 0.1f / 9.0f};
    int32_t y[37];
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++)
            for (int c = 0; c < 2; c++) {
                /* every class appears once N >= classes */
                for (int i = 0; i < ns[a]; i++) y[i] = (i * 7 + 3) % cs[b];
                run_one_hot(*state, y, ns[a], cs[b], hws[c], hws[c], ons[c], offs[c]);
            }
}

/* Labels that reach the device out of range leave their example all off. */
static void test_one_hot_out_of_range_is_all_off(void **state) {
    const int32_t y[6] = {0, -1, 10, INT32_MAX, INT32_MIN, 9};
    run_one_hot(*state, y, 6, 10, 1, 1, 1.0f, 0.0f);
    run_one_hot(*state, y, 6, 10, 4, 4, -0.5f, 2.0f);
}

static void test_one_hot_bad_shapes(void **state) {
    clg_ctx *ctx = *state;
    clg_tensor out = clg_test_tensor(ctx, 4, 10, 1, 1, NULL);
    clg_itensor lab;
    CLG_ASSERT_OK(clg_itensor_create(ctx, &lab, 5, "test labels"));
    clg_itensor four = clg_itensor_slice(&lab, 1, 4);
    assert_int_equal(clg_one_hot(ctx, &out, &lab, 10, 1.0f, 0.0f), CLG_ERR_INVALID_ARG);
    assert_non_null(strstr(clg_last_error(), "one_hot"));
    assert_int_equal(clg_one_hot(ctx, &out, &four, 9, 1.0f, 0.0f), CLG_ERR_INVALID_ARG);
    assert_int_equal(clg_one_hot(ctx, &out, &four, 0, 1.0f, 0.0f), CLG_ERR_INVALID_ARG);
    /* Labels past 32-bit indexing are refused before any launch. */
    clg_itensor far = clg_itensor_view(lab.buf, ((size_t)1 << 32) * sizeof(int32_t), 4);
    assert_int_equal(clg_one_hot(ctx, &out, &far, 10, 1.0f, 0.0f), CLG_ERR_INVALID_ARG);
    assert_non_null(strstr(clg_last_error(), "32-bit indexing"));
    clg_tensor_free(ctx, &out);
    clg_itensor_free(ctx, &lab);
}

/* The checked upload names the first bad index and value and writes nothing. */
static void test_upload_labels_checks_range(void **state) {
    clg_ctx *ctx = *state;
    clg_itensor lab;
    CLG_ASSERT_OK(clg_itensor_create(ctx, &lab, 5, "test labels"));
    const int32_t good[5] = {0, 1, 2, 3, 4}, high[5] = {4, 3, 5, 2, 7}, low[5] = {-1, 0, 0, 0, 0};
    CLG_ASSERT_OK(clg_itensor_upload_labels(ctx, &lab, good, 5));
    assert_int_equal(clg_itensor_upload_labels(ctx, &lab, high, 5), CLG_ERR_INVALID_ARG);
    assert_non_null(strstr(clg_last_error(), "label 2 is 5, outside [0, 5)"));
    assert_int_equal(clg_itensor_upload_labels(ctx, &lab, low, 5), CLG_ERR_INVALID_ARG);
    assert_non_null(strstr(clg_last_error(), "label 0 is -1"));
    assert_int_equal(clg_itensor_upload_labels(ctx, &lab, good, 0), CLG_ERR_INVALID_ARG);
    int32_t got[5];
    CLG_ASSERT_OK(clg_itensor_download(ctx, &lab, got));
    assert_memory_equal(got, good, sizeof good);
    clg_itensor_free(ctx, &lab);
}

/* Views and slices address the right elements; only an owner frees. */
static void test_itensor_views(void **state) {
    clg_ctx *ctx = *state;
    const size_t live = ctx->live_bytes;
    clg_itensor lab;
    CLG_ASSERT_OK(clg_itensor_create(ctx, &lab, 37, "test labels"));
    assert_true(ctx->live_bytes == live + 37 * sizeof(int32_t));
    int32_t v[37], got[37];
    for (int i = 0; i < 37; i++) v[i] = i * 3 - 50;
    CLG_ASSERT_OK(clg_itensor_upload(ctx, &lab, v));
    clg_itensor s = clg_itensor_slice(&lab, 5, 11);
    CLG_ASSERT_OK(clg_itensor_download(ctx, &s, got));
    assert_memory_equal(got, v + 5, 11 * sizeof(int32_t));
    clg_itensor w = clg_itensor_view(lab.buf, 30 * sizeof(int32_t), 7);
    const int32_t seven[7] = {1, 2, 3, 4, 5, 6, 7};
    CLG_ASSERT_OK(clg_itensor_upload(ctx, &w, seven));
    memcpy(v + 30, seven, sizeof seven);
    CLG_ASSERT_OK(clg_itensor_download(ctx, &lab, got));
    assert_memory_equal(got, v, sizeof v);
    clg_itensor_free(ctx, &w); /* a view: releases nothing */
    assert_null(w.buf);
    assert_true(ctx->live_bytes == live + 37 * sizeof(int32_t));
    clg_itensor_free(ctx, &lab);
    assert_true(ctx->live_bytes == live);
    assert_int_equal(clg_itensor_create(ctx, &lab, 0, "empty"), CLG_ERR_INVALID_ARG);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_hot_shapes),
        cmocka_unit_test(test_one_hot_out_of_range_is_all_off),
        cmocka_unit_test(test_one_hot_bad_shapes),
        cmocka_unit_test(test_upload_labels_checks_range),
        cmocka_unit_test(test_itensor_views),
    };
    return cmocka_run_group_tests_name("labels", tests, clg_test_group_setup,
                                       clg_test_group_teardown);
}
