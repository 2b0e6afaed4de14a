/* test_runtime.c: device selection, the program binary cache (hit, corrupt,
 * truncated and stale entries), build errors with their log, kernels read
 * from CLGAN_KERNEL_DIR, launch limits, and tensor blocks. */
#include "testutil.h"
#include "elementwise.h"
#include "program.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[256];

static int suite_setup(void **state) {
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/clgan-test-runtime-XXXXXX");
    if (!mkdtemp(tmpdir)) return -1;
    setenv("XDG_CACHE_HOME", tmpdir, 1);
    unsetenv("CLGAN_NO_CACHE");
    unsetenv("CLGAN_KERNEL_DIR");
    unsetenv("CLGAN_DEVICE");
    return 0;
}

static int suite_teardown(void **state) {
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Fill 5 elements with 2.5 through a fresh context, check they read back as
 * `want`, and return the context's cache counters. */
static clg_runtime_stats run_fill_expect(float want) {
    clg_ctx *ctx;
    CLG_ASSERT_OK(clg_ctx_create(&ctx, NULL));
    clg_tensor t = clg_test_tensor(ctx, 1, 5, 1, 1, NULL);
    CLG_ASSERT_OK(clg_fill(ctx, &t, 2.5f));
    float got[5];
    CLG_ASSERT_OK(clg_tensor_download(ctx, &t, got));
    for (int i = 0; i < 5; i++) assert_true(got[i] == want);
    clg_runtime_stats st = ctx->stats;
    clg_tensor_free(ctx, &t);
    clg_ctx_free(ctx);
    return st;
}
static clg_runtime_stats run_fill(void) { return run_fill_expect(2.5f); }

static void cache_path(char *buf, size_t cap) {
    clg_ctx *ctx;
    CLG_ASSERT_OK(clg_ctx_create(&ctx, NULL));
    CLG_ASSERT_OK(clg_program_cache_path(ctx, "elementwise", NULL, buf, cap));
    clg_ctx_free(ctx);
    assert_non_null(strstr(buf, tmpdir));
}

static long file_size(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return n;
}

static void test_cache_hit_after_build(void **state) {
    (void)state;
    char path[4096];
    cache_path(path, sizeof path);
    unlink(path);
    clg_runtime_stats a = run_fill();
    assert_int_equal(a.cache_misses, 1);
    assert_int_equal(a.cache_hits, 0);
    assert_true(file_size(path) > 32);
    clg_runtime_stats b = run_fill();
    assert_int_equal(b.cache_hits, 1);
    assert_int_equal(b.cache_misses, 0);
    assert_int_equal(b.cache_rejects, 0);
}

/* Damage the cache file with `damage`, then check it is rejected, rebuilt,
 * and that the rewritten file is a hit again. */
static void check_damaged(void (*damage)(const char *path)) {
    char path[4096];
    cache_path(path, sizeof path);
    run_fill(); /* make sure an entry exists */
    assert_true(file_size(path) > 32);
    damage(path);
    clg_runtime_stats a = run_fill();
    assert_int_equal(a.cache_rejects, 1);
    assert_int_equal(a.cache_misses, 1);
    assert_int_equal(a.cache_hits, 0);
    clg_runtime_stats b = run_fill();
    assert_int_equal(b.cache_hits, 1);
    assert_int_equal(b.cache_rejects, 0);
}

static void flip_payload_byte(const char *path) {
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    long at = file_size(path) / 2;
    fseek(f, at, SEEK_SET);
    int c = fgetc(f);
    fseek(f, at, SEEK_SET);
    fputc(c ^ 0x5a, f);
    fclose(f);
}
static void truncate_file(const char *path) { assert_int_equal(truncate(path, 40), 0); }
static void wrong_key(const char *path) {
    /* A header written for another identity (another driver, say). */
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    fseek(f, 8, SEEK_SET);
    fputc(0xff, f);
    fclose(f);
}
static void garbage_file(const char *path) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs("not a program binary at all", f);
    fclose(f);
}

/* Intact but writable by others (issue 13): anyone could have forged it
 * with a valid checksum, and the driver would run it. */
