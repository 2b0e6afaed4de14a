/* opts.c: the flag parser (see opts.h). */
#include "opts.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print_default(const cli_opt *o) {
    switch (o->type) {
    case OPT_INT: printf(" (default %d)", *(int *)o->ptr); break;
    case OPT_LONG: printf(" (default %ld)", *(long *)o->ptr); break;
    case OPT_U64: printf(" (default %llu)", (unsigned long long)*(uint64_t *)o->ptr); break;
    case OPT_FLOAT: printf(" (default %g)", *(float *)o->ptr); break;
    case OPT_DOUBLE: printf(" (default %g)", *(double *)o->ptr); break;
    case OPT_STR:
        if (*(const char **)o->ptr) printf(" (default %s)", *(const char **)o->ptr);
        break;
    case OPT_FLAG: break;
    }
}

static int set_value(const char *cmd, const cli_opt *o, const char *v) {
    char *end = NULL;
    errno = 0;
    switch (o->type) {
    case OPT_INT: {
        long x = strtol(v, &end, 10);
        if (*v && !*end && !errno && x >= -2147483647L && x <= 2147483647L) {
            *(int *)o->ptr = (int)x;
            return 0;
        }
        break;
    }
    case OPT_LONG: {
        long x = strtol(v, &end, 10);
        if (*v && !*end && !errno) {
            *(long *)o->ptr = x;
            return 0;
        }
        break;
    }
    case OPT_U64: {
        unsigned long long x = strtoull(v, &end, 10);
        if (*v && !*end && !errno && v[0] != '-') {
            *(uint64_t *)o->ptr = x;
            return 0;
        }
        break;
    }
    case OPT_FLOAT:
    case OPT_DOUBLE: {
        double x = strtod(v, &end);
        if (*v && !*end && !errno && isfinite(x)) {
            if (o->type == OPT_FLOAT) *(float *)o->ptr = (float)x;
            else *(double *)o->ptr = x;
            return 0;
        }
        break;
    }
    case OPT_STR:
        /* "--out --resume": the value is the next flag, not a name (write
         * --out=--odd to mean one); and an empty name means nothing. */
        if (!strncmp(v, "--", 2) || !*v) {
            fprintf(stderr, "clgan %s: %s needs a value, not '%s' (write %s=VALUE for a value "
                    "that starts with --)\n", cmd, o->name, v, o->name);
            return 2;
        }
        *(const char **)o->ptr = v;
        return 0;
    case OPT_FLAG: break;
    }
    fprintf(stderr, "clgan %s: %s wants a %s, not '%s'\n", cmd, o->name,
            o->type == OPT_FLOAT || o->type == OPT_DOUBLE ? "number" : "whole number", v);
    return 2;
}

int cli_parse(const char *cmd, const char *usage, int argc, char **argv, const cli_opt *opts,
              int nopts, const char **positional, int max_pos, int *npos) {
    int np = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            printf("%s\noptions:\n", usage);
            for (int k = 0; k < nopts; k++) {
                printf("  %-18s %s", opts[k].name, opts[k].help);
                print_default(&opts[k]);
                if (opts[k].alias) printf(" [also %s]", opts[k].alias);
                printf("\n");
            }
            return -1;
        }
        if (a[0] != '-' || a[1] == '\0') {
            if (np >= max_pos) {
                fprintf(stderr, "clgan %s: unexpected argument '%s' (see clgan %s --help)\n",
                        cmd, a, cmd);
                return 2;
            }
            positional[np++] = a;
            continue;
        }
        const char *eq = strchr(a, '=');
        size_t len = eq ? (size_t)(eq - a) : strlen(a);
        const cli_opt *o = NULL;
        for (int k = 0; k < nopts && !o; k++)
            if ((strlen(opts[k].name) == len && !strncmp(a, opts[k].name, len)) ||
                (opts[k].alias && strlen(opts[k].alias) == len && !strncmp(a, opts[k].alias, len)))
                o = &opts[k];
        if (!o) {
            fprintf(stderr, "clgan %s: unknown option '%.*s' (see clgan %s --help)\n", cmd,
                    (int)len, a, cmd);
            return 2;
        }
        if (o->type == OPT_FLAG) {
            if (eq) {
                fprintf(stderr, "clgan %s: %s takes no value\n", cmd, o->name);
                return 2;
            }
            *(int *)o->ptr = 1;
            continue;
        }
        const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!v) {
            fprintf(stderr, "clgan %s: %s needs a value\n", cmd, o->name);
            return 2;
        }
        /* --name=VALUE says what it means: any string, "--" first included. */
        if (eq && o->type == OPT_STR && *v) {
            *(const char **)o->ptr = v;
            continue;
        }
        int r = set_value(cmd, o, v);
        if (r) return r;
    }
    *npos = np;
    return 0;
}
