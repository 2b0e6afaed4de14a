/* test_dist.c: data-parallel training (issue 14).
 * - the process group without a launcher is rank 0 of 1, its collectives
 *   the identity (a device tensor's scaled "sum" is the scaled tensor);
 * - equivalence: `mpirun -np 2 clgan train dcgan --sync-bn` with batch 16
 *   (2 ranks x 8) against one process with batch 16, same seed: the logged
 *   losses of 5 steps and every tensor of the checkpoint (parameters, BN
 *   running statistics, Adam moments) agree; the 2-rank checkpoint records
 *   the global batch and samples in a single process; resuming both to
 *   step 7 keeps them together;
 * - GAN, cGAN, LAPGAN and the classifier (with --sync-bn) log the same
 *   metrics over 2 ranks as in one process; ssl too without G, and D's
 *   side of its first step with G; DCGAN with --vbn (the reference batch
 *   split, its statistics synchronised) as in one process;
 * - a rank that fails (a device that does not exist) ends every rank with
 *   its message and a non-zero status, within a timeout.
 *
 * Tolerance of the equivalence, |a - b| <= TOL_ABS + TOL_REL |a|: the two
 * runs add the same numbers in another order (BN statistics and gradient
 * sums split in two halves, then added on the host), so each step differs
 * by float rounding (~1e-7 relative), and five Adam steps carry it on. A
 * parameter whose gradient is near zero moves by up to lr per step in
 * either run, and there rounding can change the step's size by a fraction
 * of lr = 2e-4: TOL_ABS = 5e-5 leaves room for that and catches any real
 * error (a wrong slice, mean or missing sync moves losses by > 1e-3 and
 * weights by ~lr; without --sync-bn the first loss_d is already 6e-3 off).
 * Measured on PoCL: the logged losses equal to their 6 printed digits,
 * every tensor within 7.2e-7 (absolute) after 5 and after 7 steps.
 *
 * The runs need an MPI build and mpirun (skipped otherwise). */
#include "testutil.h"
#include "dist.h"
#include "safetensors.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define TOL_ABS 5e-5
#define TOL_REL 1e-3

static char dir[256];

static void test_single_group(void **state) {
    clg_ctx *ctx = *state;
    clg_dist d;
    CLG_ASSERT_OK(clg_dist_init(&d));
    assert_int_equal(d.rank, 0);
    assert_int_equal(d.size, 1);
    assert_int_equal(d.local_rank, 0);
    float v[3] = {1.5f, -2.0f, 3.25f};
    CLG_ASSERT_OK(clg_dist_allreduce_sum(&d, v, 3));
    assert_true(v[0] == 1.5f && v[1] == -2.0f && v[2] == 3.25f);
    assert_int_equal(clg_dist_bcast(&d, v, sizeof v, 1), CLG_ERR_INVALID_ARG);
    clg_tensor t = clg_test_tensor(ctx, 1, 3, 1, 1, v);
    CLG_ASSERT_OK(clg_dist_allreduce_tensor(ctx, &d, &t, 0.5f));
    CLG_ASSERT_OK(clg_dist_bcast_tensor(ctx, &d, &t));
    float got[3];
    CLG_ASSERT_OK(clg_tensor_download(ctx, &t, got));
    assert_true(got[0] == 0.75f && got[1] == -1.0f && got[2] == 1.625f);
    clg_tensor_free(ctx, &t);
    clg_dist_finalize(&d);
}

/* ---- runs of build/clgan -------------------------------------------------- */

static int mpi_ready(void) {
    return !strcmp(clg_dist_backend(), "mpi") &&
           system("command -v mpirun >/dev/null 2>&1") == 0;
}

