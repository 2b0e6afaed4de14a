/* test_ssl.c: semi-supervised learning with the K+1 discriminator (models/ssl.c):
 * - the labelled subset: N per class in the seed's order, the same for the
 *   same seed, another for another; a class with too few examples refused;
 * - each term of D's loss where its gradient is large: D's last layer set
 *   to logits = b for every input (scale g = 0), so the loss is a function
 *   of b alone, and the gradient D's step computes for b (the sum of the
 *   loss kernels' output gradients over the batch) against central
 *   differences of a double-precision C reference of each term, in one
 *   state where D(x) = 0.1 (the unlabelled-real term large) and one where
 *   D(x) = 0.9 (the generated term large); the test asserts that a 20%
 *   error in any term's weight is 10x its tolerance;
 * - end to end: D's gradient (cross-entropy on the labelled batch + the
 *   K+1 terms on the unlabelled and generated batches) against central
 *   differences of that loss, D's Gaussian noise held fixed by its counter;
 * - the baseline (--unlabeled-weight 0): the same for the cross-entropy
 *   alone, and G untouched by a step;
 * - D's weight average: avg_0 = 0, avg_1 = r theta_1, avg_2 = (1 - r) avg_1 + r theta_2;
 * - test accuracy of D and of its average (divided by 1 - (1 - r)^t)
 *   equals the test's own argmax of D's logits (noise off), with a short
 *   last batch; D's weights restored.
 * Central differences: end to end, h = 1e-2 on the last layer's parameters
 * (smooth in them), tolerance 1e-3 + 1% (float32 losses of about 2; the
 * gradients checked are 1e-2 to 1e-1); per term, h = 1e-4 on the double
 * reference, tolerance 2e-5 + 1e-4 relative (float32 gradients of 1e-2 to
 * 1). */
#include "testutil.h"
#include "elementwise.h"
#include "data.h"
#include "net.h"
#include "ssl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* n 28x28 images, label i % 10: a bright block whose place is the class,
 * over a faint pattern that varies with i. */
static void make_data(clg_dataset *d, int n) {
    *d = (clg_dataset){n, 1, 28, 28, malloc((size_t)n * 784), malloc((size_t)n), 10};
    assert_non_null(d->pixels);
    assert_non_null(d->labels);
    for (int i = 0; i < n; i++) {
        const int y = i % 10;
        d->labels[i] = (unsigned char)y;
        for (int p = 0; p < 784; p++) {
            const int r = p / 28, c = p % 28;
            int v = ((r * 7 + c * 3 + i * 11) % 17) * 4;
            if (r / 9 == y % 3 && c / 7 == y / 3) v = 230;
            d->pixels[(size_t)i * 784 + p] = (unsigned char)v;
        }
    }
}

/* The model on d: batch 10, per_class labels per class (make_model: 2),
 * data init on 30 images,
 * unlabelled weight w, average rate avg; its unlabelled batch images 20..29. */
static clg_model *make_model_n(clg_ctx *ctx, const clg_dataset *ds, float w, float avg,
                               int per_class) {
    clg_ssl_config c = clg_ssl_config_default();
    c.batch = 10, c.labels_per_class = per_class, c.init_examples = 30, c.seed = 3;
    c.unlabeled_weight = w, c.avg = avg;
    clg_model *m;
    CLG_ASSERT_OK(clg_ssl_ops.create(ctx, &c, 0, &m));
    CLG_ASSERT_OK(clg_ssl_ops.prepare(ctx, m, ds));
    float *x = malloc((size_t)c.batch * 784 * sizeof *x);
    for (int i = 0; i < c.batch; i++) clg_dataset_image(ds, 20 + i, 28, x + (size_t)i * 784);
    CLG_ASSERT_OK(clg_tensor_upload(ctx, &m->real, x));
    free(x);
    return m;
}

static clg_model *make_model(clg_ctx *ctx, const clg_dataset *ds, float w, float avg) {
    return make_model_n(ctx, ds, w, avg, 2);
}

