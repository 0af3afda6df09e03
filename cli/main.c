/* clrnn: the command-line tool. Dispatches to the subcommands in cli_*.c. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_args.h"
#include "cli_mpi.h"
#include "cli_sweep.h"
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
            "  sweep       train many models (seeds, lists of settings): their table, the\n"
            "              best one, their mean\n"
            "  eval        loss, RMSE and MAE of a saved model on a split\n"
            "  predict     a saved model's predictions for every full window of a table\n"
            "  forecast    a saved model's predictions for the rows after the end of a table\n"
            "  explain     which inputs and lags a saved model's predictions rely on\n"
            "  export      a saved model's parameters and settings as a numpy .npz\n"
            "  reproduce   the reference notebook's runs: 'reproduce toy', 'reproduce weather'\n"
            "  parity      run a batch on OpenCL and the CPU reference and compare every number\n"
            "  devices     list OpenCL platforms and devices\n"
            "  bench       training throughput of the CPU reference and OpenCL devices\n"
            "  tune        search the kernels' tunables for a device; cache the fastest\n",
            clrnn_version());
}

/* 0 success (and --help), 1 a check failed (parity past tolerance), 2 bad
 * input or a failure, its message printed, 130 interrupted (Ctrl-C). */
static int exit_code(int status)
{
    switch (status) {
    case CLI_OK:
    case CLI_HELP_SHOWN:
        return 0;
    case CLI_CHECK_FAILED:
        return 1;
    case CLI_INTERRUPTED:
        return 130; /* 128 + SIGINT, as a shell reports it */
    default:
        return 2;
    }
}

static int run_command(int argc, char **argv)
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
    int many = 0; /* train --models N: a sweep over seeds */
    for (int i = 2; strcmp(cmd, "train") == 0 && i < argc; i++)
        many |= strcmp(argv[i], "--models") == 0 || strncmp(argv[i], "--models=", 9) == 0;
    if (many || strcmp(cmd, "sweep") == 0)
        return exit_code(cli_sweep(argc - 1, argv + 1, many));
    if (strcmp(cmd, "train") == 0)
        return exit_code(cli_train(argc - 1, argv + 1));
    /* Under mpirun only training shares its work; the rest runs on rank 0. */
    if (cli_dist_rank() != 0)
        return 0;
    if (strcmp(cmd, "eval") == 0 || strcmp(cmd, "predict") == 0 || strcmp(cmd, "export") == 0 ||
        strcmp(cmd, "forecast") == 0 || strcmp(cmd, "explain") == 0)
        return exit_code(cli_model(cmd, argc - 1, argv + 1));
    if (strcmp(cmd, "reproduce") == 0)
        return exit_code(cli_reproduce(argc - 1, argv + 1));
    if (strcmp(cmd, "parity") == 0)
        return exit_code(cli_parity(argc - 1, argv + 1));
    if (strcmp(cmd, "devices") == 0)
        return exit_code(cli_devices(argc - 1, argv + 1));
    if (strcmp(cmd, "bench") == 0)
        return exit_code(cli_bench(argc - 1, argv + 1));
    if (strcmp(cmd, "tune") == 0)
        return exit_code(cli_tune(argc - 1, argv + 1));
    fprintf(stderr, "clrnn: unknown command '%s' (try clrnn --help)\n", cmd);
    return 2;
}

int main(int argc, char **argv)
{
    /* Past a file-size limit (ulimit -f) a write then fails with EFBIG and
     * the command says which file, instead of dying with a core dump. */
    signal(SIGXFSZ, SIG_IGN);
    cli_dist_init(&argc, &argv); /* under mpirun: one rank of a data parallel run or a sweep */
    return cli_dist_finish(run_command(argc, argv));
}