/* Exit status of a shell command (128 + signal when killed). */
static int sh(const char *cmd) {
    int st = system(cmd);
    if (st == -1) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* One PoCL compute unit per process, so two ranks share 2 cores without
 * oversubscribing them (PoCL 3 reads POCL_MAX_PTHREAD_COUNT, PoCL 4 and
 * later POCL_CPU_MAX_CU_COUNT). */
#define ONE_CU "POCL_MAX_PTHREAD_COUNT=1 POCL_CPU_MAX_CU_COUNT=1"

/* mpirun with 2 ranks, as root too: Open MPI's flags only where mpirun is
 * Open MPI's (its ranks inherit the environment). */
static void mpirun2(char *buf, size_t cap) {
    int ompi = sh("mpirun --version 2>&1 | grep -q 'Open MPI'") == 0;
    snprintf(buf, cap, "timeout 300 mpirun %s -np 2",
             ompi ? "--oversubscribe --allow-run-as-root" : "");
}

/* `clgan train MODEL` (with its flags), batch 16, into dir/out, logging
 * every step; on the toy set unless the flags name --data. */
static int train(const char *launcher, const char *out, long steps, const char *model) {
    char cmd[2048], data[400] = "";
    if (!strstr(model, "--data")) snprintf(data, sizeof data, "--data '%s/toy.idx'", dir);
    snprintf(cmd, sizeof cmd, ONE_CU " %s build/clgan train %s %s --batch-size 16 --seed 3 "
             "--steps %ld --log-every 1 --ckpt-every 0 --out '%s/%s' > '%s/%s.log' 2>&1",
             launcher, model, data, steps, dir, out, dir, out);
    return sh(cmd);
}

#define DCGAN "dcgan --ngf 8 --ndf 8 --nz 16 --sample-every 0"
#define FMNIST " --data fashion-mnist"

/* The next `"key": number` of a metrics line from *p on (0 at the end). */
static int next_pair(const char **p, char *key, size_t cap, double *v) {
    const char *q = strchr(*p, '"'), *e = q ? strchr(q + 1, '"') : NULL;
    if (!e || e[1] != ':') return 0;
    snprintf(key, cap, "%.*s", (int)(e - q - 1), q + 1);
    *v = strtod(e + 2, (char **)p);
    return 1;
}

/* The two lines carry the same keys, and values within tolerance (the
 * throughput and key `skip` aside; skip may be NULL). */
static void assert_line_match(const char *la, const char *lb, const char *where,
                              const char *skip) {
    char ka[64], kb[64];
    double a, b;
    while (next_pair(&la, ka, sizeof ka, &a)) {
        if (!next_pair(&lb, kb, sizeof kb, &b) || strcmp(ka, kb))
            fail_msg("%s: key %s has no partner", where, ka);
        if (strcmp(ka, "images_per_s") && (!skip || strcmp(ka, skip)) &&
            !(fabs(a - b) <= TOL_ABS + TOL_REL * fabs(a)))
            fail_msg("%s: %s: 1 rank %.7g, 2 ranks %.7g", where, ka, a, b);
    }
}

/* dir/a/metrics.jsonl and dir/b/metrics.jsonl: `lines` lines each, alike
 * (key `skip` aside, or NULL). */
static void assert_logs_match_but(const char *a, const char *b, int lines, const char *skip) {
    char pa[400], pb[400], la[1024], lb[1024];
    snprintf(pa, sizeof pa, "%s/%s/metrics.jsonl", dir, a);
    snprintf(pb, sizeof pb, "%s/%s/metrics.jsonl", dir, b);
    FILE *fa = fopen(pa, "r"), *fb = fopen(pb, "r");
    assert_true(fa && fb);
    int n = 0;
    for (; fgets(la, sizeof la, fa); n++) {
        if (!fgets(lb, sizeof lb, fb)) fail_msg("%s ends after %d lines", pb, n);
        assert_line_match(la, lb, a, skip);
    }
    assert_int_equal(n, lines);
    assert_null(fgets(lb, sizeof lb, fb));
    fclose(fa);
    fclose(fb);
}

static void assert_logs_match(const char *a, const char *b, int lines) {
    assert_logs_match_but(a, b, lines, NULL);
}

/* Every tensor of dir/a's checkpoint whose name contains `only` (NULL:
 * all) in dir/b's, same shape, within tol_abs + tol_rel |a| (0, 0: bit for
 * bit). */
static void assert_checkpoints_within(const char *a_dir, const char *b_dir, const char *only,
                                      double tol_abs, double tol_rel) {
    char pa[400], pb[400];
    snprintf(pa, sizeof pa, "%s/%s/checkpoint.safetensors", dir, a_dir);
    snprintf(pb, sizeof pb, "%s/%s/checkpoint.safetensors", dir, b_dir);
    clg_safetensors a, b;
    CLG_ASSERT_OK(clg_safetensors_read(pa, &a));
    CLG_ASSERT_OK(clg_safetensors_read(pb, &b));
    assert_int_equal(a.count, b.count);
    double worst = 0;
    int checked = 0;
    for (int k = 0; k < a.count; k++) {
        const clg_st_entry *x = &a.entries[k], *y = clg_safetensors_find(&b, x->name);
        if (only && !strstr(x->name, only)) continue;
        checked++;
        if (!y || y->numel != x->numel) fail_msg("%s: missing or reshaped", x->name);
        for (size_t i = 0; i < x->numel; i++) {
            double d = fabs((double)x->data[i] - y->data[i]);
            if (!(d <= tol_abs + tol_rel * fabs(x->data[i])))
                fail_msg("%s[%zu]: %s %.8g, %s %.8g", x->name, i, a_dir, x->data[i], b_dir,
                         y->data[i]);
            if (d > worst) worst = d;
        }
    }
    print_message("%d tensors of %d compared: within %.2g (absolute)\n", checked, a.count, worst);
    const char *cfg = clg_safetensors_meta(&b, "config");
    assert_non_null(cfg);
    assert_non_null(strstr(cfg, "\"batch_size\": 16"));
    clg_safetensors_free(&a);
    clg_safetensors_free(&b);
}

static void assert_checkpoints_match_only(const char *only) {
    assert_checkpoints_within("one", "two", only, TOL_ABS, TOL_REL);
}

static void assert_checkpoints_match(void) { assert_checkpoints_match_only(NULL); }

/* DCGAN with `flags` in one process and over 2 ranks (with --sync-bn), 5
 * steps on the toy set: the logs and every tensor match, and the 2-rank
 * checkpoint samples in one process. mpi: the launcher, for more runs. */
static void two_match_one(const char *flags, char *mpi, size_t cap) {
    char path[400], cmd[1024], one[256], two[256];
    snprintf(path, sizeof path, "%s/toy.idx", dir);
    clg_test_write_idx(path, 64, 0);
    mpirun2(mpi, cap);
    snprintf(one, sizeof one, DCGAN "%s", flags);
    snprintf(two, sizeof two, DCGAN "%s --sync-bn", flags);
    assert_int_equal(train("", "one", 5, one), 0);
    assert_int_equal(train(mpi, "two", 5, two), 0);
    assert_logs_match("one", "two", 5);
    assert_checkpoints_match();
    snprintf(cmd, sizeof cmd, "build/clgan sample '%s/two/checkpoint.safetensors' -n 16 -o "
             "'%s/two.png' > /dev/null 2>&1", dir, dir);
    assert_int_equal(sh(cmd), 0);
}

static void test_two_ranks_match_one(void **state) {
    (void)state;
    if (!mpi_ready()) skip();
    char mpi[128];
    two_match_one("", mpi, sizeof mpi);
    /* Both resumed to step 7. */
    assert_int_equal(train("", "one", 7, DCGAN " --resume"), 0);
    assert_int_equal(train(mpi, "two", 7, DCGAN " --sync-bn --resume"), 0);
    assert_logs_match("one", "two", 7);
    assert_checkpoints_match();
}

/* The other models of the trainer: dropout masks (GAN's and LAPGAN's D),
 * labels (cGAN, the classifier), three pairs (LAPGAN), an evaluation
 * (the classifier, rank 0 alone) split over 2 ranks as over one. */
static void test_every_model_splits(void **state) {
    (void)state;
    if (!mpi_ready()) skip();
    static const char *const models[][2] = {
        {"gan", "gan --hidden 32 --sample-every 0"},
        {"cgan", "cgan --hidden 32 --sample-every 0" FMNIST},
        {"lapgan", "lapgan --hidden 32 --ngf 8 --ndf 8 --sample-every 0"},
        {"classifier", "classifier --width 4 --sync-bn" FMNIST}}; /* BN: synced */
    char mpi[128], a[64], b[64];
    mpirun2(mpi, sizeof mpi);
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) {
        snprintf(a, sizeof a, "%s-1", models[i][0]);
        snprintf(b, sizeof b, "%s-2", models[i][0]);
        assert_int_equal(train("", a, 3, models[i][1]), 0);
        assert_int_equal(train(mpi, b, 3, models[i][1]), 0);
        assert_logs_match(a, b, strcmp(models[i][0], "classifier") ? 3 : 4);
    }
}

