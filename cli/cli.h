/* Internal: the subcommands of the clrnn command-line tool. Each returns a
 * cli_status (cli_args.h), which main.c turns into the exit code. */
#ifndef CLRNN_CLI_H
#define CLRNN_CLI_H

#include "cli_args.h"

int cli_train(int argc, char **argv);
int cli_reproduce(int argc, char **argv);
int cli_parity(int argc, char **argv);
int cli_devices(int argc, char **argv);
int cli_bench(int argc, char **argv);
int cli_tune(int argc, char **argv);
/* eval, predict, forecast, explain and export */
int cli_model(const char *command, int argc, char **argv);

/* The option tables, for the tests that check them. */
extern const cli_command cli_train_command, cli_eval_command, cli_predict_command,
    cli_export_command, cli_reproduce_command, cli_parity_command, cli_devices_command,
    cli_bench_command, cli_forecast_command, cli_tune_command, cli_sweep_command,
    cli_explain_command;

#endif
