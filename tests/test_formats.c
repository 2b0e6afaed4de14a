/* test_formats.c: the JSON reader and the safetensors writer and reader:
 * round trips with metadata, and every kind of corrupt file rejected with a
 * message that says what is wrong. Host only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "json.h"
#include "safetensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[256];

static void test_json_valid(void **state) {
    (void)state;
    const char *t = " {\"a\": [1, -2.5e2, true, null, \"x\\u00e9\\n\"], \"b\": {\"c\": 0}, "
                    "\"d\": 9007199254740991} ";
    clg_json j;
    assert_int_equal(clg_json_parse(t, strlen(t), &j), CLG_OK);
    const clg_json *a = clg_json_get(&j, "a");
    assert_non_null(a);
    assert_int_equal(a->type, CLG_JSON_ARRAY);
    assert_int_equal(a->count, 5);
    assert_true(a->items[0].num == 1.0);
    assert_true(a->items[1].num == -250.0);
    assert_int_equal(a->items[2].type, CLG_JSON_BOOL);
    assert_int_equal(a->items[3].type, CLG_JSON_NULL);
    assert_string_equal(a->items[4].str, "x\xc3\xa9\n");
    assert_true(clg_json_get(clg_json_get(&j, "b"), "c")->num == 0.0);
    assert_true(clg_json_get(&j, "d")->num == 9007199254740991.0);
    assert_null(clg_json_get(&j, "zzz"));
    clg_json_free(&j);
}

static void test_json_invalid(void **state) {
    (void)state;
    const char *bad[] = {"", "{", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "01", "1.", "-", "\"abc",
                         "\"\\q\"", "[1] x", "{'a':1}", "tru", "1e", "\"a\nb\""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        clg_json j;
        if (clg_json_parse(bad[i], strlen(bad[i]), &j) != CLG_ERR_FORMAT)
            fail_msg("accepted invalid JSON: %s", bad[i]);
        assert_non_null(strstr(clg_last_error(), "at byte"));
    }
    char deep[300];
    memset(deep, '[', 200);
    memset(deep + 200, ']', 99);
    deep[299] = '\0';
    clg_json j;
    assert_int_equal(clg_json_parse(deep, strlen(deep), &j), CLG_ERR_FORMAT);
    assert_non_null(strstr(clg_last_error(), "too deep"));
}

/* Hostile headers (issue 13): repeated keys, NUL in strings, a header of
 * many short strings (memory in proportion to the input), many keys. */
static void test_json_hostile(void **state) {
    (void)state;
    const char *bad[] = {"{\"a\":1,\"b\":2,\"a\":3}", "{\"x\":{\"k\":1,\"k\":1}}",
                         "\"a\\u0000b\"", "{\"a\\u0000b\":1}"};
    const char *why[] = {"appears twice", "appears twice", "u0000", "u0000"};
    for (int i = 0; i < 4; i++) {
        clg_json j;
        if (clg_json_parse(bad[i], strlen(bad[i]), &j) != CLG_ERR_FORMAT)
            fail_msg("accepted %s", bad[i]);
        if (!strstr(clg_last_error(), why[i]))
            fail_msg("message '%s' lacks '%s'", clg_last_error(), why[i]);
    }
    /* 200,000 one-character strings in 1.2 MB: each allocation is its own
     * size (before the fix each took the rest of the header: ~120 GB). */
    const int n = 200000;
    char *big = malloc((size_t)n * 6 + 8);
    size_t len = 0;
    big[len++] = '[';
    for (int i = 0; i < n; i++) len += (size_t)sprintf(big + len, "%s\"x\"", i ? "," : "");
    big[len++] = ']';
    clg_json j;
    assert_int_equal(clg_json_parse(big, len, &j), 0);
    assert_int_equal(j.count, n);
    clg_json_free(&j);
    /* 100,000 distinct keys: duplicates are found by sorting, not pairwise. */
    len = 0;
    big = realloc(big, (size_t)n * 16);
    big[len++] = '{';
    for (int i = 0; i < n / 2; i++) len += (size_t)sprintf(big + len, "%s\"k%d\":1", i ? "," : "", i);
    big[len++] = '}';
    assert_int_equal(clg_json_parse(big, len, &j), 0);
    assert_int_equal(j.count, n / 2);
    clg_json_free(&j);
    free(big);
}

