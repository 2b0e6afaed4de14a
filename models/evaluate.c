/* evaluate.c: IS and FID of samples and of real data (see evaluate.h). */
#include "evaluate.h"
#include "checkpoint.h"
#include "classifier.h"
#include "data.h"
#include "metrics.h"
#include "rng.h"

#include <stdlib.h>
#include <string.h>

#define EVAL_BATCH 250

/* Probabilities and features of n images (n, nc, 32, 32). */
static clg_status score(clg_ctx *ctx, clg_net *cls, const float *img, size_t n, int k, int f,
                        float **probs, float **feats) {
    *probs = malloc(n * (size_t)k * sizeof **probs);
    *feats = malloc(n * (size_t)f * sizeof **feats);
    if (!*probs || !*feats) return clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory");
    return clg_classifier_run(ctx, cls, img, n, *probs, *feats);
}

static clg_status dataset_images(const clg_dataset *d, size_t n, float **out) {
    size_t per = (size_t)d->c * 32 * 32;
    *out = calloc(n * per, sizeof **out);
    if (!*out) return clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory");
    for (size_t i = 0; i < n; i++) clg_dataset_image(d, (int)i, 32, *out + i * per);
    return CLG_OK;
}

/* Generated images (n, nc, s, s) as the classifier's 32x32: f x f blocks
 * averaged (s = 32, 64), or 28x28 padded by 2 with the background -1, as
 * the loader pads 28x28 data. */
static void to_32(const float *img, long n, int nc, int s, float *out) {
    if (s == 28) {
        for (long b = 0; b < n; b++)
            for (int c = 0; c < nc; c++)
                for (int y = 0; y < 32; y++)
                    for (int x = 0; x < 32; x++) {
                        int in = y >= 2 && y < 30 && x >= 2 && x < 30;
                        out[(((size_t)b * nc + c) * 32 + y) * 32 + x] =
                            in ? img[(((size_t)b * nc + c) * 28 + y - 2) * 28 + x - 2] : -1.0f;
                    }
        return;
    }
    int f = s / 32;
    size_t per = (size_t)nc * 32 * 32, big = (size_t)nc * s * s;
    for (long b = 0; b < n; b++)
        for (int c = 0; c < nc; c++)
            for (int y = 0; y < 32; y++)
                for (int x = 0; x < 32; x++) {
                    double acc = 0;
                    for (int dy = 0; dy < f; dy++)
                        for (int dx = 0; dx < f; dx++)
                            acc += img[(size_t)b * big + ((size_t)c * s + y * f + dy) * s +
                                       x * f + dx];
                    out[(size_t)b * per + ((size_t)c * 32 + y) * 32 + x] = (float)(acc / (f * f));
                }
}

/* n samples of the checkpoint's generator as 32x32 images (64x64 ones
 * averaged 2x2). */