/* --vbn: every rank holds the whole reference batch (so the checkpoint is
 * one process's) and runs its share of it; the reference statistics and
 * their gradients are taken over every rank. Losses and every tensor match
 * one process (D's BN synced too), and the checkpoint samples alone. */
static void test_vbn_splits(void **state) {
    (void)state;
    if (!mpi_ready()) skip();
    char mpi[128];
    two_match_one(" --vbn", mpi, sizeof mpi);
}

/* ssl: each rank takes its share of the labelled, unlabelled and generated
 * batches. Without G (--unlabeled-weight 0) the run matches one process
 * step by step, test accuracy included. With G, feature matching compares
 * each rank's share of the means (as DCGAN's does), so G's loss and update
 * differ; D's step comes first, so after one step D's Adam moments (its
 * gradient, and the gradient squared) and every logged value but G's loss
 * match. Not D's weights: Adam's first step moves a weight by about lr
 * times the sign of its gradient, and weight norm leaves some gradients
 * near zero, where the two runs' rounding picks the sign (Intel's runtime:
 * 1.6 lr apart; PoCL: 0.15 lr). At DCGAN's lr (2e-4), for the logged values. */
static void test_ssl_splits(void **state) {
    (void)state;
    if (!mpi_ready()) skip();
    char mpi[128];
    mpirun2(mpi, sizeof mpi);
#define SSL "ssl --labels-per-class 3 --init-examples 16 --lr 2e-4 --sample-every 0 --sync-bn" FMNIST
    assert_int_equal(train("", "ssl0-1", 3, SSL " --unlabeled-weight 0"), 0);
    assert_int_equal(train(mpi, "ssl0-2", 3, SSL " --unlabeled-weight 0"), 0);
    assert_logs_match("ssl0-1", "ssl0-2", 4);
    assert_int_equal(train("", "one", 1, SSL), 0);
    assert_int_equal(train(mpi, "two", 1, SSL), 0);
    assert_logs_match_but("one", "two", 2, "loss_g");
    assert_checkpoints_match_only("optD.");
#undef SSL
}

