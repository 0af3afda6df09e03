/* Placeholder subcommands until the OpenCL work lands (cli_parity.c, cli_devices). */
#include <stdio.h>

#include "cli.h"

int cli_parity(int argc, char **argv)
{
    fprintf(stderr, "clrnn parity: not built yet\n");
    return 2;
}

int cli_devices(int argc, char **argv)
{
    fprintf(stderr, "clrnn devices: not built yet\n");
    return 2;
}
