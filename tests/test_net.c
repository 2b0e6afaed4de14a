/* test_net.c: the network framework (models/net.c over the layer table):
 * - every layer kind's backward, through the generic network code, against
 *   central finite differences of the network's own forward: input
 *   gradient and every parameter tensor;
 * - each of {relu, leaky relu, tanh, sigmoid, softplus} followed by
 *   {dropout, noise} and the reverse order (the in-place plan must keep
 *   what an activation's backward reads);
 * - a backward asked not to accumulate parameter gradients leaves every
 *   one of them untouched (BN, VBN, MBD, weight norm, conv, linear);
 * - named taps: read after the forward (not overwritten by a later layer),
 *   gradients injected there, unknown names refused;
 * - weight norm's data-dependent init (dense and conv); global average
 *   pooling against C; VBN's outputs independent of the rest of their
 *   batch.
 *
 * Tolerance of the gradient checks: central differences of float32
 * forwards with h = 1e-2 and 5e-3; an element counts only where both agree
 * (a step across a ReLU kink or a max-pool switch changes the difference),
 * and the analytic gradient must then be within 1e-2 of the largest
 * gradient checked. At least 80% of the elements must be checkable. Under
 * Oclgrind (CLGAN_TEST_SMALL) only a few elements are checked. */
#include "testutil.h"
#include "net.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the generic check ---------------------------------------------------- */

typedef struct {
    clg_ctx *ctx;
    clg_net *net;
    clg_tensor x;
    float *xv, *r; /* input values, the loss weights r (loss = sum(out * r)) */
    size_t nx, nout;
    clg_net_mode mode;
    int vbn; /* each forward after the stored VBN reference batch's pass */
} gcase;

/* The stream of dropout and noise is rewound first, so every forward draws
 * the same mask and noise. */
static double loss_of(gcase *g) {
    g->net->rng_counter = 0;
    if (g->vbn) CLG_ASSERT_OK(clg_net_vbn_reference(g->ctx, g->net, NULL));
    CLG_ASSERT_OK(clg_net_forward(g->ctx, g->net, &g->x, g->mode));
    float *out = malloc(g->nout * sizeof *out);
    CLG_ASSERT_OK(clg_tensor_download(g->ctx, clg_net_output(g->net), out));
    double l = 0;
    for (size_t i = 0; i < g->nout; i++) l += (double)out[i] * g->r[i];
    free(out);
    return l;
}

/* Central difference in vals[i], which `t` holds on the device. */
static double central_diff(gcase *g, const clg_tensor *t, float *vals, size_t i, float h) {
    float keep = vals[i];
    vals[i] = keep + h;
    CLG_ASSERT_OK(clg_tensor_upload(g->ctx, t, vals));
    double lp = loss_of(g);
    vals[i] = keep - h;
    CLG_ASSERT_OK(clg_tensor_upload(g->ctx, t, vals));
    double lm = loss_of(g);
    vals[i] = keep;
    CLG_ASSERT_OK(clg_tensor_upload(g->ctx, t, vals));
    return (lp - lm) / (2 * h);
}

typedef struct {
    double worst, scale;
    int checked, skipped;
} gstats;

static void compare(gcase *g, const clg_tensor *t, float *vals, size_t i, double analytic,
                    gstats *s) {
    double f1 = central_diff(g, t, vals, i, 1e-2f), f2 = central_diff(g, t, vals, i, 5e-3f);
    double mag = fmax(fabs(f1), fabs(analytic));
    if (fabs(f1 - f2) > 2e-3 * fmax(1.0, mag)) {
        s->skipped++;
        return;
    }
    s->worst = fmax(s->worst, fabs(f2 - analytic));
    s->scale = fmax(s->scale, fabs(f2));
    s->checked++;
}

/* Checks dL/dx (every `stride`-th element) and every trainable tensor (a
 * few elements each) of an allocated network whose parameters are set. */
static gstats check_gradients(gcase *g, int stride) {
    clg_ctx *ctx = g->ctx;
    clg_net *net = g->net;
    clg_tensor p = clg_block_tensor(&net->params), gr = clg_block_tensor(&net->grads);
    size_t np = clg_tensor_numel(&p);
    float *pv = malloc(np * sizeof *pv), *gv = malloc(np * sizeof *gv);
    float *dx = malloc(g->nx * sizeof *dx);
    CLG_ASSERT_OK(clg_tensor_download(ctx, &p, pv));
    clg_tensor dxt = clg_test_tensor(ctx, g->x.n, g->x.c, g->x.h, g->x.w, NULL);
    loss_of(g);
    clg_tensor dout = clg_net_doutput(net);
    CLG_ASSERT_OK(clg_tensor_upload(ctx, &dout, g->r));
    CLG_ASSERT_OK(clg_net_zero_grad(ctx, net));
    CLG_ASSERT_OK(clg_net_backward(ctx, net, &g->x, &dxt, 1));
    CLG_ASSERT_OK(clg_tensor_download(ctx, &dxt, dx));
    if (g->vbn) CLG_ASSERT_OK(clg_net_vbn_reference_backward(ctx, net));
    CLG_ASSERT_OK(clg_tensor_download(ctx, &gr, gv));
    gstats s = {0, 0, 0, 0};
    /* Under Oclgrind (small runs) a few elements: it looks for memory
     * errors and races, the native run checks the numbers. */
    const int small = clg_test_small();
    if (small) stride = (int)(g->nx / 2) + 1;
    for (size_t i = 0; i < g->nx; i += (size_t)stride) compare(g, &g->x, g->xv, i, dx[i], &s);
    clg_named_tensor nts[64];
    int nt = clg_net_tensors(net, nts, 64);
    for (int t = 0; t < nt && t < 64; t++) {
        if (!nts[t].trainable) continue;
        size_t off = nts[t].t.off / 4, n = clg_tensor_numel(&nts[t].t);
        for (size_t j = 0; j < n; j += small ? n : n / 4 + 1)
            compare(g, &p, pv, off + j, gv[off + j], &s);
    }
    clg_tensor_free(ctx, &dxt);
    free(pv), free(gv), free(dx);
    return s;
}

