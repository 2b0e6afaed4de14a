/* net.h: sequential networks of layers over the kernels: the layer list,
 * one block each for parameters, gradients, both Adam moments, the
 * non-trained buffers (BN running statistics) and what forward saves for
 * backward; activations allocated once for a fixed batch; forward/backward.
 *
 * Layer kinds are a table of operations (clg_layer_ops, models/layers.c):
 * each kind, in one file, says its output shape, its tensors (with their
 * state_dict names and PyTorch ranks), forward, backward and whether it may
 * run in place. Nothing here switches on a kind.
 *
 * Names follow PyTorch's nn.Sequential state_dict ("main.0.weight"), so
 * checkpoints map onto pytorch/examples' models.
 *
 * Memory: each layer's output is kept for backward. A layer that may run in
 * place (activations, dropout, noise, reshape) writes over its input's
 * storage unless something still needs that input: the previous layer's
 * backward reads its own output (an activation does), or the previous
 * layer is a named tap (read after the forward). Gradients of activations
 * flow through two ping-pong buffers of the largest activation's size.
 * Nothing is allocated after clg_net_alloc. */
#ifndef CLG_NET_H
#define CLG_NET_H

#include "activation.h"
#include "conv.h"
#include "tensor.h"

#include <stdint.h>

typedef enum {
    CLG_LAYER_CONV,    /* weight (K, C, R, S), bias (K) optional */
    CLG_LAYER_CONVT,   /* weight (C_in, C_out, R, S), bias (C_out) optional */
    CLG_LAYER_LINEAR,  /* weight (out, in), bias (out) optional; input flattened */
    CLG_LAYER_WN_LINEAR, /* weight_g (out, 1), weight_v (out, in), bias (out) */
    CLG_LAYER_BN,      /* weight = gamma (C), bias = beta (C) when affine */
    CLG_LAYER_VBN,     /* virtual BN: gamma, beta; reference statistics per step */
    CLG_LAYER_ACT,     /* elementwise activation */
    CLG_LAYER_RESHAPE, /* a view: same elements, new (C, H, W) */
    CLG_LAYER_DROPOUT, /* training only; mask regenerated from Philox */
    CLG_LAYER_NOISE,   /* additive N(0, std^2), training only */
    CLG_LAYER_MAXPOOL, /* adaptive max pool to (out_h, out_w) */
    CLG_LAYER_MBD,     /* minibatch discrimination: (N, A) -> (N, A + B) */
    CLG_LAYER_AVGPOOL2, /* 2x2 average, stride 2 */
    CLG_LAYER_BLURDOWN, /* Gaussian pyramid REDUCE: 5-tap blur, keep every second */
    CLG_LAYER_UPSAMPLE2, /* bilinear 2x (align_corners = False) */
    CLG_LAYER_CONCAT,  /* [x, side input] along channels (labels, an image) */
    CLG_LAYER_WN_CONV, /* weight_g (K, 1, 1, 1), weight_v (K, C, R, S), bias (K) */
    CLG_LAYER_GAVGPOOL, /* global average pool: (N, C, H, W) -> (N, C, 1, 1) */
    CLG_LAYER_BN_ACT,  /* batch norm then ReLU or leaky ReLU, fused: BN's tensors */
    CLG_LAYER_KIND_COUNT
} clg_layer_kind;

/* Which block a layer's tensor lives in. */
typedef enum {
    CLG_SLOT_PARAM,  /* trained: gradient and Adam moments at the same offset */
    CLG_SLOT_BUFFER, /* saved in checkpoints, not trained (BN running statistics) */
    CLG_SLOT_SAVED,  /* written by forward for backward; not saved */
    CLG_SLOT_BLOCK_COUNT
} clg_slot_block;

#define CLG_LAYER_SLOTS 6

/* One tensor of a layer: its block, state_dict suffix, shape on the device
 * and as PyTorch stores it. */
typedef struct {
    clg_slot_block block;
    const char *suffix; /* "weight"; NULL for SAVED tensors */
    int shape[4];       /* (n, c, h, w) on the device */
    int ndim;           /* PyTorch's rank */
    int64_t pt[4];      /* PyTorch's shape */
} clg_slot;

typedef struct clg_layer clg_layer;
typedef struct clg_net clg_net;

typedef enum {
    CLG_NET_EVAL,        /* BN normalises with its running statistics */
    CLG_NET_TRAIN,       /* BN uses the batch's statistics and updates the running ones */
    CLG_NET_BATCH_STATS, /* BN uses the batch's statistics, running ones untouched */
} clg_net_mode;

