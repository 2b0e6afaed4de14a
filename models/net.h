/* net.h: sequential networks of layers over the kernels: the layer list,
 * one block each for parameters, gradients, both Adam moments and the
 * non-trained buffers (BN running statistics), activations allocated once
 * for a fixed batch, and forward/backward passes.
 *
 * Names follow PyTorch's nn.Sequential state_dict ("main.0.weight"), so
 * checkpoints map onto pytorch/examples' models.
 *
 * Memory: each layer's output is kept for backward (activation layers run in
 * place on their input, which their backward does not need), while the
 * gradients of activations flow through two ping-pong buffers of the largest
 * activation's size. Nothing is allocated after clg_net_alloc. */
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
    CLG_LAYER_BN,      /* weight = gamma (C), bias = beta (C) when affine */
    CLG_LAYER_ACT,     /* in place */
    CLG_LAYER_RESHAPE, /* a view: same elements, new (C, H, W) */
    CLG_LAYER_DROPOUT, /* in place, training only; mask regenerated from Philox */
    CLG_LAYER_NOISE,   /* in place additive N(0, std^2), training only */
    CLG_LAYER_MAXPOOL, /* adaptive max pool to (out_h, out_w) */
} clg_layer_kind;

typedef struct {
    clg_layer_kind kind;
    char name[32];      /* state_dict prefix, e.g. "main.0"; "" for parameterless */
    int in[4], out[4];  /* (N, C, H, W) */
    /* settings */
    int has_bias, affine;
    clg_act act;
    float slope;
    float p;              /* dropout probability, or the noise's std */
    uint64_t rng_offset;  /* dropout/noise: where the last forward drew */
    int active;           /* dropout/noise: whether the last forward applied it */
    size_t arg_off;       /* maxpool: its argmax slice in the net's index buffer */
    clg_conv_desc conv;
    /* parameters and their gradients: views into the net's blocks */
    clg_tensor weight, bias, dweight, dbias;
    clg_tensor run_mean, run_var; /* BN: (C) in the buffers block */
    clg_tensor mean, rstd;        /* BN: (C) saved by forward for backward */
    clg_tensor output;            /* (N, C, H, W): this layer's output */
} clg_layer;

#define CLG_NET_MAX_LAYERS 64

typedef struct {
    clg_layer layers[CLG_NET_MAX_LAYERS];
    int count;
    int batch;
    int in[4];
    float bn_momentum, bn_eps, init_std;
    clg_block params, grads, adam_m, adam_v, buffers, acts, saved;
    cl_mem dbuf[2]; /* ping-pong activation gradients */
    size_t dbuf_numel;
    cl_mem args;    /* max-pool argmax indices (cl_int) */
    size_t args_numel;
    uint64_t rng_seed, rng_counter; /* dropout and noise draw at rng_counter */
} clg_net;

/* Start a network taking (batch, c, h, w) inputs. */
void clg_net_init(clg_net *net, int batch, int c, int h, int w);
/* Append layers (shape errors surface as CLG_ERR_INVALID_ARG). `name` is the
 * state_dict prefix for layers with parameters. */
clg_status clg_net_conv(clg_net *net, const char *name, int k, int r, int stride, int pad,
                        int bias);
clg_status clg_net_convt(clg_net *net, const char *name, int c_out, int r, int stride, int pad,
                         int bias);
clg_status clg_net_linear(clg_net *net, const char *name, int out, int bias);
clg_status clg_net_bn(clg_net *net, const char *name, int affine);
clg_status clg_net_act(clg_net *net, clg_act act, float slope);
clg_status clg_net_reshape(clg_net *net, int c, int h, int w);
clg_status clg_net_dropout(clg_net *net, float p);
clg_status clg_net_noise(clg_net *net, float std);
clg_status clg_net_maxpool(clg_net *net, int out_h, int out_w);

/* Allocate every block; parameters zero until clg_net_init_params. */
clg_status clg_net_alloc(clg_ctx *ctx, clg_net *net);
void clg_net_free(clg_ctx *ctx, clg_net *net);
/* DCGAN's initialisation from Philox(seed): conv, convT and linear weights
 * N(0, init_std), biases 0, BN gamma N(1, init_std), beta 0, running mean 0,
 * running var 1. */
clg_status clg_net_init_params(clg_ctx *ctx, clg_net *net, uint64_t seed);

typedef enum {
    CLG_NET_EVAL,        /* BN normalises with its running statistics */
    CLG_NET_TRAIN,       /* BN uses the batch's statistics and updates the running ones */
    CLG_NET_BATCH_STATS, /* BN uses the batch's statistics, running ones untouched */
} clg_net_mode;

/* Forward on inp (batch, in...). */
clg_status clg_net_forward(clg_ctx *ctx, clg_net *net, const clg_tensor *inp,
                           clg_net_mode mode);
/* The gradient of the loss w.r.t. the output: fill this before backward. */
clg_tensor clg_net_doutput(const clg_net *net);
const clg_tensor *clg_net_output(const clg_net *net);
/* Backward after a training forward of `inp`. param_grads: accumulate into
 * the gradient block (else only propagate); dinp: gradient w.r.t. inp is
 * written there when not NULL. */
clg_status clg_net_backward(clg_ctx *ctx, clg_net *net, const clg_tensor *inp,
                            const clg_tensor *dinp, int param_grads);
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

#endif
