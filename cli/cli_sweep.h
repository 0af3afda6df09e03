/* Internal: clrnn sweep (and clrnn train --models N): many models on one
 * staged dataset, their table, the best one and their mean; and the
 * ensemble file that eval, predict and forecast read
 * (docs/checkpoint-format.md). */
#ifndef CLRNN_CLI_SWEEP_H
#define CLRNN_CLI_SWEEP_H

#include <stddef.h>

#include "clrnn.h"

/* from_train: called as clrnn train --models N (its messages say so). */
int cli_sweep(int argc, char **argv, int from_train);

/* The first line of an ensemble file. */
#define CLI_ENSEMBLE_MAGIC "clrnn-ensemble 1"
#define CLI_ENSEMBLE_MAX_MEMBERS 4096

/* Does the file at path begin with CLI_ENSEMBLE_MAGIC? */
int cli_ensemble_is_file(const char *path);
/* Its members' paths (relative ones from the file's folder), malloc'ed
 * into *paths (free each, then the array); 0 after one line naming
 * command and the file. */
int cli_ensemble_read(const char *command, const char *path, char ***paths, size_t *n);
/* RMSE and MAE of predictions (n_windows, K) of a split's windows, pooled
 * over observed cells at each window's last step, in target units: what
 * clrnn_evaluate gives for a model's own predictions. */
void cli_score_predictions(const clrnn_dataset *data, clrnn_split split, const double *pred,
                           double *rmse, double *mae);

#endif