static void assert_gradients_ok(const gstats *s, const char *what) {
    if (s->checked < 4 * (s->checked + s->skipped) / 5)
        fail_msg("%s: only %d of %d elements checkable", what, s->checked, s->checked + s->skipped);
    if (!(s->scale > 1e-3)) fail_msg("%s: no signal (largest gradient %g)", what, s->scale);
    if (s->worst > 1e-2 * s->scale)
        fail_msg("%s: gradient error %g over scale %g", what, s->worst, s->scale);
}

/* Allocate, give every parameter U(-lim, lim) (larger than DCGAN's init so
 * every path carries signal), an input U(-1, 1) and loss weights. */
static gcase setup(clg_ctx *ctx, clg_net *net, float lim, uint64_t seed, clg_net_mode mode) {
    CLG_ASSERT_OK(clg_net_alloc(ctx, net));
    CLG_ASSERT_OK(clg_net_init_params(ctx, net, seed));
    clg_tensor p = clg_block_tensor(&net->params);
    size_t np = clg_tensor_numel(&p);
    float *pv = malloc(np * sizeof *pv);
    clg_test_fill_uniform(pv, np, seed + 1, -lim, lim);
    CLG_ASSERT_OK(clg_tensor_upload(ctx, &p, pv));
    free(pv);
    gcase g = {ctx, net, {0}, NULL, NULL, 0, 0, mode, 0};
    g.nx = (size_t)net->in[0] * net->in[1] * net->in[2] * net->in[3];
    g.nout = clg_tensor_numel(clg_net_output(net));
    g.xv = malloc(g.nx * sizeof *g.xv);
    g.r = malloc(g.nout * sizeof *g.r);
    clg_test_fill_uniform(g.xv, g.nx, seed + 2, -1.0f, 1.0f);
    clg_test_fill_uniform(g.r, g.nout, seed + 3, -1.0f, 1.0f);
    g.x = clg_test_tensor(ctx, net->in[0], net->in[1], net->in[2], net->in[3], g.xv);
    return g;
}

static void teardown(gcase *g) {
    clg_tensor_free(g->ctx, &g->x);
    clg_net_free(g->ctx, g->net);
    free(g->xv), free(g->r);
}

static void run_check(clg_ctx *ctx, clg_net *net, float lim, uint64_t seed, clg_net_mode mode,
                      int stride, const char *what) {
    gcase g = setup(ctx, net, lim, seed, mode);
    gstats s = check_gradients(&g, stride);
    assert_gradients_ok(&s, what);
    teardown(&g);
}

/* ---- the original kinds --------------------------------------------------- */

static void test_conv_bn_linear_gradients(void **state) {
    clg_net net;
    clg_net_init(&net, 2, 2, 6, 6);
    CLG_ASSERT_OK(clg_net_conv(&net, "main.0", 3, 3, 1, 1, 1));
    CLG_ASSERT_OK(clg_net_bn(&net, "main.1", 1));
    CLG_ASSERT_OK(clg_net_act(&net, CLG_ACT_TANH, 0.0f));
    CLG_ASSERT_OK(clg_net_convt(&net, "main.3", 2, 4, 2, 1, 1)); /* 6 -> 12 */
    CLG_ASSERT_OK(clg_net_act(&net, CLG_ACT_SIGMOID, 0.0f));
    CLG_ASSERT_OK(clg_net_conv(&net, "main.5", 2, 4, 2, 1, 0)); /* 12 -> 6 */
    CLG_ASSERT_OK(clg_net_reshape(&net, 72, 1, 1));
    CLG_ASSERT_OK(clg_net_linear(&net, "main.7", 3, 1));
    CLG_ASSERT_OK(clg_net_act(&net, CLG_ACT_LEAKY_RELU, 0.2f));
    run_check(*state, &net, 0.5f, 5, CLG_NET_BATCH_STATS, 7, "conv/bn/convT/linear");
}

/* Batch norm with a fused activation. The sigmoid after the fused ReLU may
 * not run in place over its output (which bn_act's backward reads: a
 * sigmoid's output is positive everywhere, so reading it instead would pass
 * every gradient through the ReLU). */
static void test_bn_act_gradients(void **state) {
    clg_net net;
    clg_net_init(&net, 3, 2, 5, 5);
    CLG_ASSERT_OK(clg_net_conv(&net, "main.0", 3, 3, 1, 1, 1));
    CLG_ASSERT_OK(clg_net_bn_act(&net, "main.1", 1, CLG_ACT_LEAKY_RELU, 0.2f));
    CLG_ASSERT_OK(clg_net_conv(&net, "main.3", 4, 3, 1, 1, 0)); /* 5 -> 5 */
    CLG_ASSERT_OK(clg_net_bn_act(&net, "main.4", 0, CLG_ACT_RELU, 0.0f));
    CLG_ASSERT_OK(clg_net_act(&net, CLG_ACT_SIGMOID, 0.0f));
    CLG_ASSERT_OK(clg_net_reshape(&net, 100, 1, 1));
    CLG_ASSERT_OK(clg_net_linear(&net, "main.7", 3, 1));
    run_check(*state, &net, 0.5f, 9, CLG_NET_BATCH_STATS, 7, "conv/bn_act/sigmoid/linear");
    assert_int_equal(net.layers[4].in_place, 0);
    clg_net bad;
    clg_net_init(&bad, 2, 2, 1, 1);
    assert_int_equal(clg_net_bn_act(&bad, "main.0", 1, CLG_ACT_TANH, 0.0f), CLG_ERR_INVALID_ARG);
    assert_non_null(strstr(clg_last_error(), "no fused tanh"));
}

