/* test_data.c: dataset loaders and PNG I/O: IDX plain and gzip, CIFAR-10
 * binary, PNG folders (crop + area resize), the PNG writer read back through
 * libpng, and each kind of bad file rejected with a message that says what
 * is wrong. Host-only: no OpenCL device needed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "dataset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static char dir[256];

static void path_in(char *buf, size_t cap, const char *name) {
    snprintf(buf, cap, "%s/%s", dir, name);
}

static void write_bytes(const char *path, const void *data, size_t n, int gz) {
    if (gz) {
        gzFile f = gzopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(gzwrite(f, data, (unsigned)n), (int)n);
        gzclose(f);
    } else {
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(data, 1, n, f), n);
        fclose(f);
    }
}

static void put_be32(unsigned char *b, uint32_t v) {
    b[0] = (unsigned char)(v >> 24), b[1] = (unsigned char)(v >> 16);
    b[2] = (unsigned char)(v >> 8), b[3] = (unsigned char)v;
}

/* An IDX image file of n images h x w with pixel (i, y, x) = i + 3y + 5x. */
static size_t make_idx_images(unsigned char *buf, int n, int h, int w) {
    put_be32(buf, 0x803);
    put_be32(buf + 4, (uint32_t)n), put_be32(buf + 8, (uint32_t)h), put_be32(buf + 12, (uint32_t)w);
    size_t k = 16;
    for (int i = 0; i < n; i++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) buf[k++] = (unsigned char)(i + 3 * y + 5 * x);
    return k;
}
static size_t make_idx_labels(unsigned char *buf, int n) {
    put_be32(buf, 0x801);
    put_be32(buf + 4, (uint32_t)n);
    for (int i = 0; i < n; i++) buf[8 + i] = (unsigned char)(i % 7);
    return 8 + (size_t)n;
}

static void test_idx_plain_and_gzip(void **state) {
    (void)state;
    unsigned char img[16 + 5 * 4 * 3], lab[8 + 5];
    size_t ni = make_idx_images(img, 5, 4, 3), nl = make_idx_labels(lab, 5);
    for (int gz = 0; gz < 2; gz++) {
        char pi[300], pl[300];
        path_in(pi, sizeof pi, gz ? "img.gz" : "img.idx");
        path_in(pl, sizeof pl, gz ? "lab.gz" : "lab.idx");
        write_bytes(pi, img, ni, gz);
        write_bytes(pl, lab, nl, gz);
        clg_dataset d;
        assert_int_equal(clg_idx_load(pi, pl, &d), CLG_OK);
        assert_int_equal(d.n, 5);
        assert_int_equal(d.c, 1);
        assert_int_equal(d.h, 4);
        assert_int_equal(d.w, 3);
        assert_int_equal(d.num_classes, 5); /* labels 0..4 */
        for (int i = 0; i < 5; i++) {
            assert_int_equal(d.labels[i], i % 7);
            for (int y = 0; y < 4; y++)
                for (int x = 0; x < 3; x++)
                    assert_int_equal(d.pixels[(i * 4 + y) * 3 + x], i + 3 * y + 5 * x);
        }
        clg_dataset_free(&d);
    }
}

static void expect_idx_error(const char *imgs, const char *labs, clg_status want,
                             const char *needle) {
    clg_dataset d;
    clg_status s = clg_idx_load(imgs, labs, &d);
    assert_int_equal(s, want);
    if (!strstr(clg_last_error(), needle))
        fail_msg("message '%s' lacks '%s'", clg_last_error(), needle);
    assert_null(d.pixels);
}

