/* Internal: clrnn explain's attributions and its files (cli_explain.c). */
#ifndef CLRNN_CLI_EXPLAIN_H
#define CLRNN_CLI_EXPLAIN_H

#include <stddef.h>

#include "clrnn.h"

typedef struct cli_explain_job {
    const char *command;            /* for messages: "clrnn explain" */
    clrnn_backend *const *backends; /* a model's, or an ensemble's members' */
    size_t n_backends;              /* (the gradient of their mean prediction) */
    const clrnn_dataset *data;      /* staged on every backend */
    clrnn_split split;              /* whose windows */
    const char *split_name;         /* "test", "all" ... */
    size_t batch;                   /* windows a call, at most the backends' max_batch */
    const char *out, *plot;         /* the CSV; the SVG heat map or NULL */
} cli_explain_job;

/* For every output k, input feature f and lag (0: the window's last row,
 * up to seq_len - 1), over the split's windows: the mean of |g|, of g and
 * of g x, g the gradient of the window's prediction of k (in the target's
 * units) with respect to its input f at that lag as the model sees it
 * (scaled), x that scaled input. Writes the CSV (and the plot), prints a
 * summary; 0 after an error message. */
int cli_explain_run(const cli_explain_job *job);

#endif
