/*
 * Internal: carried hidden state (truncated BPTT) over a dataset
 * (stateful.c; README, "Stateful training").
 *
 * Training: each series' rows of the training split are cut into
 * consecutive, non-overlapping windows of T rows (from the series' first
 * training window on; rows left over at the end, fewer than T, are not
 * trained on). The W windows, series after series, are dealt into B
 * contiguous streams: stream j takes the next W / B windows, one more for
 * j < W mod B. Batch k holds window k of every stream that has one (streams
 * 0 .. m-1: a prefix, so window positions keep their stream), and each
 * window starts from the last h its stream's window before it ended with.
 * A window starts from 0 where it starts a stream (every epoch) or its
 * series (a stream may run on into the next series: the state does not).
 *
 * Predictions (stateful_pass): one pass over a series from its first row,
 * windows of T back to back with the state carried (one stream), so the
 * output at every row has seen all the series' rows before it; a tail of
 * fewer than T rows runs as the window on the series' last T rows, from
 * the state the pass had before its first row. stateful_outputs runs the
 * series side by side, a stream each (as many as a batch holds).
 */
#ifndef CLRNN_STATEFUL_H
#define CLRNN_STATEFUL_H

#include <stdint.h>

#include "clrnn.h"

typedef struct stateful_plan {
    uint32_t *order;      /* (W) window starts, batch after batch: batch k at k B */
    unsigned char *reset; /* (W) 1: the window starts from 0 */
    size_t n_windows;     /* W */
    size_t streams;       /* B */
} stateful_plan;

/* The plan of a split's training windows for `streams` streams; a split
 * of fewer windows than streams: CLRNN_E_INPUT naming `batch`. */
clrnn_status stateful_plan_make(stateful_plan *plan, const clrnn_dataset *data, clrnn_split split,
                                size_t streams, clrnn_error *err);
void stateful_plan_free(stateful_plan *plan);

/* out (end - first, K): the top layer's outputs at rows first .. end-1 of
 * one series (scaled units, as trained), from one stateful pass over its
 * rows from `first` (the backend must be stateful and hold the data). */
clrnn_status stateful_pass(clrnn_backend *backend, const clrnn_dataset *data, size_t first,
                           size_t end, double *out, clrnn_error *err);

/* out (R, K): stateful_pass over every series of the data (NaN in a series
 * shorter than T), up to the backend's max_batch series at a time. */
clrnn_status stateful_outputs(clrnn_backend *backend, const clrnn_dataset *data, double *out,
                              clrnn_error *err);

#endif