static void others_may_write(const char *path) { assert_int_equal(chmod(path, 0666), 0); }

/* A well-formed entry (its key, a valid checksum, owned and 0600) holding
 * the binary of another program, kernels/bias.cl: it loads and builds, but
 * has no 'fill' kernel. The entry is dropped and rebuilt from source. */
static void other_program_binary(const char *path) {
    clg_ctx *ctx;
    CLG_ASSERT_OK(clg_ctx_create(&ctx, NULL));
    cl_program prog;
    CLG_ASSERT_OK(clg_program_get(ctx, "bias", NULL, &prog));
    char other[4096];
    CLG_ASSERT_OK(clg_program_cache_path(ctx, "bias", NULL, other, sizeof other));
    clg_ctx_free(ctx);
    long olen, len;
    unsigned char *bias = clg_test_slurp(other, &olen), *mine = clg_test_slurp(path, &len);
    assert_true(olen > 32);
    uint64_t size = (uint64_t)olen - 32, check = clg_fnv1a64(bias + 32, (size_t)size, CLG_FNV_SEED);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(mine, 1, 16, f), 16); /* this program's magic and key */
    assert_int_equal(fwrite(&size, 8, 1, f), 1);
    assert_int_equal(fwrite(&check, 8, 1, f), 1);
    assert_int_equal(fwrite(bias + 32, 1, (size_t)size, f), (size_t)size);
    assert_int_equal(fclose(f), 0);
    free(bias);
    free(mine);
}

static void test_cache_other_program(void **state) {
    (void)state;
    check_damaged(other_program_binary);
}

static void test_cache_corrupt_payload(void **state) { (void)state; check_damaged(flip_payload_byte); }
static void test_cache_writable_by_others(void **state) { (void)state; check_damaged(others_may_write); }
static void test_cache_truncated(void **state) { (void)state; check_damaged(truncate_file); }
static void test_cache_stale_key(void **state) { (void)state; check_damaged(wrong_key); }
static void test_cache_garbage(void **state) { (void)state; check_damaged(garbage_file); }

static void test_cache_disabled(void **state) {
    (void)state;
    setenv("CLGAN_NO_CACHE", "1", 1);
    clg_runtime_stats a = run_fill();
    unsetenv("CLGAN_NO_CACHE");
    assert_int_equal(a.cache_hits, 0);
    assert_int_equal(a.cache_misses, 1);
}

static void test_device_selection(void **state) {
    (void)state;
    clg_device_info *devs;
    int n;
    CLG_ASSERT_OK(clg_devices_list(&devs, &n));
    assert_true(n >= 1);
    clg_device_info d;
    char spec[64];
    /* By index, for every device. */
    for (int i = 0; i < n; i++) {
        snprintf(spec, sizeof spec, "%d:%d", devs[i].platform_index, devs[i].device_index);
        CLG_ASSERT_OK(clg_device_select(spec, &d));
        assert_true(d.device == devs[i].device);
    }
    /* By a case-flipped substring of the name. */
    char sub[64];
    snprintf(sub, sizeof sub, "%.6s", devs[0].name);
    for (char *p = sub; *p; p++)
        if (*p >= 'a' && *p <= 'z') *p = (char)(*p - 32);
        else if (*p >= 'A' && *p <= 'Z') *p = (char)(*p + 32);
    CLG_ASSERT_OK(clg_device_select(sub, &d));
    assert_non_null(strstr(d.name, devs[0].name) ? d.name : NULL);
    /* Through the environment, and the flag wins over it. */
    snprintf(spec, sizeof spec, "%d:%d", devs[n - 1].platform_index, devs[n - 1].device_index);
    setenv("CLGAN_DEVICE", spec, 1);
    CLG_ASSERT_OK(clg_device_select(NULL, &d));
    assert_true(d.device == devs[n - 1].device);
    snprintf(spec, sizeof spec, "%d:%d", devs[0].platform_index, devs[0].device_index);
    CLG_ASSERT_OK(clg_device_select(spec, &d));
    assert_true(d.device == devs[0].device);
    /* Unknown devices: a clear error that lists the devices. */
    setenv("CLGAN_DEVICE", "no-such-device-xyz", 1);
    assert_int_equal(clg_device_select(NULL, &d), CLG_ERR_NO_DEVICE);
    assert_non_null(strstr(clg_last_error(), "no-such-device-xyz"));
    assert_non_null(strstr(clg_last_error(), "CLGAN_DEVICE"));
    assert_non_null(strstr(clg_last_error(), devs[0].name));
    unsetenv("CLGAN_DEVICE");
    assert_int_equal(clg_device_select("97:3", &d), CLG_ERR_NO_DEVICE);
    assert_non_null(strstr(clg_last_error(), "97:3"));
    /* Default: the first GPU, else the first device. */
    int first_gpu = -1;
    for (int i = n - 1; i >= 0; i--)
        if (devs[i].type & CL_DEVICE_TYPE_GPU) first_gpu = i;
    CLG_ASSERT_OK(clg_device_select(NULL, &d));
    assert_true(d.device == devs[first_gpu >= 0 ? first_gpu : 0].device);
    free(devs);
}

