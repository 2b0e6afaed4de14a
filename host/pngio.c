/* pngio.c: PNG read and write through libpng, and the PNG-folder dataset
 * (centre crop to a square, then area resize). */
#include "dataset.h"

#include <dirent.h>
#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* libpng reports errors through a callback; keep its message for ours. */
typedef struct {
    jmp_buf jb;
    char msg[256];
} png_err;

static void on_png_error(png_structp png, png_const_charp msg) {
    png_err *e = png_get_error_ptr(png);
    snprintf(e->msg, sizeof e->msg, "%s", msg);
    longjmp(e->jb, 1);
}
static void on_png_warning(png_structp png, png_const_charp msg) {
    (void)png;
    (void)msg;
}

clg_status clg_png_write(const char *path, const unsigned char *pixels, int w, int h,
                         int channels) {
    if (w <= 0 || h <= 0 || (channels != 1 && channels != 3))
        return clg_fail(CLG_ERR_INVALID_ARG, "png write %s: bad image %dx%dx%d", path, w, h,
                        channels);
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) return clg_fail(CLG_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
    /* volatile: modified between setjmp and longjmp. */
    png_structp volatile png = NULL;
    png_infop volatile info = NULL;
    png_err err;
    err.msg[0] = '\0';
    png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &err, on_png_error, on_png_warning);
    if (png) info = png_create_info_struct(png);
    if (!png || !info || setjmp(err.jb)) {
        png_structp p = png;
        png_infop i = info;
        png_destroy_write_struct(&p, &i);
        fclose(f);
        remove(tmp);
        return clg_fail(CLG_ERR_IO, "writing PNG %s: %s", path, err.msg[0] ? err.msg : "libpng");
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8,
                 channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < h; y++)
        png_write_row(png, (png_const_bytep)(pixels + (size_t)y * (size_t)w * (size_t)channels));
    png_write_end(png, NULL);
    png_structp p = png;
    png_infop i = info;
    png_destroy_write_struct(&p, &i);
    if (fflush(f) != 0 || fsync(fileno(f)) != 0 || fclose(f) != 0) {
        remove(tmp);
        return clg_fail(CLG_ERR_IO, "writing %s: %s", path, strerror(errno));
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        remove(tmp);
        return clg_fail(CLG_ERR_IO, "renaming %s to %s: %s", tmp, path, strerror(e));
    }
    return CLG_OK;
}

clg_status clg_png_read(const char *path, unsigned char **pixels, int *w, int *h,
                        int *channels_out) {
    *pixels = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return clg_fail(CLG_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    unsigned char sig[8];
    if (fread(sig, 1, 8, f) != 8 || png_sig_cmp(sig, 0, 8) != 0) {
        fclose(f);
        return clg_fail(CLG_ERR_FORMAT, "%s is not a PNG file (bad signature)", path);
    }
    png_structp volatile png = NULL;
    png_infop volatile info = NULL;
    unsigned char *volatile buf = NULL;
    png_bytep *volatile rows = NULL;
    png_err err;
    err.msg[0] = '\0';
    png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &err, on_png_error, on_png_warning);
    if (png) info = png_create_info_struct(png);
    if (!png || !info || setjmp(err.jb)) {
        png_structp p = png;
        png_infop i = info;
        png_destroy_read_struct(&p, &i, NULL);
        free(buf);
        free(rows);
        fclose(f);
        return clg_fail(CLG_ERR_FORMAT, "%s: corrupt PNG: %s", path,
                        err.msg[0] ? err.msg : "libpng error");
    }
    png_init_io(png, f);
    png_set_sig_bytes(png, 8);
    png_read_info(png, info);
    png_uint_32 pw = png_get_image_width(png, info), ph = png_get_image_height(png, info);
    int color = png_get_color_type(png, info), depth = png_get_bit_depth(png, info);
    if (pw == 0 || ph == 0 || pw > CLG_IMAGE_MAX_SIDE || ph > CLG_IMAGE_MAX_SIDE) {
        char why[128];
        snprintf(why, sizeof why, "image size %ux%u is outside clgan's limit (1..%d a side)",
                 (unsigned)pw, (unsigned)ph, CLG_IMAGE_MAX_SIDE);
        png_error(png, why);
    }
    if (depth == 16) png_set_strip_16(png);
    if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (color & PNG_COLOR_MASK_ALPHA) png_set_strip_alpha(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png), png_set_strip_alpha(png);
    png_read_update_info(png, info);
    int ch = png_get_channels(png, info);
    if (ch != 1 && ch != 3) png_error(png, "unsupported channel layout");
    size_t stride = png_get_rowbytes(png, info);
    buf = malloc(stride * ph);
    rows = malloc(ph * sizeof *rows);
    if (!buf || !rows) png_error(png, "out of host memory");
    for (png_uint_32 y = 0; y < ph; y++) rows[y] = buf + y * stride;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    png_structp p = png;
    png_infop i = info;
    png_destroy_read_struct(&p, &i, NULL);
    free(rows);
    fclose(f);
    *pixels = buf;
    *w = (int)pw;
    *h = (int)ph;
    *channels_out = ch;
    return CLG_OK;
}