static void st_path(char *buf, size_t cap, const char *name) { snprintf(buf, cap, "%s/%s", dir, name); }

static void test_safetensors_roundtrip(void **state) {
    (void)state;
    float a[2 * 3] = {1, 2, 3, 4, 5, -6.5f}, b[7], c[1] = {42};
    for (int i = 0; i < 7; i++) b[i] = (float)i * 0.25f;
    clg_st_write_entry e[3] = {{"main.0.weight", a, 2, {2, 3}},
                               {"main.1.bias", b, 1, {7}},
                               {"scalar", c, 0, {0}}};
    const char *meta[] = {"kind", "dcgan", "config", "{\"nz\": 100}"};
    char p[300];
    st_path(p, sizeof p, "rt.safetensors");
    assert_int_equal(clg_safetensors_write(p, e, 3, meta, 2), CLG_OK);
    clg_safetensors st;
    assert_int_equal(clg_safetensors_read(p, &st), CLG_OK);
    assert_int_equal(st.count, 3);
    const clg_st_entry *w = clg_safetensors_find(&st, "main.0.weight");
    assert_non_null(w);
    assert_int_equal(w->ndim, 2);
    assert_int_equal(w->shape[0], 2);
    assert_int_equal(w->shape[1], 3);
    assert_memory_equal(w->data, a, sizeof a);
    assert_memory_equal(clg_safetensors_find(&st, "main.1.bias")->data, b, sizeof b);
    const clg_st_entry *s = clg_safetensors_find(&st, "scalar");
    assert_int_equal(s->ndim, 0);
    assert_int_equal(s->numel, 1);
    assert_true(s->data[0] == 42.0f);
    assert_string_equal(clg_safetensors_meta(&st, "kind"), "dcgan");
    assert_string_equal(clg_safetensors_meta(&st, "config"), "{\"nz\": 100}");
    assert_non_null(clg_safetensors_meta(&st, "crc32"));
    assert_null(clg_safetensors_find(&st, "nope"));
    clg_safetensors_free(&st);
    /* The header length is little-endian and the data starts 8-byte aligned. */
    FILE *f = fopen(p, "rb");
    unsigned char len8[8];
    assert_int_equal(fread(len8, 1, 8, f), 8);
    fclose(f);
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--) hl = hl << 8 | len8[i];
    assert_int_equal((8 + hl) % 8, 0);
}

/* Write a file from a header string and data bytes. */
static void make_file(const char *path, const char *hdr, const void *data, size_t n,
                      int64_t hlen_override) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    uint64_t hl = hlen_override >= 0 ? (uint64_t)hlen_override : strlen(hdr);
    for (int i = 0; i < 8; i++) fputc((int)(hl >> (8 * i)) & 0xff, f);
    fputs(hdr, f);
    if (n) assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
}

static void expect_reject(const char *hdr, size_t ndata, int64_t hlen, const char *needle) {
    char p[300];
    st_path(p, sizeof p, "bad.safetensors");
    static const float data[64];
    make_file(p, hdr, data, ndata, hlen);
    clg_safetensors st;
    clg_status s = clg_safetensors_read(p, &st);
    if (s != CLG_ERR_FORMAT) fail_msg("accepted a bad file: header %s", hdr);
    if (!strstr(clg_last_error(), needle))
        fail_msg("message '%s' lacks '%s'", clg_last_error(), needle);
    assert_null(st.file);
}