/* What backward hands a layer: its input x, the gradient of its output
 * (dout), where its input gradient goes (dx: dout's own storage for a layer
 * run in place; NULL when nobody needs it), storage of the input's shape it
 * may write when dx is NULL (spare), and whether to accumulate parameter
 * gradients (else it must leave every parameter gradient untouched). */
typedef struct {
    const clg_tensor *x, *dout, *dx, *spare;
    int param_grads;
} clg_layer_bwd;

#define CLG_OP_IN_PLACE 1u     /* may compute out over x's storage */
#define CLG_OP_NEEDS_OUTPUT 2u /* backward reads the layer's own output */
#define CLG_OP_VIEW 4u         /* output is the input under a new shape: no kernel */
#define CLG_OP_FUSES_ACT 8u    /* forward applies l->fused in its kernels (clg_net_act) */

typedef struct {
    const char *name;
    unsigned flags;
    /* l->out from l->in and the settings; CLG_ERR_INVALID_ARG on bad ones. */
    clg_status (*shape)(clg_layer *l);
    /* The layer's tensors in block order; returns their count (<= CLG_LAYER_SLOTS). */
    int (*slots)(const clg_layer *l, clg_slot *out);
    /* Initial values of PARAM and BUFFER tensors (may be NULL: zeros). */
    clg_status (*init)(clg_ctx *ctx, clg_net *net, clg_layer *l, uint64_t seed);
    clg_status (*forward)(clg_ctx *ctx, clg_net *net, clg_layer *l, const clg_tensor *x,
                          clg_net_mode mode);
    clg_status (*backward)(clg_ctx *ctx, clg_net *net, clg_layer *l, const clg_layer_bwd *b);
    /* Device resources beyond the blocks (may be NULL). */
    clg_status (*reserve)(clg_ctx *ctx, clg_net *net, clg_layer *l);
    void (*release)(clg_ctx *ctx, clg_layer *l);
} clg_layer_ops;

/* The table: one line per kind (models/layers.c). */
const clg_layer_ops *clg_layer_ops_of(clg_layer_kind kind);

/* Settings of the kinds that have some. */
typedef union {
    struct { int k, r, stride, pad, bias; clg_conv_desc d; } conv; /* conv, convT; d: set by shape */
    struct { int out, bias; float init_scale, v_std; clg_conv_desc d; int fixed_g; } lin; /* linear, wn_linear; d: set by shape; fixed_g: g not trained */
    struct { int affine; clg_act act; float slope; } bn; /* bn, vbn, bn_act */
    struct { clg_act act; float slope; } act;
    struct { float p; uint64_t rng_offset; int active; } drop; /* dropout p, noise std */
    struct { int h, w; } pool;                   /* maxpool's output size */
    struct { int B, C; } mbd;
    struct { int side, channels; } cat;          /* which side input, its channels */
    struct { int c, h, w; } view;                /* reshape's target */
} clg_layer_args;

#define CLG_NAME_MAX 32

struct clg_layer {
    clg_layer_kind kind;
    const clg_layer_ops *ops;
    char name[CLG_NAME_MAX]; /* state_dict prefix, e.g. "main.0"; "" for parameterless */
    char tap[CLG_NAME_MAX];  /* a name to read the output by (clg_net_tap); "" none */
    int in[4], out[4];       /* (N, C, H, W) */
    int in_place;            /* decided by clg_net_alloc */
    clg_fused_act fused;     /* an activation clg_net_act folded into the forward of a
                                CLG_OP_FUSES_ACT kind; its backward runs in the net's
                                loop before the layer's; identity: none */
    clg_layer_args a;
    clg_slot slot[CLG_LAYER_SLOTS];
    int nslots;
    clg_tensor t[CLG_LAYER_SLOTS];  /* the slots' tensors: views into the blocks */
    clg_tensor dt[CLG_LAYER_SLOTS]; /* PARAM slots: their gradients */
    clg_tensor output;              /* (N, C, H, W): this layer's output */
    void *state;                    /* kind-owned state (VBN's statistics, max pool's indices) */
};

#define CLG_NET_MAX_LAYERS 64
#define CLG_NET_MAX_SIDES 2

/* Data-parallel gradient buckets (models/grad_buckets.h): consecutive
 * layers' stretch of the gradient block, final once the backward has
 * passed the lowest of them. */
typedef struct {
    int first;         /* its lowest layer */
    size_t off, bytes; /* its stretch of the gradient block */
    cl_event ready;    /* marker after layer `first`'s backward, when armed */
} clg_grad_bucket;

typedef struct {
    size_t planned; /* bucket bytes they were planned for (0: not planned) */
    int count;
    int armed; /* 1: the next backward with parameter gradients marks them; 2: marked */
    clg_grad_bucket b[CLG_NET_MAX_LAYERS]; /* from the last layers down */
} clg_grad_buckets;