static void test_build_error_has_log(void **state) {
    clg_ctx *ctx = *state;
    cl_program p = NULL;
    const char *bad = "__kernel void broken(__global float *x) { x[0] = 1.0f + ; }\n";
    clg_status s = clg_program_build_source(ctx, "kernels/broken.cl", bad, &p);
    assert_int_equal(s, CLG_ERR_BUILD);
    assert_null(p);
    const char *msg = clg_last_error();
    assert_non_null(strstr(msg, "kernels/broken.cl"));
    assert_non_null(strstr(msg, "-cl-std=CL1.2"));
    assert_non_null(strstr(msg, "build log"));
    assert_non_null(strstr(msg, "error")); /* the compiler's own words */
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_kernel_dir(void **state) {
    (void)state;
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "%s/kdir", tmpdir);
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/common.cl", dir);
    write_text(path, "/* empty common */\n");
    /* A kernel file from disk: a fill that writes v + 1, so we can tell it ran. */
    snprintf(path, sizeof path, "%s/elementwise.cl", dir);
    write_text(path, "__kernel void fill(__global float *o, uint off, uint n, float v) {\n"
                     "  uint i = get_global_id(0); if (i < n) o[off + i] = v + 1.0f; }\n");
    setenv("CLGAN_KERNEL_DIR", dir, 1);
    run_fill_expect(3.5f);
    /* A syntax error in the file on disk: CLG_ERR_BUILD naming the file. */
    write_text(path, "__kernel void fill(__global float *o) { o[0] = ; }\n");
    clg_ctx *ctx;
    CLG_ASSERT_OK(clg_ctx_create(&ctx, NULL));
    cl_kernel k;
    /* Defines from the caller reach the kernel as #defines. */
    snprintf(path, sizeof path, "%s/tun.cl", dir);
    write_text(path, "#ifndef BUMP\n#define BUMP 0.0f\n#endif\n"
                     "__kernel void put(__global float *o) { o[0] = BUMP + (float)WIDTH; }\n");
    clg_tensor t = clg_test_tensor(ctx, 1, 1, 1, 1, NULL);
    float got = 0.0f;
    CLG_ASSERT_OK(clg_kernel_get(ctx, "tun", "BUMP=0.5f WIDTH=3", "put", &k));
    CLG_ASSERT_OK(CLG_SET_ARGS(k, CLG_ARG(t.buf)));
    CLG_ASSERT_OK(clg_launch_1d(ctx, k, 1, 1, NULL));
    CLG_ASSERT_OK(clg_tensor_download(ctx, &t, &got));
    assert_true(got == 3.5f);
    assert_int_equal(clg_kernel_get(ctx, "tun", "WIDTH=3;rm", "put", &k), CLG_ERR_INVALID_ARG);
    assert_int_equal(clg_kernel_get(ctx, "tun", "9X=1", "put", &k), CLG_ERR_INVALID_ARG);
    clg_tensor_free(ctx, &t);
    snprintf(path, sizeof path, "%s/elementwise.cl", dir);
    write_text(path, "__kernel void fill(__global float *o) { o[0] = ; }\n");
    assert_int_equal(clg_kernel_get(ctx, "elementwise", NULL, "fill", &k), CLG_ERR_BUILD);
    assert_non_null(strstr(clg_last_error(), "kernels/elementwise.cl"));
    /* A family that does not exist there. */
    assert_int_equal(clg_kernel_get(ctx, "nosuchfamily", NULL, "x", &k), CLG_ERR_IO);
    assert_non_null(strstr(clg_last_error(), "nosuchfamily.cl"));
    clg_ctx_free(ctx);
    unsetenv("CLGAN_KERNEL_DIR");
}