static clg_status sample_images(clg_ctx *ctx, const char *ckpt, long n, uint64_t seed, int raw,
                                int *averaged, float **out, int *nc, int *classes) {
    clg_model *m = NULL;
    clg_tensor z = {0};
    clg_itensor lab = {0};
    float *img = NULL;
    clg_status rc;
    CLG_TRY_GOTO(clg_ckpt_open_generator(ctx, ckpt, EVAL_BATCH, raw, &m, averaged), done);
    CLG_TRY_GOTO(clg_tensor_create(ctx, &z, EVAL_BATCH, m->nz, 1, 1, "eval noise"), done);
    *classes = m->classes;
    if (m->classes > 0) { /* row i of every batch: class (at + i) % classes, at % classes == 0 */
        int32_t y[EVAL_BATCH];
        for (int i = 0; i < EVAL_BATCH; i++) y[i] = i % m->classes;
        CLG_TRY_GOTO(clg_itensor_create(ctx, &lab, EVAL_BATCH, "eval labels"), done);
        CLG_TRY_GOTO(clg_itensor_upload_labels(ctx, &lab, y, m->classes), done);
    }
    int s = m->image_size;
    size_t per = (size_t)m->nc * 32 * 32, big = (size_t)m->nc * s * s;
    *out = malloc((size_t)n * per * sizeof **out);
    img = malloc(EVAL_BATCH * big * sizeof *img);
    if (!*out || !img) {
        rc = clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory for %ld samples", n);
        goto done;
    }
    for (long at = 0; at < n; at += EVAL_BATCH) {
        const clg_tensor *o;
        CLG_TRY_GOTO(clg_rng_normal(ctx, &z, seed, (uint64_t)at * m->nz, 0.0f, 1.0f), done);
        CLG_TRY_GOTO(m->ops->generate(ctx, m, &z, m->classes ? &lab : NULL, 0, &o), done);
        CLG_TRY_GOTO(clg_tensor_download(ctx, o, img), done);
        to_32(img, n - at < EVAL_BATCH ? n - at : EVAL_BATCH, m->nc, s, *out + (size_t)at * per);
    }
    *nc = m->nc;
    rc = CLG_OK;
done:
    free(img);
    clg_tensor_free(ctx, &z);
    clg_itensor_free(ctx, &lab);
    if (m) m->ops->destroy(ctx, m);
    return rc;
}

/* The fraction of rows whose most probable class is label(i). */
static double accuracy(const float *probs, long n, int k, const unsigned char *labels,
                       int classes) {
    long right = 0;
    for (long i = 0; i < n; i++) {
        int best = 0;
        for (int j = 1; j < k; j++)
            if (probs[i * k + j] > probs[i * k + best]) best = j;
        right += best == (labels ? labels[i] : (int)(i % classes));
    }
    return n ? (double)right / (double)n : 0.0;
}

/* The model's own test accuracy (models with an evaluate op, as ssl's
 * classifier), from its metrics "test_acc" and "test_errors". */
static clg_status model_test(clg_ctx *ctx, const char *ckpt, const char *test_data,
                             clg_eval_result *out) {
    const clg_model_ops *ops;
    void *cfg = NULL;
    clg_model *m = NULL;
    clg_dataset test = {0};
    clg_metrics mt = {0};
    clg_ckpt_extra extra;
    clg_model_common c;
    int ch;
    CLG_TRY(clg_ckpt_read_config(ckpt, &ops, &cfg));
    clg_status rc = CLG_OK;
    if (ops->evaluate) {
        ops->common(cfg, &c);
        rc = clg_data_open(test_data ? test_data : "fashion-mnist-test", c.image_size, &ch, &test);
        if (rc == CLG_OK) rc = ops->create(ctx, cfg, 0, &m);
        if (rc == CLG_OK) rc = clg_ckpt_load(ctx, m, ckpt, &extra);
        if (rc == CLG_OK) rc = ops->evaluate(ctx, m, &test, &mt);
    }
    for (int i = 0; rc == CLG_OK && i < mt.count; i++) {
        if (!strcmp(mt.name[i], "test_acc")) out->model_acc = mt.v[i], out->model_n = test.n;
        if (!strcmp(mt.name[i], "test_errors")) out->model_errors = (long)mt.v[i];
    }
    if (m) ops->destroy(ctx, m);
    clg_dataset_free(&test);
    free(cfg);
    return rc;
}

