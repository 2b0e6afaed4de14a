/* classifier.c: the evaluation CNN: building, training, saving, running. */
#include "classifier.h"
#include "checkpoint.h"
#include "data.h"
#include "json.h"
#include "loss.h"
#include "optim.h"
#include "safetensors.h"
#include "softmax.h"
#include "train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
    CLG_TRY(clg_net_bn(net, "main.1", 1));
    CLG_TRY(clg_net_act(net, CLG_ACT_RELU, 0));
    CLG_TRY(clg_net_conv(net, "main.3", 2 * w, 4, 2, 1, 0));
    CLG_TRY(clg_net_bn(net, "main.4", 1));
    CLG_TRY(clg_net_act(net, CLG_ACT_RELU, 0));
    CLG_TRY(clg_net_conv(net, "main.6", 4 * w, 4, 2, 1, 0));
    CLG_TRY(clg_net_bn(net, "main.7", 1));
    CLG_TRY(clg_net_act(net, CLG_ACT_RELU, 0));
    CLG_TRY(clg_net_conv(net, "main.9", 4 * w, 4, 2, 1, 0));
    CLG_TRY(clg_net_bn(net, "main.10", 1));
    CLG_TRY(clg_net_act(net, CLG_ACT_RELU, 0));
    CLG_TRY(clg_net_reshape(net, 4 * w * 16, 1, 1));
    CLG_TRY(clg_net_linear(net, "main.13", c->features, 1));
    CLG_TRY(clg_net_act(net, CLG_ACT_RELU, 0));
    CLG_TRY(clg_net_dropout(net, c->dropout));
    return clg_net_linear(net, "main.16", c->classes, 1);
}

