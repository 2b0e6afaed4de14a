/* fuzz_idx.c: the IDX loader (plain or gzip) on an image file and a label
 * file. Input: a little-endian u32 n, then n bytes of the image file, then
 * the label file (none when nothing is left). */
#include "fuzz.h"
#include "dataset.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 4) return 0;
    size_t n = (size_t)data[0] | (size_t)data[1] << 8 | (size_t)data[2] << 16 |
               (size_t)data[3] << 24;
    data += 4;
    size -= 4;
    if (n > size) n = size;
    const char *images = fuzz_file(0, data, n);
    const char *labels = size > n ? fuzz_file(1, data + n, size - n) : NULL;
    clg_dataset d;
    if (clg_idx_load(images, labels, &d) != CLG_OK) return 0;
    volatile unsigned sum = 0;
    size_t px = (size_t)d.n * (size_t)d.c * (size_t)d.h * (size_t)d.w;
    for (size_t i = 0; i < px; i++) sum += d.pixels[i];
    for (int i = 0; d.labels && i < d.n; i++)
        if (d.labels[i] >= d.num_classes) abort();
    (void)sum;
    clg_dataset_free(&d);
    return 0;
}