/* ReLU and leaky ReLU after conv, convT, linear and weight-normalised
 * linear layers fold into those layers' kernels (clg_net_act): the output,
 * the input gradient and every parameter gradient bit for bit those of the
 * same network with activation layers of their own; noise after a folded
 * layer may not run in place over the output its backward reads; the
 * gradients by central differences; a tap keeps its activation apart. */
static void build_fusable(clg_net *net, int fused) {
    clg_status (*act)(clg_net *, clg_act, float) = fused ? clg_net_act : clg_net_act_unfused;
    clg_net_init(net, 3, 2, 6, 6);
    net->rng_seed = 5;
    CLG_ASSERT_OK(clg_net_conv(net, "main.0", 3, 3, 1, 1, 1));
    CLG_ASSERT_OK(act(net, CLG_ACT_LEAKY_RELU, 0.2f));
    CLG_ASSERT_OK(clg_net_convt(net, "main.2", 2, 4, 2, 1, 1)); /* 6 -> 12 */
    CLG_ASSERT_OK(act(net, CLG_ACT_RELU, 0.0f));
    CLG_ASSERT_OK(clg_net_conv(net, "main.4", 2, 4, 2, 1, 0)); /* 12 -> 6 */
    CLG_ASSERT_OK(clg_net_reshape(net, 72, 1, 1));
    CLG_ASSERT_OK(clg_net_linear(net, "main.6", 9, 1));
    CLG_ASSERT_OK(act(net, CLG_ACT_RELU, 0.0f));
    CLG_ASSERT_OK(clg_net_wn_linear(net, "main.8", 7, 1.0f));
    CLG_ASSERT_OK(act(net, CLG_ACT_LEAKY_RELU, 0.1f));
    CLG_ASSERT_OK(clg_net_noise(net, 0.1f));
    CLG_ASSERT_OK(clg_net_linear(net, "main.11", 3, 1));
}

static void test_fused_act_matches(void **state) {
    clg_ctx *ctx = *state;
    clg_net a, b;
    build_fusable(&a, 0);
    build_fusable(&b, 1);
    assert_int_equal(a.count, b.count + 4);
    gcase ga = setup(ctx, &a, 0.5f, 11, CLG_NET_TRAIN), gb = setup(ctx, &b, 0.5f, 11, CLG_NET_TRAIN);
    assert_int_equal(b.layers[b.count - 2].in_place, 0); /* the noise after main.8 */
    float *v[2][3];
    for (int k = 0; k < 2; k++) {
        gcase *g = k ? &gb : &ga;
        clg_tensor gr = clg_block_tensor(&g->net->grads);
        size_t ng = clg_tensor_numel(&gr);
        clg_tensor dxt = clg_test_tensor(ctx, g->x.n, g->x.c, g->x.h, g->x.w, NULL);
        loss_of(g);
        clg_tensor dout = clg_net_doutput(g->net);
        CLG_ASSERT_OK(clg_tensor_upload(ctx, &dout, g->r));
        CLG_ASSERT_OK(clg_net_zero_grad(ctx, g->net));
        CLG_ASSERT_OK(clg_net_backward(ctx, g->net, &g->x, &dxt, 1));
        v[k][0] = malloc(g->nout * sizeof(float)), v[k][1] = malloc(g->nx * sizeof(float));
        v[k][2] = malloc(ng * sizeof(float));
        CLG_ASSERT_OK(clg_tensor_download(ctx, clg_net_output(g->net), v[k][0]));
        CLG_ASSERT_OK(clg_tensor_download(ctx, &dxt, v[k][1]));
        CLG_ASSERT_OK(clg_tensor_download(ctx, &gr, v[k][2]));
        clg_tensor_free(ctx, &dxt);
    }
    assert_int_equal(a.grads.numel, b.grads.numel);
    assert_memory_equal(v[0][0], v[1][0], ga.nout * sizeof(float));
    assert_memory_equal(v[0][1], v[1][1], ga.nx * sizeof(float));
    assert_memory_equal(v[0][2], v[1][2], a.grads.numel * sizeof(float));
    for (int k = 0; k < 6; k++) free(v[k / 3][k % 3]);
    gstats st = check_gradients(&gb, 5);
    assert_gradients_ok(&st, "fused activations");
    teardown(&ga), teardown(&gb);
    clg_net t;
    clg_net_init(&t, 2, 4, 1, 1);
    CLG_ASSERT_OK(clg_net_linear(&t, "main.0", 3, 1));
    CLG_ASSERT_OK(clg_net_name_tap(&t, "pre"));
    CLG_ASSERT_OK(clg_net_act(&t, CLG_ACT_RELU, 0.0f));
    assert_int_equal(t.count, 2);
}