static void test_idx_bad_files(void **state) {
    (void)state;
    unsigned char img[16 + 5 * 4 * 3], lab[8 + 6];
    size_t ni = make_idx_images(img, 5, 4, 3);
    char p[300], pl[300];
    path_in(p, sizeof p, "trunc.idx");
    write_bytes(p, img, ni - 7, 0);
    expect_idx_error(p, NULL, CLG_ERR_FORMAT, "truncated");
    path_in(p, sizeof p, "trunc.gz");
    write_bytes(p, img, ni - 7, 1);
    expect_idx_error(p, NULL, CLG_ERR_FORMAT, "truncated");
    path_in(p, sizeof p, "hdr.idx");
    write_bytes(p, img, 10, 0);
    expect_idx_error(p, NULL, CLG_ERR_FORMAT, "dimensions");
    unsigned char bad[sizeof img];
    memcpy(bad, img, ni);
    put_be32(bad, 0x801); /* a label magic on an image file */
    path_in(p, sizeof p, "magic.idx");
    write_bytes(p, bad, ni, 0);
    expect_idx_error(p, NULL, CLG_ERR_FORMAT, "magic 0x00000801");
    path_in(p, sizeof p, "long.idx");
    memcpy(bad, img, ni);
    write_bytes(p, bad, ni, 0);
    FILE *f = fopen(p, "ab");
    fputc(0, f);
    fclose(f);
    expect_idx_error(p, NULL, CLG_ERR_FORMAT, "longer");
    /* Six labels for five images. */
    path_in(p, sizeof p, "ok.idx");
    write_bytes(p, img, ni, 0);
    path_in(pl, sizeof pl, "six.idx");
    write_bytes(pl, lab, make_idx_labels(lab, 6), 0);
    expect_idx_error(p, pl, CLG_ERR_FORMAT, "6 labels");
    path_in(p, sizeof p, "missing.idx");
    expect_idx_error(p, NULL, CLG_ERR_IO, "missing.idx");
    /* Issue 13: dimensions whose product overflows size_t (2^24 cubed):
     * refused before anything is allocated or read. */
    memcpy(bad, img, 16);
    put_be32(bad + 4, 1u << 24), put_be32(bad + 8, 1u << 24), put_be32(bad + 12, 1u << 24);
    path_in(p, sizeof p, "huge.idx");
    write_bytes(p, bad, 16, 0);
    expect_idx_error(p, NULL, CLG_ERR_FORMAT, "image count 16777216 is outside 1..4194304");
}

/* The stated limits (dataset.h), each refused by name before the payload is
 * read; a file claiming a payload it does not hold is refused as truncated
 * without allocating what it claims (fuzz_idx found a 37-byte file asking
 * for 10 GB). */
static void test_idx_limits(void **state) {
    (void)state;
    unsigned char hdr[16 + 8];
    memset(hdr, 7, sizeof hdr);
    char p[300];
    path_in(p, sizeof p, "limit.idx");
    const uint32_t dims[4][3] = {{CLG_DATASET_MAX_IMAGES + 1, 28, 28},
                                 {10, CLG_IMAGE_MAX_SIDE + 1, 28},
                                 {10, 28, CLG_IMAGE_MAX_SIDE + 1},
                                 {CLG_DATASET_MAX_IMAGES, 1024, 1024}};
    const char *want[4] = {"image count 4194305 is outside 1..4194304",
                           "image height 4097 is outside 1..4096",
                           "image width 4097 is outside 1..4096",
                           "past clgan's limit of 1073741824 bytes"};
    for (int i = 0; i < 4; i++) {
        put_be32(hdr, 0x803);
        for (int k = 0; k < 3; k++) put_be32(hdr + 4 + 4 * k, dims[i][k]);
        write_bytes(p, hdr, sizeof hdr, 0);
        expect_idx_error(p, NULL, CLG_ERR_FORMAT, want[i]);
    }
    /* 1000 images of 1000 x 1000 (1e9 bytes, under the limit) in 24 bytes. */
    put_be32(hdr + 4, 1000), put_be32(hdr + 8, 1000), put_be32(hdr + 12, 1000);
    write_bytes(p, hdr, sizeof hdr, 0);
    expect_idx_error(p, NULL, CLG_ERR_FORMAT, "needs 1000000000 bytes, file has 8");
    unsigned char lab[8];
    put_be32(lab, 0x801), put_be32(lab + 4, CLG_DATASET_MAX_IMAGES + 1);
    char pl[300];
    path_in(pl, sizeof pl, "limit-labels.idx");
    write_bytes(pl, lab, sizeof lab, 0);
    unsigned char img[16 + 5 * 4 * 3];
    path_in(p, sizeof p, "ok-images.idx");
    write_bytes(p, img, make_idx_images(img, 5, 4, 3), 0);
    expect_idx_error(p, pl, CLG_ERR_FORMAT, "label count 4194305 is outside 1..4194304");
}

static void test_real_fashion_mnist(void **state) {
    (void)state;
    const char *img = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";
    const char *lab = "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz";
    if (access(img, R_OK) != 0) skip(); /* dataset-fashion-mnist not installed */
    clg_dataset d;
    assert_int_equal(clg_idx_load(img, lab, &d), CLG_OK);
    assert_int_equal(d.n, 10000);
    assert_int_equal(d.h, 28);
    assert_int_equal(d.w, 28);
    assert_int_equal(d.num_classes, 10);
    int count[10] = {0};
    double mean = 0;
    for (int i = 0; i < d.n; i++) count[d.labels[i]]++;
    for (size_t i = 0; i < (size_t)d.n * 784; i++) mean += d.pixels[i];
    mean /= (double)d.n * 784;
    for (int k = 0; k < 10; k++) assert_int_equal(count[k], 1000); /* balanced test set */
    assert_true(mean > 60 && mean < 80); /* Fashion-MNIST's mean pixel is about 73 */
    clg_dataset_free(&d);
}

