/* fuzz_png.c: the PNG reader, then the PNG-folder loader (centre crop and
 * area resize) on a folder holding the same bytes as its one image. The
 * first byte picks the loader's size (1..32) and channels (1 or 3). */
#include "fuzz.h"
#include "dataset.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char dir[64], link_path[96];

static void remove_dir(void) {
    unlink(link_path);
    rmdir(dir);
}

/* A folder whose one .png is a link to the fuzzer's in-memory file. */
static void make_dir(const char *target) {
    snprintf(dir, sizeof dir, "/tmp/clgan-fuzz-png-XXXXXX");
    if (!mkdtemp(dir)) abort();
    snprintf(link_path, sizeof link_path, "%s/a.png", dir);
    if (symlink(target, link_path) != 0) abort();
    atexit(remove_dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int size_out = 1 + (data[0] & 31), channels = data[0] & 32 ? 3 : 1;
    const char *path = fuzz_file(0, data + 1, size - 1);
    if (!dir[0]) make_dir(path);
    unsigned char *px;
    int w, h, ch;
    if (clg_png_read(path, &px, &w, &h, &ch) == CLG_OK) {
        volatile unsigned sum = px[(size_t)w * h * ch - 1];
        (void)sum;
        free(px);
    }
    clg_dataset d;
    if (clg_png_folder_load(dir, size_out, channels, &d) == CLG_OK) {
        if (d.n != 1 || d.c != channels || d.h != size_out) abort();
        clg_dataset_free(&d);
    }
    return 0;
}
