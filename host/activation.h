/* activation.h: wrappers for kernels/activation.cl: elementwise activations
 * and their backward passes over the flat elements of equal-sized tensors.
 * Calls are enqueued, not waited for. */
#ifndef CLG_ACTIVATION_H
#define CLG_ACTIVATION_H

#include "tensor.h"

typedef enum {
    CLG_ACT_IDENTITY,
    CLG_ACT_RELU,
    CLG_ACT_LEAKY_RELU, /* x > 0 ? x : slope * x, slope > 0 */
    CLG_ACT_TANH,
    CLG_ACT_SIGMOID,    /* numerically stable: finite for any finite x */
    CLG_ACT_SOFTPLUS,   /* log(1 + exp(x)), stable: max(x, 0) + log1p(exp(-|x|)) */
    CLG_ACT_COUNT
} clg_act;

/* "identity", "relu", "leaky_relu", "tanh", "sigmoid", "softplus"; "unknown"
 * otherwise. */
const char *clg_act_name(clg_act a);

/* An activation another op's kernels apply where they write their output
 * (batch norm's, the convolutions' epilogue), bit for bit as
 * clg_act_forward would after them: CLG_ACT_IDENTITY (none), CLG_ACT_RELU,
 * or CLG_ACT_LEAKY_RELU with a finite slope > 0. */
typedef struct {
    clg_act act;
    float slope;
} clg_fused_act;

/* 1 for those (IDENTITY included), 0 otherwise; _check: the same as a
 * status, CLG_ERR_INVALID_ARG naming `op`. */
int clg_fused_act_valid(clg_fused_act a);
clg_status clg_fused_act_check(const char *op, clg_fused_act a);

/* out = f(in). out == in (in place) is allowed. `slope` is read by
 * CLG_ACT_LEAKY_RELU only and must then be > 0 (else CLG_ERR_INVALID_ARG). */
clg_status clg_act_forward(clg_ctx *ctx, const clg_tensor *out, const clg_tensor *in,
                           clg_act act, float slope);

/* din = dout * f'(x), written (not accumulated). f' is computed from the
 * forward OUTPUT `out` = f(x), so the forward may have run in place:
 *   relu: out > 0; leaky: out > 0 ? 1 : slope; tanh: 1 - out^2;
 *   sigmoid: out (1 - out); softplus: sigmoid(x) = 1 - exp(-out), computed
 *   as -expm1(-out) (accurate where out is tiny); identity: 1.
 * din may alias dout. All three tensors have equal element counts. */
clg_status clg_act_backward(clg_ctx *ctx, const clg_tensor *din, const clg_tensor *dout,
                            const clg_tensor *out, clg_act act, float slope);

#endif