static void test_safetensors_rejects(void **state) {
    (void)state;
    const char *ok = "{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    expect_reject(ok, 8, 1000, "does not fit");              /* truncated / bad length */
    expect_reject(ok, 8, 0, "does not fit");
    expect_reject("{\"t\":", 8, -1, "JSON");                   /* bad JSON */
    expect_reject("[1,2]", 0, -1, "not a JSON object");
    expect_reject("{\"t\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4, -1,
                  "dtype F16");
    expect_reject("{\"t\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, -1,
                  "shape needs 12");
    expect_reject("{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4, -1,
                  "outside");
    expect_reject("{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8, -1,
                  "outside");
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                  "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
                  12, -1, "overlap");
    expect_reject("{\"t\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, -1,
                  "bad dimension");
    expect_reject("{\"t\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", 8, -1, "shape");
    expect_reject("{\"__metadata__\":{\"step\":5}}", 0, -1, "not a string");
    /* Issue 13: a repeated __metadata__ (a heap overflow once), duplicate
     * tensor names, a name with a NUL shadowing another, an element count
     * that overflows size_t. */
    expect_reject("{\"__metadata__\":{\"a\":\"1\"},\"__metadata__\":{\"a\":\"1\",\"b\":\"2\"}}",
                  0, -1, "appears twice");
    expect_reject("{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                  "\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}",
                  16, -1, "appears twice");
    expect_reject("{\"t\\u0000x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
                  8, -1, "u0000");
    expect_reject("{\"t\":{\"dtype\":\"F32\",\"shape\":[1099511627776,1099511627776,"
                  "1099511627776],\"data_offsets\":[0,8]}}", 8, -1, "overflows");
    expect_reject("{\"__metadata__\":{\"crc32\":\"00000000\"},"
                  "\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}  ",
                  8, -1, "CRC32");
}

/* The stated limits (safetensors.h): a header past 1 MiB and more than
 * 4096 tensors are refused by name; 4096 tensors still read; the writer
 * will not write what the reader would refuse. */
static void test_safetensors_limits(void **state) {
    (void)state;
    static char hdr[(1 << 20) + 64];
    memset(hdr, ' ', sizeof hdr - 1);
    memcpy(hdr, "{}", 2);
    expect_reject(hdr, 0, (int64_t)CLG_ST_MAX_HEADER + 1, "a header of 1048577 bytes is past "
                  "clgan's limit of 1048576 bytes");
    for (int n = CLG_ST_MAX_TENSORS; n <= CLG_ST_MAX_TENSORS + 1; n++) {
        size_t len = 0;
        len += (size_t)sprintf(hdr + len, "{\"__metadata__\":{}");
        for (int i = 0; i < n; i++)
            len += (size_t)sprintf(hdr + len, ",\"t%d\":{\"dtype\":\"F32\",\"shape\":[0],"
                                   "\"data_offsets\":[0,0]}", i);
        sprintf(hdr + len, "}");
        char p[300];
        st_path(p, sizeof p, "many.safetensors");
        make_file(p, hdr, NULL, 0, -1);
        clg_safetensors st;
        clg_status s = clg_safetensors_read(p, &st);
        if (n == CLG_ST_MAX_TENSORS) {
            assert_int_equal(s, CLG_OK);
            assert_int_equal(st.count, n);
            clg_safetensors_free(&st);
        } else {
            assert_int_equal(s, CLG_ERR_FORMAT);
            assert_non_null(strstr(clg_last_error(), "4097 tensors are past clgan's limit of "
                                   "4096"));
        }
    }
    static clg_st_write_entry many[CLG_ST_MAX_TENSORS + 1];
    static char names[CLG_ST_MAX_TENSORS + 1][16];
    const float x = 1.0f;
    for (int i = 0; i <= CLG_ST_MAX_TENSORS; i++) {
        snprintf(names[i], sizeof names[i], "t%d", i);
        many[i] = (clg_st_write_entry){names[i], &x, 1, {1}};
    }
    char p[300];
    st_path(p, sizeof p, "toomany.safetensors");
    assert_int_equal(clg_safetensors_write(p, many, CLG_ST_MAX_TENSORS + 1, NULL, 0),
                     CLG_ERR_INVALID_ARG);
    assert_non_null(strstr(clg_last_error(), "4097 tensors"));
    assert_int_not_equal(access(p, F_OK), 0);
}