static clg_net *net_of(clg_model *m, int part) {
    clg_model_part parts[CLG_MODEL_MAX_PARTS];
    assert_true(clg_ssl_ops.parts(m, parts) > part);
    return parts[part].net;
}

static float *block_host(clg_ctx *ctx, const clg_block *b) {
    float *h = malloc(b->numel * sizeof *h);
    clg_tensor t = clg_block_tensor(b);
    CLG_ASSERT_OK(clg_tensor_download(ctx, &t, h));
    return h;
}

static void test_pick(void **state) {
    (void)state;
    clg_dataset d;
    make_data(&d, 60);
    int order[60], a[30], b[30], c[30];
    CLG_ASSERT_OK(clg_ssl_pick(&d, 3, 7, order, a));
    CLG_ASSERT_OK(clg_ssl_pick(&d, 3, 7, order, b));
    CLG_ASSERT_OK(clg_ssl_pick(&d, 3, 8, order, c));
    assert_memory_equal(a, b, sizeof a);
    assert_memory_not_equal(a, c, sizeof a);
    int per[10] = {0};
    for (int i = 0; i < 30; i++) {
        per[d.labels[a[i]]]++;
        for (int j = 0; j < i; j++) assert_int_not_equal(a[i], a[j]);
    }
    for (int y = 0; y < 10; y++) assert_int_equal(per[y], 3);
    /* The first three of each class in the seed's order. */
    int seen[10] = {0}, k = 0;
    clg_ssl_pick(&d, 3, 7, order, b);
    for (int i = 0; i < 60; i++)
        if (seen[d.labels[order[i]]]++ < 3) assert_int_equal(a[k++], order[i]);
    int room[70]; /* picked holds per_class x classes */
    assert_int_equal(clg_ssl_pick(&d, 7, 7, order, room), CLG_ERR_INVALID_ARG);
    assert_non_null(strstr(clg_last_error(), "has only 6 examples"));
    clg_dataset_free(&d);
}

/* D's loss at its current parameters with the noise counter at `counter`:
 * cross-entropy + w x the unsupervised term (its metrics 0 and 2). */
static double d_loss(clg_ctx *ctx, clg_model *m, uint64_t counter, float w) {
    net_of(m, 1)->rng_counter = counter;
    CLG_ASSERT_OK(clg_ssl_d_grads(ctx, m, &m->real, 0));
    clg_metrics mt;
    CLG_ASSERT_OK(clg_ssl_ops.step_finish(ctx, m, &mt));
    return mt.v[0] + (double)w * mt.v[2];
}

/* Central differences on some of D's parameters (the last layer's bias,
 * scale and direction: no ReLU after them whose kink a nudge could cross)
 * against D's gradient. */
static void check_d_gradient(clg_ctx *ctx, clg_model *m, float w) {
    clg_net *d = net_of(m, 1);
    const uint64_t counter = d->rng_counter;
    d_loss(ctx, m, counter, w);
    float *g = block_host(ctx, &d->grads), *p = block_host(ctx, &d->params);
    clg_named_tensor nt[64];
    const int nn = clg_net_tensors(d, nt, 64);
    const char *names[3] = {"main.15.bias", "main.15.weight_g", "main.15.weight_v"};
    clg_tensor all = clg_block_tensor(&d->params);
    int checked = 0;
    for (int t = 0; t < nn; t++)
        for (int k = 0; k < 3; k++) {
            if (strcmp(nt[t].name, names[k])) continue;
            for (size_t j = 0; j < 4; j++, checked++) {
                const size_t i = nt[t].t.off / sizeof(float) + j * 3;
                const float h = 1e-2f, keep = p[i];
                p[i] = keep + h;
                CLG_ASSERT_OK(clg_tensor_upload(ctx, &all, p));
                const double lp = d_loss(ctx, m, counter, w);
                p[i] = keep - h;
                CLG_ASSERT_OK(clg_tensor_upload(ctx, &all, p));
                const double lm = d_loss(ctx, m, counter, w);
                p[i] = keep;
                const double fd = (lp - lm) / (2.0 * h);
                if (fabs(fd - g[i]) > 1e-3 + 0.01 * fabs(g[i]))
                    fail_msg("%s[%zu]: gradient %g, central difference %g", nt[t].name, j * 3,
                             g[i], fd);
            }
        }
    assert_int_equal(checked, 12);
    CLG_ASSERT_OK(clg_tensor_upload(ctx, &all, p));
    free(g), free(p);
}

