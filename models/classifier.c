/* classifier.c: the evaluation CNN: building, running, loading, and the
 * model the generic trainer trains (`clgan train classifier`), which
 * exports the network for `clgan eval` when training ends. */
#include "classifier.h"
#include "grad_buckets.h"
#include "checkpoint.h"
#include "data.h"
#include "json.h"
#include "loss.h"
#include "optim.h"
#include "safetensors.h"
#include "softmax.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>

clg_classifier_config clg_classifier_config_default(void) {
    clg_classifier_config c = {32, 1, 32, 128, 10, 128, 1e-3f, 0.3f, 1};
    return c;
}

clg_status clg_classifier_build(clg_net *net, const clg_classifier_config *c, int batch) {
    if (c->image_size != 32) return clg_fail(CLG_ERR_INVALID_ARG, "the classifier takes 32x32");
    if (c->width < 1 || c->features < 1 || c->classes < 2)
        return clg_fail(CLG_ERR_INVALID_ARG, "classifier width %d, features %d, classes %d",
                        c->width, c->features, c->classes);
    clg_net_init(net, batch, c->nc, 32, 32);
    net->rng_seed = c->seed ^ 0xd1b54a32d192ed03ULL;
    int w = c->width;
    CLG_TRY(clg_net_conv(net, "main.0", w, 3, 1, 1, 0));
    CLG_TRY(clg_net_bn_act(net, "main.1", 1, CLG_ACT_RELU, 0.0f));
    CLG_TRY(clg_net_conv(net, "main.3", 2 * w, 4, 2, 1, 0));
    CLG_TRY(clg_net_bn_act(net, "main.4", 1, CLG_ACT_RELU, 0.0f));
    CLG_TRY(clg_net_conv(net, "main.6", 4 * w, 4, 2, 1, 0));
    CLG_TRY(clg_net_bn_act(net, "main.7", 1, CLG_ACT_RELU, 0.0f));
    CLG_TRY(clg_net_conv(net, "main.9", 4 * w, 4, 2, 1, 0));
    CLG_TRY(clg_net_bn_act(net, "main.10", 1, CLG_ACT_RELU, 0.0f));
    CLG_TRY(clg_net_reshape(net, 4 * w * 16, 1, 1));
    CLG_TRY(clg_net_linear(net, "main.13", c->features, 1));
    CLG_TRY(clg_net_act(net, CLG_ACT_RELU, 0));
    CLG_TRY(clg_net_name_tap(net, "features"));
    CLG_TRY(clg_net_dropout(net, c->dropout));
    return clg_net_linear(net, "main.16", c->classes, 1);
}

const clg_tensor *clg_classifier_features(const clg_net *net) {
    return clg_net_tap(net, "features"); /* the ReLU after main.13 */
}

static void config_json(const clg_classifier_config *c, char *buf, size_t cap) {
    snprintf(buf, cap,
             "{\"image_size\": %d, \"nc\": %d, \"width\": %d, \"features\": %d, "
             "\"classes\": %d, \"batch_size\": %d, \"lr\": %.9g, \"dropout\": %.9g, "
             "\"seed\": %llu}",
             c->image_size, c->nc, c->width, c->features, c->classes, c->batch, c->lr,
             c->dropout, (unsigned long long)c->seed);
}

clg_status clg_classifier_run(clg_ctx *ctx, clg_net *net, const float *images, size_t n,
                              float *probs, float *features) {
    const size_t b = (size_t)net->batch, per = (size_t)net->in[1] * 32 * 32;
    const int k = net->layers[net->count - 1].out[1];
    const int f = clg_classifier_features(net)->c;
    clg_tensor x = {0}, p = {0};
    float *pad = NULL, *tmp = NULL;
    clg_status rc;
    CLG_TRY_GOTO(clg_tensor_create(ctx, &x, net->batch, net->in[1], 32, 32, "classifier input"),
                 done);
    CLG_TRY_GOTO(clg_tensor_create(ctx, &p, net->batch, k, 1, 1, "classifier probabilities"),
                 done);
    pad = calloc(b * per, sizeof *pad);
    tmp = malloc(b * (size_t)(k > f ? k : f) * sizeof *tmp);
    if (!pad || !tmp) {
        rc = clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory");
        goto done;
    }
    for (size_t at = 0; at < n; at += b) {
        size_t m = n - at < b ? n - at : b; /* the last batch is padded */
        memcpy(pad, images + at * per, m * per * sizeof *pad);
        CLG_TRY_GOTO(clg_tensor_upload(ctx, &x, pad), done);
        CLG_TRY_GOTO(clg_net_forward(ctx, net, &x, CLG_NET_EVAL), done);
        if (probs) {
            CLG_TRY_GOTO(clg_softmax_forward(ctx, &p, clg_net_output(net)), done);
            CLG_TRY_GOTO(clg_tensor_download(ctx, &p, tmp), done);
            memcpy(probs + at * (size_t)k, tmp, m * (size_t)k * sizeof *tmp);
        }
        if (features) {
            CLG_TRY_GOTO(clg_tensor_download(ctx, clg_classifier_features(net), tmp), done);
            memcpy(features + at * (size_t)f, tmp, m * (size_t)f * sizeof *tmp);
        }
    }
    rc = CLG_OK;
done:
    free(pad), free(tmp);
    clg_tensor_free(ctx, &x);
    clg_tensor_free(ctx, &p);
    return rc;
}

