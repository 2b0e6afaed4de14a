/* gen_seeds.c: writes the fuzzers' seed corpora, small valid files of each
 * format made by clgan's own writers (or byte by byte where it has none):
 *   gen_seeds DIR   ->  DIR/<target>/seed-N for json, safetensors, idx,
 *                       cifar, png and tune.
 * Seeds are generated rather than committed, so they follow the formats. */
#include "dataset.h"
#include "safetensors.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

static char root[2048];

static void die(const char *what) {
    fprintf(stderr, "gen_seeds: %s: %s\n", what, clg_last_error());
    exit(1);
}

static void seed_path(char *buf, size_t cap, const char *target, int n) {
    snprintf(buf, cap, "%s/%s", root, target);
    if (mkdir(buf, 0755) != 0 && errno != EEXIST) die(buf);
    snprintf(buf, cap, "%s/%s/seed-%d", root, target, n);
}

static void write_seed(const char *target, int n, const void *data, size_t len) {
    char path[2200];
    seed_path(path, sizeof path, target, n);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) die(path);
}

/* A whole file, malloc'd. */
static unsigned char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) die(path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    unsigned char *buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) die(path);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void json_seeds(void) {
    const char *s[] = {
        "{\"a\":[1,2.5e3,-0.5,true,false,null],\"b\":{\"c\":\"x\\u00e9\\n\\\"\"}}",
        "[]", "\"plain\"", "-0.0e+1",
        "{\"model\":\"dcgan\",\"nz\":100,\"lr\":0.0002,\"data\":\"/tmp/a \\\\ b\"}",
    };
    for (int i = 0; i < (int)(sizeof s / sizeof s[0]); i++) write_seed("json", i, s[i], strlen(s[i]));
}

static void safetensors_seeds(void) {
    const float w[6] = {1, -2, 3.5f, 0, 1e-3f, 7};
    const clg_st_write_entry e[2] = {{"main.0.weight", w, 2, {2, 3}}, {"bias", w, 1, {2}}};
    const char *meta[4] = {"step", "12", "model", "dcgan"};
    for (int i = 0; i < 2; i++) {
        char path[2200];
        seed_path(path, sizeof path, "safetensors", i);
        if (clg_safetensors_write(path, e, 2 - i, meta, 2 - 2 * i) != CLG_OK) die(path);
    }
    /* Without a CRC (the writer always adds one): mutated tensor bytes are
     * then read, not refused by the checksum. */
    const char hdr[] = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    unsigned char buf[8 + sizeof hdr - 1 + 8] = {sizeof hdr - 1};
    memcpy(buf + 8, hdr, sizeof hdr - 1);
    memcpy(buf + 8 + sizeof hdr - 1, w, 8);
    write_seed("safetensors", 2, buf, sizeof buf);
}

static size_t put_be32(unsigned char *p, unsigned v) {
    p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8), p[3] = (unsigned char)v;
    return 4;
}

/* The fuzz_idx layout: u32 LE length of the image file, image file, label
 * file. Seed 0 plain, seed 1 with a gzip image file, seed 2 images only. */
static void idx_seeds(void) {
    unsigned char img[16 + 3 * 4 * 5], lab[8 + 3];
    size_t n = put_be32(img, 0x803);
    n += put_be32(img + n, 3), n += put_be32(img + n, 4), n += put_be32(img + n, 5);
    for (size_t i = n; i < sizeof img; i++) img[i] = (unsigned char)(i * 37);
    put_be32(lab, 0x801), put_be32(lab + 4, 3);
    lab[8] = 0, lab[9] = 9, lab[10] = 4;
    char gzpath[2200];
    snprintf(gzpath, sizeof gzpath, "%s/images.gz", root);
    gzFile g = gzopen(gzpath, "wb");
    if (!g || gzwrite(g, img, sizeof img) != (int)sizeof img || gzclose(g) != Z_OK) die(gzpath);
    size_t gzlen;
    unsigned char *gz = slurp(gzpath, &gzlen);
    remove(gzpath);
    const unsigned char *images[3] = {img, gz, img};
    const size_t ilen[3] = {sizeof img, gzlen, sizeof img}, llen[3] = {sizeof lab, sizeof lab, 0};
    for (int s = 0; s < 3; s++) {
        unsigned char buf[512];
        size_t len = 4 + ilen[s] + llen[s];
        for (int b = 0; b < 4; b++) buf[b] = (unsigned char)(ilen[s] >> (8 * b));
        memcpy(buf + 4, images[s], ilen[s]);
        memcpy(buf + 4 + ilen[s], lab, llen[s]);
        write_seed("idx", s, buf, len);
    }
    free(gz);
}

static void cifar_seeds(void) {
    static unsigned char rec[2 * 3073];
    for (size_t i = 0; i < sizeof rec; i++) rec[i] = (unsigned char)(i * 13);
    rec[0] = 3, rec[3073] = 9;
    write_seed("cifar", 0, rec, sizeof rec);
}

/* fuzz_png takes one byte (output size and channels) before the PNG. */
static void png_seeds(void) {
    unsigned char px[6 * 4 * 3];
    for (size_t i = 0; i < sizeof px; i++) px[i] = (unsigned char)(i * 11);
    const int w[2] = {6, 5}, h[2] = {4, 7}, ch[2] = {3, 1};
    for (int s = 0; s < 2; s++) {
        char path[2200];
        seed_path(path, sizeof path, "png", s);
        if (clg_png_write(path, px, w[s], h[s], ch[s]) != CLG_OK) die(path);
        size_t len;
        unsigned char *png = slurp(path, &len), *buf = malloc(len + 1);
        if (!buf) die("out of memory");
        buf[0] = (unsigned char)(s ? 7 : 32 + 15);
        memcpy(buf + 1, png, len);
        write_seed("png", s, buf, len + 1);
        free(png);
        free(buf);
    }
}

static void tune_seeds(void) {
    const char *s[] = {
        "# clgan conv tuning for cpu\n"
        "fwd 64 3 32 32 16 3 3 1 1 tiled:64x64x16:4x4\n"
        "bwd_data 64 16 16 16 32 4 4 2 1 direct:2x4:8x8:32x32x8:s2\n"
        "bwd_weight 1 1 4 4 1 1 1 1 0 tiled:32x32x8:2x4:s0\n"
        "default fwd mvec:4x16:6:8x1 mvec:2x16:8:8x1\n",
        "Xgemm 64 64 16 8 8 4 4 2\n",
    };
    for (int i = 0; i < 2; i++) write_seed("tune", i, s[i], strlen(s[i]));
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: gen_seeds DIR\n");
        return 2;
    }
    snprintf(root, sizeof root, "%s", argv[1]);
    if (mkdir(root, 0755) != 0 && errno != EEXIST) die(root);
    json_seeds();
    safetensors_seeds();
    idx_seeds();
    cifar_seeds();
    png_seeds();
    tune_seeds();
    return 0;
}
