/* clrnn devices: the OpenCL platforms and devices, numbered for --device. */
#include <stdio.h>

#include "cli.h"
#include "cli_args.h"
#include "clrnn.h"

static const cli_option options[] = {{NULL}};

const cli_command cli_devices_command = {
    .name = "clrnn devices",
    .about = "usage: clrnn devices\n"
             "\n"
             "Lists the OpenCL platforms and devices with their key limits. Pick one with\n"
             "--device opencl:P.D (platform P, device D as numbered here); --device auto\n"
             "(the default) takes the first GPU, else the first OpenCL device, else the\n"
             "CPU reference.\n",
    .options = options,
};

int cli_devices(int argc, char **argv)
{
    cli_args a;
    cli_status st = cli_parse(&a, &cli_devices_command, argc, argv, NULL);
    if (st != CLI_OK)
        return st;
    clrnn_error err;
    if (clrnn_list_devices(stdout, &err) != CLRNN_OK)
        return cli_error(cli_devices_command.name, &err);
    return CLI_OK;
}