static void test_pool_dropout_noise_gradients(void **state) {
    clg_net net;
    clg_net_init(&net, 2, 1, 7, 7);
    net.rng_seed = 31;
    CLG_ASSERT_OK(clg_net_maxpool(&net, 3, 3)); /* overlapping bins of 7 */
    CLG_ASSERT_OK(clg_net_conv(&net, "main.1", 4, 3, 1, 1, 1));
    CLG_ASSERT_OK(clg_net_dropout(&net, 0.3f));
    CLG_ASSERT_OK(clg_net_noise(&net, 0.1f));
    CLG_ASSERT_OK(clg_net_linear(&net, "main.4", 3, 1));
    CLG_ASSERT_OK(clg_net_act(&net, CLG_ACT_TANH, 0.0f));
    /* Pool first, on inputs spaced wider (0.02) than the steps reach, so no
     * nudge changes which element is a bin's maximum. */
    gcase g = setup(*state, &net, 0.5f, 2, CLG_NET_TRAIN);
    for (int i = 0; i < 98; i++) g.xv[i] = -1.0f + 0.02f * (float)((i * 37) % 98);
    CLG_ASSERT_OK(clg_tensor_upload(g.ctx, &g.x, g.xv));
    gstats s = check_gradients(&g, 1);
    assert_gradients_ok(&s, "maxpool/dropout/noise");
    teardown(&g);
}

/* A view first in a network cannot share the caller's input storage: it
 * copies, forward and backward (an MLP discriminator starts so). */
static void test_view_first_gradients(void **state) {
    clg_net net;
    clg_net_init(&net, 3, 2, 3, 3);
    CLG_ASSERT_OK(clg_net_reshape(&net, 18, 1, 1));
    CLG_ASSERT_OK(clg_net_linear(&net, "main.1", 4, 1));
    CLG_ASSERT_OK(clg_net_act(&net, CLG_ACT_TANH, 0.0f));
    run_check(*state, &net, 0.5f, 7, CLG_NET_TRAIN, 1, "reshape first");
}

/* ---- activations next to dropout and noise, both orders -------------------- */

static void test_activation_dropout_noise_pairs(void **state) {
    const clg_act acts[] = {CLG_ACT_RELU, CLG_ACT_LEAKY_RELU, CLG_ACT_TANH, CLG_ACT_SIGMOID,
                            CLG_ACT_SOFTPLUS};
    for (int a = 0; a < 5; a++)
        for (int k = 0; k < 2; k++)         /* dropout, noise */
            for (int order = 0; order < 2; order++) { /* act first, act second */
                clg_net net;
                clg_net_init(&net, 3, 6, 1, 1);
                net.rng_seed = 17;
                CLG_ASSERT_OK(clg_net_linear(&net, "main.0", 5, 1));
                for (int j = 0; j < 2; j++) {
                    if (j == order) CLG_ASSERT_OK(clg_net_act(&net, acts[a], 0.2f));
                    else if (k == 0) CLG_ASSERT_OK(clg_net_dropout(&net, 0.4f));
                    else CLG_ASSERT_OK(clg_net_noise(&net, 0.5f));
                }
                CLG_ASSERT_OK(clg_net_linear(&net, "main.3", 3, 1));
                char what[64];
                snprintf(what, sizeof what, "%s %s %s", order ? (k ? "noise" : "dropout")
                         : clg_act_name(acts[a]), order ? "->" : "->",
                         order ? clg_act_name(acts[a]) : (k ? "noise" : "dropout"));
                run_check(*state, &net, 0.8f, (uint64_t)(11 + a), CLG_NET_TRAIN, 1, what);
            }
}

/* ---- the new kinds ---------------------------------------------------------- */

static void test_wn_linear_softplus_gradients(void **state) {
    clg_net net;
    clg_net_init(&net, 4, 3, 2, 2);
    CLG_ASSERT_OK(clg_net_wn_linear(&net, "main.0", 6, 1.0f));
    CLG_ASSERT_OK(clg_net_act(&net, CLG_ACT_SOFTPLUS, 0.0f));
    CLG_ASSERT_OK(clg_net_wn_linear(&net, "main.2", 3, 1.0f));
    run_check(*state, &net, 0.7f, 21, CLG_NET_TRAIN, 1, "wn_linear/softplus");
}

/* Linear layers run as 1x1 convolutions: widths of 16 rows and more take
 * the convolution's vectorised CPU kernel (the small widths above its
 * column-vector one), in every direction (in and out both >= 16). Checked
 * twice: the second backward must not see the first's weight gradient
 * (wn_linear's scratch for it is overwritten, not accumulated). */
static void test_wide_linear_gradients(void **state) {
    clg_net net;
    clg_net_init(&net, 5, 3, 11, 1);
    CLG_ASSERT_OK(clg_net_wn_linear(&net, "main.0", 40, 1.0f));
    CLG_ASSERT_OK(clg_net_act(&net, CLG_ACT_TANH, 0.0f));
    CLG_ASSERT_OK(clg_net_linear(&net, "main.2", 20, 1));
    gcase g = setup(*state, &net, 0.5f, 23, CLG_NET_TRAIN);
    for (int pass = 0; pass < 2; pass++) {
        gstats s = check_gradients(&g, 1);
        assert_gradients_ok(&s, pass ? "wide wn_linear/linear, again" : "wide wn_linear/linear");
    }
    teardown(&g);
}

/* The improved-gan CIFAR D's kinds: weight-normalised convolutions (3x3
 * padded, stride 2, a 1x1 "NIN") and the global average pool. */
