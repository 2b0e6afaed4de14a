/* lapgan.h: LAPGAN (`clgan train lapgan`) as a model of the trainer (see
 * lapgan.c), and its Laplacian pyramid. */
#ifndef CLG_LAPGAN_H
#define CLG_LAPGAN_H

#include "model.h"

typedef struct {
    int image_size;    /* 32 */
    int nc, nz;
    int hidden;        /* the 8x8 level's MLP width */
    int ngf, ndf;      /* the finer levels' convolution channels */
    int batch;
    int conditional;   /* --classes */
    int nclasses;      /* from the data */
    float lr, beta1, beta2, real_label, dropout;
    uint64_t seed;
    /* Salimans et al. 2016 at every level, as DCGAN takes them (models/dcgan.h) */
    int feature_matching; /* G matches the means of D's last hidden features */
    int mbd[2];           /* minibatch discrimination before D's last layer; B = 0: none */
    float hist_avg;       /* historical averaging's weight for both players; 0: none */
} clg_lapgan_config;

clg_lapgan_config clg_lapgan_config_default(void);
clg_status clg_lapgan_config_check(const clg_lapgan_config *c);

extern const clg_model_ops clg_lapgan_ops;

/* The pyramid of i0 (N, C, 32, 32): i1 = d(i0) (16x16), i2 = d(i1) (8x8),
 * l[k] = u(i_{k+1}) and h[k] = i_k - l[k] for k = 0, 1. */
clg_status clg_lapgan_pyramid(clg_ctx *ctx, const clg_tensor *i0, const clg_tensor *i1,
                              const clg_tensor *i2, const clg_tensor *l, const clg_tensor *h);

#endif