/* Centre-crop (w, h, ch) interleaved to a square, area-resize to size x size
 * and write planar `channels` into out (channels x size x size). */
static void crop_resize(const unsigned char *src, int w, int h, int ch, int size, int channels,
                        unsigned char *out) {
    int side = w < h ? w : h;
    int x0 = (w - side) / 2, y0 = (h - side) / 2;
    double scale = (double)side / size; /* source pixels per output pixel */
    for (int oy = 0; oy < size; oy++)
        for (int ox = 0; ox < size; ox++) {
            double sy0 = oy * scale, sy1 = sy0 + scale, sx0 = ox * scale, sx1 = sx0 + scale;
            double acc[3] = {0, 0, 0}, area = 0;
            for (int sy = (int)sy0; sy < (int)sy1 + 1 && sy < side; sy++) {
                double wy = (sy + 1 < sy1 ? sy + 1 : sy1) - (sy > sy0 ? sy : sy0);
                if (wy <= 0) continue;
                for (int sx = (int)sx0; sx < (int)sx1 + 1 && sx < side; sx++) {
                    double wx = (sx + 1 < sx1 ? sx + 1 : sx1) - (sx > sx0 ? sx : sx0);
                    if (wx <= 0) continue;
                    const unsigned char *p = src + ((size_t)(y0 + sy) * w + (x0 + sx)) * ch;
                    double wt = wx * wy;
                    if (ch == 1) {
                        acc[0] += wt * p[0];
                    } else {
                        for (int c = 0; c < 3; c++) acc[c] += wt * p[c];
                    }
                    area += wt;
                }
            }
            double v[3];
            for (int c = 0; c < 3; c++) v[c] = acc[ch == 1 ? 0 : c] / area;
            if (channels == 1) {
                double g = ch == 1 ? v[0] : 0.299 * v[0] + 0.587 * v[1] + 0.114 * v[2];
                out[(size_t)oy * size + ox] = (unsigned char)(g + 0.5);
            } else {
                for (int c = 0; c < 3; c++)
                    out[((size_t)c * size + oy) * size + ox] = (unsigned char)(v[c] + 0.5);
            }
        }
}

static int cmp_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

clg_status clg_png_folder_load(const char *dir, int size, int channels, clg_dataset *out) {
    memset(out, 0, sizeof *out);
    if (size <= 0 || size > CLG_IMAGE_MAX_SIDE || (channels != 1 && channels != 3))
        return clg_fail(CLG_ERR_INVALID_ARG, "png folder: bad size %d (1..%d) or channels %d",
                        size, CLG_IMAGE_MAX_SIDE, channels);
    DIR *d = opendir(dir);
    if (!d) return clg_fail(CLG_ERR_IO, "cannot open folder %s: %s", dir, strerror(errno));
    char **names = NULL;
    int n = 0, cap = 0;
    clg_status rc = CLG_OK;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcasecmp(e->d_name + len - 4, ".png") != 0) continue;
        if (n == CLG_DATASET_MAX_IMAGES) {
            rc = clg_fail(CLG_ERR_INVALID_ARG, "%s holds more than %d .png files (clgan's limit)",
                          dir, CLG_DATASET_MAX_IMAGES);
            goto done;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            char **nn = realloc(names, (size_t)cap * sizeof *nn);
            if (!nn) {
                rc = clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory listing %s", dir);
                goto done;
            }
            names = nn;
        }
        if (!(names[n] = strdup(e->d_name))) {
            rc = clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory listing %s", dir);
            goto done;
        }
        n++;
    }
    if (n == 0) {
        rc = clg_fail(CLG_ERR_IO, "no .png files in %s (and no CIFAR-10 data_batch_1.bin: --data "
                      "takes a folder of PNG images or of CIFAR-10 binary batches)", dir);
        goto done;
    }
    qsort(names, (size_t)n, sizeof *names, cmp_names);
    size_t per = (size_t)channels * size * size;
    if ((size_t)n > CLG_DATASET_MAX_BYTES / per) {
        rc = clg_fail(CLG_ERR_INVALID_ARG, "%s: %d images of %dx%dx%d would pass clgan's limit "
                      "of %zu bytes of pixels", dir, n, channels, size, size,
                      CLG_DATASET_MAX_BYTES);
        goto done;
    }
    out->pixels = malloc(per * (size_t)n);
    if (!out->pixels) {
        rc = clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory for %d images", n);
        goto done;
    }
    for (int i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unsigned char *px;
        int w, h, ch;
        rc = clg_png_read(path, &px, &w, &h, &ch);
        if (rc != CLG_OK) goto done;
        crop_resize(px, w, h, ch, size, channels, out->pixels + per * (size_t)i);
        free(px);
    }
    out->n = n;
    out->c = channels;
    out->h = out->w = size;
