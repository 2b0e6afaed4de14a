/* json.h: a small strict JSON reader (RFC 8259) for file headers and
 * configs, and the string escaping writers need. Numbers are doubles
 * (exact for integers below 2^53). */
#ifndef CLG_JSON_H
#define CLG_JSON_H

#include "status.h"

#include <stdio.h>

typedef enum {
    CLG_JSON_NULL,
    CLG_JSON_BOOL,
    CLG_JSON_NUMBER,
    CLG_JSON_STRING,
    CLG_JSON_ARRAY,
    CLG_JSON_OBJECT
} clg_json_type;

typedef struct clg_json {
    clg_json_type type;
    double num;             /* NUMBER; BOOL as 0/1 */
    char *str;              /* STRING (NUL-terminated, unescaped) */
    struct clg_json *items; /* ARRAY elements or OBJECT values */
    char **keys;            /* OBJECT keys, parallel to items */
    int count;
} clg_json;

/* Parse text[0..len); on error the message gives the byte offset. */
clg_status clg_json_parse(const char *text, size_t len, clg_json *out);
void clg_json_free(clg_json *j);
/* The value for `key` in an object, or NULL. */
const clg_json *clg_json_get(const clg_json *obj, const char *key);
/* Write s as a JSON string literal (quoted, escaped). */
void clg_json_write_string(FILE *f, const char *s);
/* The same into buf (quotes included), cut short to fit cap. */
void clg_json_quote(char *buf, size_t cap, const char *s);

#endif
