/* test_eval.c: the shipped evaluation classifier loads, reaches >= 91% on
 * the first 1,000 Fashion-MNIST test images, and scores the real test
 * images as a sane Inception Score (well above 1, at most 10). A corrupt or
 * foreign file is refused. */
#include "testutil.h"
#include "classifier.h"
#include "data.h"
#include "metrics.h"
#include "safetensors.h"
#include "train.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CLASSIFIER "models/fashion-mnist-classifier.safetensors"

static void test_classifier_accuracy(void **state) {
    clg_ctx *ctx = *state;
    clg_net net;
    clg_classifier_config cfg;
    CLG_ASSERT_OK(clg_classifier_load(ctx, CLASSIFIER, 250, &net, &cfg));
    assert_int_equal(cfg.classes, 10);
    clg_dataset test;
    int ch;
    CLG_ASSERT_OK(clg_data_open("fashion-mnist-test", 32, &ch, &test));
    float acc = 0;
    CLG_ASSERT_OK(clg_classifier_accuracy(ctx, &net, &test, 1000, &acc));
    if (acc < 0.91f) fail_msg("accuracy %.4f on the first 1000 test images", acc);
    /* IS of 1000 real images: confident and covering the classes. */
    size_t per = 32 * 32;
    float *img = malloc(1000 * per * sizeof *img), *probs = malloc(1000 * 10 * sizeof *probs);
    for (int i = 0; i < 1000; i++) clg_dataset_image(&test, i, 32, img + i * per);
    CLG_ASSERT_OK(clg_classifier_run(ctx, &net, img, 1000, probs, NULL));
    double m, s;
    CLG_ASSERT_OK(clg_inception_score(probs, 1000, 10, 10, &m, &s));
    assert_true(m > 5.0 && m <= 10.0);
    free(img), free(probs);
    clg_dataset_free(&test);
    clg_net_free(ctx, &net);
}

static void test_foreign_file_refused(void **state) {
    clg_ctx *ctx = *state;
    char path[] = "/tmp/clgan-test-eval-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    float v[2] = {1, 2};
    clg_st_write_entry e = {"main.0.weight", v, 1, {2}};
    const char *meta[] = {"format", "clgan-dcgan-1"};
    CLG_ASSERT_OK(clg_safetensors_write(path, &e, 1, meta, 1));
    clg_net net;
    clg_classifier_config cfg;
    assert_int_equal(clg_classifier_load(ctx, path, 8, &net, &cfg), CLG_ERR_FORMAT);
    assert_non_null(strstr(clg_last_error(), "not a clgan classifier"));
    unlink(path);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classifier_accuracy),
        cmocka_unit_test(test_foreign_file_refused),
    };
    return cmocka_run_group_tests_name("eval", tests, clg_test_group_setup,
                                       clg_test_group_teardown);
}
