/* model.h: what every trainable model of clgan offers the generic trainer
 * (models/train.c), the checkpoint code (models/checkpoint.c) and the CLI:
 * its settings as a table of fields (CLI flags, config.json and checkpoint
 * metadata from one description), how to build it, one training step over
 * a batch, how to generate images, and its networks with their optimisers
 * for checkpoints. A model is one file and one line in models/models.c.
 *
 * A model's struct starts with a clg_model; the trainer uploads each batch
 * into m->real (and m->labels for labelled models) before step_enqueue. */
#ifndef CLG_MODEL_H
#define CLG_MODEL_H

#include "dataset.h"
#include "json.h"
#include "net.h"
#include "optim.h"

#include <stddef.h>

/* ---- settings ---- */
typedef enum {
    CLG_FIELD_INT,
    CLG_FIELD_FLOAT,
    CLG_FIELD_U64,
    CLG_FIELD_FLAG,   /* an int 0/1 set by a flag without a value */
    CLG_FIELD_CHOICE, /* an int index into `choices`, written and read as the word */
    CLG_FIELD_INT2,   /* two ints in a row: "--flag A,B", [A, B] in JSON */
} clg_field_type;

typedef struct {
    const char *key;   /* config.json / checkpoint config key */
    clg_field_type type;
    size_t offset;     /* in the model's config struct */
    double lo, hi;     /* accepted range (checked on read; the model's check names the flag) */
    const char *flag;  /* CLI flag; NULL: not a flag (set from the data) */
    const char *alias; /* a second spelling (pytorch/examples'), or NULL */
    const char *help;
    int invert;        /* a FLAG stored as its negation ("--no-affine" -> bn_affine 0) */
    int optional;      /* may be missing from older checkpoints: the default stays */
    const char *choices; /* CHOICE: the words, '|'-separated ("mlp|dcgan") */
    int omit_zero;     /* left out of the JSON while 0 (options added after a format's
                          first release, so its files stay as they were) */
} clg_config_field;

/* INT2 fields: "A,B" (whole numbers) into v; 0 on success. */
int clg_config_parse_int2(const char *text, int v[2]);

/* CHOICE fields: the index of `word` in f->choices, or -1. */
int clg_config_choice_index(const clg_config_field *f, const char *word);

/* "{"key": value, ...}" in table order (integers as integers, floats %.9g). */
void clg_config_to_json(const clg_config_field *f, int n, const void *cfg, char *buf, size_t cap);
/* Every non-optional field present, a number, within range, integral where
 * the field is; CLG_ERR_FORMAT naming `what` and the key otherwise. */
clg_status clg_config_from_json(const clg_config_field *f, int n, const clg_json *j,
                                const char *what, void *cfg);

/* ---- metrics of one step ---- */
#define CLG_METRICS_MAX 8
typedef struct {
    int count;
    const char *name[CLG_METRICS_MAX]; /* "loss_d": the metrics.jsonl key */
    const char *label[CLG_METRICS_MAX]; /* "loss_D": the progress line's */
    float v[CLG_METRICS_MAX];
} clg_metrics;

/* ---- the networks a checkpoint holds ---- */
typedef struct {
    const char *prefix;   /* before each state_dict name: "" for G, "netD." */
    clg_net *net;
    clg_adam *opt;        /* NULL: the net is not trained by this model */
    const char *opt_name; /* moments saved as "<opt_name>.exp_avg.<name>" */
    const char *opt_key;  /* metadata key of the optimiser's step count */
    const clg_tensor *avg; /* a weight average laid out as net->params, or NULL */
    const clg_tensor *hist; /* historical averaging's running mean, laid out so, or NULL */
} clg_model_part;

#define CLG_MODEL_MAX_PARTS 8

typedef struct clg_model_ops clg_model_ops;

typedef struct {
    const clg_model_ops *ops;
    const void *cfg;     /* the model's config struct (ops->fields describe it) */
    long step;           /* completed training steps */
    int batch, image_size, nc, nz, classes; /* classes 0: unlabelled */
    uint64_t seed;
    clg_tensor real;     /* (batch, nc, size, size) */
    clg_itensor labels;  /* (batch) when the model is labelled */
    long steps_per_epoch, total_steps; /* set by the trainer (0: unknown) */
} clg_model;

/* What a model shares with the trainer, read from its config. */
typedef struct {
    int image_size, nc, batch, classes, nz; /* nz 0: no latent input */
    uint64_t seed;
} clg_model_common;

