/* gan.h: the MLP GAN (`clgan train gan`) and the conditional GAN (`clgan
 * train cgan`, MLP or DCGAN) as models of the trainer (see gan.c). */
#ifndef CLG_GAN_H
#define CLG_GAN_H

#include "model.h"

typedef struct {
    int image_size;      /* 28 or 32 (MLP), 32 or 64 (DCGAN) */
    int nc, nz;
    int hidden, hidden_d; /* MLP widths: G's and D's hidden layers */
    int batch;
    int classes;         /* cgan: from the data */
    int arch;            /* 0: MLP, 1: DCGAN (cgan only) */
    int ngf, ndf;        /* DCGAN widths */
    float lr, beta1, beta2, real_label, dropout;
    uint64_t seed;
    int conditional;     /* 1 for cgan (its kind, not a setting) */
    /* Salimans et al. 2016, as DCGAN takes them (models/dcgan.h) */
    int feature_matching; /* G matches the means of D's last hidden features */
    int mbd[2];           /* minibatch discrimination before D's last layer; B = 0: none */
    float hist_avg;       /* historical averaging's weight for both players; 0: none */
} clg_gan_config;

clg_gan_config clg_gan_config_default(int conditional);
clg_status clg_gan_config_check(const clg_gan_config *c);

extern const clg_model_ops clg_gan_ops, clg_cgan_ops;

/* The MLP players for images of c->image_size (any size; the one-hot label
 * concatenated when c->conditional, as side input 0). */
clg_status clg_gan_mlp_g(clg_net *g, const clg_gan_config *c, int batch);
clg_status clg_gan_mlp_d(clg_net *d, const clg_gan_config *c);

#endif