static void test_wn_conv_gavgpool_gradients(void **state) {
    clg_net net;
    clg_net_init(&net, 3, 2, 6, 6);
    CLG_ASSERT_OK(clg_net_wn_conv(&net, "main.0", 4, 3, 1, 1));
    CLG_ASSERT_OK(clg_net_act(&net, CLG_ACT_LEAKY_RELU, 0.2f));
    CLG_ASSERT_OK(clg_net_wn_conv(&net, "main.2", 3, 3, 2, 1)); /* 6 -> 3 */
    CLG_ASSERT_OK(clg_net_act(&net, CLG_ACT_TANH, 0.0f));
    CLG_ASSERT_OK(clg_net_wn_conv(&net, "main.4", 3, 1, 1, 0));
    CLG_ASSERT_OK(clg_net_gavgpool(&net));
    CLG_ASSERT_OK(clg_net_wn_linear(&net, "main.6", 2, 1.0f));
    run_check(*state, &net, 0.7f, 23, CLG_NET_TRAIN, 1, "wn_conv/gavgpool");
}

/* Global average pool against C; a WN conv's data-dependent init gives each
 * output channel mean 0 and std 1 over N, H and W. */
static void test_gavgpool_wn_conv_values(void **state) {
    clg_ctx *ctx = *state;
    clg_net net;
    clg_net_init(&net, 5, 2, 4, 3);
    CLG_ASSERT_OK(clg_net_wn_conv(&net, "main.0", 3, 3, 1, 1));
    CLG_ASSERT_OK(clg_net_name_tap(&net, "conv"));
    CLG_ASSERT_OK(clg_net_gavgpool(&net));
    CLG_ASSERT_OK(clg_net_alloc(ctx, &net));
    CLG_ASSERT_OK(clg_net_init_params(ctx, &net, 5));
    float x[120], conv[180], out[15];
    clg_test_fill_uniform(x, 120, 6, -2.0f, 3.0f);
    clg_tensor tx = clg_test_tensor(ctx, 5, 2, 4, 3, x);
    CLG_ASSERT_OK(clg_net_data_init(ctx, &net, &tx));
    CLG_ASSERT_OK(clg_net_forward(ctx, &net, &tx, CLG_NET_EVAL));
    CLG_ASSERT_OK(clg_tensor_download(ctx, clg_net_tap(&net, "conv"), conv));
    CLG_ASSERT_OK(clg_tensor_download(ctx, clg_net_output(&net), out));
    for (int k = 0; k < 3; k++) {
        double m = 0, v = 0;
        for (int n = 0; n < 5; n++)
            for (int i = 0; i < 12; i++) m += conv[(n * 3 + k) * 12 + i] / 60.0;
        for (int n = 0; n < 5; n++)
            for (int i = 0; i < 12; i++) {
                const double d = conv[(n * 3 + k) * 12 + i] - m;
                v += d * d / 60.0;
            }
        if (fabs(m) > 1e-4 || fabs(sqrt(v) - 1.0) > 1e-4)
            fail_msg("channel %d: mean %g, std %g after the init (want 0, 1)", k, m, sqrt(v));
    }
    for (int r = 0; r < 15; r++) {
        double want = 0;
        for (int i = 0; i < 12; i++) want += conv[r * 12 + i] / 12.0;
        assert_float_equal(out[r], want, 1e-6 + 1e-6 * fabs(want));
    }
    clg_tensor_free(ctx, &tx);
    clg_net_free(ctx, &net);
}

/* VBN as G trains it: the reference batch's pass before every forward, so
 * the parameters move the reference statistics too, and the finite
 * differences see that; the gradient is the minibatch's backward plus
 * clg_net_vbn_reference_backward. Two VBN layers: the first one's reference
 * output reaches the second one's statistics. */
static void test_vbn_gradients(void **state) {
    clg_ctx *ctx = *state;
    clg_net net;
    clg_net_init(&net, 3, 2, 3, 3);
    CLG_ASSERT_OK(clg_net_conv(&net, "main.0", 3, 3, 1, 1, 0));
    CLG_ASSERT_OK(clg_net_vbn(&net, "main.1", 1));
    CLG_ASSERT_OK(clg_net_act(&net, CLG_ACT_TANH, 0.0f));
    CLG_ASSERT_OK(clg_net_conv(&net, "main.3", 2, 3, 1, 1, 0));
    CLG_ASSERT_OK(clg_net_vbn(&net, "main.4", 1));
    CLG_ASSERT_OK(clg_net_act(&net, CLG_ACT_TANH, 0.0f));
    CLG_ASSERT_OK(clg_net_linear(&net, "main.6", 2, 1));
    gcase g = setup(ctx, &net, 0.6f, 41, CLG_NET_TRAIN);
    float ref[54];
    clg_test_fill_uniform(ref, 54, 43, -1.5f, 1.5f);
    clg_tensor tr = clg_test_tensor(ctx, 3, 2, 3, 3, ref);
    CLG_ASSERT_OK(clg_net_vbn_reference(ctx, &net, &tr));
    g.vbn = 1;
    gstats s = check_gradients(&g, 1);
    assert_gradients_ok(&s, "vbn");
    clg_tensor_free(ctx, &tr);
    teardown(&g);
}