clg_status clg_classifier_accuracy(clg_ctx *ctx, clg_net *net, const clg_dataset *ds,
                                   size_t limit, float *acc) {
    size_t n = limit && limit < (size_t)ds->n ? limit : (size_t)ds->n;
    const int k = net->layers[net->count - 1].out[1];
    if (ds->c != net->in[1] || !ds->labels)
        return clg_fail(CLG_ERR_INVALID_ARG, "classifier accuracy: the classifier reads %d "
                        "channels, the data has %d%s", net->in[1], ds->c,
                        ds->labels ? "" : " and no labels");
    size_t per = (size_t)ds->c * 32 * 32;
    float *img = calloc(n * per, sizeof *img), *probs = malloc(n * (size_t)k * sizeof *probs);
    if (!img || !probs) {
        free(img), free(probs);
        return clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory");
    }
    for (size_t i = 0; i < n; i++) clg_dataset_image(ds, (int)i, 32, img + i * per);
    clg_status rc = clg_classifier_run(ctx, net, img, n, probs, NULL);
    if (rc == CLG_OK) {
        size_t right = 0;
        for (size_t i = 0; i < n; i++) {
            int best = 0;
            for (int j = 1; j < k; j++)
                if (probs[i * k + j] > probs[i * k + best]) best = j;
            right += best == ds->labels[i];
        }
        *acc = (float)right / (float)n;
    }
    free(img), free(probs);
    return rc;
}

clg_status clg_classifier_load(clg_ctx *ctx, const char *path, int batch, clg_net *net,
                               clg_classifier_config *cfg) {
    clg_safetensors st;
    CLG_TRY(clg_safetensors_read(path, &st));
    clg_status rc = CLG_OK;
    const char *fmt = clg_safetensors_meta(&st, "format");
    const char *text = clg_safetensors_meta(&st, "config");
    clg_json j = {0};
    if (!fmt || strcmp(fmt, CLG_CLASSIFIER_FORMAT) != 0 || !text)
        rc = clg_fail(CLG_ERR_FORMAT, "%s is not a clgan classifier (format '%s')", path,
                      fmt ? fmt : "(none)");
    else if (clg_json_parse(text, strlen(text), &j) != CLG_OK)
        rc = CLG_ERR_FORMAT;
    if (rc == CLG_OK) {
        *cfg = clg_classifier_config_default();
        const char *keys[] = {"nc", "width", "features", "classes"};
        int *dst[] = {&cfg->nc, &cfg->width, &cfg->features, &cfg->classes};
        for (int i = 0; i < 4 && rc == CLG_OK; i++) {
            const clg_json *v = clg_json_get(&j, keys[i]);
            if (!v || v->type != CLG_JSON_NUMBER || v->num < 1 || v->num > 4096)
                rc = clg_fail(CLG_ERR_FORMAT, "%s: config '%s' is missing or out of range", path,
                              keys[i]);
            else *dst[i] = (int)v->num;
        }
    }
    clg_json_free(&j);
    clg_safetensors_free(&st);
    CLG_TRY(rc);
    memset(net, 0, sizeof *net);
    CLG_TRY(clg_classifier_build(net, cfg, batch));
    CLG_TRY(clg_net_alloc(ctx, net));
    rc = clg_net_load(ctx, net, path, "");
    if (rc != CLG_OK) clg_net_free(ctx, net);
    return rc;
}

/* ---- the model ---- */
typedef struct {
    clg_model base;
    clg_classifier_config cfg;
    clg_net net;
    clg_adam opt;
    clg_tensor stats; /* (2): loss, accuracy of the step */
    float test_acc;   /* the last evaluation's, -1 before one */
} classifier_model;

static void cls_free(clg_ctx *ctx, classifier_model *m) {
    clg_net_free(ctx, &m->net);
    clg_tensor_free(ctx, &m->stats);
    clg_model_inputs_free(ctx, &m->base);
}

