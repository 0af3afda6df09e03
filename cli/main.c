/* clrnn: the command-line tool. Dispatches to the subcommands in cli_*.c. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "clrnn.h"

static void usage(FILE *out)
{
    fprintf(out,
            "clrnn %s: train tanh RNNs on time series, on OpenCL devices or the CPU reference\n"
            "\n"
            "usage: clrnn <command> [options]   (clrnn <command> --help for its options)\n"
            "\n"
            "commands:\n"
            "  train       train on a CSV table (default: the bundled weather data)\n"
            "  eval        loss, RMSE and MAE of a saved model on a split\n"
            "  predict     a saved model's predictions for every full window of a table\n"
            "  export      a saved model's parameters as a numpy .npz\n"
            "  reproduce   the reference notebook's runs: 'reproduce toy', 'reproduce weather'\n"
            "  parity      run a batch on OpenCL and the CPU reference and compare every number\n"
            "  devices     list OpenCL platforms and devices\n"
            "  bench       training throughput of the CPU reference and OpenCL devices\n",
            clrnn_version());
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("clrnn %s\n", clrnn_version());
        return 0;
    }
    if (strcmp(cmd, "train") == 0)
        return cli_train(argc - 1, argv + 1);
    if (strcmp(cmd, "eval") == 0 || strcmp(cmd, "predict") == 0 || strcmp(cmd, "export") == 0)
        return cli_model(cmd, argc - 1, argv + 1);
    if (strcmp(cmd, "reproduce") == 0)
        return cli_reproduce(argc - 1, argv + 1);
    if (strcmp(cmd, "parity") == 0)
        return cli_parity(argc - 1, argv + 1);
    if (strcmp(cmd, "devices") == 0)
        return cli_devices(argc - 1, argv + 1);
    if (strcmp(cmd, "bench") == 0)
        return cli_bench(argc - 1, argv + 1);
    fprintf(stderr, "clrnn: unknown command '%s' (try clrnn --help)\n", cmd);
    return 2;
}
