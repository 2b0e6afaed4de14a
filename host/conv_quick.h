/* conv_quick.h: the quick per-device tune. For each default variant that
 * clg_conv_algo_default gives a class of shapes on this device (say mvec
 * 4 x 16 rows x 6 columns for 64 output channels and more on AVX-512), and
 * each direction, the variants of the same kind (mvec blocks at the
 * device's vector width; the tiled or direct tiles) are timed on
 * representative DCGAN-32 shapes of that class and the fastest is stored
 * as a "default DIR FROM TO" line of the device's conv tune table
 * (conv_tune.h). Plain conv calls in direction DIR then run TO wherever
 * the default is FROM; a choice `clgan tune` stored for the very shape
 * still comes first. Seconds on a CPU, most of it building the
 * candidates' programs (cached); run once per device (clgan train and bench
 * call it when the table has no default line). */
#ifndef CLG_CONV_QUICK_H
#define CLG_CONV_QUICK_H

#include "conv.h"

/* Called after each timed candidate: done of total. */
typedef void (*clg_progress_fn)(void *user, int done, int total);

/* 1 when the quick tune has nothing to do on ctx's device: a choice is
 * stored for every default its shapes take (CLGAN_VECTOR_WIDTH, say, gives
 * other defaults), or the cache is disabled (CLGAN_NO_CACHE: nowhere to
 * keep them). */
int clg_conv_quick_done(clg_ctx *ctx);

/* The tune over shapes d[i] in directions dir[i] (i < n): shapes whose
 * defaults and directions agree form a group, each candidate's time is the sum of its
 * best-of-3 wall times over the group, and the group's fastest is stored
 * if it beats the default by 5%, else the default (which marks the work
 * done). At most
 * max_candidates a group, the default first (0: all). fn may be NULL. */
clg_status clg_conv_quick_tune_shapes(clg_ctx *ctx, const clg_conv_desc *d,
                                      const clg_conv_dir *dir, int n, int max_candidates,
                                      clg_progress_fn fn, void *user);

/* The tune on DCGAN-32's layer shapes at batch 32 (both widths' classes). */
clg_status clg_conv_quick_tune(clg_ctx *ctx, clg_progress_fn fn, void *user);

#endif