struct clg_model_ops {
    const char *kind;        /* "dcgan": `clgan train dcgan` */
    const char *format;      /* checkpoint format tag */
    const char *summary;     /* one line for `clgan train --help` */
    const char *help;        /* the paragraph of `clgan train KIND --help` */
    size_t config_size;
    const clg_config_field *fields;
    int nfields;
    int labelled;            /* 1: needs labelled data (the trainer uploads labels) */
    int generates;           /* 1: has a generator (sample, eval, interpolate) */
    void (*config_default)(void *cfg);
    clg_status (*config_check)(const void *cfg);
    void (*common)(const void *cfg, clg_model_common *out);
    /* The data decides channels and classes. */
    void (*set_data)(void *cfg, int nc, int classes);
    /* Build, allocate and initialise; gen_batch > 0: only what generating
     * gen_batch images needs (sample, eval), the rest absent. */
    clg_status (*create)(clg_ctx *ctx, const void *cfg, int gen_batch, clg_model **out);
    void (*destroy)(clg_ctx *ctx, clg_model *m);
    int (*parts)(clg_model *m, clg_model_part *out);
    /* One training step on m->real (m->labels), enqueued; then its metrics. */
    clg_status (*step_enqueue)(clg_ctx *ctx, clg_model *m);
    clg_status (*step_finish)(clg_ctx *ctx, clg_model *m, clg_metrics *out);
    /* Images for latents z (n, nz, 1, 1) and labels (n, or NULL): into
     * *images (n, nc, size, size) in [-1, 1]. `running`: BN with running
     * statistics instead of the batch's own. */
    clg_status (*generate)(clg_ctx *ctx, clg_model *m, const clg_tensor *z,
                           const clg_itensor *labels, int running, const clg_tensor **images);
    /* Scores on held-out data after each epoch (may be NULL). */
    clg_status (*evaluate)(clg_ctx *ctx, clg_model *m, const clg_dataset *test, clg_metrics *out);
    /* After the trainer's last step (may be NULL): e.g. export a file. */
    clg_status (*finish)(clg_ctx *ctx, clg_model *m, const char *out_dir);
    /* Multi-scale models (may be NULL): the images of each level of the last
     * generate, coarse to fine; returns their count (<= cap). */
    int (*levels)(clg_model *m, const clg_tensor **out, int cap);
    /* Once after create and before a resumed checkpoint loads (may be NULL):
     * what the model takes from the training set itself (a labelled subset,
     * a data-dependent initialisation). Alike on every data-parallel rank;
     * batches drawn from it later take the rank's share (parallel.h). */
    clg_status (*prepare)(clg_ctx *ctx, clg_model *m, const clg_dataset *train);
    /* The device tensor that holds a step's loss statistics once the step
     * has run, every value finite in a healthy step (may be NULL): lets the
     * trainer skip waiting for quiet steps (lagged.h). */
    const clg_tensor *(*step_stats)(clg_model *m);
};

/* The table (models/models.c). */
const clg_model_ops *clg_model_find(const char *kind);
int clg_model_count(void);
const clg_model_ops *clg_model_at(int i);

/* A config of `ops` with its defaults (free() it). */
void *clg_model_config_new(const clg_model_ops *ops);

/* z ~ N(0, 1) for latent batch `index` of `stream` (0: training steps,
 * 1: the trainer's fixed grid, others: sampling) from Philox(seed), at an
 * offset that depends only on (stream, index). */
clg_status clg_model_noise(clg_ctx *ctx, uint64_t seed, const clg_tensor *z, uint64_t stream,
                           long index);
/* The same for this rank's share of a global batch (ctx->dist): rank r
 * draws what rows r*n .. (r+1)*n - 1 of the whole batch would get, so N
 * ranks together draw what one process with N*n rows does. */
clg_status clg_model_noise_share(clg_ctx *ctx, uint64_t seed, const clg_tensor *z,
                                 uint64_t stream, long index);

/* For models' create: calloc `size` bytes (the model's struct), run
 * setup(ctx, model, cfg, gen_batch), which cleans up after itself when it
 * fails; *out is the model. */
typedef clg_status (*clg_model_setup_fn)(clg_ctx *ctx, void *model, const void *cfg,
                                         int gen_batch);
clg_status clg_model_new(clg_ctx *ctx, size_t size, clg_model_setup_fn setup, const void *cfg,
                         int gen_batch, clg_model **out);

/* For models: allocate m->real (and m->labels when classes > 0). */
clg_status clg_model_inputs_create(clg_ctx *ctx, clg_model *m);
void clg_model_inputs_free(clg_ctx *ctx, clg_model *m);
/* For models: one Adam step of a net over its whole parameter block; in
 * data-parallel training (ctx->dist) the gradients are first averaged over
 * the ranks (clg_grad_average: one allreduce per net and step, or by
 * buckets when the backward was armed). */
clg_status clg_model_adam_step(clg_ctx *ctx, clg_adam *opt, clg_net *net);

#endif