static clg_status cls_build(clg_ctx *ctx, classifier_model *m, const clg_classifier_config *c) {
    m->cfg = *c;
    m->test_acc = -1;
    m->base = (clg_model){&clg_classifier_ops, &m->cfg, 0, c->batch, c->image_size, c->nc, 0,
                          c->classes, c->seed, {0}, {0}, 0, 0};
    CLG_TRY(clg_classifier_build(&m->net, c, c->batch));
    CLG_TRY(clg_net_alloc(ctx, &m->net));
    m->net.init_std = 0.05f; /* He-style scale for ReLU nets rather than DCGAN's 0.02 */
    CLG_TRY(clg_net_init_params(ctx, &m->net, c->seed));
    CLG_TRY(clg_tensor_create(ctx, &m->stats, 1, 2, 1, 1, "classifier stats"));
    CLG_TRY(clg_model_inputs_create(ctx, &m->base));
    m->opt = clg_adam_default();
    m->opt.lr = c->lr;
    m->opt.beta1 = 0.9f;
    return CLG_OK;
}

static clg_status cls_setup(clg_ctx *ctx, void *model, const void *cfg, int gen_batch) {
    if (gen_batch > 0) return clg_fail(CLG_ERR_INVALID_ARG, "the classifier generates nothing");
    clg_status rc = cls_build(ctx, model, cfg);
    if (rc != CLG_OK) cls_free(ctx, model);
    return rc;
}

static clg_status cls_create(clg_ctx *ctx, const void *cfg, int gen_batch, clg_model **out) {
    return clg_model_new(ctx, sizeof(classifier_model), cls_setup, cfg, gen_batch, out);
}

static void cls_destroy(clg_ctx *ctx, clg_model *m) {
    cls_free(ctx, (classifier_model *)m);
    free(m);
}

static int cls_parts(clg_model *mm, clg_model_part *out) {
    classifier_model *m = (classifier_model *)mm;
    out[0] = (clg_model_part){"", &m->net, &m->opt, "opt", "opt_step", NULL, NULL};
    return 1;
}

/* Step decay: a tenth of the rate for the last third of a run of 3 or
 * more epochs. */
static float cls_lr(const classifier_model *m) {
    long bpe = m->base.steps_per_epoch, epochs = bpe ? m->base.total_steps / bpe : 0;
    long ep = bpe ? m->base.step / bpe : 0;
    return epochs > 2 && ep >= (2 * epochs + 2) / 3 ? m->cfg.lr * 0.1f : m->cfg.lr;
}

static clg_status cls_step_enqueue(clg_ctx *ctx, clg_model *mm) {
    classifier_model *m = (classifier_model *)mm;
    clg_net *net = &m->net;
    const clg_tensor *x = &m->base.real;
    m->opt.lr = cls_lr(m);
    CLG_TRY(clg_net_zero_grad(ctx, net));
    CLG_TRY(clg_net_forward(ctx, net, x, CLG_NET_TRAIN));
    clg_tensor logits = *clg_net_output(net), dlogits = clg_net_doutput(net);
    CLG_TRY(clg_xent_forward(ctx, &m->stats, &logits, &m->base.labels));
    CLG_TRY(clg_xent_backward(ctx, &dlogits, &logits, &m->base.labels));
    CLG_TRY(clg_grad_buckets_arm(ctx, net));
    CLG_TRY(clg_net_backward(ctx, net, x, NULL, 1));
    CLG_TRY(clg_model_adam_step(ctx, &m->opt, net));
    m->base.step++;
    return CLG_OK;
}

static clg_status cls_step_finish(clg_ctx *ctx, clg_model *mm, clg_metrics *out) {
    classifier_model *m = (classifier_model *)mm;
    float st[2];
    CLG_TRY(clg_tensor_download(ctx, &m->stats, st));
    *out = (clg_metrics){2, {"loss", "train_acc"}, {"loss", "train acc"}, {st[0], st[1]}};
    return CLG_OK;
}

static clg_status cls_evaluate(clg_ctx *ctx, clg_model *mm, const clg_dataset *test,
                               clg_metrics *out) {
    classifier_model *m = (classifier_model *)mm;
    if (!test->labels) return clg_fail(CLG_ERR_INVALID_ARG, "the test data has no labels");
    CLG_TRY(clg_classifier_accuracy(ctx, &m->net, test, 0, &m->test_acc));
    *out = (clg_metrics){1, {"test_acc"}, {"test acc"}, {m->test_acc}};
    return CLG_OK;
}