static void test_d_gradient(void **state) {
    clg_ctx *ctx = *state;
    clg_dataset d;
    make_data(&d, 60);
    /* w = 10: the unsupervised terms' gradients, small beside the labelled
     * one's at w = 1, weigh more. */
    clg_model *m = make_model(ctx, &d, 10.0f, 1e-3f);
    CLG_ASSERT_OK(clg_ssl_ops.step_enqueue(ctx, m)); /* uploads step 0's labelled batch */
    /* Here D(x_unl) is near 1, so that term's gradient is small: its weight
     * is checked by test_loss_terms, not here. */
    check_d_gradient(ctx, m, 10.0f);
    clg_ssl_ops.destroy(ctx, m);
    clg_dataset_free(&d);
}

/* ---- each term of the K+1 loss, with D's logits set ---- */

#define K 10

static double lse_of(const double *b) {
    double mx = b[0], z = 0;
    for (int k = 1; k < K; k++) mx = b[k] > mx ? b[k] : mx;
    for (int k = 0; k < K; k++) z += exp(b[k] - mx);
    return mx + log(z);
}

/* The terms of D's loss when every logit row is b, the labelled batch one
 * example of each class: cross-entropy lse(b) - mean(b); unlabelled real
 * -log D = softplus(-lse); generated -log(1 - D) = softplus(lse). */
static double term_loss(int term, const double *b) {
    const double l = lse_of(b);
    double mean = 0;
    for (int k = 0; k < K; k++) mean += b[k] / K;
    if (term == 0) return l - mean;
    const double a = term == 1 ? -l : l;
    return (a > 0 ? a : 0) + log1p(exp(-fabs(a)));
}

/* d term / d b by central differences, in double. */
static void term_grad(int term, const double *b, double *out) {
    const double h = 1e-4;
    double x[K];
    memcpy(x, b, sizeof x);
    for (int k = 0; k < K; k++) {
        x[k] = b[k] + h;
        const double lp = term_loss(term, x);
        x[k] = b[k] - h;
        out[k] = (lp - term_loss(term, x)) / (2 * h);
        x[k] = b[k];
    }
}

/* Set D's last layer to logits = b for every input: scale g = 0, bias b.
 * Returns the bias's offset (floats) in the parameter block. */
static size_t set_logits(clg_ctx *ctx, clg_net *d, const double *b) {
    char gname[48], bname[48];
    snprintf(gname, sizeof gname, "%s.weight_g", d->layers[d->count - 1].name);
    snprintf(bname, sizeof bname, "%s.bias", d->layers[d->count - 1].name);
    clg_named_tensor nt[64];
    const int nn = clg_net_tensors(d, nt, 64);
    float *p = block_host(ctx, &d->params);
    size_t boff = 0, found = 0;
    for (int t = 0; t < nn; t++) {
        const size_t off = nt[t].t.off / sizeof(float);
        if (!strcmp(nt[t].name, gname)) {
            assert_int_equal(nt[t].t.n * nt[t].t.c * nt[t].t.h * nt[t].t.w, K);
            for (int k = 0; k < K; k++) p[off + k] = 0.0f;
            found |= 1;
        } else if (!strcmp(nt[t].name, bname)) {
            for (int k = 0; k < K; k++) p[off + k] = (float)b[k];
            boff = off, found |= 2;
        }
    }
    assert_int_equal(found, 3);
    clg_tensor all = clg_block_tensor(&d->params);
    CLG_ASSERT_OK(clg_tensor_upload(ctx, &all, p));
    free(p);
    return boff;
}