clg_status clg_evaluate(clg_ctx *ctx, const char *ckpt, const char *classifier, long n,
                        uint64_t seed, int raw, const char *test_data, clg_eval_result *out) {
    memset(out, 0, sizeof *out);
    clg_net cls;
    memset(&cls, 0, sizeof cls);
    clg_classifier_config cc;
    clg_dataset test = {0}, train = {0};
    float *img = NULL, *probs = NULL, *feats = NULL;
    double *mu_t = NULL, *cov_t = NULL, *mu = NULL, *cov = NULL;
    clg_status rc;
    int ch;
    CLG_TRY_GOTO(clg_classifier_load(ctx, classifier, EVAL_BATCH, &cls, &cc), done);
    const int k = cc.classes, f = cc.features;
    out->classes = k;
    mu_t = malloc((size_t)f * sizeof *mu_t), mu = malloc((size_t)f * sizeof *mu);
    cov_t = malloc((size_t)f * f * sizeof *cov_t), cov = malloc((size_t)f * f * sizeof *cov);
    if (!mu_t || !mu || !cov_t || !cov) {
        rc = clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory");
        goto done;
    }
    /* The real line: test set IS, and FID of 10,000 training images. */
    CLG_TRY_GOTO(clg_data_open("fashion-mnist-test", 32, &ch, &test), done);
    if (ch != cc.nc) { /* the classifier would read past each image */
        rc = clg_fail(CLG_ERR_INVALID_ARG, "%s reads %d-channel images; the test data has %d",
                      classifier, cc.nc, ch);
        goto done;
    }
    CLG_TRY_GOTO(dataset_images(&test, (size_t)test.n, &img), done);
    CLG_TRY_GOTO(score(ctx, &cls, img, (size_t)test.n, k, f, &probs, &feats), done);
    CLG_TRY_GOTO(clg_inception_score(probs, (size_t)test.n, k, 10, &out->real_is_mean,
                                     &out->real_is_std), done);
    CLG_TRY_GOTO(clg_feature_stats(feats, (size_t)test.n, f, mu_t, cov_t), done);
    out->real_acc = test.labels ? accuracy(probs, test.n, k, test.labels, 0) : -1;
    out->cond_acc = -1;
    free(img), free(probs), free(feats);
    img = NULL, probs = NULL, feats = NULL;
    CLG_TRY_GOTO(clg_data_open("fashion-mnist", 32, &ch, &train), done);
    size_t nr = train.n < 10000 ? (size_t)train.n : 10000;
    CLG_TRY_GOTO(dataset_images(&train, nr, &img), done);
    CLG_TRY_GOTO(score(ctx, &cls, img, nr, k, f, &probs, &feats), done);
    CLG_TRY_GOTO(clg_feature_stats(feats, nr, f, mu, cov), done);
    CLG_TRY_GOTO(clg_frechet_distance(mu, cov, mu_t, cov_t, f, &out->real_fid), done);
    free(img), free(probs), free(feats);
    img = NULL, probs = NULL, feats = NULL;
    if (ckpt) {
        int nc = 0, classes = 0;
        CLG_TRY_GOTO(sample_images(ctx, ckpt, n, seed, raw, &out->averaged, &img, &nc, &classes),
                     done);
        if (nc != cc.nc) {
            rc = clg_fail(CLG_ERR_INVALID_ARG, "the generator makes %d-channel images, the "
                          "classifier reads %d", nc, cc.nc);
            goto done;
        }
        CLG_TRY_GOTO(score(ctx, &cls, img, (size_t)n, k, f, &probs, &feats), done);
        CLG_TRY_GOTO(clg_inception_score(probs, (size_t)n, k, 10, &out->is_mean, &out->is_std),
                     done);
        CLG_TRY_GOTO(clg_feature_stats(feats, (size_t)n, f, mu, cov), done);
        CLG_TRY_GOTO(clg_frechet_distance(mu, cov, mu_t, cov_t, f, &out->fid), done);
        if (classes > 0) out->cond_acc = accuracy(probs, n, k, NULL, classes);
        for (long i = 0; i < n; i++) {
            int best = 0;
            for (int j = 1; j < k; j++)
                if (probs[i * k + j] > probs[i * k + best]) best = j;
            if (best < 64) out->histogram[best]++;
        }
        out->n = n;
        CLG_TRY_GOTO(model_test(ctx, ckpt, test_data, out), done);
    }
    rc = CLG_OK;
done:
    free(img), free(probs), free(feats), free(mu_t), free(cov_t), free(mu), free(cov);
    clg_dataset_free(&test);
    clg_dataset_free(&train);
    clg_net_free(ctx, &cls);
    return rc;
}