static void test_cifar(void **state) {
    (void)state;
    enum { R = 3073 };
    static unsigned char buf[3 * R];
    for (int r = 0; r < 3; r++) {
        buf[r * R] = (unsigned char)(r * 4);
        for (int k = 0; k < 3072; k++) buf[r * R + 1 + k] = (unsigned char)(k * 7 + r);
    }
    char a[300], b[300];
    path_in(a, sizeof a, "data_batch_1.bin");
    path_in(b, sizeof b, "data_batch_2.bin");
    write_bytes(a, buf, 2 * R, 0);
    write_bytes(b, buf + 2 * R, R, 0);
    const char *paths[] = {a, b};
    clg_dataset d;
    assert_int_equal(clg_cifar10_load(paths, 2, &d), CLG_OK);
    assert_int_equal(d.n, 3);
    assert_int_equal(d.c, 3);
    assert_int_equal(d.h, 32);
    assert_int_equal(d.num_classes, 10);
    for (int r = 0; r < 3; r++) {
        assert_int_equal(d.labels[r], r * 4);
        for (int k = 0; k < 3072; k += 101)
            assert_int_equal(d.pixels[r * 3072 + k], (unsigned char)(k * 7 + r));
    }
    clg_dataset_free(&d);
    write_bytes(a, buf, 2 * R - 1, 0);
    assert_int_equal(clg_cifar10_load(paths, 1, &d), CLG_ERR_FORMAT);
    assert_non_null(strstr(clg_last_error(), "whole number of CIFAR-10 records"));
    buf[0] = 11;
    write_bytes(a, buf, R, 0);
    assert_int_equal(clg_cifar10_load(paths, 1, &d), CLG_ERR_FORMAT);
    assert_non_null(strstr(clg_last_error(), "label 11"));
    /* Past the 1 GiB pixel limit (dataset.h): 349526 records, as a sparse
     * file, refused from its size before anything is read. */
    write_bytes(a, buf, R, 0);
    assert_int_equal(truncate(a, (off_t)349526 * R), 0);
    assert_int_equal(clg_cifar10_load(paths, 1, &d), CLG_ERR_FORMAT);
    assert_non_null(strstr(clg_last_error(), "349526 records, after 0 already read, would pass "
                           "clgan's limit of 349525 CIFAR-10 images"));
    assert_int_equal(truncate(a, 0), 0);
}

static void test_png_roundtrip(void **state) {
    (void)state;
    enum { W = 13, H = 7 };
    unsigned char rgb[H * W * 3], grey[H * W];
    for (int i = 0; i < H * W * 3; i++) rgb[i] = (unsigned char)(i * 37);
    for (int i = 0; i < H * W; i++) grey[i] = (unsigned char)(i * 11);
    char p[300];
    path_in(p, sizeof p, "rgb.png");
    assert_int_equal(clg_png_write(p, rgb, W, H, 3), CLG_OK);
    unsigned char *px;
    int w, h, ch;
    assert_int_equal(clg_png_read(p, &px, &w, &h, &ch), CLG_OK);
    assert_int_equal(w, W);
    assert_int_equal(h, H);
    assert_int_equal(ch, 3);
    assert_memory_equal(px, rgb, sizeof rgb);
    free(px);
    path_in(p, sizeof p, "grey.png");
    assert_int_equal(clg_png_write(p, grey, W, H, 1), CLG_OK);
    assert_int_equal(clg_png_read(p, &px, &w, &h, &ch), CLG_OK);
    assert_int_equal(ch, 1);
    assert_memory_equal(px, grey, sizeof grey);
    free(px);
    /* No temporary file is left behind. */
    char tmp[400];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", p, (long)getpid());
    assert_int_not_equal(access(tmp, F_OK), 0);
}

