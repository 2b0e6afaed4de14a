/* layers.h: the layer kinds' operation tables (one file per kind or
 * family, models/layer_*.c) and what those files share. Only net.c and the
 * kinds' files include this. */
#ifndef CLG_LAYERS_H
#define CLG_LAYERS_H

#include "net.h"

extern const clg_layer_ops clg_layer_conv_ops, clg_layer_convt_ops;
extern const clg_layer_ops clg_layer_linear_ops, clg_layer_wn_linear_ops;
extern const clg_layer_ops clg_layer_bn_ops, clg_layer_bn_act_ops, clg_layer_vbn_ops;
extern const clg_layer_ops clg_layer_act_ops, clg_layer_dropout_ops, clg_layer_noise_ops;
extern const clg_layer_ops clg_layer_reshape_ops, clg_layer_maxpool_ops;
extern const clg_layer_ops clg_layer_avgpool2_ops, clg_layer_blurdown_ops;
extern const clg_layer_ops clg_layer_upsample2_ops, clg_layer_concat_ops;
extern const clg_layer_ops clg_layer_mbd_ops;
extern const clg_layer_ops clg_layer_wn_conv_ops, clg_layer_gavgpool_ops;

/* Each tensor draws from Philox(seed) at its own offset in the parameter
 * block, so values do not depend on the order of initialisation. */
clg_status clg_layer_init_normal(clg_ctx *ctx, const clg_tensor *t, uint64_t seed, float mean,
                                 float std);

/* The activation clg_net_act folded into l's forward (l->fused), or NULL. */
const clg_fused_act *clg_layer_fused(const clg_layer *l);

/* A layer's output as a (N, features) matrix: the flattened element count
 * per example. */
static inline size_t clg_layer_in_features(const clg_layer *l) {
    return (size_t)l->in[1] * l->in[2] * l->in[3];
}

#endif
