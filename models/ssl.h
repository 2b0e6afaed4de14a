/* ssl.h: semi-supervised learning with a K+1 discriminator (Salimans et
 * al. 2016), `clgan train ssl` (see ssl.c for the networks and where they
 * differ from openai/improved-gan's). */
#ifndef CLG_SSL_H
#define CLG_SSL_H

#include "model.h"

typedef enum { CLG_SSL_ARCH_MLP, CLG_SSL_ARCH_CONV } clg_ssl_arch;

typedef struct {
    int image_size; /* 0: the architecture's (28 mlp, 32 conv) */
    int nc, nz, batch, classes;
    int labels_per_class, init_examples;
    float lr, beta1, beta2;
    float unlabeled_weight; /* 0: the supervised baseline */
    float avg;              /* rate of D's weight average */
    uint64_t seed;
    int arch;               /* clg_ssl_arch */
    int scales;             /* clg_ssl_scales: which of D's weight-normalised layers train g */
} clg_ssl_config;

/* CLG_SSL_SCALES_ALL: every weight-normalised layer of D trains its scale g;
 * CLG_SSL_SCALES_LAST: the last only, the hidden ones keep the g of the
 * data-dependent initialisation (openai/improved-gan's MNIST DenseLayer,
 * train_scale=False but for the logits). */
typedef enum { CLG_SSL_SCALES_ALL, CLG_SSL_SCALES_LAST } clg_ssl_scales;

clg_ssl_config clg_ssl_config_default(void);
/* The image side the config trains on: image_size, or 0's architecture's. */
int clg_ssl_image_size(const clg_ssl_config *c);
clg_status clg_ssl_config_check(const clg_ssl_config *c);

/* D for `batch` images: the K-class classifier with its "features" tap
 * (c->image_size set: clg_ssl_image_size). */
clg_status clg_ssl_build_d(clg_net *d, const clg_ssl_config *c, int batch);

/* The labelled subset: the first `per_class` examples of each class in the
 * seed's permutation of the training set (`order`, train->n entries, is
 * that permutation) into picked (per_class x classes), in that order. */
clg_status clg_ssl_pick(const clg_dataset *train, int per_class, uint64_t seed, int *order,
                        int *picked);

/* D's gradients of a step (tests): the labelled batch already uploaded
 * (as a step does), unl the unlabelled batch, z from noise index `index`. */
clg_status clg_ssl_d_grads(clg_ctx *ctx, clg_model *m, const clg_tensor *unl, long index);

/* Right answers on `test` of D's weight average and of D itself. */
clg_status clg_ssl_test(clg_ctx *ctx, clg_model *m, const clg_dataset *test, long *right_avg,
                        long *right_raw);

extern const clg_model_ops clg_ssl_ops;

#endif