static void test_png_bad_files(void **state) {
    (void)state;
    char p[300];
    unsigned char *px;
    int w, h, ch;
    path_in(p, sizeof p, "fake.png");
    write_bytes(p, "GIF89a not a png at all", 23, 0);
    assert_int_equal(clg_png_read(p, &px, &w, &h, &ch), CLG_ERR_FORMAT);
    assert_non_null(strstr(clg_last_error(), "not a PNG"));
    /* A real PNG cut in half. */
    unsigned char img[64 * 64];
    for (int i = 0; i < 64 * 64; i++) img[i] = (unsigned char)(i * 13 ^ i >> 3);
    path_in(p, sizeof p, "whole.png");
    assert_int_equal(clg_png_write(p, img, 64, 64, 1), CLG_OK);
    FILE *f = fopen(p, "rb");
    unsigned char raw[65536];
    size_t n = fread(raw, 1, sizeof raw, f);
    fclose(f);
    path_in(p, sizeof p, "half.png");
    write_bytes(p, raw, n / 2, 0);
    assert_int_equal(clg_png_read(p, &px, &w, &h, &ch), CLG_ERR_FORMAT);
    assert_non_null(strstr(clg_last_error(), "half.png"));
    path_in(p, sizeof p, "nope.png");
    assert_int_equal(clg_png_read(p, &px, &w, &h, &ch), CLG_ERR_IO);
    assert_int_equal(clg_png_write("/nonexistent-dir/x.png", img, 4, 4, 1), CLG_ERR_IO);
}

static void test_png_folder(void **state) {
    (void)state;
    char sub[300], p[400];
    path_in(sub, sizeof sub, "pngs");
    mkdir(sub, 0755);
    /* 8 x 4 RGB: the centre crop is columns 2..5; each 2x2 block averages
     * to its colour, so resizing to 2x2 gives four known colours. */
    unsigned char im[4 * 8 * 3];
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 8; x++) {
            unsigned char *q = im + (y * 8 + x) * 3;
            int bx = (x - 2) / 2, by = y / 2;
            q[0] = (unsigned char)(x < 2 || x > 5 ? 255 : 40 * (by * 2 + bx));
            q[1] = (unsigned char)(x < 2 || x > 5 ? 255 : 10 + (x & 1) * 20); /* avg 20 */
            q[2] = 7;
        }
    snprintf(p, sizeof p, "%s/b.png", sub);
    assert_int_equal(clg_png_write(p, im, 8, 4, 3), CLG_OK);
    snprintf(p, sizeof p, "%s/a.PNG", sub);
    assert_int_equal(clg_png_write(p, im, 8, 4, 3), CLG_OK);
    snprintf(p, sizeof p, "%s/notes.txt", sub);
    write_bytes(p, "ignored", 7, 0);
    clg_dataset d;
    assert_int_equal(clg_png_folder_load(sub, 2, 3, &d), CLG_OK);
    assert_int_equal(d.n, 2);
    assert_int_equal(d.c, 3);
    assert_int_equal(d.h, 2);
    assert_null(d.labels);
    for (int by = 0; by < 2; by++)
        for (int bx = 0; bx < 2; bx++) {
            assert_int_equal(d.pixels[(0 * 2 + by) * 2 + bx], 40 * (by * 2 + bx));
            assert_int_equal(d.pixels[(1 * 2 + by) * 2 + bx], 20);
            assert_int_equal(d.pixels[(2 * 2 + by) * 2 + bx], 7);
        }
    clg_dataset_free(&d);
    /* Grey output mixes the channels with the usual luma weights. */
    assert_int_equal(clg_png_folder_load(sub, 1, 1, &d), CLG_OK);
    double r = (0 + 40 + 80 + 120) / 4.0, g = 20, b = 7;
    assert_int_equal(d.pixels[0], (int)(0.299 * r + 0.587 * g + 0.114 * b + 0.5));
    clg_dataset_free(&d);
    snprintf(p, sizeof p, "%s/c.png", sub);
    write_bytes(p, "broken", 6, 0);
    assert_int_equal(clg_png_folder_load(sub, 2, 3, &d), CLG_ERR_FORMAT);
    assert_non_null(strstr(clg_last_error(), "c.png"));
    path_in(p, sizeof p, "empty");
    mkdir(p, 0755);
    assert_int_equal(clg_png_folder_load(p, 2, 3, &d), CLG_ERR_IO);
    assert_non_null(strstr(clg_last_error(), "no .png files"));
}

/* The image limits (dataset.h): a PNG wider than CLG_IMAGE_MAX_SIDE is
 * refused from its header, a folder's output size too, and a folder whose
 * images at the asked size would pass 1 GiB before any is decoded. */
