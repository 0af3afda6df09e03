/* clrnn devices: the OpenCL platforms and devices, numbered for --device. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_args.h"
#include "clrnn.h"

int cli_devices(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: clrnn devices\n"
                   "\n"
                   "Lists the OpenCL platforms and devices with their key limits. Pick one with\n"
                   "--device opencl:P.D (platform P, device D as numbered here); --device auto\n"
                   "(the default) takes the first GPU, else the first OpenCL device, else the\n"
                   "CPU reference.\n");
            return 0;
        }
        fprintf(stderr, "clrnn devices: unknown option '%s' (see clrnn devices --help)\n", argv[i]);
        return 2;
    }
    clrnn_error err;
    if (clrnn_list_devices(stdout, &err) != CLRNN_OK)
        return cli_error("clrnn devices", &err);
    return 0;
}