static void test_unknown_family_and_kernel(void **state) {
    clg_ctx *ctx = *state;
    cl_kernel k;
    assert_int_equal(clg_kernel_get(ctx, "nosuchfamily", NULL, "x", &k), CLG_ERR_INVALID_ARG);
    assert_non_null(strstr(clg_last_error(), "nosuchfamily"));
    assert_int_equal(clg_kernel_get(ctx, "elementwise", NULL, "nosuchkernel", &k),
                     CLG_ERR_OPENCL);
    assert_non_null(strstr(clg_last_error(), "CL_INVALID_KERNEL_NAME"));
}

static void test_launch_limits(void **state) {
    clg_ctx *ctx = *state;
    cl_kernel k;
    CLG_ASSERT_OK(clg_kernel_get(ctx, "elementwise", NULL, "fill", &k));
    size_t lim = 0;
    assert_int_equal(clGetKernelWorkGroupInfo(k, ctx->dev.device, CL_KERNEL_WORK_GROUP_SIZE,
                                              sizeof lim, &lim, NULL), CL_SUCCESS);
    size_t l = clg_local_size(ctx, k, 1u << 30);
    assert_true(l >= 1 && l <= lim && l <= ctx->dev.max_wg && (l & (l - 1)) == 0);
    assert_int_equal(clg_launch_1d(ctx, k, 64, 2 * ctx->dev.max_wg, NULL), CLG_ERR_INVALID_ARG);
    assert_non_null(strstr(clg_last_error(), "exceeds the limit"));
    /* A non-multiple global size is rounded up, and the kernel guards it. */
    clg_tensor t = clg_test_tensor(ctx, 1, 13, 1, 1, NULL);
    CLG_ASSERT_OK(clg_fill(ctx, &t, 1.0f));
    cl_uint off = 0, n = 7;
    cl_float v = 4.0f;
    CLG_ASSERT_OK(CLG_SET_ARGS(k, CLG_ARG(t.buf), CLG_ARG(off), CLG_ARG(n), CLG_ARG(v)));
    CLG_ASSERT_OK(clg_launch_1d(ctx, k, 7, 4, NULL));
    float got[13];
    CLG_ASSERT_OK(clg_tensor_download(ctx, &t, got));
    for (int i = 0; i < 13; i++) assert_true(got[i] == (i < 7 ? 4.0f : 1.0f));
    clg_tensor_free(ctx, &t);
}

static void test_block(void **state) {
    clg_ctx *ctx = *state;
    clg_tensor ts[4] = {{.n = 3, .c = 5, .h = 1, .w = 1},
                        {.n = 1, .c = 1, .h = 1, .w = 1},
                        {.n = 2, .c = 3, .h = 4, .w = 5},
                        {.n = 1, .c = 17, .h = 1, .w = 1}};
    size_t live = ctx->live_bytes;
    clg_block b;
    CLG_ASSERT_OK(clg_block_alloc(ctx, &b, ts, 4, "test block"));
    assert_true(ctx->live_bytes == live + b.numel * sizeof(float));
    size_t expect_off[4] = {0, 16, 32, 160};
    for (int i = 0; i < 4; i++) {
        assert_true(ts[i].buf == b.buf);
        assert_int_equal(ts[i].off, expect_off[i] * sizeof(float));
        assert_int_equal(ts[i].owns, 0);
    }
    assert_int_equal(b.numel, 192);
    /* Zeroed, and tensors do not overlap: fill each with its index. */
    for (int i = 0; i < 4; i++) CLG_ASSERT_OK(clg_fill(ctx, &ts[i], (float)(i + 1)));
    float all[192];
    clg_tensor whole = clg_block_tensor(&b);
    CLG_ASSERT_OK(clg_tensor_download(ctx, &whole, all));
    for (size_t j = 0; j < 192; j++) {
        float want = 0.0f;
        for (int i = 0; i < 4; i++) {
            size_t o = ts[i].off / 4;
            if (j >= o && j < o + clg_tensor_numel(&ts[i])) want = (float)(i + 1);
        }
        assert_true(all[j] == want);
    }
    clg_block_free(ctx, &b);
    assert_true(ctx->live_bytes == live);
    clg_tensor bad[1] = {{.n = 0, .c = 1, .h = 1, .w = 1}};
    assert_int_equal(clg_block_alloc(ctx, &b, bad, 1, "bad"), CLG_ERR_INVALID_ARG);
}

