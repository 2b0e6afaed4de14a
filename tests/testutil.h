/* testutil.h: what every test suite shares: one context per group, host
 * random data, and error norms against double-precision references. */
#ifndef CLG_TESTUTIL_H
#define CLG_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "runtime.h"
#include "tensor.h"

/* cmocka group setup/teardown: state is the clg_ctx* on the default device. */
int clg_test_group_setup(void **state);
int clg_test_group_teardown(void **state);

/* Group setups for the BN/VBN suites, whatever the device: the per-channel
 * (CPU) kernels, or the split (GPU) kernels with BN's slices per channel
 * chosen as the device would (one for small channels), or 3 (so every shape
 * is sliced, some slices empty). */
int clg_test_group_setup_channel(void **state);
int clg_test_group_setup_split(void **state);
int clg_test_group_setup_split3(void **state);

/* 1 when CLGAN_TEST_SMALL is set (Oclgrind runs): suites shrink shapes. */
int clg_test_small(void);

/* Tests of per-device cache files: point XDG_CACHE_HOME at `dir` with
 * CLGAN_NO_CACHE unset, and put both back as they were afterwards. */
typedef struct {
    char *xdg, *no_cache; /* saved values (NULL: was unset) */
} clg_test_cache_env;
void clg_test_cache_env_set(clg_test_cache_env *saved, const char *dir);
void clg_test_cache_env_restore(clg_test_cache_env *saved);

/* Uniform floats in [lo, hi) from a fixed-seed host generator. */
void clg_test_fill_uniform(float *x, size_t n, uint64_t seed, float lo, float hi);

/* max_i |got_i - ref_i| / max(max_i |ref_i|, floor): the error relative to
 * the tensor's scale, the norm every suite states its tolerance in. */
double clg_test_rel_err(const float *got, const double *ref, size_t n, double floor);

/* Assert that rel_err <= tol, printing the worst element on failure. */
#define CLG_ASSERT_CLOSE(got, ref, n, tol)                                      \
    clg_test_assert_close((got), (ref), (n), (tol), #got, __FILE__, __LINE__)
void clg_test_assert_close(const float *got, const double *ref, size_t n, double tol,
                           const char *what, const char *file, int line);

/* Fail the test with clgan's message when a status is not CLG_OK. */
#define CLG_ASSERT_OK(expr)                                                     \
    do {                                                                        \
        clg_status s_ = (expr);                                                 \
        if (s_ != CLG_OK)                                                       \
            fail_msg("%s -> %s: %s", #expr, clg_status_to_string(s_),          \
                     clg_last_error());                                         \
    } while (0)

/* A toy IDX file of n 28x28 images: all white, or image i with a white
 * row every 5 and white column i % 28. */
void clg_test_write_idx(const char *path, int n, int white);
/* Two files with the same bytes (resumed runs' checkpoints). */
void clg_test_assert_same_file(const char *pa, const char *pb);
/* n toy images under MNIST's file names in dir (the images' path into
 * images) with labels i % 10 beside them. */
void clg_test_write_labelled_idx(const char *dir, char *images, size_t cap, int n);

/* A whole file, malloc'd with a 0 after it (the test fails when it cannot
 * be read). */
unsigned char *clg_test_slurp(const char *path, long *len);
/* Suites that write files: run the group in a fresh /tmp/clgan-test-NAME-*
 * folder (its path in `dir`, cap bytes), removed afterwards. */
int clg_test_run_in_tmpdir(const char *name, char *dir, size_t cap,
                           const struct CMUnitTest *tests, size_t count);

/* A device tensor uploaded from host data (test shorthand). */
clg_tensor clg_test_tensor(clg_ctx *ctx, int n, int c, int h, int w, const float *host);

#endif
