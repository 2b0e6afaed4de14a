/* evaluate.h: scoring generators with the evaluation classifier
 * (models/classifier.h): Inception Score (10 splits) and FID in the
 * classifier's feature space against the real test set, with the real data's
 * own IS and FID (first 10,000 training images against the test set) as the
 * reference line, and the class histogram of the samples. Conditional
 * models draw sample i from class i % classes, and their conditional
 * accuracy stands beside the classifier's accuracy on real test images. */
#ifndef CLG_EVALUATE_H
#define CLG_EVALUATE_H

#include "runtime.h"

typedef struct {
    double is_mean, is_std, fid;         /* of the samples (when scored) */
    double real_is_mean, real_is_std, real_fid;
    long histogram[64];                  /* samples per predicted class */
    int classes;
    long n;                              /* samples scored */
    int averaged;                        /* the samples came from G's weight average */
    double real_acc;                     /* the classifier's accuracy on the real test set */
    double cond_acc;                     /* conditional models: the fraction of samples drawn
                                            for class k classified as k; -1 otherwise */
    long model_n, model_errors;          /* models that classify (ssl): their own test
                                            errors of model_n test images; model_n 0: none */
    double model_acc;
} clg_eval_result;

/* ckpt NULL: only the real-data line. n samples drawn with `seed`, from G's
 * weight average when the checkpoint keeps one and `raw` is 0. A model
 * that scores itself on held-out data (ssl's test accuracy) does so on
 * test_data (NULL: Fashion-MNIST's test set). */
clg_status clg_evaluate(clg_ctx *ctx, const char *ckpt, const char *classifier, long n,
                        uint64_t seed, int raw, const char *test_data, clg_eval_result *out);

#endif