done:
    closedir(d);
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
    if (rc != CLG_OK) clg_dataset_free(out);
    return rc;
}

/* 3x5 pixel digits for grid numbers, one row of 3 bits per line. */
static const unsigned char digit_font[10][5] = {
    {7, 5, 5, 5, 7}, {2, 6, 2, 2, 7}, {7, 1, 7, 4, 7}, {7, 1, 7, 1, 7}, {5, 5, 7, 1, 1},
    {7, 4, 7, 1, 7}, {7, 4, 7, 5, 7}, {7, 1, 1, 1, 1}, {7, 5, 7, 5, 7}, {7, 5, 7, 1, 7}};

/* Write `number` in white on black at (x0, y0) of an interleaved image. */
static void draw_number(unsigned char *px, int gw, int gh, int c, int x0, int y0, int number) {
    char digits[16];
    int nd = snprintf(digits, sizeof digits, "%d", number);
    int w = nd * 4 + 1, h = 7;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int on = 0, dx = x - 1, dy = y - 1;
            if (dx >= 0 && dy >= 0 && dy < 5 && dx % 4 < 3 && dx / 4 < nd)
                on = (digit_font[digits[dx / 4] - '0'][dy] >> (2 - dx % 4)) & 1;
            if (x0 + x >= gw || y0 + y >= gh) continue;
            for (int ch = 0; ch < c; ch++)
                px[((size_t)(y0 + y) * gw + (x0 + x)) * c + ch] = on ? 255 : 0;
        }
}

static clg_status write_grid(const char *path, const float *images, int n, int c, int h, int w,
                             int nrow, int numbered) {
    if (n <= 0 || (c != 1 && c != 3) || nrow <= 0)
        return clg_fail(CLG_ERR_INVALID_ARG, "grid %s: %d images of %d channels", path, n, c);
    const int pad = 2;
    int cols = n < nrow ? n : nrow, rows = (n + nrow - 1) / nrow;
    int gw = cols * (w + pad) + pad, gh = rows * (h + pad) + pad;
    unsigned char *px = calloc((size_t)gw * gh * c, 1);
    if (!px) return clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory for %s", path);
    for (int i = 0; i < n; i++) {
        int x0 = pad + (i % nrow) * (w + pad), y0 = pad + (i / nrow) * (h + pad);
        for (int ch = 0; ch < c; ch++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++) {
                    float v = images[(((size_t)i * c + ch) * h + y) * w + x];
                    v = (v + 1.0f) * 127.5f;
                    if (!(v >= 0.0f)) v = 0.0f; /* NaN too */
                    if (v > 255.0f) v = 255.0f;
                    px[((size_t)(y0 + y) * gw + (x0 + x)) * c + ch] = (unsigned char)(v + 0.5f);
                }
        if (numbered) draw_number(px, gw, gh, c, x0, y0, i);
    }
    clg_status s = clg_png_write(path, px, gw, gh, c);
    free(px);
    return s;
}

clg_status clg_png_write_grid(const char *path, const float *images, int n, int c, int h, int w,
                              int nrow) {
    return write_grid(path, images, n, c, h, w, nrow, 0);
}

clg_status clg_png_write_grid_numbered(const char *path, const float *images, int n, int c,
                                       int h, int w, int nrow) {
    return write_grid(path, images, n, c, h, w, nrow, 1);
}