/* clg_tensor_zero clears exactly its view (odd offset and length), and
 * rejects a byte offset that is not a whole float. */
static void test_tensor_zero(void **state) {
    clg_ctx *ctx = *state;
    clg_tensor t = clg_test_tensor(ctx, 1, 41, 1, 1, NULL);
    CLG_ASSERT_OK(clg_tensor_fill(ctx, &t, 7.0f));
    clg_tensor mid = clg_tensor_slice(&t, 3, 1, 1, 5, 7);
    CLG_ASSERT_OK(clg_tensor_zero(ctx, &mid));
    float got[41];
    CLG_ASSERT_OK(clg_tensor_download(ctx, &t, got));
    for (int i = 0; i < 41; i++) assert_true(got[i] == (i >= 3 && i < 38 ? 0.0f : 7.0f));
    clg_tensor odd = clg_tensor_view(t.buf, 6, 1, 1, 1, 2);
    assert_int_equal(clg_tensor_zero(ctx, &odd), CLG_ERR_INVALID_ARG);
    assert_non_null(strstr(clg_last_error(), "multiple of 4"));
    clg_tensor_free(ctx, &t);
}

static void test_oversized_buffer_names_itself(void **state) {
    clg_ctx *ctx = *state;
    cl_mem m;
    size_t huge = (size_t)ctx->dev.max_alloc + 4096;
    assert_int_equal(clg_buffer_create(ctx, huge, "giant activations", &m),
                     CLG_ERR_OUT_OF_MEMORY);
    assert_non_null(strstr(clg_last_error(), "giant activations"));
    assert_non_null(strstr(clg_last_error(), "smaller batch"));
}

static void test_status_names(void **state) {
    (void)state;
    assert_string_equal(clg_cl_error_name(CL_OUT_OF_RESOURCES), "CL_OUT_OF_RESOURCES");
    assert_string_equal(clg_cl_error_name(CL_INVALID_WORK_GROUP_SIZE),
                        "CL_INVALID_WORK_GROUP_SIZE");
    for (int s = 0; s < CLG_STATUS_COUNT; s++)
        assert_int_equal(strncmp(clg_status_to_string((clg_status)s), "CLG_", 4), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_names),
        cmocka_unit_test(test_device_selection),
        cmocka_unit_test(test_cache_hit_after_build),
        cmocka_unit_test(test_cache_corrupt_payload),
        cmocka_unit_test(test_cache_truncated),
        cmocka_unit_test(test_cache_stale_key),
        cmocka_unit_test(test_cache_garbage),
        cmocka_unit_test(test_cache_other_program),
        cmocka_unit_test(test_cache_writable_by_others),
        cmocka_unit_test(test_cache_disabled),
        cmocka_unit_test(test_build_error_has_log),
        cmocka_unit_test(test_kernel_dir),
        cmocka_unit_test(test_unknown_family_and_kernel),
        cmocka_unit_test(test_launch_limits),
        cmocka_unit_test(test_block),
        cmocka_unit_test(test_tensor_zero),
        cmocka_unit_test(test_oversized_buffer_names_itself),
    };
    int setup_rc = suite_setup(NULL);
    if (setup_rc != 0) return 1;
    int rc = cmocka_run_group_tests_name("runtime", tests, clg_test_group_setup,
                                         clg_test_group_teardown);
    suite_teardown(NULL);
    return rc;
}
