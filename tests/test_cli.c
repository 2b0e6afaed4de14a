/* test_cli.c: hostile command lines and files given to the clgan command
 * itself (build/clgan, next to this binary's folder), run as a user would:
 * each must exit non-zero with a message that says what is wrong, and
 * leave nothing behind. Unknown flags, empty and missing values, a flag
 * where a value belongs, a word for a number, an unknown command and model,
 * a missing and a corrupt checkpoint. */
#include "testutil.h"
#include "safetensors.h"

#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static char dir[256], clgan[PATH_MAX + 16], dir_of_self[PATH_MAX];

/* Run clgan with argv (NULL-terminated, argv[0] omitted); its stdout and
 * stderr together into out (cap bytes). Returns the exit status, or -1. */
static int run_clgan(const char *const *args, char *out, size_t cap) {
    char *argv[32], log[300];
    int n = 0;
    argv[n++] = clgan;
    for (; args[n - 1] && n < 31; n++) argv[n] = (char *)args[n - 1];
    argv[n] = NULL;
    snprintf(log, sizeof log, "%s/out.txt", dir);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    pid_t pid;
    int rc = posix_spawn(&pid, clgan, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    assert_int_equal(rc, 0);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    FILE *f = fopen(log, "r");
    assert_non_null(f);
    size_t got = fread(out, 1, cap - 1, f);
    out[got] = '\0';
    fclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Exit status `code` (0: any non-zero) and `needle` in the output. */
static void expect_fail(const char *const *args, int code, const char *needle) {
    char out[8192];
    int rc = run_clgan(args, out, sizeof out);
    if (rc <= 0 || (code && rc != code))
        fail_msg("clgan %s ... exited %d, wanted %d; said:\n%s", args[0], rc, code, out);
    if (!strstr(out, needle))
        fail_msg("clgan %s ... said\n%s\nwithout '%s'", args[0], out, needle);
}

static void test_bad_flags(void **state) {
    (void)state;
    const char *unknown[] = {"train", "dcgan", "--bogus", "1", NULL};
    expect_fail(unknown, 2, "unknown option '--bogus'");
    const char *empty[] = {"train", "dcgan", "--out", "", NULL};
    expect_fail(empty, 2, "--out needs a value, not ''");
    const char *flag_as_value[] = {"train", "dcgan", "--out", "--resume", NULL};
    expect_fail(flag_as_value, 2, "--out needs a value, not '--resume'");
    const char *missing[] = {"train", "dcgan", "--epochs", NULL};
    expect_fail(missing, 2, "--epochs needs a value");
    const char *word[] = {"train", "dcgan", "--epochs", "five", NULL};
    expect_fail(word, 2, "--epochs wants a whole number, not 'five'");
    const char *trailing[] = {"train", "dcgan", "--minutes", "2e-4x", NULL};
    expect_fail(trailing, 2, "--minutes wants a number, not '2e-4x'");
    const char *command[] = {"frobnicate", NULL};
    expect_fail(command, 0, "unknown command 'frobnicate'");
    const char *model[] = {"train", "nosuchmodel", NULL};
    expect_fail(model, 2, "unknown model 'nosuchmodel'");
    const char *arch[] = {"train", "ssl", "--arch", "dcgan", NULL};
    expect_fail(arch, 2, "--arch 'dcgan': one of mlp|conv");
    const char *buckets[] = {"train", "dcgan", "--grad-buckets", "-1", NULL};
    expect_fail(buckets, 2, "--grad-buckets must not be negative");
}

/* `clgan train --help` exits 0 and lists every model of the table, a line
 * each starting with its command (`clgan train NAME`), and itself; so does
 * the repository root's ./clgan, which runs build/clgan (checked when this
 * binary sits in that repository's build/tests). */
static void assert_train_help(const char *what) {
    const char *help[] = {"train", "--help", NULL};
    char out[8192], line[64];
    assert_int_equal(run_clgan(help, out, sizeof out), 0);
    const char *kinds[] = {"gan", "cgan", "lapgan", "dcgan", "ssl", "classifier"};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        snprintf(line, sizeof line, "\n  clgan train %s ", kinds[i]);
        if (!strstr(out, line)) fail_msg("%s train --help does not list %s:\n%s", what, kinds[i], out);
    }
    assert_non_null(strstr(out, "clgan train --help"));
}

static void test_train_help(void **state) {
    (void)state;
    assert_train_help(clgan);
    char built[sizeof clgan];
    snprintf(built, sizeof built, "%s", clgan);
    snprintf(clgan, sizeof clgan, "%s/../../clgan", dir_of_self);
    if (access(clgan, X_OK) == 0) assert_train_help(clgan);
    snprintf(clgan, sizeof clgan, "%s", built);
}

/* `clgan bench --filter dense_ssl_D6`: the three passes of a linear layer
 * on clgan's kernels and on CLBlast's, which bench compares before timing
 * (it fails when they disagree): six records. */
static void test_bench_dense(void **state) {
    (void)state;
    const char *args[] = {"bench", "--filter", "dense_ssl_D6", "--reps", "1", NULL};
    char out[8192];
    int rc = run_clgan(args, out, sizeof out);
    if (rc != 0) fail_msg("clgan bench exited %d:\n%s", rc, out);
    /* One line per pass and implementation: name, shape, impl, ms. */
    const char *impl[] = {"clgan", "clblast"}, *pass[] = {"fwd", "bwd_data", "bwd_weight"};
    for (int d = 0; d < 3; d++)
        for (int i = 0; i < 2; i++) {
            char want[128];
            snprintf(want, sizeof want, "\ndense_ssl_D6_%s", pass[d]);
            int found = 0;
            for (const char *at = strstr(out, want); at; at = strstr(at + 1, want)) {
                char name[64], shape1[32], shape2[32], shape3[32], im[32];
                if (sscanf(at + 1, "%63s %31s %31s %31s %31s", name, shape1, shape2, shape3, im) ==
                        5 &&
                    !strcmp(name, want + 1) && !strcmp(shape3, "250->10") && !strcmp(im, impl[i]))
                    found = 1;
            }
            if (!found) fail_msg("no %s record of %s in:\n%s", impl[i], want + 1, out);
        }
}

/* `train ssl` resumed: 2 steps, then --resume to 4, ends with the same
 * checkpoint bytes as 4 steps at once (the labelled batches, the noise, D's
 * average and the Adam moments all pick up where they were). */
static void test_ssl_resume_same(void **state) {
    (void)state;
    char a[300], b[300], pa[350], pb[350], out[8192];
    snprintf(a, sizeof a, "%s/ssl_a", dir);
    snprintf(b, sizeof b, "%s/ssl_b", dir);
    const char *runs[3][2] = {{a, "4"}, {b, "2"}, {b, "4"}};
    for (int r = 0; r < 3; r++) {
        const char *args[] = {"train", "ssl", "--labels-per-class", "3", "--init-examples", "16",
                              "--batch-size", "16", "--seed", "3", "--sample-every", "0",
                              "--ckpt-every", "0", "--steps", runs[r][1], "--out", runs[r][0],
                              r == 2 ? "--resume" : NULL, NULL};
        int rc = run_clgan(args, out, sizeof out);
        if (rc != 0) fail_msg("clgan train ssl exited %d:\n%s", rc, out);
    }
    snprintf(pa, sizeof pa, "%s/checkpoint.safetensors", a);
    snprintf(pb, sizeof pb, "%s/checkpoint.safetensors", b);
    clg_test_assert_same_file(pa, pb);
}

/* CLGAN_PROFILE_KERNELS=1: --profile names kernels (DCGAN's fused batch
 * norm and its convolutions), not families. */
static void test_profile_kernels(void **state) {
    (void)state;
    char o[300], out[8192];
    snprintf(o, sizeof o, "%s/prof", dir);
    const char *args[] = {"train", "dcgan", "--image-size", "32", "--ngf", "8", "--ndf", "8",
                          "--batch-size", "8", "--steps", "2", "--profile", "--sample-every",
                          "0", "--ckpt-every", "0", "--out", o, NULL};
    setenv("CLGAN_PROFILE_KERNELS", "1", 1);
    int rc = run_clgan(args, out, sizeof out);
    unsetenv("CLGAN_PROFILE_KERNELS");
    if (rc != 0) fail_msg("clgan train dcgan exited %d:\n%s", rc, out);
    if (!strstr(out, "\n  bn_") || !strstr(out, "\n  conv2d_") || strstr(out, "\n  batchnorm "))
        fail_msg("no per-kernel profile in:\n%s", out);
    rc = run_clgan(args, out, sizeof out);
    if (rc != 0 || !strstr(out, "\n  batchnorm ")) fail_msg("no per-family profile in:\n%s", out);
}

/* A checkpoint with one flipped data byte (its CRC32 no longer matches),
 * and one that is not there: `clgan sample` says which and why. */
static void test_bad_checkpoint(void **state) {
    (void)state;
    char ck[300], png[300], missing[300];
    snprintf(ck, sizeof ck, "%s/checkpoint.safetensors", dir);
    snprintf(png, sizeof png, "%s/grid.png", dir);
    snprintf(missing, sizeof missing, "%s/none.safetensors", dir);
    const float w[4] = {1, 2, 3, 4};
    const clg_st_write_entry e = {"main.0.weight", w, 1, {4}};
    const char *meta[2] = {"model", "dcgan"};
    CLG_ASSERT_OK(clg_safetensors_write(ck, &e, 1, meta, 1));
    long len;
    unsigned char *bytes = clg_test_slurp(ck, &len);
    bytes[len - 3] ^= 0x10;
    FILE *f = fopen(ck, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    free(bytes);
    const char *corrupt[] = {"sample", ck, "-o", png, NULL};
    expect_fail(corrupt, 0, "the tensor data is corrupt");
    expect_fail(corrupt, 0, ck);
    assert_int_not_equal(access(png, F_OK), 0);
    const char *absent[] = {"sample", missing, "-o", png, NULL};
    expect_fail(absent, 0, "none.safetensors");
}

int main(void) {
    /* build/tests/test_cli -> build/clgan */
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return 1;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    *slash = '\0';
    snprintf(clgan, sizeof clgan, "%s/../clgan", self);
    snprintf(dir_of_self, sizeof dir_of_self, "%s", self);
    if (access(clgan, X_OK) != 0) {
        fprintf(stderr, "test_cli: no %s (make all builds it)\n", clgan);
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_flags),
        cmocka_unit_test(test_bad_checkpoint),
        cmocka_unit_test(test_train_help),
        cmocka_unit_test(test_bench_dense),
        cmocka_unit_test(test_ssl_resume_same),
        cmocka_unit_test(test_profile_kernels),
    };
    return clg_test_run_in_tmpdir("cli", dir, sizeof dir, tests, sizeof tests / sizeof tests[0]);
}