/* OUT/classifier.safetensors: the network alone, in the format
 * clg_classifier_load reads (`clgan eval --classifier`). */
static clg_status cls_finish(clg_ctx *ctx, clg_model *mm, const char *out_dir) {
    classifier_model *m = (classifier_model *)mm;
    char cj[512], accs[32], steps[32], path[4200];
    config_json(&m->cfg, cj, sizeof cj);
    snprintf(accs, sizeof accs, "%.4f", m->test_acc);
    snprintf(steps, sizeof steps, "%ld", m->base.step);
    snprintf(path, sizeof path, "%s/classifier.safetensors", out_dir);
    const char *meta[] = {"format", CLG_CLASSIFIER_FORMAT, "config", cj, "test_accuracy", accs,
                          "steps", steps, "clgan_version", CLG_VERSION, "device", ctx->dev.name};
    return clg_net_save(ctx, &m->net, path, meta, (int)(sizeof meta / sizeof meta[0]) / 2);
}

#define F(key, type, member, lo, hi, flag, help)                                             \
    {key, type, offsetof(clg_classifier_config, member), lo, hi, flag, NULL, help, 0, 0, NULL, 0}
static const clg_config_field fields[] = {
    F("image_size", CLG_FIELD_INT, image_size, 32, 32, NULL, "32"),
    F("nc", CLG_FIELD_INT, nc, 1, 4, NULL, "channels (from the data)"),
    F("width", CLG_FIELD_INT, width, 1, 1024, "--width", "channels of the first convolution"),
    F("features", CLG_FIELD_INT, features, 1, 4096, "--features", "width of the feature layer"),
    F("classes", CLG_FIELD_INT, classes, 2, 1000, NULL, "classes (from the data)"),
    F("batch_size", CLG_FIELD_INT, batch, 2, 4096, "--batch-size", "images per batch"),
    F("lr", CLG_FIELD_FLOAT, lr, 0, 1, "--lr", "Adam learning rate (a tenth for the last third)"),
    F("dropout", CLG_FIELD_FLOAT, dropout, 0, 1, "--dropout", "dropout before the last layer"),
    F("seed", CLG_FIELD_U64, seed, 0, 1.8446744073709552e19, "--seed",
      "seed of weights, dropout and data order"),
};
#undef F

static void cls_default(void *cfg) { *(clg_classifier_config *)cfg = clg_classifier_config_default(); }

static clg_status cls_check(const void *cfg) {
    const clg_classifier_config *c = cfg;
    if (c->batch < 2 || c->batch > 4096)
        return clg_fail(CLG_ERR_INVALID_ARG, "--batch-size must be 2..4096");
    if (c->width < 1 || c->width > 1024 || c->features < 1 || c->features > 4096)
        return clg_fail(CLG_ERR_INVALID_ARG, "--width must be 1..1024, --features 1..4096");
    if (!(c->lr > 0 && c->lr < 1)) return clg_fail(CLG_ERR_INVALID_ARG, "--lr must be in (0, 1)");
    if (!(c->dropout >= 0 && c->dropout < 1))
        return clg_fail(CLG_ERR_INVALID_ARG, "--dropout must be in [0, 1)");
    if (c->classes < 2 || c->classes > 1000 || c->nc < 1 || c->nc > 4)
        return clg_fail(CLG_ERR_INVALID_ARG, "the data has %d classes and %d channels (the "
                        "classifier takes 2..1000 and 1..4)", c->classes, c->nc);
    return CLG_OK;
}

static void cls_common(const void *cfg, clg_model_common *out) {
    const clg_classifier_config *c = cfg;
    *out = (clg_model_common){c->image_size, c->nc, c->batch, c->classes, 0, c->seed};
}

static void cls_set_data(void *cfg, int nc, int classes) {
    clg_classifier_config *c = cfg;
    c->nc = nc;
    c->classes = classes;
}

const clg_model_ops clg_classifier_ops = {
    "classifier", "clgan-classifier-run-1", "the evaluation CNN of `clgan eval` (labelled data)",
    "Trains the evaluation CNN (models/classifier.h) whose softmax and features\n"
    "give the Inception Score and FID of `clgan eval`; writes OUT/classifier.safetensors\n"
    "when it ends (use it with `clgan eval --classifier`).",
    sizeof(clg_classifier_config), fields, (int)(sizeof fields / sizeof fields[0]), 1, 0,
    cls_default, cls_check, cls_common, cls_set_data, cls_create, cls_destroy, cls_parts,
    cls_step_enqueue, cls_step_finish, NULL, cls_evaluate, cls_finish, NULL, NULL, NULL};