/* The gradient allreduces of dir/NAME.log's --profile line, per step. */
static double allreduces_per_step(const char *name) {
    char path[400];
    snprintf(path, sizeof path, "%s/%s.log", dir, name);
    long len;
    char *log = (char *)clg_test_slurp(path, &len);
    log[len] = '\0';
    const char *at = strstr(log, "allreduces per step");
    double n = -1;
    while (at && at > log && at[-1] != ';') at--;
    if (at) n = strtod(at, NULL);
    free(log);
    return n;
}

/* --grad-buckets: gradients averaged bucket by bucket as the backward pass
 * reaches them (2 KB: about a bucket per layer) give every tensor bit for
 * bit what one allreduce per network gives (the same sums of the same
 * numbers), with historical averaging (which must come after the average)
 * and for ssl (its D completed by the generated pass, or by the labelled
 * one alone), and over Open MPI's TCP transport too; the logs say how many
 * allreduces ran: 2 per step (D, G), and more with buckets, so a bucketing
 * that silently fell back would fail. */
static void test_grad_buckets_match(void **state) {
    (void)state;
    if (!mpi_ready()) skip();
    char mpi[128], path[400];
    snprintf(path, sizeof path, "%s/toy.idx", dir);
    clg_test_write_idx(path, 64, 0);
    mpirun2(mpi, sizeof mpi);
    static const char *const runs[][2] = {
        {"bk-dcgan", DCGAN " --hist-avg 0.1 --profile"},
        {"bk-ssl", "ssl --labels-per-class 3 --init-examples 16 --sample-every 0 --profile"
                   FMNIST},
        {"bk-ssl0", "ssl --labels-per-class 3 --init-examples 16 --unlabeled-weight 0 "
                    "--profile" FMNIST}};
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        char a[64], b[64], flags[300];
        snprintf(a, sizeof a, "%s-net", runs[i][0]);
        snprintf(b, sizeof b, "%s-bucket", runs[i][0]);
        snprintf(flags, sizeof flags, "%s --grad-buckets 0.002", runs[i][1]);
        assert_int_equal(train(mpi, a, 3, runs[i][1]), 0);
        assert_int_equal(train(mpi, b, 3, flags), 0);
        assert_checkpoints_within(a, b, NULL, 0, 0);
        const double nets = strstr(runs[i][0], "ssl0") ? 1 : 2;
        assert_true(allreduces_per_step(a) == nets);
        if (!(allreduces_per_step(b) > nets + 2))
            fail_msg("%s: %.1f allreduces per step", b, allreduces_per_step(b));
    }
    /* Open MPI over TCP (its transport between machines) instead of shared
     * memory: the same sums, the same bits. */
    if (sh("mpirun --version 2>&1 | grep -q 'Open MPI'") != 0) return;
    char tcp[200], flags[300];
    snprintf(tcp, sizeof tcp, "%s --mca btl tcp,self", mpi);
    snprintf(flags, sizeof flags, "%s --grad-buckets 0.002", runs[0][1]);
    assert_int_equal(train(tcp, "bk-dcgan-tcp", 3, flags), 0);
    assert_checkpoints_within("bk-dcgan-net", "bk-dcgan-tcp", NULL, 0, 0);
}

static void test_failing_rank_ends_all(void **state) {
    (void)state;
    if (!mpi_ready()) skip();
    char mpi[128], path[400];
    mpirun2(mpi, sizeof mpi);
    int rc = train(mpi, "fail", 5, DCGAN " --device 0:0,7:7");
    assert_true(rc != 0 && rc != 124); /* 124: the timeout ended a hang */
    snprintf(path, sizeof path, "%s/fail.log", dir);
    long len;
    char *log = (char *)clg_test_slurp(path, &len);
    log[len] = '\0'; /* slurp leaves a byte for it */
    if (!strstr(log, "rank 1 of 2 failed") || !strstr(log, "7:7"))
        fail_msg("no clear message in the log:\n%s", log);
    free(log);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_group),
        cmocka_unit_test(test_two_ranks_match_one),
        cmocka_unit_test(test_every_model_splits),
        cmocka_unit_test(test_ssl_splits),
        cmocka_unit_test(test_vbn_splits),
        cmocka_unit_test(test_grad_buckets_match),
        cmocka_unit_test(test_failing_rank_ends_all),
    };
    return clg_test_run_in_tmpdir("dist", dir, sizeof dir, tests, sizeof tests / sizeof tests[0]);
}