/* Logits with distinct classes and D(x) = sigmoid(lse) = dx. */
static void logits_for(double dx, double *b) {
    for (int k = 0; k < K; k++) b[k] = 0.4 * (k - 4.5) + 0.1 * (k % 3);
    const double shift = log(dx / (1 - dx)) - lse_of(b);
    for (int k = 0; k < K; k++) b[k] += shift;
}

/* D's step at logits b with unlabelled weight w: the bias gradient against
 * sum_t weight_t x d term_t / d b; the losses and D(x) it reports against
 * the reference; each term's weight checked to 20% (10x the tolerance). */
static void check_terms(clg_ctx *ctx, clg_model *m, double dx, float w) {
    clg_net *d = net_of(m, 1);
    double b[K], g[3][K];
    logits_for(dx, b);
    const size_t boff = set_logits(ctx, d, b);
    CLG_ASSERT_OK(clg_ssl_d_grads(ctx, m, &m->real, 0));
    float *grad = block_host(ctx, &d->grads);
    const double weight[3] = {1.0, 0.5 * w, 0.5 * w};
    const int terms = w > 0 ? 3 : 1;
    double big[3] = {0};
    for (int t = 0; t < terms; t++) term_grad(t, b, g[t]);
    for (int k = 0; k < K; k++) {
        double want = 0;
        for (int t = 0; t < terms; t++) want += weight[t] * g[t][k];
        const double tol = 2e-5 + 1e-4 * fabs(want);
        if (fabs(grad[boff + k] - want) > tol)
            fail_msg("D(x) %.1f, w %g, logit %d: gradient %.7g, reference %.7g", dx, w, k,
                     grad[boff + k], want);
        for (int t = 0; t < terms; t++)
            if (0.2 * weight[t] * fabs(g[t][k]) > 10 * tol) big[t] = 1;
    }
    for (int t = 0; t < terms; t++)
        if (!big[t]) fail_msg("D(x) %.1f: term %d's gradient too small to check its weight", dx, t);
    clg_metrics mt;
    CLG_ASSERT_OK(clg_ssl_ops.step_finish(ctx, m, &mt));
    assert_float_equal(mt.v[0], term_loss(0, b), 1e-5 + 1e-5 * term_loss(0, b));
    if (w > 0) {
        const double unl = 0.5 * (term_loss(1, b) + term_loss(2, b));
        assert_float_equal(mt.v[2], unl, 1e-5 + 1e-5 * unl);
        assert_float_equal(mt.v[3], dx, 1e-5); /* D(x_unl) */
        assert_float_equal(mt.v[4], dx, 1e-5); /* D(G(z)) */
    }
    free(grad);
}

static void test_loss_terms(void **state) {
    clg_ctx *ctx = *state;
    clg_dataset d;
    make_data(&d, 60);
    /* One labelled example per class: the labelled batch holds each once. */
    clg_model *m = make_model_n(ctx, &d, 1.0f, 1e-3f, 1);
    CLG_ASSERT_OK(clg_ssl_ops.step_enqueue(ctx, m)); /* uploads step 0's labelled batch */
    check_terms(ctx, m, 0.1, 1.0f); /* -log D(x_unl) steep: the unlabelled-real term */
    check_terms(ctx, m, 0.9, 1.0f); /* -log(1 - D(G(z))) steep: the generated term */
    check_terms(ctx, m, 0.5, 3.0f);
    clg_ssl_ops.destroy(ctx, m);
    m = make_model_n(ctx, &d, 0.0f, 1e-3f, 1); /* the baseline: cross-entropy alone */
    CLG_ASSERT_OK(clg_ssl_ops.step_enqueue(ctx, m));
    check_terms(ctx, m, 0.5, 0.0f);
    clg_ssl_ops.destroy(ctx, m);
    clg_dataset_free(&d);
}