struct clg_net {
    clg_layer layers[CLG_NET_MAX_LAYERS];
    int count;
    int batch;
    int in[4];
    float bn_momentum, bn_eps, init_std;
    clg_block params, grads, adam_m, adam_v, buffers, saved, acts;
    cl_mem dbuf[2]; /* ping-pong activation gradients */
    size_t dbuf_numel;
    uint64_t rng_seed, rng_counter; /* dropout and noise draw at rng_counter */
    const clg_tensor *side[CLG_NET_MAX_SIDES]; /* concat's side inputs, set before forward */
    clg_tensor vbn_input; /* (batch, in...) the VBN reference batch, in the buffers block
                             (saved with the net as "vbn_reference") when a layer is VBN;
                             with data-parallel ranks (batch x ranks, in...): the whole
                             batch, of which each rank runs rows vbn_first.. (batch) */
    int vbn_first;
    int vbn_ref;   /* 1 during clg_net_vbn_reference (VBN layers take statistics),
                      2 during clg_net_vbn_reference_backward */
    int data_init; /* 1 during clg_net_data_init: WN layers set g, b from their output */
    clg_grad_buckets buckets;
};

/* Start a network taking (batch, c, h, w) inputs. */
void clg_net_init(clg_net *net, int batch, int c, int h, int w);
/* Append any kind with its settings (shape errors: CLG_ERR_INVALID_ARG).
 * `name` is the state_dict prefix for layers with tensors. */
clg_status clg_net_add(clg_net *net, clg_layer_kind kind, const char *name,
                       const clg_layer_args *a);
/* Shorthands for clg_net_add. */
clg_status clg_net_conv(clg_net *net, const char *name, int k, int r, int stride, int pad,
                        int bias);
clg_status clg_net_convt(clg_net *net, const char *name, int c_out, int r, int stride, int pad,
                         int bias);
clg_status clg_net_linear(clg_net *net, const char *name, int out, int bias);
/* Weight-normalised linear, w = g v / ||v|| per output (v ~ N(0, 0.05),
 * g = 1, b = 0 until clg_net_data_init, which scales to init_scale). */
clg_status clg_net_wn_linear(clg_net *net, const char *name, int out, float init_scale);
/* The last added weight-normalised linear layer keeps its scale g as the
 * data-dependent initialisation (or init) sets it: g gets no gradient. */
clg_status clg_net_fix_scale(clg_net *net);
/* The same with v ~ N(0, v_std) (the size of v sets how fast Adam turns w). */
clg_status clg_net_wn_linear_v(clg_net *net, const char *name, int out, float init_scale,
                               float v_std);
/* Weight-normalised conv (bias on), w = g v / ||v|| per output filter
 * (v ~ N(0, 0.05), g = 1, b = 0 until clg_net_data_init: unit scale). */
clg_status clg_net_wn_conv(clg_net *net, const char *name, int k, int r, int stride, int pad);
clg_status clg_net_bn(clg_net *net, const char *name, int affine);
/* Batch norm then act (ReLU, or leaky ReLU of `slope`) in one layer: the
 * same parameters and buffers as clg_net_bn's, the same results as
 * clg_net_bn then clg_net_act, two passes over the tensor fewer. */
clg_status clg_net_bn_act(clg_net *net, const char *name, int affine, clg_act act, float slope);
/* Whether the layer's output is an activation's (kind act, bn_act, or a
 * conv or linear layer with one folded in). */
int clg_layer_is_act(const clg_layer *l);
clg_status clg_net_vbn(clg_net *net, const char *name, int affine);
/* An activation; ReLU and leaky ReLU after a conv or linear layer (whose
 * output is not a tap) fold into that layer's forward kernels instead of a
 * layer of their own: the same results bit for bit, a pass fewer. */
clg_status clg_net_act(clg_net *net, clg_act act, float slope);
/* An activation layer of its own, always. */
clg_status clg_net_act_unfused(clg_net *net, clg_act act, float slope);
clg_status clg_net_reshape(clg_net *net, int c, int h, int w);
clg_status clg_net_dropout(clg_net *net, float p);
clg_status clg_net_noise(clg_net *net, float std);
clg_status clg_net_maxpool(clg_net *net, int out_h, int out_w);
clg_status clg_net_mbd(clg_net *net, const char *name, int B, int C);
clg_status clg_net_avgpool2(clg_net *net);
clg_status clg_net_gavgpool(clg_net *net);
clg_status clg_net_blurdown(clg_net *net);
clg_status clg_net_upsample2(clg_net *net);
/* Concatenate side input `side` (set with clg_net_set_side before each
 * forward) of `channels` channels: (N, channels, 1, 1) vectors become
 * constant planes, (N, channels, H, W) images are copied. No gradient flows
 * into the side input. */
