/*
 * The reference notebook's two runs (docs/model.md), exactly:
 * its window counts, scaler fit, loss formula and print cadence, printing
 * its lines with 17 significant digits. Both run on any backend.
 */
#ifndef CLRNN_REPRODUCE_H
#define CLRNN_REPRODUCE_H

#include <stdio.h>

#include "clrnn.h"

#define REPRODUCE_MAX_LAYERS 8

typedef struct reproduce_options {
    const char *device;        /* "cpu", "opencl[:P.D]", "auto" */
    clrnn_precision precision; /* OpenCL only */
    uint32_t seed;
    size_t hidden[REPRODUCE_MAX_LAYERS]; /* hidden size of each layer of a stack */
    size_t n_layers;
    double lr, momentum;
    size_t seq_len, epochs;
    const char *data;      /* weather: the CSV file */
    double train_fraction; /* weather: first rows for training */
    int trace;             /* one extra line per epoch */
    FILE *out;             /* the notebook's lines */
    FILE *log;             /* device choice and notes */
} reproduce_options;

/* The notebook's values for each run. */
void reproduce_toy_defaults(reproduce_options *o);
void reproduce_weather_defaults(reproduce_options *o);

clrnn_status reproduce_toy(const reproduce_options *o, clrnn_error *err);
clrnn_status reproduce_weather(const reproduce_options *o, clrnn_error *err);

#endif
