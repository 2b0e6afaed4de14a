/* fuzz.h: what the libFuzzer targets share. Each target hands the fuzzer's
 * bytes to a real clgan reader; readers that take a path get the bytes as a
 * file (an in-memory file, /proc/self/fd/N, rewritten each run).
 *
 * Built by `make fuzz` with clang -fsanitize=fuzzer,address,undefined; not
 * part of the library. */
#ifndef CLG_FUZZ_H
#define CLG_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A path whose file holds exactly data[0..size); the same path each call
 * of one process (slot 0 or 1 for a target that needs two files). */
const char *fuzz_file(int slot, const uint8_t *data, size_t size);

#endif
