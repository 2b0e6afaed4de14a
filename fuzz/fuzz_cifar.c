/* fuzz_cifar.c: the CIFAR-10 batch loader on any file. */
#include "fuzz.h"
#include "dataset.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_file(0, data, size);
    clg_dataset d;
    if (clg_cifar10_load(&path, 1, &d) != CLG_OK) return 0;
    if (d.c != 3 || d.h != 32 || d.w != 32) abort();
    for (int i = 0; i < d.n; i++)
        if (d.labels[i] >= d.num_classes) abort();
    volatile unsigned sum = d.pixels[(size_t)d.n * 3072 - 1];
    (void)sum;
    clg_dataset_free(&d);
    return 0;
}
