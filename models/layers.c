/* layers.c: the table of layer kinds. Adding a kind: its file with a
 * clg_layer_ops, one line here, one enum value in net.h. */
#include "layers.h"
#include "rng.h"

static const clg_layer_ops *const table[CLG_LAYER_KIND_COUNT] = {
    [CLG_LAYER_CONV] = &clg_layer_conv_ops,
    [CLG_LAYER_CONVT] = &clg_layer_convt_ops,
    [CLG_LAYER_LINEAR] = &clg_layer_linear_ops,
    [CLG_LAYER_WN_LINEAR] = &clg_layer_wn_linear_ops,
    [CLG_LAYER_BN] = &clg_layer_bn_ops,
    [CLG_LAYER_BN_ACT] = &clg_layer_bn_act_ops,
    [CLG_LAYER_VBN] = &clg_layer_vbn_ops,
    [CLG_LAYER_ACT] = &clg_layer_act_ops,
    [CLG_LAYER_RESHAPE] = &clg_layer_reshape_ops,
    [CLG_LAYER_DROPOUT] = &clg_layer_dropout_ops,
    [CLG_LAYER_NOISE] = &clg_layer_noise_ops,
    [CLG_LAYER_MAXPOOL] = &clg_layer_maxpool_ops,
    [CLG_LAYER_MBD] = &clg_layer_mbd_ops,
    [CLG_LAYER_AVGPOOL2] = &clg_layer_avgpool2_ops,
    [CLG_LAYER_BLURDOWN] = &clg_layer_blurdown_ops,
    [CLG_LAYER_UPSAMPLE2] = &clg_layer_upsample2_ops,
    [CLG_LAYER_CONCAT] = &clg_layer_concat_ops,
    [CLG_LAYER_WN_CONV] = &clg_layer_wn_conv_ops,
    [CLG_LAYER_GAVGPOOL] = &clg_layer_gavgpool_ops,
};

const clg_layer_ops *clg_layer_ops_of(clg_layer_kind kind) {
    return (int)kind >= 0 && kind < CLG_LAYER_KIND_COUNT ? table[kind] : NULL;
}

const clg_fused_act *clg_layer_fused(const clg_layer *l) {
    return l->fused.act == CLG_ACT_IDENTITY ? NULL : &l->fused;
}

clg_status clg_layer_init_normal(clg_ctx *ctx, const clg_tensor *t, uint64_t seed, float mean,
                                 float std) {
    return clg_rng_normal(ctx, t, seed, t->off / 4, mean, std);
}
