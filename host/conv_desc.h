/* conv_desc.h: what describes a convolution (clg_conv_desc: the shapes)
 * and a kernel variant of kernels/conv.cl (clg_conv_algo: tile sizes), as
 * plain data with their checks, names and text form.
 *
 * Not here: anything that builds or launches kernels, or asks the device
 * (host/conv.h), nor the stored per-device choices (host/conv_tune.h). Both
 * of those sit above this file; it includes neither. */
#ifndef CLG_CONV_DESC_H
#define CLG_CONV_DESC_H

#include "status.h"

#include <stddef.h>

/* The three GEMMs, named for the convolution (a transposed conv's forward is
 * CLG_CONV_BWD_DATA of its descriptor). */
typedef enum {
    CLG_CONV_FWD,
    CLG_CONV_BWD_DATA,
    CLG_CONV_BWD_WEIGHT,
    CLG_CONV_DIR_COUNT
} clg_conv_dir;
const char *clg_conv_dir_name(clg_conv_dir dir); /* "fwd", "bwd_data", "bwd_weight" */

typedef enum { CLG_CONV_TILED, CLG_CONV_DIRECT, CLG_CONV_MVEC } clg_conv_kind;

typedef struct {
    clg_conv_kind kind;
    int tm, tn, tk; /* tiled: work-group tile (rows x columns) and reduction step */
    int wm, vw;     /* per work-item register block: wm rows x vw columns;
                     * mvec: wm vectors of vw rows */
    int lx, ly;     /* direct, mvec: local size */
    int split;      /* split-K factor; 0: chosen from the shape and the device */
    int nb;         /* mvec: columns per work-item */
} clg_conv_algo;

typedef struct {
    int N, C, H, W; /* input (N, C, H, W) */
    int K, R, S;    /* weight (K, C, R, S) */
    int stride, pad;
    int P, Q;       /* output (N, K, P, Q): P = (H + 2 pad - R) / stride + 1 */
    /* The variants of its three directions (by clg_conv_dir), chosen once by
     * clg_conv_reserve (host/conv.h) so that its calls choose nothing; 0:
     * each call chooses. */
    int planned;
    clg_conv_algo plan[CLG_CONV_DIR_COUNT];
} clg_conv_desc;

/* A convolution of inp (N, C, H, W) with weight (K, C, R, S). Fails with
 * CLG_ERR_INVALID_ARG when a size is out of range or the output is empty. */
clg_status clg_conv_desc_init(clg_conv_desc *d, int N, int C, int H, int W, int K, int R, int S,
                              int stride, int pad);
/* A transposed convolution of inp (N, C_in, H_in, W_in) with weight
 * (C_in, C_out, R, S), output (N, C_out, (H_in - 1) stride - 2 pad + R, ...).
 * *d describes the adjoint convolution: d->C, H, W are the transposed
 * conv's output, d->K, P, Q its input. */
clg_status clg_conv_transpose_desc_init(clg_conv_desc *d, int N, int C_in, int H_in, int W_in,
                                        int C_out, int R, int S, int stride, int pad);

/* 2 * multiply-adds of one pass (the three directions cost the same). */
double clg_conv_flops(const clg_conv_desc *d);

/* 1 when `a` meets the kernels' compile-time constraints (the #error lines
 * of conv.cl); says nothing of what a device can launch. */
int clg_conv_algo_valid(const clg_conv_algo *a);
/* "tiled:TMxTNxTK:WMxVW" / "direct:WMxVW:LXxLY:TMxTNxTK" (a direct variant
 * names the tile set whose program it shares) / "mvec:WMxVW:NB:LXxLY" (rows
 * in WM vectors of VW, NB columns; its program's tile set is 64x64x16:4xVW),
 * plus ":sN" for a fixed split. */
void clg_conv_algo_format(const clg_conv_algo *a, char *buf, size_t cap);
clg_status clg_conv_algo_parse(const char *s, clg_conv_algo *out);
/* 1 when a and b are the same variant (the same text form). */
int clg_conv_algo_same(const clg_conv_algo *a, const clg_conv_algo *b);

#endif
