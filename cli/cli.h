/* cli.h: the commands of build/clgan and their shared helpers. */
#ifndef CLG_CLI_H
#define CLG_CLI_H

#include "runtime.h"

int cli_devices(int argc, char **argv);
int cli_selfcheck(int argc, char **argv);
int cli_bench(int argc, char **argv);

/* Print "clgan: WHAT failed: STATUS\n  message" and return 1. */
int cli_error(clg_status s, const char *what);
int cli_is_help(const char *arg);
/* If argv[*i] is --device/-d (consuming its value) set *device and return 1;
 * 0 if it is not; -1 (after a message) if the value is missing. */
int cli_parse_device(int argc, char **argv, int *i, const char **device);

#endif
