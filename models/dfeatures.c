/* dfeatures.c: D-feature extraction and the L2-SVM evaluation. */
#include "dfeatures.h"
#include "checkpoint.h"
#include "data.h"
#include "metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FEAT_BATCH 200
#define SVM_EPOCHS 30

/* Features of every image of ds (in the order of `index`, n of them). */
static clg_status extract(clg_ctx *ctx, clg_net *d, const clg_dataset *ds, const int *index,
                          size_t n, int dims, float *out) {
    const int s = d->in[2];
    size_t per = (size_t)d->in[1] * s * s;
    clg_tensor x = {0};
    float *img = calloc(FEAT_BATCH * per, sizeof *img), *act = NULL;
    size_t maxact = 0;
    for (int i = 0; i < d->count; i++)
        if (clg_layer_is_act(&d->layers[i])) {
            size_t m = clg_tensor_numel(&d->layers[i].output);
            if (m > maxact) maxact = m;
        }
    act = malloc(maxact * sizeof *act);
    clg_status rc;
    if (!img || !act) {
        rc = clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory");
        goto done;
    }
    CLG_TRY_GOTO(clg_tensor_create(ctx, &x, FEAT_BATCH, d->in[1], s, s, "feature batch"), done);
    for (size_t at = 0; at < n; at += FEAT_BATCH) {
        size_t m = n - at < FEAT_BATCH ? n - at : FEAT_BATCH;
        for (size_t b = 0; b < m; b++) clg_dataset_image(ds, index[at + b], s, img + b * per);
        CLG_TRY_GOTO(clg_tensor_upload(ctx, &x, img), done);
        CLG_TRY_GOTO(clg_net_forward(ctx, d, &x, CLG_NET_EVAL), done);
        int col = 0;
        for (int i = 0; i < d->count; i++) {
            const clg_layer *l = &d->layers[i];
            if (!clg_layer_is_act(l)) continue;
            CLG_TRY_GOTO(clg_tensor_download(ctx, &l->output, act), done);
            int c = l->out[1], h = l->out[2], w = l->out[3];
            for (size_t b = 0; b < m; b++)
                for (int ch = 0; ch < c; ch++)
                    for (int oy = 0; oy < 4; oy++)
                        for (int ox = 0; ox < 4; ox++) {
                            int y0 = oy * h / 4, y1 = ((oy + 1) * h + 3) / 4;
                            int x0 = ox * w / 4, x1 = ((ox + 1) * w + 3) / 4;
                            float best = -INFINITY;
                            for (int y = y0; y < y1; y++)
                                for (int xx = x0; xx < x1; xx++) {
                                    float v = act[((b * c + ch) * h + y) * w + xx];
                                    if (v > best) best = v;
                                }
                            out[(at + b) * dims + col + (ch * 4 + oy) * 4 + ox] = best;
                        }
            col += c * 16;
        }
    }
    rc = CLG_OK;
done:
    free(img), free(act);
    clg_tensor_free(ctx, &x);
    return rc;
}

static int feature_dims(const clg_net *d) {
    int dims = 0;
    for (int i = 0; i < d->count; i++)
        if (clg_layer_is_act(&d->layers[i])) dims += d->layers[i].out[1] * 16;
    return dims;
}

/* Standardise columns with the training rows' mean and deviation. */
static void standardise(float *train, size_t ntr, float *test, size_t nte, int dims) {
    for (int j = 0; j < dims; j++) {
        double m = 0, v = 0;
        for (size_t i = 0; i < ntr; i++) m += train[i * dims + j];
        m /= (double)ntr;
        for (size_t i = 0; i < ntr; i++) v += (train[i * dims + j] - m) * (train[i * dims + j] - m);
        double sd = sqrt(v / (double)ntr);
        double inv = sd > 1e-12 ? 1.0 / sd : 0.0;
        for (size_t i = 0; i < ntr; i++) train[i * dims + j] = (float)((train[i * dims + j] - m) * inv);
        for (size_t i = 0; i < nte; i++) test[i * dims + j] = (float)((test[i * dims + j] - m) * inv);
    }
}

/* C chosen per feature set when the caller gives none (c <= 0). */
static const double c_grid[] = {1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1};

