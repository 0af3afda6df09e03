/* Internal: what several clrnn subcommands share: loading data and models. */
#ifndef CLRNN_CLI_COMMON_H
#define CLRNN_CLI_COMMON_H

#include "clrnn.h"

#define CLI_MAX_COLUMNS 64

/* Reads the CSV and prepares the dataset; features and targets are
 * comma-separated column names. Prints the error and returns 0 on failure. */
int cli_load_dataset(const char *command, const char *path, const char *features,
                     const char *targets, clrnn_data_config config, clrnn_dataset **out);

/* The dataset a trained model reads: its features, targets, seq_len,
 * scaler statistics and framing, from `path`, split as the model file says
 * (by config's fractions for a file that does not record them). */
int cli_load_dataset_for_model(const char *command, const char *path, const clrnn_checkpoint *model,
                               clrnn_data_config config, clrnn_dataset **out);

/* The bundled weather table: PREFIX/share/clrnn/clean_weather.csv beside an
 * installed clrnn, else the one in the source tree it was built from. */
const char *cli_default_data(void);

/* A model's feature names (or, with targets nonzero, its target names)
 * joined with commas into buf. */
const char *cli_join_columns(char *buf, size_t size, const clrnn_checkpoint *model, int targets);

/* A text field of a CSV row, quoted when it holds a comma, a quote or a
 * line end (a series id read from a quoted cell). */
void cli_csv_field(FILE *f, const char *s);

#endif