clg_status clg_net_concat(clg_net *net, int side, int channels);
/* Name the last added layer's output, to read it (clg_net_tap) and to
 * inject a gradient there (clg_net_backward_taps). */
clg_status clg_net_name_tap(clg_net *net, const char *tap);
void clg_net_set_side(clg_net *net, int side, const clg_tensor *t);

/* Allocate every block; parameters zero until clg_net_init_params. */
clg_status clg_net_alloc(clg_ctx *ctx, clg_net *net);
void clg_net_free(clg_ctx *ctx, clg_net *net);
/* DCGAN's initialisation from Philox(seed): conv, convT and linear weights
 * N(0, init_std), biases 0, BN gamma N(1, init_std), beta 0, running mean 0,
 * running var 1; weight-normalised layers v ~ N(0, 0.05), g = 1. Moments,
 * gradients zero. */
clg_status clg_net_init_params(clg_ctx *ctx, clg_net *net, uint64_t seed);

/* Forward on inp (batch, in...). */
clg_status clg_net_forward(clg_ctx *ctx, clg_net *net, const clg_tensor *inp,
                           clg_net_mode mode);
/* VBN: run the reference batch through the network so each VBN layer keeps
 * its statistics for the forwards that follow. `ref` (the input's shape)
 * replaces the stored reference batch, which is part of the net's state
 * (clg_net_tensors, so checkpoints); NULL runs the stored one. */
clg_status clg_net_vbn_reference(clg_ctx *ctx, clg_net *net, const clg_tensor *ref);
/* After the backward passes of the minibatches that followed
 * clg_net_vbn_reference (parameters unchanged since): the rest of the
 * parameter gradient, through the reference statistics. The reference
 * forward is recomputed (the minibatches overwrote its activations), then
 * run backward with no gradient at its output; the VBN layers add what
 * their statistics received. Leaves the network's activations those of the
 * reference batch. */
clg_status clg_net_vbn_reference_backward(clg_ctx *ctx, clg_net *net);
/* Weight normalisation's data-dependent initialisation (openai/improved-gan
 * nn.py): one forward of `inp` in which each WN layer, in order, sets g and b
 * so its outputs have zero mean and unit variance over the batch. */
clg_status clg_net_data_init(clg_ctx *ctx, clg_net *net, const clg_tensor *inp);
/* The gradient of the loss w.r.t. the output: fill this before backward. */
clg_tensor clg_net_doutput(const clg_net *net);
const clg_tensor *clg_net_output(const clg_net *net);
/* The output of the layer named `tap`, or NULL. */
const clg_tensor *clg_net_tap(const clg_net *net, const char *tap);

/* Backward after a training forward of `inp`. param_grads: accumulate into
 * the gradient block (else no parameter gradient changes); dinp: gradient
 * w.r.t. inp is written there when not NULL. */
clg_status clg_net_backward(clg_ctx *ctx, clg_net *net, const clg_tensor *inp,
                            const clg_tensor *dinp, int param_grads);
/* The same with gradients injected at named taps: grads[i] (the tap's
 * output shape) is added to the gradient arriving at taps[i]. */
clg_status clg_net_backward_taps(clg_ctx *ctx, clg_net *net, const clg_tensor *inp,
                                 const clg_tensor *dinp, int param_grads,
                                 const char *const *taps, const clg_tensor *grads, int ntaps);
clg_status clg_net_zero_grad(clg_ctx *ctx, clg_net *net);

/* Parameter and buffer tensors in state_dict order, with their names
 * ("main.1.weight", "main.1.running_mean"); for checkpoints. */
typedef struct {
    char name[48];
    clg_tensor t;          /* the value */
    int ndim;              /* PyTorch's rank for this tensor */
    int64_t shape[4];
    int trainable;         /* 1: has gradient and Adam moments at the same offset */
} clg_named_tensor;
int clg_net_tensors(const clg_net *net, clg_named_tensor *out, int cap);

/* Bytes of parameters, gradients, moments, buffers and activations. */
size_t clg_net_device_bytes(const clg_net *net);

/* For the kinds' files: a slot with device shape (n, c, h, w) and PyTorch
 * rank ndim (shape from the device one: 1-D numel, 2-D (n, c*h*w), 4-D). */
clg_slot clg_slot_make(clg_slot_block b, const char *suffix, int n, int c, int h, int w,
                       int ndim);

#endif
