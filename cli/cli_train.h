/* Internal: clrnn train, in three files: its options (cli_train_options.c),
 * the run (cli_train_run.c) and what it reports (cli_train_report.c). */
#ifndef CLRNN_CLI_TRAIN_H
#define CLRNN_CLI_TRAIN_H

#include <stdio.h>

#include "cli_args.h"
#include "cli_common.h"
#include "clrnn.h"
#include "io/files.h"

#define TRAIN_MAX_LAYERS CLI_MAX_LAYERS
#define TRAIN_MAX_HORIZONS 32

typedef struct train_options {
    const char *data, *features, *targets;
    clrnn_data_config data_cfg;
    size_t horizons[TRAIN_MAX_HORIZONS]; /* data_cfg.horizons points here */
    cli_layers layers;                   /* none: one layer of `hidden` units */
    size_t hidden;
    clrnn_train_config train;
    clrnn_backend_config backend;
    const char *save, *resume, *log_csv, *log_json, *plot;
    int quiet;
    int verbose;   /* the OpenCL compiler's warnings, on stderr */
    cli_args args; /* which options were given: on --resume they override */
} train_options;

/* What the epoch callback needs: files, history, the checkpoint to save. */
typedef struct train_run {
    const train_options *o;
    const clrnn_dataset *data;     /* what the checkpoints' names and statistics come from */
    atomic_out log_csv, log_json;  /* written as epochs end, in place when the run ends */
    double *train_loss, *val_loss; /* (history_cap) history for the plot, NaN where none */
    size_t history_cap;
    size_t epochs_saved;           /* the epoch of the last save, 0 before any */
    int progress;                  /* draw a progress line on the terminal */
    double last_loss;              /* the last epoch's, shown while the next one runs */
    double epoch_start, last_draw; /* seconds, for the progress line's rate */
    clrnn_backend *backend;        /* asked how far it really is (clrnn_backend_finish) */
    size_t next_sync;              /* windows enqueued when it is asked next */
} train_run;

/* Everything one training run owns; released by job_free. */
typedef struct train_job {
    train_options *o;
    clrnn_checkpoint *resumed; /* --resume's file; NULL otherwise */
    clrnn_dataset *data;
    clrnn_model *model;
    clrnn_backend *backend;
    train_run run;
    char features[2048], targets[2048]; /* the resumed model's columns */
    int interrupted;                    /* stopped by Ctrl-C */
} train_job;

/* The options, checked: the output files can be written. CLI_OK to go on. */
cli_status train_parse(train_options *o, int argc, char **argv);

void train_print_data_summary(const train_options *o, const clrnn_dataset *data);
/* Opens a log file (with its header line, when not NULL); 0 after a message. */
int train_open_log(atomic_out *log, const char *path, const char *header);
void train_log_epoch(const train_run *run, const clrnn_epoch_stats *s);
/* Puts the open logs in place; 0 after a message naming each file that could
 * not be written (a full disk, a file-size limit). */
int train_close_logs(train_run *run);
/* Test metrics next to the baselines (naive, seasonal naive, ridge). */
int train_report_test(train_job *job);
/* --series (cli_train_series.c): the test split's figures per series from
 * its predictions (n_windows, K): printed, and into --log's FILE_series.csv
 * and --log-json. 0 after a message. */
int train_report_series(train_job *job, const double *predictions);
/* --series: how many, how they are split and scaled (for the data summary). */
void train_print_series(const train_options *o, const clrnn_dataset *data);
/* --plot (cli_train_plot.c): the loss curves of the epochs done, the kept
 * epoch marked, and every output over the test split with its baselines;
 * note (NULL for none) says why training stopped. */
int train_write_plot(train_job *job, const clrnn_train_report *report, const char *note);

#endif
