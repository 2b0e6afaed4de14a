/* fuzz_json.c: the JSON reader on any bytes, then a walk of what it built
 * (every string read back, keys looked up) and the escaping writer. */
#include "fuzz.h"
#include "json.h"

#include <stdlib.h>
#include <string.h>

static size_t walk(const clg_json *j) {
    size_t n = j->str ? strlen(j->str) : 0;
    for (int i = 0; i < j->count; i++) {
        n += walk(&j->items[i]);
        if (j->type == CLG_JSON_OBJECT && clg_json_get(j, j->keys[i]) == NULL) abort();
    }
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    clg_json j;
    if (clg_json_parse((const char *)data, size, &j) == CLG_OK) {
        (void)walk(&j);
        clg_json_free(&j);
    }
    char *s = malloc(size + 1), quoted[96];
    if (!s) return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    clg_json_quote(quoted, sizeof quoted, s);
    if (clg_json_parse(quoted, strlen(quoted), &j) == CLG_OK) clg_json_free(&j);
    free(s);
    return 0;
}