/* A header whose length is not a multiple of 4 (legal): data still reads. */
static void test_safetensors_unaligned_header(void **state) {
    (void)state;
    char p[300];
    st_path(p, sizeof p, "odd.safetensors");
    const char *hdr = "{\"t\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}  ";
    assert_int_not_equal(strlen(hdr) % 4, 0);
    const float v[3] = {1.5f, -2.0f, 3.25f};
    make_file(p, hdr, v, sizeof v, -1);
    clg_safetensors st;
    assert_int_equal(clg_safetensors_read(p, &st), CLG_OK);
    assert_memory_equal(st.entries[0].data, v, sizeof v);
    clg_safetensors_free(&st);
}

static void test_safetensors_corrupt_data(void **state) {
    (void)state;
    float a[100];
    for (int i = 0; i < 100; i++) a[i] = (float)i;
    clg_st_write_entry e = {"w", a, 2, {10, 10}};
    char p[300];
    st_path(p, sizeof p, "crc.safetensors");
    assert_int_equal(clg_safetensors_write(p, &e, 1, NULL, 0), CLG_OK);
    FILE *f = fopen(p, "r+b");
    fseek(f, -17, SEEK_END);
    fputc(0x7f, f);
    fclose(f);
    clg_safetensors st;
    assert_int_equal(clg_safetensors_read(p, &st), CLG_ERR_FORMAT);
    assert_non_null(strstr(clg_last_error(), "corrupt"));
    /* Cut short: the header no longer fits or the offsets leave the file. */
    assert_int_equal(truncate(p, 200), 0);
    assert_int_equal(clg_safetensors_read(p, &st), CLG_ERR_FORMAT);
    assert_int_equal(truncate(p, 5), 0);
    assert_int_equal(clg_safetensors_read(p, &st), CLG_ERR_FORMAT);
    assert_non_null(strstr(clg_last_error(), "too short"));
    st_path(p, sizeof p, "absent.safetensors");
    assert_int_equal(clg_safetensors_read(p, &st), CLG_ERR_IO);
}

static void test_safetensors_atomic(void **state) {
    (void)state;
    float a[4] = {1, 2, 3, 4};
    clg_st_write_entry e = {"w", a, 1, {4}};
    char p[300];
    /* A failed write (no such folder) leaves nothing; an existing file is
     * replaced whole. */
    assert_int_equal(clg_safetensors_write("/nonexistent-dir/x.safetensors", &e, 1, NULL, 0),
                     CLG_ERR_IO);
    st_path(p, sizeof p, "atomic.safetensors");
    assert_int_equal(clg_safetensors_write(p, &e, 1, NULL, 0), CLG_OK);
    a[0] = 9;
    assert_int_equal(clg_safetensors_write(p, &e, 1, NULL, 0), CLG_OK);
    clg_safetensors st;
    assert_int_equal(clg_safetensors_read(p, &st), CLG_OK);
    assert_true(st.entries[0].data[0] == 9.0f);
    clg_safetensors_free(&st);
    char tmp[400];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", p, (long)getpid());
    assert_int_not_equal(access(tmp, F_OK), 0);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/clgan-test-formats-XXXXXX");
    if (!mkdtemp(dir)) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_valid),
        cmocka_unit_test(test_json_invalid),
        cmocka_unit_test(test_json_hostile),
        cmocka_unit_test(test_safetensors_roundtrip),
        cmocka_unit_test(test_safetensors_rejects),
        cmocka_unit_test(test_safetensors_limits),
        cmocka_unit_test(test_safetensors_unaligned_header),
        cmocka_unit_test(test_safetensors_corrupt_data),
        cmocka_unit_test(test_safetensors_atomic),
    };
    int rc = cmocka_run_group_tests_name("formats", tests, NULL, NULL);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) return 1;
    return rc;
}
