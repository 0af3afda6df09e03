/* Internal: the baselines' lines after a split's metrics (train's report
 * and eval). */
#ifndef CLRNN_CLI_BASELINES_H
#define CLRNN_CLI_BASELINES_H

#include "clrnn.h"

/* Prints each baseline of a split on its own line in the form of the
 * model's (its name, RMSE, MAE), then a plain sentence for each one the
 * model does not beat; with several outputs, each output's figures too.
 * predictions (n_windows, K) are the model's, as clrnn_predict gives them;
 * season 0 takes the dataset's (none: no seasonal naive line). A baseline
 * that cannot be made (a window too wide for the ridge) says so on its
 * line. Returns 0 after a message on stderr for an error that stops the
 * command (out of memory). */
int cli_print_baselines(const char *command, const clrnn_dataset *data, clrnn_split split,
                        const double *predictions, size_t season);

/* The same after the model's predictions of the split are made here, in
 * batches of `batch` windows (eval's one call). */
int cli_report_baselines(const char *command, clrnn_backend *backend, const clrnn_dataset *data,
                         clrnn_split split, size_t batch, size_t season);

#endif
