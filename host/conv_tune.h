/* conv_tune.h: the conv variant `clgan tune` chose per layer shape, stored
 * per device under the cache directory ($XDG_CACHE_HOME/clgan, see
 * program.h) in conv-tune-<key>.txt, where key hashes the platform, device
 * and driver. One line per (direction, shape):
 *   fwd N C H W K R S stride pad ALGO        (ALGO as clg_conv_algo_format)
 * and, from the quick tune (conv_quick.h), one line per device default:
 *   default DIR FROM TO        (run TO in direction DIR where the default is FROM)
 * Lines that do not parse are ignored. The table is read once per process
 * and device; not thread-safe. CLGAN_NO_CACHE=1 disables lookups and stores.
 *
 * Only a store: it knows the descriptor and variant types (conv_desc.h) and
 * nothing of conv.c, which consults it to pick a variant; the search that
 * times variants is `clgan tune` (cli/tune.c). */
#ifndef CLG_CONV_TUNE_H
#define CLG_CONV_TUNE_H

#include "conv_desc.h"
#include "runtime.h"

/* One stored choice: the direction, the shape key and the variant; or, for
 * a "default" line (is_default), the direction and the default it replaces
 * (from; v unused). */
typedef struct {
    int is_default;
    clg_conv_dir dir;
    int v[9]; /* N C H W K R S stride pad */
    clg_conv_algo from;
    clg_conv_algo algo;
} clg_conv_tune_entry;

/* Lines are read with this buffer (longer ones are split, and ignored). */
#define CLG_TUNE_LINE_MAX 512

/* Parse one line of the table: 1 and *out for a valid entry, 0 for a line
 * to ignore (a comment, a bad field, a variant out of bounds). */
int clg_conv_tune_parse_line(const char *line, clg_conv_tune_entry *out);

/* *found = 1 and *out set when a choice is stored for (dir, d) on ctx's device. */
clg_status clg_conv_tune_lookup(clg_ctx *ctx, clg_conv_dir dir, const clg_conv_desc *d,
                                clg_conv_algo *out, int *found);
/* Record a choice (replacing any for the same key) and rewrite the file. */
clg_status clg_conv_tune_store(clg_ctx *ctx, clg_conv_dir dir, const clg_conv_desc *d,
                               const clg_conv_algo *a);
/* *found = 1 and *out set when the quick tune stored a replacement for the
 * device default `def` in direction `dir` (any line: TO may equal FROM). */
clg_status clg_conv_tune_default_lookup(clg_ctx *ctx, clg_conv_dir dir, const clg_conv_algo *def,
                                        clg_conv_algo *out, int *found);
/* Record "default DIR FROM TO" (replacing any for DIR and FROM) and rewrite
 * the file. */
clg_status clg_conv_tune_default_store(clg_ctx *ctx, clg_conv_dir dir, const clg_conv_algo *from,
                                       const clg_conv_algo *to);

/* The file this device's choices live in ("" when the cache is disabled). */
clg_status clg_conv_tune_path(const clg_ctx *ctx, char *buf, size_t cap);

#endif
