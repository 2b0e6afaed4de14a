/* classifier.h: the evaluation classifier, this project's "Inception"
 * network: a small CNN trained by clgan itself on the real data, whose
 * softmax gives the Inception Score's p(y|x) and whose penultimate layer
 * (after the ReLU of the 128-wide hidden layer) is the feature space of FID.
 *
 *   conv(nc -> w, k3 s1 p1) BN ReLU          32x32
 *   conv(w -> 2w, k4 s2 p1) BN ReLU          16x16
 *   conv(2w -> 4w, k4 s2 p1) BN ReLU          8x8
 *   conv(4w -> 4w, k4 s2 p1) BN ReLU          4x4
 *   linear(64w -> features) ReLU  <- features
 *   dropout(p) linear(features -> classes)    logits */
#ifndef CLG_CLASSIFIER_H
#define CLG_CLASSIFIER_H

#include "dataset.h"
#include "model.h"
#include "net.h"

typedef struct {
    int image_size, nc, width, features, classes, batch;
    float lr, dropout;
    uint64_t seed;
} clg_classifier_config;

#define CLG_CLASSIFIER_FORMAT "clgan-classifier-1"

clg_classifier_config clg_classifier_config_default(void);
clg_status clg_classifier_build(clg_net *net, const clg_classifier_config *c, int batch);
/* The layer whose output is the feature vector (batch, features, 1, 1). */
const clg_tensor *clg_classifier_features(const clg_net *net);

/* The classifier as a model of the generic trainer (models/model.h). */
extern const clg_model_ops clg_classifier_ops;

/* Build (for `batch`), allocate and load a saved classifier. */
clg_status clg_classifier_load(clg_ctx *ctx, const char *path, int batch, clg_net *net,
                               clg_classifier_config *cfg);

/* Run the classifier (inference mode) over n images (n, nc, 32, 32) given
 * in host memory in [-1, 1]: class probabilities (n x classes) and features
 * (n x features), either may be NULL. */
clg_status clg_classifier_run(clg_ctx *ctx, clg_net *net, const float *images, size_t n,
                              float *probs, float *features);

/* Accuracy over a dataset (images scaled and padded as for training). */
clg_status clg_classifier_accuracy(clg_ctx *ctx, clg_net *net, const clg_dataset *ds,
                                   size_t limit, float *acc);

#endif
