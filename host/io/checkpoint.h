/* Internal: what a clrnn_checkpoint holds, field by field, one field a
 * field of the file (docs/checkpoint-format.md). The public API sees only
 * the handle (include/clrnn.h): made by clrnn_checkpoint_load or
 * clrnn_checkpoint_capture, read through accessors, released by
 * clrnn_checkpoint_free. The format tests build one field by field here.
 *
 * P = number of parameters, F = feature columns, K = target columns,
 * I = the first layer's inputs (F plus two for each date feature), O = the
 * last layer's outputs (K times the number of horizons). */
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
    size_t n_features, n_targets; /* F and K: column names */
    char **feature_names;         /* (F) strings; freed by count, n_features */
    char **target_names;          /* (K) */
    double *feature_mean;         /* (I) every input's, date features included */
    double *feature_std;          /* (I) */
    double *target_mean;          /* (O) every output's */
    double *target_std;           /* (O) */
    clrnn_optimizer optimizer;
    double *opt_m;    /* (P) SGD's velocity or Adam's first moment m; NULL: zeros */
    double *opt_v;    /* (P) Adam's second moment v, zeros for SGD; NULL: zeros */
    long step;        /* optimizer steps taken */
    size_t epoch;     /* epochs completed */
    uint32_t seed;    /* initialisation and shuffling seed */
    uint32_t version; /* of the file it was read from; the current one when captured */
    /* The forecast framing (version 2; version 1 files: none of it). */
    unsigned date_features; /* CLRNN_DATE_* bits */
    size_t n_horizons;      /* >= 1 */
    size_t *horizons;       /* (n_horizons); NULL: {0} */
    int difference;
    size_t season;
    /* How the data was read and split (version 2, when captured with them;
     * data_path NULL: not recorded). */
    char *data_path;     /* as given to train */
    char *data_path_abs; /* absolute, links resolved */
    char *date_column;   /* NULL: the data's own choice */
    double train_fraction, val_fraction;
    clrnn_missing missing;
    clrnn_scaler_fit scaler_fit;
    int scale_targets;
    size_t data_rows, train_rows, val_rows; /* rows of the data, of its first two splits */
    /* Many series (version 3; older files: one series, split by time, one scaler). */
    char *series_column; /* NULL: none */
    int split_by_series, scale_per_series;
    /* Carried hidden state (version 4; older files: 0). */
    int stateful;
};

/* A checkpoint as the bytes of its file (what clrnn_checkpoint_save writes;
 * *bytes malloc'ed) and back (what clrnn_checkpoint_load reads; name: what
 * its messages call the bytes): how a checkpoint crosses between processes
 * (clrnn sweep under mpirun, cli/cli_sweep.c) with the bits of its file. */
clrnn_status clrnn__checkpoint_encode(const clrnn_checkpoint *ckpt, unsigned char **bytes,
                                      size_t *size, clrnn_error *err);
clrnn_status clrnn__checkpoint_decode(clrnn_checkpoint **out, const unsigned char *bytes,
                                      size_t size, const char *name, clrnn_error *err);

#endif
