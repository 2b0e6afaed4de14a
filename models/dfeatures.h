/* dfeatures.h: D as a feature extractor (Radford et al., section 5.1): each
 * of D's convolutional blocks' outputs (after the LeakyReLU) max-pooled to a
 * 4x4 grid, flattened and concatenated, standardised with the training
 * set's mean and spread, then a linear L2-SVM (models/metrics.h) on the
 * training set, scored on the test set. The same pipeline on a randomly
 * initialised D of the same shape is the baseline. */
#ifndef CLG_DFEATURES_H
#define CLG_DFEATURES_H

#include "runtime.h"

typedef struct {
    int dims;              /* feature length */
    long train_n;          /* training examples used */
    double accuracy;       /* test accuracy of the SVM on the trained D */
    double random_accuracy;/* the same with a randomly initialised D */
    double c, random_c;    /* the SVM's C for each */
    double held_out, random_held_out; /* held-out accuracy at that C (when chosen; else -1) */
} clg_features_result;

/* labels_per_class 0: all training labels. c <= 0: choose C for each of the
 * two feature sets from {1e-5, 3e-5, ..., 3e-2, 0.1} by accuracy on a
 * tenth of the training rows held out (clg_svm_select_c), then train on all
 * of them. */
clg_status clg_d_features_svm(clg_ctx *ctx, const char *ckpt, int labels_per_class, double c,
                              clg_features_result *out);

#endif