static void test_baseline(void **state) {
    clg_ctx *ctx = *state;
    clg_dataset d;
    make_data(&d, 60);
    clg_model *m = make_model(ctx, &d, 0.0f, 1e-3f);
    clg_net *g = net_of(m, 0);
    float *g0 = block_host(ctx, &g->params);
    CLG_ASSERT_OK(clg_ssl_ops.step_enqueue(ctx, m));
    float *g1 = block_host(ctx, &g->params);
    assert_memory_equal(g0, g1, g->params.numel * sizeof *g0);
    clg_metrics mt; /* no K+1 terms: their metrics are 0, not stale device memory */
    CLG_ASSERT_OK(clg_ssl_ops.step_finish(ctx, m, &mt));
    for (int k = 2; k < 6; k++) assert_true(mt.v[k] == 0.0f);
    check_d_gradient(ctx, m, 0.0f);
    free(g0), free(g1);
    clg_ssl_ops.destroy(ctx, m);
    clg_dataset_free(&d);
}

/* --scales last: after two steps the hidden layers' scales g are what the
 * data-dependent initialisation set, bit for bit, while their directions v
 * and the last layer's g moved; --scales all moves every g. */
static void test_scales(void **state) {
    clg_ctx *ctx = *state;
    clg_dataset d;
    make_data(&d, 60);
    for (int sc = 0; sc < 2; sc++) {
        clg_ssl_config c = clg_ssl_config_default();
        c.batch = 10, c.labels_per_class = 2, c.init_examples = 30, c.seed = 3;
        c.scales = sc ? CLG_SSL_SCALES_LAST : CLG_SSL_SCALES_ALL;
        clg_model *m;
        CLG_ASSERT_OK(clg_ssl_ops.create(ctx, &c, 0, &m));
        CLG_ASSERT_OK(clg_ssl_ops.prepare(ctx, m, &d));
        clg_net *dn = net_of(m, 1);
        float *p0 = block_host(ctx, &dn->params);
        clg_metrics mt;
        for (int k = 0; k < 2; k++) {
            CLG_ASSERT_OK(clg_ssl_ops.step_enqueue(ctx, m));
            CLG_ASSERT_OK(clg_ssl_ops.step_finish(ctx, m, &mt));
        }
        float *p1 = block_host(ctx, &dn->params);
        clg_named_tensor nt[64];
        const int nn = clg_net_tensors(dn, nt, 64);
        char last[CLG_NAME_MAX + 16];
        snprintf(last, sizeof last, "%s.weight_g", dn->layers[dn->count - 1].name);
        int gs = 0;
        for (int t = 0; t < nn; t++) {
            const size_t at = nt[t].t.off / sizeof(float), n = clg_tensor_numel(&nt[t].t);
            const int same = memcmp(p0 + at, p1 + at, n * sizeof *p0) == 0;
            if (strstr(nt[t].name, ".weight_v")) assert_false(same);
            if (!strstr(nt[t].name, ".weight_g")) continue;
            gs++;
            if (sc && strcmp(nt[t].name, last) != 0) {
                if (!same) fail_msg("--scales last: %s moved", nt[t].name);
            } else if (same) {
                fail_msg("--scales %s: %s did not move", sc ? "last" : "all", nt[t].name);
            }
        }
        assert_int_equal(gs, 6); /* five hidden layers and the logits */
        free(p0), free(p1);
        clg_ssl_ops.destroy(ctx, m);
    }
    clg_dataset_free(&d);
}

static void test_average(void **state) {
    clg_ctx *ctx = *state;
    clg_dataset d;
    make_data(&d, 60);
    clg_model *m = make_model(ctx, &d, 1.0f, 0.25f);
    clg_model_part parts[CLG_MODEL_MAX_PARTS];
    assert_int_equal(clg_ssl_ops.parts(m, parts), 2);
    assert_non_null(parts[1].avg);
    clg_net *dn = parts[1].net;
    const size_t n = dn->params.numel;
    float *a = malloc(n * sizeof *a), *prev = calloc(n, sizeof *prev);
    CLG_ASSERT_OK(clg_tensor_download(ctx, parts[1].avg, a));
    assert_memory_equal(a, prev, n * sizeof *a);
    for (int step = 1; step <= 2; step++) {
        CLG_ASSERT_OK(clg_ssl_ops.step_enqueue(ctx, m));
        float *t = block_host(ctx, &dn->params);
        CLG_ASSERT_OK(clg_tensor_download(ctx, parts[1].avg, a));
        size_t moved = 0;
        for (size_t i = 0; i < n; i++) {
            const double want = 0.75 * prev[i] + 0.25 * t[i];
            if (fabs(a[i] - want) > 1e-7 + 1e-6 * fabs(want))
                fail_msg("step %d: average[%zu] %g, want %g", step, i, a[i], want);
            moved += a[i] != prev[i];
        }
        assert_true(moved > n / 2);
        memcpy(prev, a, n * sizeof *a);
        free(t);
    }
    free(a), free(prev);
    clg_ssl_ops.destroy(ctx, m);
    clg_dataset_free(&d);
}