static void test_png_limits(void **state) {
    (void)state;
    static unsigned char row[CLG_IMAGE_MAX_SIDE + 1];
    char sub[300], p[400];
    path_in(sub, sizeof sub, "png-limits");
    mkdir(sub, 0755);
    snprintf(p, sizeof p, "%s/wide.png", sub);
    assert_int_equal(clg_png_write(p, row, CLG_IMAGE_MAX_SIDE + 1, 1, 1), CLG_OK);
    unsigned char *px;
    int w, h, ch;
    assert_int_equal(clg_png_read(p, &px, &w, &h, &ch), CLG_ERR_FORMAT);
    assert_non_null(strstr(clg_last_error(), "image size 4097x1 is outside clgan's limit "
                           "(1..4096 a side)"));
    assert_int_equal(unlink(p), 0);
    clg_dataset d;
    assert_int_equal(clg_png_folder_load(sub, CLG_IMAGE_MAX_SIDE + 1, 1, &d), CLG_ERR_INVALID_ARG);
    assert_non_null(strstr(clg_last_error(), "bad size 4097 (1..4096)"));
    /* 22 images at 4096 x 4096 x 3 are 1.03 GiB. */
    for (int i = 0; i < 22; i++) {
        snprintf(p, sizeof p, "%s/%02d.png", sub, i);
        assert_int_equal(clg_png_write(p, row, 1, 1, 1), CLG_OK);
    }
    assert_int_equal(clg_png_folder_load(sub, CLG_IMAGE_MAX_SIDE, 3, &d), CLG_ERR_INVALID_ARG);
    assert_non_null(strstr(clg_last_error(), "22 images of 3x4096x4096 would pass clgan's "
                           "limit of 1073741824 bytes"));
    assert_int_equal(clg_png_folder_load(sub, 64, 3, &d), CLG_OK);
    assert_int_equal(d.n, 22);
    clg_dataset_free(&d);
}

/* Grids: tile i at (2 + (i % nrow) * (w + 2), 2 + (i / nrow) * (h + 2)),
 * values mapped from [-1, 1] to [0, 255]; the numbered grid differs only in
 * the label boxes at the tiles' top-left corners. */
static void test_grid(void **state) {
    (void)state;
    enum { N = 5, H = 12, W = 16 };
    static float img[N * H * W];
    for (int i = 0; i < N * H * W; i++) img[i] = (float)(i % 7) / 3.0f - 1.0f;
    char a[300], b[300];
    path_in(a, sizeof a, "grid.png");
    path_in(b, sizeof b, "gridn.png");
    assert_int_equal(clg_png_write_grid(a, img, N, 1, H, W, 3), CLG_OK);
    assert_int_equal(clg_png_write_grid_numbered(b, img, N, 1, H, W, 3), CLG_OK);
    unsigned char *pa, *pb;
    int w, h, ch;
    assert_int_equal(clg_png_read(a, &pa, &w, &h, &ch), CLG_OK);
    assert_int_equal(w, 3 * (W + 2) + 2);
    assert_int_equal(h, 2 * (H + 2) + 2);
    for (int i = 0; i < N; i++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                float v = img[(i * H + y) * W + x];
                int want = (int)((v + 1.0f) * 127.5f + 0.5f);
                int gx = 2 + (i % 3) * (W + 2) + x, gy = 2 + (i / 3) * (H + 2) + y;
                assert_int_equal(pa[gy * w + gx], want);
            }
    assert_int_equal(pa[0], 0); /* border */
    assert_int_equal(clg_png_read(b, &pb, &w, &h, &ch), CLG_OK);
    int differ = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            if (pa[y * w + x] != pb[y * w + x]) {
                int tx = (x - 2) % (W + 2), ty = (y - 2) % (H + 2);
                assert_true(tx < 5 && ty < 7); /* inside a label box ("0".."4") */
                differ++;
            }
    assert_true(differ > 20);
    free(pa), free(pb);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/clgan-test-data-XXXXXX");
    if (!mkdtemp(dir)) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idx_plain_and_gzip), cmocka_unit_test(test_idx_bad_files),
        cmocka_unit_test(test_idx_limits),
        cmocka_unit_test(test_real_fashion_mnist), cmocka_unit_test(test_cifar),
        cmocka_unit_test(test_png_roundtrip),      cmocka_unit_test(test_png_bad_files),
        cmocka_unit_test(test_png_folder),
        cmocka_unit_test(test_png_limits),   cmocka_unit_test(test_grid),
    };
    int rc = cmocka_run_group_tests_name("data", tests, NULL, NULL);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) return 1;
    return rc;
}