const clg_tensor *clg_classifier_features(const clg_net *net) {
    return &net->layers[net->count - 3].output; /* the ReLU after main.13 */
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
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

clg_status clg_classifier_train(clg_ctx *ctx, const clg_classifier_config *cfg_in,
                                const char *data, const char *test_data, long epochs,
                                long log_every, const char *out_path,
                                const clg_classifier_hooks *hooks, float *final_acc) {
    clg_classifier_config cfg = *cfg_in;
    clg_dataset ds = {0}, test = {0};
    clg_loader ld = {0};
    clg_net net;
    memset(&net, 0, sizeof net);
    clg_tensor x = {0}, stats = {0};
    cl_mem labels = NULL;
    clg_status rc;
    int channels, tc;
    CLG_TRY_GOTO(clg_data_open(data, 32, &channels, &ds), done);
    CLG_TRY_GOTO(clg_data_open(test_data, 32, &tc, &test), done);
    if (!ds.labels || !test.labels) {
        rc = clg_fail(CLG_ERR_INVALID_ARG, "the classifier needs labelled data");
        goto done;
    }
    cfg.nc = channels;
    cfg.classes = ds.num_classes > test.num_classes ? ds.num_classes : test.num_classes;
    CLG_TRY_GOTO(clg_loader_init(&ld, &ds, 32, cfg.batch, cfg.seed), done);
    CLG_TRY_GOTO(clg_classifier_build(&net, &cfg, cfg.batch), done);
    CLG_TRY_GOTO(clg_net_alloc(ctx, &net), done);
    /* He-style scale for ReLU nets rather than DCGAN's 0.02. */
    net.init_std = 0.05f;
    CLG_TRY_GOTO(clg_net_init_params(ctx, &net, cfg.seed), done);
    CLG_TRY_GOTO(clg_tensor_create(ctx, &x, cfg.batch, cfg.nc, 32, 32, "classifier batch"), done);
    CLG_TRY_GOTO(clg_tensor_create(ctx, &stats, 1, 2, 1, 1, "classifier stats"), done);
    CLG_TRY_GOTO(clg_buffer_create(ctx, (size_t)cfg.batch * sizeof(cl_int), "labels", &labels),
                 done);
    clg_adam opt = clg_adam_default();
    opt.lr = cfg.lr;
    opt.beta1 = 0.9f;
    long bpe = clg_loader_batches_per_epoch(&ld), step = 0;
    double t0 = now_s();
    float acc = -1;
    clg_tensor p = clg_block_tensor(&net.params), g = clg_block_tensor(&net.grads);
    clg_tensor m1 = clg_block_tensor(&net.adam_m), m2 = clg_block_tensor(&net.adam_v);
    for (long ep = 0; ep < epochs; ep++) {
        /* Step decay: a tenth of the rate for the last third of the run. */
        opt.lr = ep >= (2 * epochs + 2) / 3 && epochs > 2 ? cfg.lr * 0.1f : cfg.lr;
        double loss_sum = 0, acc_sum = 0;
        long seen = 0;
        for (long b = 0; b < bpe; b++) {
            long e;
            const float *batch = clg_loader_next(&ld, &e);
            CLG_TRY_GOTO(clg_loader_upload(ctx, &x, batch), done);
            CL_CHECK_GOTO(clEnqueueWriteBuffer(ctx->queue, labels, CL_TRUE, 0,
                                               (size_t)cfg.batch * sizeof(cl_int),
                                               clg_loader_last_labels(&ld), 0, NULL, NULL),
                          done);
            CLG_TRY_GOTO(clg_net_zero_grad(ctx, &net), done);
            CLG_TRY_GOTO(clg_net_forward(ctx, &net, &x, CLG_NET_TRAIN), done);
            clg_tensor logits = *clg_net_output(&net), dlogits = clg_net_doutput(&net);
            CLG_TRY_GOTO(clg_xent_forward(ctx, &stats, &logits, labels), done);
            CLG_TRY_GOTO(clg_xent_backward(ctx, &dlogits, &logits, labels), done);
            CLG_TRY_GOTO(clg_net_backward(ctx, &net, &x, NULL, 1), done);
            CLG_TRY_GOTO(clg_adam_step(ctx, &opt, &p, &g, &m1, &m2), done);
            float st[2];
            CLG_TRY_GOTO(clg_tensor_download(ctx, &stats, st), done);
            if (!isfinite(st[0])) {
                rc = clg_fail(CLG_ERR_DIVERGED, "classifier loss is not finite at step %ld", step);
                goto done;
            }
            loss_sum += st[0], acc_sum += st[1], seen++, step++;
            int last = b == bpe - 1;
            if (last) CLG_TRY_GOTO(clg_classifier_accuracy(ctx, &net, &test, 0, &acc), done);
            if (hooks && hooks->on_progress && ((log_every > 0 && step % log_every == 0) || last)) {
                clg_classifier_progress pr = {ep, step, (float)(loss_sum / seen),
                                              (float)(acc_sum / seen), last ? acc : -1.0f,
                                              step * cfg.batch / (now_s() - t0)};
                hooks->on_progress(hooks->user, &pr);
                loss_sum = acc_sum = 0, seen = 0;
            }
        }
    }
    char cj[512], accs[32], steps[32];
    config_json(&cfg, cj, sizeof cj);
    snprintf(accs, sizeof accs, "%.4f", acc);
    snprintf(steps, sizeof steps, "%ld", step);
    const char *meta[] = {"format", CLG_CLASSIFIER_FORMAT, "config", cj, "test_accuracy", accs,
                          "steps", steps, "data", data, "clgan_version", CLG_VERSION,
                          "device", ctx->dev.name};
    CLG_TRY_GOTO(clg_net_save(ctx, &net, out_path, meta, (int)(sizeof meta / sizeof meta[0]) / 2),
                 done);
    if (final_acc) *final_acc = acc;
    rc = CLG_OK;
done:
    clg_buffer_release(ctx, labels, (size_t)cfg.batch * sizeof(cl_int));
    clg_tensor_free(ctx, &x);
    clg_tensor_free(ctx, &stats);
    clg_net_free(ctx, &net);
    clg_loader_free(&ld);
    clg_dataset_free(&ds);
    clg_dataset_free(&test);
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
