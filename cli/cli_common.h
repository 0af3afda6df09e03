/* Internal: what several clrnn subcommands share: loading data and models. */
#ifndef CLRNN_CLI_COMMON_H
#define CLRNN_CLI_COMMON_H

#include "clrnn.h"

#define CLI_MAX_COLUMNS 64

/* Reads the CSV and prepares the dataset; features and targets are
 * comma-separated column names. Prints the error and returns 0 on failure. */
int cli_load_dataset(const char *command, const char *path, const char *features,
                     const char *targets, clrnn_data_config config, clrnn_dataset **out);

/* The dataset a trained model reads: its features, targets, seq_len and
 * scaler statistics, from `path`, split by config's fractions. */
int cli_load_dataset_for_model(const char *command, const char *path, const clrnn_checkpoint *model,
                               clrnn_data_config config, clrnn_dataset **out);

/* Joins names with commas into buf. */
const char *cli_join(char *buf, size_t size, char *const *names, size_t n);

/* The naive forecast "tomorrow's X = today's X" next to the model's, over
 * the same cells: the targets named X_tomorrow whose X is a feature, at the
 * last step of each window of a split, in the data's units. */
typedef struct cli_baseline {
    double naive_rmse, naive_mae;
    double model_rmse, model_mae;
    size_t n_targets; /* targets covered */
    char names[256];  /* their names, comma-separated */
} cli_baseline;

/* predictions (n_windows, K) as clrnn_predict gives them. Returns 0 when no
 * target has such a feature. */
int cli_naive_baseline(const clrnn_dataset *data, clrnn_split split, const char *const *features,
                       const char *const *targets, const double *predictions, cli_baseline *out);

#endif
