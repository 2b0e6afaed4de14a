/* fuzz_tune.c: the tune-table parsers (conv variants and CLBlast's Xgemm
 * parameters) on every line of any text, split as the readers split it. A
 * line that parses must hold a variant the kernels accept. */
#define _GNU_SOURCE
#include "fuzz.h"
#include "conv_tune.h"
#include "gemm_tune.h"

#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    FILE *f = fmemopen((void *)data, size, "r");
    if (!f) return 0;
    char line[CLG_TUNE_LINE_MAX];
    while (fgets(line, sizeof line, f)) {
        clg_conv_tune_entry e;
        if (clg_conv_tune_parse_line(line, &e) &&
            (!clg_conv_algo_valid(&e.algo) || (e.is_default && !clg_conv_algo_valid(&e.from))))
            abort();
        clg_gemm_params p;
        if (clg_gemm_params_parse(line, &p)) {
            char text[96];
            clg_gemm_params_format(&p, text, sizeof text);
        }
    }
    fclose(f);
    return 0;
}
