/* Internal: the --plot SVG report of clrnn train (cli_plot.c). */
#ifndef CLRNN_CLI_PLOT_H
#define CLRNN_CLI_PLOT_H

#include <stddef.h>

#include "clrnn.h"

/* Predictions drawn beside the model's and scored like them: a baseline's. */
typedef struct cli_plot_series {
    const char *name;     /* for the legend and the figures: "naive (tomorrow = today)" */
    const double *values; /* (n_points, n_outputs) in the targets' units; NaN where it has
                             none (a baseline that covers some outputs only) */
} cli_plot_series;

/* A line of figures written under the report's title, as given: the
 * numbers printed after training (pooled over outputs, say). */
typedef struct cli_plot_metric {
    const char *name; /* "model, test split", "naive (tomorrow = today) on tmax_tomorrow" */
    double rmse, mae; /* NaN: not written */
} cli_plot_metric;

#define CLI_PLOT_MAX_SERIES 8
#define CLI_PLOT_MAX_OUTPUTS 32 /* outputs drawn; past that the report says how many are not */

typedef struct cli_plot_data {
    const char *title; /* of the report; NULL: "clrnn train" */
    /* Loss curves. */
    const double *train_loss, *val_loss; /* (n_epochs), NaN where none */
    size_t n_epochs;
    size_t kept_epoch; /* marked on the curves (the epoch --patience kept); 0: none */
    const char *note;  /* written in red under the title (why training stopped); NULL */
    /* The test split: one group of panels an output (all of it, the last
     * part of it, prediction - truth). n_points 0: the loss curves alone. */
    size_t n_points, n_outputs;
    const double *truth, *prediction; /* (n_points, n_outputs), NaN where none */
    const char *const *output_names;  /* (n_outputs) "tmax_tomorrow", "tmax+7" */
    /* The x axis: the predicted row of each point, for each output. The
     * row's date where every point of an output has a time, else the row
     * label at the ticks where every point has one, else the row number. */
    const size_t *rows;        /* (n_points, n_outputs); NULL: 0, 1, 2 ... */
    const double *times;       /* (n_points, n_outputs) seconds since 1970-01-01 UTC,
                                  NaN where unknown; NULL: none */
    const char *const *labels; /* (n_points, n_outputs) row labels; NULL: none */
    /* Baselines: drawn, and their RMSE and MAE written, in every output's
     * group beside the model's. */
    const cli_plot_series *series;
    size_t n_series; /* at most CLI_PLOT_MAX_SERIES */
    const cli_plot_metric *metrics;
    size_t n_metrics;
} cli_plot_data;

/* Writes the SVG atomically (temporary file, rename); 0 and err on failure. */
int cli_plot_svg(const char *path, const cli_plot_data *data, clrnn_error *err);

/* clrnn explain --plot: a heat map a panel an output, input features as
 * rows and lags as columns (lag 0, the window's last row, on the left),
 * each cell shaded by its value's share of the panel's largest |value|
 * (white 0 to full red for a positive value, blue for a negative one),
 * its value written in it. */
typedef struct cli_heatmap {
    const char *title;    /* of the figure */
    const char *subtitle; /* a line under it: what the values are */
    size_t n_outputs, n_features, n_lags;
    const double *values;             /* (n_outputs, n_features, n_lags) */
    const char *const *output_names;  /* (n_outputs) */
    const char *const *feature_names; /* (n_features) */
} cli_heatmap;

/* Writes it atomically; 0 and err on failure. */
int cli_plot_heatmap_svg(const char *path, const cli_heatmap *h, clrnn_error *err);

#endif
