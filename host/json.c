/* json.c: recursive-descent JSON parser with a depth limit, and escaping. */
#include "json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *s;
    size_t len, pos;
    int depth;
} parser;

#define MAX_DEPTH 64

static clg_status perr(const parser *p, const char *what) {
    return clg_fail(CLG_ERR_FORMAT, "JSON: %s at byte %zu", what, p->pos);
}

static void skip_ws(parser *p) {
    while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
                               p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
        p->pos++;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Bytes up to the closing quote (escapes skipped), or the rest: the
 * unescaped string is never longer, so its buffer is sized by this and a
 * header of many short strings costs memory in proportion to itself. */
static size_t string_span(const parser *p) {
    size_t i = p->pos;
    while (i < p->len && p->s[i] != '"') i += p->s[i] == '\\' ? 2 : 1;
    return (i < p->len ? i : p->len) - p->pos;
}

static clg_status parse_string(parser *p, char **out) {
    *out = NULL;
    p->pos++; /* opening quote */
    char *buf = malloc(string_span(p) + 1);
    if (!buf) return clg_fail(CLG_ERR_OUT_OF_MEMORY, "JSON: out of host memory");
    size_t n = 0;
    while (p->pos < p->len) {
        unsigned char c = (unsigned char)p->s[p->pos++];
        if (c == '"') {
            buf[n] = '\0';
            *out = buf;
            return CLG_OK;
        }
        if (c < 0x20) {
            free(buf);
            return perr(p, "control character in string");
        }
        if (c != '\\') {
            buf[n++] = (char)c;
            continue;
        }
        if (p->pos >= p->len) break;
        char e = p->s[p->pos++];
        switch (e) {
        case '"': buf[n++] = '"'; break;
        case '\\': buf[n++] = '\\'; break;
        case '/': buf[n++] = '/'; break;
        case 'b': buf[n++] = '\b'; break;
        case 'f': buf[n++] = '\f'; break;
        case 'n': buf[n++] = '\n'; break;
        case 'r': buf[n++] = '\r'; break;
        case 't': buf[n++] = '\t'; break;
        case 'u': {
            unsigned cp = 0;
            for (int i = 0; i < 4; i++) {
                int h = p->pos < p->len ? hexval(p->s[p->pos]) : -1;
                if (h < 0) {
                    free(buf);
                    return perr(p, "bad \\u escape");
                }
                cp = cp * 16 + (unsigned)h;
                p->pos++;
            }
            if (cp == 0) { /* a NUL would cut the string short (and shadow another) */
                free(buf);
                return perr(p, "\\u0000 in a string");
            }
            /* Encode as UTF-8 (surrogate pairs are kept as two 3-byte units). */
            if (cp < 0x80) buf[n++] = (char)cp;
            else if (cp < 0x800) {
                buf[n++] = (char)(0xC0 | (cp >> 6));
                buf[n++] = (char)(0x80 | (cp & 0x3F));
            } else {
                buf[n++] = (char)(0xE0 | (cp >> 12));
                buf[n++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                buf[n++] = (char)(0x80 | (cp & 0x3F));
            }
            break;
        }
        default: free(buf); return perr(p, "bad escape in string");
        }
    }
    free(buf);
    return perr(p, "unterminated string");
}

static clg_status parse_value(parser *p, clg_json *v);

static int cmp_key(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A key may appear once per object (else a reader's "first wins" and
 * another's "last wins" see different files); checked by sorting. */
static clg_status check_unique_keys(const parser *p, const clg_json *v) {
    if (v->count < 2) return CLG_OK;
    const char **keys = malloc((size_t)v->count * sizeof *keys);
    if (!keys) return clg_fail(CLG_ERR_OUT_OF_MEMORY, "JSON: out of host memory");
    memcpy(keys, v->keys, (size_t)v->count * sizeof *keys);
    qsort(keys, (size_t)v->count, sizeof *keys, cmp_key);
    clg_status rc = CLG_OK;
    for (int i = 1; i < v->count && rc == CLG_OK; i++)
        if (!strcmp(keys[i], keys[i - 1]))
            rc = clg_fail(CLG_ERR_FORMAT, "JSON: key \"%.60s\" appears twice in an object "
                          "(before byte %zu)", keys[i], p->pos);
    free(keys);
    return rc;
}

static clg_status parse_container(parser *p, clg_json *v, int is_obj) {
    v->type = is_obj ? CLG_JSON_OBJECT : CLG_JSON_ARRAY;
    p->pos++;
    int cap = 0;
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == (is_obj ? '}' : ']')) {
        p->pos++;
        return CLG_OK;
    }
    for (;;) {
        if (v->count == cap) {
            cap = cap ? cap * 2 : 8;
            clg_json *items = realloc(v->items, (size_t)cap * sizeof *items);
            if (!items) return clg_fail(CLG_ERR_OUT_OF_MEMORY, "JSON: out of host memory");
            v->items = items;
            if (is_obj) {
                char **keys = realloc(v->keys, (size_t)cap * sizeof *keys);
                if (!keys) return clg_fail(CLG_ERR_OUT_OF_MEMORY, "JSON: out of host memory");
                v->keys = keys;
            }
        }
        skip_ws(p);
        if (is_obj) {
            if (p->pos >= p->len || p->s[p->pos] != '"') return perr(p, "expected a key");
            CLG_TRY(parse_string(p, &v->keys[v->count]));
            skip_ws(p);
            if (p->pos >= p->len || p->s[p->pos] != ':') {
                free(v->keys[v->count]);
                return perr(p, "expected ':'");
            }
            p->pos++;
        }
        clg_status s = parse_value(p, &v->items[v->count]);
        if (s != CLG_OK) {
            /* The failed element is not counted yet: free what it holds. */
            clg_json_free(&v->items[v->count]);
            if (is_obj) free(v->keys[v->count]);
            return s;
        }
        v->count++;
        skip_ws(p);
        if (p->pos < p->len && p->s[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->pos < p->len && p->s[p->pos] == (is_obj ? '}' : ']')) {
            p->pos++;
            return is_obj ? check_unique_keys(p, v) : CLG_OK;
        }
        return perr(p, is_obj ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static clg_status parse_value(parser *p, clg_json *v) {
    memset(v, 0, sizeof *v);
    skip_ws(p);
    if (p->pos >= p->len) return perr(p, "unexpected end");
    char c = p->s[p->pos];
    if (c == '{' || c == '[') {
        if (++p->depth > MAX_DEPTH) return perr(p, "nesting too deep");
        clg_status s = parse_container(p, v, c == '{');
        p->depth--;
        return s;
    }
    if (c == '"') {
        v->type = CLG_JSON_STRING;
        return parse_string(p, &v->str);
    }
    static const struct {
        const char *word;
        clg_json_type t;
        double num;
    } words[] = {{"true", CLG_JSON_BOOL, 1}, {"false", CLG_JSON_BOOL, 0}, {"null", CLG_JSON_NULL, 0}};
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(words[i].word);
        if (p->len - p->pos >= n && memcmp(p->s + p->pos, words[i].word, n) == 0) {
            v->type = words[i].t;
            v->num = words[i].num;
            p->pos += n;
            return CLG_OK;
        }
    }
    /* Number: validate the grammar, then convert. */
    size_t start = p->pos;
    if (p->s[p->pos] == '-') p->pos++;
    size_t digits = p->pos;
    while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') p->pos++;
    if (p->pos == digits) return perr(p, "unexpected character");
    if (p->s[digits] == '0' && p->pos - digits > 1) return perr(p, "leading zero in number");
    if (p->pos < p->len && p->s[p->pos] == '.') {
        size_t f = ++p->pos;
        while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') p->pos++;
        if (p->pos == f) return perr(p, "digits expected after '.'");
    }
    if (p->pos < p->len && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) {
        p->pos++;
        if (p->pos < p->len && (p->s[p->pos] == '+' || p->s[p->pos] == '-')) p->pos++;
        size_t e = p->pos;
        while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') p->pos++;
        if (p->pos == e) return perr(p, "digits expected in exponent");
    }
    char tmp[64];
    size_t n = p->pos - start;
    if (n >= sizeof tmp) return perr(p, "number too long");
    memcpy(tmp, p->s + start, n);
    tmp[n] = '\0';
    v->type = CLG_JSON_NUMBER;
    v->num = strtod(tmp, NULL);
    if (!isfinite(v->num)) return perr(p, "number out of range");
    return CLG_OK;
}

clg_status clg_json_parse(const char *text, size_t len, clg_json *out) {
    parser p = {text, len, 0, 0};
    clg_status s = parse_value(&p, out);
    if (s == CLG_OK) {
        skip_ws(&p);
        if (p.pos != p.len) s = perr(&p, "trailing characters after the value");
    }
    if (s != CLG_OK) {
        clg_json_free(out);
        /* Keep the parse error's message (clg_json_free does not touch it). */
    }
    return s;
}

void clg_json_free(clg_json *j) {
    if (!j) return;
    free(j->str);
    for (int i = 0; i < j->count; i++) {
        clg_json_free(&j->items[i]);
        if (j->keys) free(j->keys[i]);
    }
    free(j->items);
    free(j->keys);
    memset(j, 0, sizeof *j);
}

const clg_json *clg_json_get(const clg_json *obj, const char *key) {
    if (!obj || obj->type != CLG_JSON_OBJECT) return NULL;
    for (int i = 0; i < obj->count; i++)
        if (strcmp(obj->keys[i], key) == 0) return &obj->items[i];
    return NULL;
}

void clg_json_write_string(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c == '\n') fputs("\\n", f);
        else if (c < 0x20) fprintf(f, "\\u%04x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

void clg_json_quote(char *buf, size_t cap, const char *s) {
    if (cap < 3) {
        if (cap) buf[0] = '\0';
        return;
    }
    size_t n = 0;
    buf[n++] = '"';
    for (; *s && n + 8 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') n += (size_t)snprintf(buf + n, cap - n, "\\%c", c);
        else if (c == '\n') n += (size_t)snprintf(buf + n, cap - n, "\\n");
        else if (c < 0x20) n += (size_t)snprintf(buf + n, cap - n, "\\u%04x", c);
        else buf[n++] = (char)c;
    }
    buf[n++] = '"';
    buf[n] = '\0';
}
