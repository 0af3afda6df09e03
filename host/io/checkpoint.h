/* Internal: what a clrnn_checkpoint holds, field by field, one field a
 * field of the file (docs/checkpoint-format.md). The public API sees only
 * the handle (include/clrnn.h): made by clrnn_checkpoint_load or
 * clrnn_checkpoint_capture, read through accessors, released by
 * clrnn_checkpoint_free. The format tests build one field by field here.
 *
 * P = number of parameters, F = features, K = targets. */
#ifndef CLRNN_IO_CHECKPOINT_H
#define CLRNN_IO_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "clrnn.h"

/* Everything owned; clrnn_checkpoint_free releases every pointer and the
 * struct itself, which is therefore malloc'ed (calloc'ed, so that a
 * half-built one can be freed). */
struct clrnn_checkpoint {
    clrnn_model *model; /* never NULL in a loaded or captured checkpoint */
    clrnn_precision precision;
    size_t seq_len;
    clrnn_loss_steps loss_steps;
    size_t n_features, n_targets;
    char **feature_names; /* (F) strings; freed by count, n_features */
    char **target_names;  /* (K) */
    double *feature_mean; /* (F) */
    double *feature_std;  /* (F) */
    double *target_mean;  /* (K) */
    double *target_std;   /* (K) */
    clrnn_optimizer optimizer;
    double *opt_m; /* (P) SGD's velocity or Adam's first moment m; NULL: zeros */
    double *opt_v; /* (P) Adam's second moment v, zeros for SGD; NULL: zeros */
    long step;     /* optimizer steps taken */
    size_t epoch;  /* epochs completed */
    uint32_t seed; /* initialisation and shuffling seed */
};

#endif