/* Right answers of D's current weights on the first n images of d. */
static long argmax_right(clg_ctx *ctx, clg_net *dn, const clg_dataset *d, int n) {
    float x[10 * 784], l[100];
    clg_tensor in;
    CLG_ASSERT_OK(clg_tensor_create(ctx, &in, 10, 1, 28, 28, "test batch"));
    long right = 0;
    for (int first = 0; first < n; first += 10) {
        for (int i = 0; i < 10; i++)
            clg_dataset_image(d, first + i < n ? first + i : n - 1, 28, x + i * 784);
        CLG_ASSERT_OK(clg_tensor_upload(ctx, &in, x));
        CLG_ASSERT_OK(clg_net_forward(ctx, dn, &in, CLG_NET_EVAL));
        CLG_ASSERT_OK(clg_tensor_download(ctx, clg_net_output(dn), l));
        for (int i = 0; i < 10 && first + i < n; i++) {
            int best = 0;
            for (int j = 1; j < 10; j++)
                if (l[i * 10 + j] > l[i * 10 + best]) best = j;
            right += best == d->labels[first + i];
        }
    }
    clg_tensor_free(ctx, &in);
    return right;
}

static void test_accuracy(void **state) {
    clg_ctx *ctx = *state;
    clg_dataset d, test;
    make_data(&d, 60);
    make_data(&test, 60);
    test.n = 25; /* a short last batch */
    clg_model *m = make_model(ctx, &d, 1.0f, 0.3f);
    for (int s = 0; s < 6; s++) CLG_ASSERT_OK(clg_ssl_ops.step_enqueue(ctx, m));
    clg_model_part parts[CLG_MODEL_MAX_PARTS];
    clg_ssl_ops.parts(m, parts);
    clg_net *dn = parts[1].net;
    float *before = block_host(ctx, &dn->params);
    long avg, raw;
    CLG_ASSERT_OK(clg_ssl_test(ctx, m, &test, &avg, &raw));
    float *after = block_host(ctx, &dn->params);
    assert_memory_equal(before, after, dn->params.numel * sizeof *before);
    assert_int_equal(raw, argmax_right(ctx, dn, &test, 25));
    clg_tensor all = clg_block_tensor(&dn->params);
    CLG_ASSERT_OK(clg_scale(ctx, &all, parts[1].avg, (float)(1.0 / (1.0 - pow(0.7, 6)))));
    assert_int_equal(avg, argmax_right(ctx, dn, &test, 25));
    assert_true(raw >= 5); /* the class blocks are easy: better than chance after 6 steps */
    /* A test set of other images is refused. */
    clg_dataset bad = test;
    bad.c = 3;
    assert_int_equal(clg_ssl_test(ctx, m, &bad, &avg, &raw), CLG_ERR_INVALID_ARG);
    free(before), free(after);
    test.n = 60;
    clg_ssl_ops.destroy(ctx, m);
    clg_dataset_free(&d), clg_dataset_free(&test);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pick),
        cmocka_unit_test(test_loss_terms),
        cmocka_unit_test(test_d_gradient),
        cmocka_unit_test(test_baseline),
        cmocka_unit_test(test_average),
        cmocka_unit_test(test_scales),
        cmocka_unit_test(test_accuracy),
    };
    return cmocka_run_group_tests_name("ssl", tests, clg_test_group_setup,
                                       clg_test_group_teardown);
}