static clg_status svm_accuracy(clg_ctx *ctx, clg_net *d, const clg_dataset *tr, const int *tri,
                               size_t ntr, const clg_dataset *te, const int *tei, size_t nte,
                               double *c, double *held_out, double *acc) {
    int dims = feature_dims(d);
    float *ftr = malloc(ntr * dims * sizeof *ftr), *fte = malloc(nte * dims * sizeof *fte);
    unsigned char *ytr = malloc(ntr);
    clg_status rc;
    clg_svm svm = {0};
    if (!ftr || !fte || !ytr) {
        rc = clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory for %zu x %d features", ntr, dims);
        goto done;
    }
    CLG_TRY_GOTO(extract(ctx, d, tr, tri, ntr, dims, ftr), done);
    CLG_TRY_GOTO(extract(ctx, d, te, tei, nte, dims, fte), done);
    standardise(ftr, ntr, fte, nte, dims);
    for (size_t i = 0; i < ntr; i++) ytr[i] = tr->labels[tri[i]];
    *held_out = -1;
    if (*c <= 0)
        CLG_TRY_GOTO(clg_svm_select_c(ftr, ytr, ntr, dims, tr->num_classes, c_grid,
                                      (int)(sizeof c_grid / sizeof c_grid[0]), SVM_EPOCHS, c,
                                      held_out),
                     done);
    CLG_TRY_GOTO(clg_svm_train(&svm, ftr, ytr, ntr, dims, tr->num_classes, *c, SVM_EPOCHS), done);
    size_t right = 0;
    for (size_t i = 0; i < nte; i++) right += clg_svm_predict(&svm, fte + i * dims) == te->labels[tei[i]];
    *acc = (double)right / (double)nte;
    rc = CLG_OK;
done:
    clg_svm_free(&svm);
    free(ftr), free(fte), free(ytr);
    return rc;
}

clg_status clg_d_features_svm(clg_ctx *ctx, const char *ckpt, int per_class, double c,
                              clg_features_result *out) {
    memset(out, 0, sizeof *out);
    clg_dcgan_config cfg;
    CLG_TRY(clg_ckpt_read_dcgan_config(ckpt, &cfg));
    cfg.batch = FEAT_BATCH;
    clg_net d;
    memset(&d, 0, sizeof d);
    clg_dataset tr = {0}, te = {0};
    int *tri = NULL, *tei = NULL;
    clg_status rc;
    int ch;
    CLG_TRY_GOTO(clg_data_open("fashion-mnist", cfg.image_size, &ch, &tr), done);
    CLG_TRY_GOTO(clg_data_open("fashion-mnist-test", cfg.image_size, &ch, &te), done);
    if (ch != cfg.nc) {
        rc = clg_fail(CLG_ERR_INVALID_ARG, "%s: its D takes %d-channel images; the feature "
                      "evaluation runs on Fashion-MNIST (%d channel)", ckpt, cfg.nc, ch);
        goto done;
    }
    tri = malloc((size_t)tr.n * sizeof *tri);
    tei = malloc((size_t)te.n * sizeof *tei);
    if (!tri || !tei) {
        rc = clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory");
        goto done;
    }
    /* The first K of each class (all when K is 0), in file order. */
    size_t ntr = 0;
    int count[256] = {0};
    for (int i = 0; i < tr.n; i++)
        if (per_class <= 0 || count[tr.labels[i]]++ < per_class) tri[ntr++] = i;
    for (int i = 0; i < te.n; i++) tei[i] = i;
    CLG_TRY_GOTO(clg_dcgan_build_d(&d, &cfg), done);
    CLG_TRY_GOTO(clg_net_alloc(ctx, &d), done);
    out->dims = feature_dims(&d);
    out->train_n = (long)ntr;
    CLG_TRY_GOTO(clg_net_load(ctx, &d, ckpt, "netD."), done);
    out->c = out->random_c = c;
    CLG_TRY_GOTO(svm_accuracy(ctx, &d, &tr, tri, ntr, &te, tei, (size_t)te.n, &out->c,
                              &out->held_out, &out->accuracy),
                 done);
    /* Baseline: the same network with fresh DCGAN initialisation. */
    CLG_TRY_GOTO(clg_net_init_params(ctx, &d, cfg.seed + 1000003), done);
    CLG_TRY_GOTO(svm_accuracy(ctx, &d, &tr, tri, ntr, &te, tei, (size_t)te.n, &out->random_c,
                              &out->random_held_out, &out->random_accuracy),
                 done);
    rc = CLG_OK;
done:
    free(tri), free(tei);
    clg_dataset_free(&tr);
    clg_dataset_free(&te);
    clg_net_free(ctx, &d);
    return rc;
}
