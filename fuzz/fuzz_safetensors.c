/* fuzz_safetensors.c: the checkpoint reader on any file; on success every
 * tensor is found by name and read whole (ASan checks its bytes lie in the
 * file), and every metadata value by key. */
#include "fuzz.h"
#include "safetensors.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    clg_safetensors st;
    if (clg_safetensors_read(fuzz_file(0, data, size), &st) != CLG_OK) return 0;
    volatile float sum = 0.0f;
    for (int i = 0; i < st.count; i++) {
        const clg_st_entry *e = clg_safetensors_find(&st, st.entries[i].name);
        if (!e) abort();
        for (size_t k = 0; k < e->numel; k++) sum += e->data[k];
    }
    for (int i = 0; i < st.nmeta; i++)
        if (!clg_safetensors_meta(&st, st.meta_keys[i])) abort();
    (void)sum;
    clg_safetensors_free(&st);
    return 0;
}
