/* models.c: the table of trainable models. Adding a model: its file with a
 * clg_model_ops, one line here. */
#include "model.h"

#include <string.h>

extern const clg_model_ops clg_dcgan_ops, clg_classifier_ops, clg_gan_ops, clg_cgan_ops;
extern const clg_model_ops clg_lapgan_ops, clg_ssl_ops;

static const clg_model_ops *const table[] = {
    &clg_gan_ops,
    &clg_cgan_ops,
    &clg_lapgan_ops,
    &clg_dcgan_ops,
    &clg_ssl_ops,
    &clg_classifier_ops,
};
#define COUNT ((int)(sizeof table / sizeof table[0]))

int clg_model_count(void) { return COUNT; }
const clg_model_ops *clg_model_at(int i) { return i >= 0 && i < COUNT ? table[i] : NULL; }

const clg_model_ops *clg_model_find(const char *kind) {
    for (int i = 0; kind && i < COUNT; i++)
        if (!strcmp(table[i]->kind, kind)) return table[i];
    return NULL;
}
