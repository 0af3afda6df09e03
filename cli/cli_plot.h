/* Internal: the --plot SVG report of clrnn train. */
#ifndef CLRNN_CLI_PLOT_H
#define CLRNN_CLI_PLOT_H

#include <stddef.h>

#include "clrnn.h"

typedef struct cli_plot_data {
    const double *train_loss, *val_loss; /* (n_epochs) */
    size_t n_epochs;
    const double *truth, *prediction; /* (n_points) the first target over the test split */
    size_t n_points;
    const char *const *labels; /* (n_points) row labels (dates), or NULL */
    const char *target_name;
} cli_plot_data;

/* Writes the SVG atomically (temporary file, rename); 0 and err on failure. */
int cli_plot_svg(const char *path, const cli_plot_data *data, clrnn_error *err);

#endif