static void test_mbd_gradients(void **state) {
    clg_net net;
    clg_net_init(&net, 5, 4, 1, 1);
    CLG_ASSERT_OK(clg_net_linear(&net, "main.0", 6, 1));
    CLG_ASSERT_OK(clg_net_act(&net, CLG_ACT_LEAKY_RELU, 0.2f));
    CLG_ASSERT_OK(clg_net_mbd(&net, "main.2", 4, 3));
    CLG_ASSERT_OK(clg_net_linear(&net, "main.3", 2, 1));
    run_check(*state, &net, 0.5f, 51, CLG_NET_TRAIN, 1, "mbd");
}

static void test_resample_concat_gradients(void **state) {
    clg_ctx *ctx = *state;
    clg_net net;
    clg_net_init(&net, 2, 1, 8, 8);
    CLG_ASSERT_OK(clg_net_conv(&net, "main.0", 2, 3, 1, 1, 1));
    CLG_ASSERT_OK(clg_net_blurdown(&net));                  /* 8 -> 4 */
    CLG_ASSERT_OK(clg_net_concat(&net, 0, 3));              /* + 3 label planes */
    CLG_ASSERT_OK(clg_net_upsample2(&net));                 /* 4 -> 8 */
    CLG_ASSERT_OK(clg_net_conv(&net, "main.4", 2, 3, 1, 1, 1));
    CLG_ASSERT_OK(clg_net_avgpool2(&net));                  /* 8 -> 4 */
    CLG_ASSERT_OK(clg_net_concat(&net, 1, 2));              /* + a 2-plane image */
    CLG_ASSERT_OK(clg_net_conv(&net, "main.7", 1, 3, 1, 1, 1));
    float side0[6] = {1, 0, 0, 0, 1, 0}, side1[64];
    clg_test_fill_uniform(side1, 64, 61, -1.0f, 1.0f);
    clg_tensor s0 = clg_test_tensor(ctx, 2, 3, 1, 1, side0), s1 = clg_test_tensor(ctx, 2, 2, 4, 4, side1);
    clg_net_set_side(&net, 0, &s0);
    clg_net_set_side(&net, 1, &s1);
    run_check(ctx, &net, 0.5f, 63, CLG_NET_TRAIN, 3, "blurdown/concat/upsample/avgpool");
    clg_tensor_free(ctx, &s0), clg_tensor_free(ctx, &s1);
}

/* ---- no parameter gradient when not asked for ------------------------------ */

static void test_frozen_backward_leaves_param_grads(void **state) {
    clg_ctx *ctx = *state;
    clg_net net;
    clg_net_init(&net, 4, 2, 4, 4);
    CLG_ASSERT_OK(clg_net_conv(&net, "main.0", 3, 3, 1, 1, 1));
    CLG_ASSERT_OK(clg_net_bn(&net, "main.1", 1));
    CLG_ASSERT_OK(clg_net_vbn(&net, "main.2", 1));
    CLG_ASSERT_OK(clg_net_act(&net, CLG_ACT_RELU, 0.0f));
    CLG_ASSERT_OK(clg_net_linear(&net, "main.4", 6, 1));
    CLG_ASSERT_OK(clg_net_mbd(&net, "main.5", 3, 2));
    CLG_ASSERT_OK(clg_net_wn_linear(&net, "main.6", 2, 1.0f));
    gcase g = setup(ctx, &net, 0.5f, 71, CLG_NET_TRAIN);
    CLG_ASSERT_OK(clg_net_vbn_reference(ctx, &net, &g.x));
    clg_tensor gr = clg_block_tensor(&net.grads);
    size_t n = clg_tensor_numel(&gr);
    float *before = malloc(n * sizeof *before), *after = malloc(n * sizeof *after);
    clg_test_fill_uniform(before, n, 73, -1.0f, 1.0f);
    CLG_ASSERT_OK(clg_tensor_upload(ctx, &gr, before));
    loss_of(&g);
    clg_tensor dout = clg_net_doutput(&net), dxt = clg_test_tensor(ctx, 4, 2, 4, 4, NULL);
    CLG_ASSERT_OK(clg_tensor_upload(ctx, &dout, g.r));
    CLG_ASSERT_OK(clg_net_backward(ctx, &net, &g.x, &dxt, 0));
    CLG_ASSERT_OK(clg_tensor_download(ctx, &gr, after));
    assert_memory_equal(before, after, n * sizeof *before);
    /* ... while the input gradient is still computed. */
    float dx[128];
    CLG_ASSERT_OK(clg_tensor_download(ctx, &dxt, dx));
    double norm = 0;
    for (int i = 0; i < 128; i++) norm += fabs(dx[i]);
    assert_true(norm > 1e-3);
    clg_tensor_free(ctx, &dxt);
    free(before), free(after);
    teardown(&g);
}

/* ---- taps ------------------------------------------------------------------ */

/* A tap on a linear layer followed by an activation: the activation must
 * not run over the tap. loss = sum(out * r) + sum(tap * q), the second term
 * injected at the tap, against central differences of that loss. */
