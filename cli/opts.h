/* opts.h: a table-driven flag parser for the commands: --name VALUE or
 * --name=VALUE, aliases (pytorch/examples spellings), strict number parsing,
 * --help generated from the table. */
#ifndef CLG_OPTS_H
#define CLG_OPTS_H

#include <stdint.h>

typedef enum { OPT_INT, OPT_LONG, OPT_U64, OPT_FLOAT, OPT_DOUBLE, OPT_STR, OPT_FLAG } opt_type;

typedef struct {
    const char *name;  /* "--batch-size" */
    const char *alias; /* "--batchSize" or NULL */
    opt_type type;
    void *ptr;
    const char *help;  /* shown by --help, with the default */
} cli_opt;

/* Parses argv[1..argc) (argv[0] is the command). Positional arguments go to
 * positional[0..max_pos) and *npos. Returns 0 to go on, -1 after printing
 * --help (exit 0), 2 after printing an error (exit 2). */
int cli_parse(const char *cmd, const char *usage, int argc, char **argv, const cli_opt *opts,
              int nopts, const char **positional, int max_pos, int *npos);

#endif
