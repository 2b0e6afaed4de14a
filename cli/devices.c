/* devices.c: `clgan devices`, the platform and device table. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_devices(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            printf("usage: clgan devices\n\n"
                   "Lists every OpenCL platform and device as P:D (platform:device), the\n"
                   "index that --device and CLGAN_DEVICE take. The default device (marked\n"
                   "*) is the first GPU, else the first device.\n");
            return 0;
        }
        fprintf(stderr, "clgan devices: unknown option '%s'\n", argv[i]);
        return 2;
    }
    clg_device_info *devs;
    int n;
    clg_status s = clg_devices_list(&devs, &n);
    if (s != CLG_OK) return cli_error(s, "listing devices");
    clg_device_info def;
    s = clg_device_select(NULL, &def);
    size_t cap = 4096 * (size_t)n;
    char *buf = malloc(cap);
    if (!buf) {
        free(devs);
        return cli_error(CLG_ERR_OUT_OF_MEMORY, "listing devices");
    }
    for (int i = 0; i < n; i++) {
        clg_devices_format(&devs[i], 1, buf, cap);
        int is_def = s == CLG_OK && def.device == devs[i].device;
        printf("%s%s", is_def ? "*" : " ", buf);
    }
    if (s != CLG_OK) fprintf(stderr, "note: default device: %s\n", clg_last_error());
    free(buf);
    free(devs);
    return 0;
}