static void test_taps(void **state) {
    clg_ctx *ctx = *state;
    clg_net net;
    clg_net_init(&net, 3, 4, 1, 1);
    CLG_ASSERT_OK(clg_net_linear(&net, "main.0", 5, 1));
    CLG_ASSERT_OK(clg_net_name_tap(&net, "pre"));
    assert_int_equal(clg_net_name_tap(&net, "pre"), CLG_ERR_INVALID_ARG);
    CLG_ASSERT_OK(clg_net_act(&net, CLG_ACT_TANH, 0.0f));
    CLG_ASSERT_OK(clg_net_linear(&net, "main.2", 2, 1));
    gcase g = setup(ctx, &net, 0.7f, 81, CLG_NET_TRAIN);
    loss_of(&g);
    const clg_tensor *tap = clg_net_tap(&net, "pre");
    assert_non_null(tap);
    assert_null(clg_net_tap(&net, "nope"));
    /* The tap holds the linear output, not its tanh. */
    float w[20], b[5], tv[15];
    clg_named_tensor nts[4];
    assert_int_equal(clg_net_tensors(&net, nts, 4), 4);
    CLG_ASSERT_OK(clg_tensor_download(ctx, &nts[0].t, w));
    CLG_ASSERT_OK(clg_tensor_download(ctx, &nts[1].t, b));
    CLG_ASSERT_OK(clg_tensor_download(ctx, tap, tv));
    double ref[15];
    for (int i = 0; i < 3; i++)
        for (int o = 0; o < 5; o++) {
            ref[i * 5 + o] = b[o];
            for (int k = 0; k < 4; k++) ref[i * 5 + o] += (double)g.xv[i * 4 + k] * w[o * 4 + k];
        }
    CLG_ASSERT_CLOSE(tv, ref, 15, 1e-5);
    /* Injected gradient: dL/dx analytic vs central differences of L. */
    float q[15], dx[12];
    clg_test_fill_uniform(q, 15, 83, -1.0f, 1.0f);
    clg_tensor tq = clg_test_tensor(ctx, 3, 5, 1, 1, q), dxt = clg_test_tensor(ctx, 3, 4, 1, 1, NULL);
    clg_tensor dout = clg_net_doutput(&net);
    CLG_ASSERT_OK(clg_tensor_upload(ctx, &dout, g.r));
    const char *taps[1] = {"pre"};
    CLG_ASSERT_OK(clg_net_backward_taps(ctx, &net, &g.x, &dxt, 0, taps, &tq, 1));
    CLG_ASSERT_OK(clg_tensor_download(ctx, &dxt, dx));
    const char *bad[1] = {"nope"};
    assert_int_equal(clg_net_backward_taps(ctx, &net, &g.x, &dxt, 0, bad, &tq, 1),
                     CLG_ERR_INVALID_ARG);
    double worst = 0, scale = 0;
    for (int i = 0; i < 12; i += clg_test_small() ? 5 : 1) {
        double l[2];
        for (int sgn = 0; sgn < 2; sgn++) {
            float keep = g.xv[i];
            g.xv[i] = keep + (sgn ? -1e-2f : 1e-2f);
            CLG_ASSERT_OK(clg_tensor_upload(ctx, &g.x, g.xv));
            l[sgn] = loss_of(&g);
            CLG_ASSERT_OK(clg_tensor_download(ctx, tap, tv));
            for (int j = 0; j < 15; j++) l[sgn] += (double)tv[j] * q[j];
            g.xv[i] = keep;
        }
        double fd = (l[0] - l[1]) / 2e-2;
        worst = fmax(worst, fabs(fd - dx[i]));
        scale = fmax(scale, fabs(fd));
    }
    CLG_ASSERT_OK(clg_tensor_upload(ctx, &g.x, g.xv));
    assert_true(scale > 1e-2);
    if (worst > 1e-2 * scale) fail_msg("tap gradient error %g over scale %g", worst, scale);
    clg_tensor_free(ctx, &tq), clg_tensor_free(ctx, &dxt);
    teardown(&g);
}

/* ---- weight norm's data-dependent init, VBN's batch independence ----------- */

static void test_wn_data_init(void **state) {
    clg_ctx *ctx = *state;
    clg_net net;
    clg_net_init(&net, 50, 8, 1, 1);
    CLG_ASSERT_OK(clg_net_wn_linear(&net, "main.0", 6, 1.0f));
    CLG_ASSERT_OK(clg_net_act(&net, CLG_ACT_RELU, 0.0f));
    CLG_ASSERT_OK(clg_net_wn_linear(&net, "main.2", 4, 0.5f));
    CLG_ASSERT_OK(clg_net_alloc(ctx, &net));
    CLG_ASSERT_OK(clg_net_init_params(ctx, &net, 91));
    float x[400], out[200];
    clg_test_fill_uniform(x, 400, 92, -2.0f, 3.0f);
    clg_tensor tx = clg_test_tensor(ctx, 50, 8, 1, 1, x);
    CLG_ASSERT_OK(clg_net_data_init(ctx, &net, &tx));
    /* The same forward now gives mean 0 and std init_scale per unit. */
    CLG_ASSERT_OK(clg_net_forward(ctx, &net, &tx, CLG_NET_EVAL));
    CLG_ASSERT_OK(clg_tensor_download(ctx, clg_net_output(&net), out));
    for (int u = 0; u < 4; u++) {
        double m = 0, v = 0;
        for (int i = 0; i < 50; i++) m += out[i * 4 + u] / 50.0;
        for (int i = 0; i < 50; i++) v += (out[i * 4 + u] - m) * (out[i * 4 + u] - m) / 50.0;
        if (fabs(m) > 1e-4 || fabs(sqrt(v) - 0.5) > 1e-4)
            fail_msg("unit %d: mean %g, std %g after the init (want 0, 0.5)", u, m, sqrt(v));
    }
    clg_tensor_free(ctx, &tx);
    clg_net_free(ctx, &net);
}

static void test_vbn_example_independent_of_batch(void **state) {
    clg_ctx *ctx = *state;
    clg_net net;
    clg_net_init(&net, 4, 3, 2, 2);
    CLG_ASSERT_OK(clg_net_vbn(&net, "main.0", 1));
    CLG_ASSERT_OK(clg_net_act(&net, CLG_ACT_RELU, 0.0f));
    CLG_ASSERT_OK(clg_net_alloc(ctx, &net));
    CLG_ASSERT_OK(clg_net_init_params(ctx, &net, 3));
    float ref[48], a[48], b[48], oa[48], ob[48];
    clg_test_fill_uniform(ref, 48, 1, -1.0f, 1.0f);
    clg_test_fill_uniform(a, 48, 2, -1.0f, 1.0f);
    clg_test_fill_uniform(b, 48, 3, -5.0f, 5.0f);
    memcpy(b, a, 12 * sizeof *a); /* example 0 shared, the rest differ */
    clg_tensor tr = clg_test_tensor(ctx, 4, 3, 2, 2, ref), ta = clg_test_tensor(ctx, 4, 3, 2, 2, a);
    clg_tensor tb = clg_test_tensor(ctx, 4, 3, 2, 2, b);
    CLG_ASSERT_OK(clg_net_vbn_reference(ctx, &net, &tr));
    CLG_ASSERT_OK(clg_net_forward(ctx, &net, &ta, CLG_NET_TRAIN));
    CLG_ASSERT_OK(clg_tensor_download(ctx, clg_net_output(&net), oa));
    CLG_ASSERT_OK(clg_net_forward(ctx, &net, &tb, CLG_NET_TRAIN));
    CLG_ASSERT_OK(clg_tensor_download(ctx, clg_net_output(&net), ob));
    assert_memory_equal(oa, ob, 12 * sizeof *oa);
    assert_true(memcmp(oa + 12, ob + 12, 36 * sizeof *oa) != 0);
    /* The reference batch is the net's state: listed for checkpoints, and
     * rerun from there (NULL) it gives the same statistics. */
    clg_named_tensor nts[8];
    int n = clg_net_tensors(&net, nts, 8);
    assert_int_equal(n, 3); /* weight, bias, vbn_reference */
    assert_string_equal(nts[2].name, "vbn_reference");
    assert_int_equal(nts[2].trainable, 0);
    float got[48];
    CLG_ASSERT_OK(clg_tensor_download(ctx, &nts[2].t, got));
    assert_memory_equal(got, ref, sizeof got);
    CLG_ASSERT_OK(clg_net_vbn_reference(ctx, &net, &tb)); /* another reference ... */
    CLG_ASSERT_OK(clg_tensor_upload(ctx, &nts[2].t, ref)); /* ... then the first, restored */
    CLG_ASSERT_OK(clg_net_vbn_reference(ctx, &net, NULL));
    CLG_ASSERT_OK(clg_net_forward(ctx, &net, &ta, CLG_NET_TRAIN));
    CLG_ASSERT_OK(clg_tensor_download(ctx, clg_net_output(&net), ob));
    assert_memory_equal(oa, ob, sizeof oa);
    clg_tensor_free(ctx, &tr), clg_tensor_free(ctx, &ta), clg_tensor_free(ctx, &tb);
    clg_net_free(ctx, &net);
}

/* ---- building errors -------------------------------------------------------- */

static void test_bad_layers_refused(void **state) {
    (void)state;
    clg_net net;
    clg_net_init(&net, 2, 3, 5, 5);
    assert_int_equal(clg_net_avgpool2(&net), CLG_ERR_INVALID_ARG); /* odd size */
    assert_int_equal(clg_net_concat(&net, CLG_NET_MAX_SIDES, 2), CLG_ERR_INVALID_ARG);
    assert_int_equal(clg_net_mbd(&net, "m", 0, 5), CLG_ERR_INVALID_ARG);
    assert_int_equal(clg_net_dropout(&net, 1.0f), CLG_ERR_INVALID_ARG);
    assert_int_equal(clg_net_act(&net, CLG_ACT_LEAKY_RELU, 0.0f), CLG_ERR_INVALID_ARG);
    assert_int_equal(clg_net_reshape(&net, 7, 1, 1), CLG_ERR_INVALID_ARG);
    assert_int_equal(clg_net_name_tap(&net, "x"), CLG_ERR_INVALID_ARG); /* no layer yet */
    assert_int_equal(clg_net_add(&net, CLG_LAYER_KIND_COUNT, NULL, NULL), CLG_ERR_INVALID_ARG);
    assert_int_equal(net.count, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_bn_linear_gradients),
        cmocka_unit_test(test_bn_act_gradients),
        cmocka_unit_test(test_fused_act_matches),
        cmocka_unit_test(test_pool_dropout_noise_gradients),
        cmocka_unit_test(test_view_first_gradients),
        cmocka_unit_test(test_activation_dropout_noise_pairs),
        cmocka_unit_test(test_wn_linear_softplus_gradients),
        cmocka_unit_test(test_wide_linear_gradients),
        cmocka_unit_test(test_wn_conv_gavgpool_gradients),
        cmocka_unit_test(test_gavgpool_wn_conv_values),
        cmocka_unit_test(test_vbn_gradients),
        cmocka_unit_test(test_mbd_gradients),
        cmocka_unit_test(test_resample_concat_gradients),
        cmocka_unit_test(test_frozen_backward_leaves_param_grads),
        cmocka_unit_test(test_taps),
        cmocka_unit_test(test_wn_data_init),
        cmocka_unit_test(test_vbn_example_independent_of_batch),
        cmocka_unit_test(test_bad_layers_refused),
    };
    return cmocka_run_group_tests_name("net", tests, clg_test_group_setup,
                                       clg_test_group_teardown);
}
