/*
 * clrnn — a trainer for stacked tanh RNNs (Elman networks) on time series,
 * with a double-precision CPU reference path and an OpenCL path checked
 * against it.
 *
 * Conventions of this header:
 * - every name has the clrnn_ prefix; handles are opaque;
 * - fallible functions return a clrnn_status and, when given a non-NULL
 *   clrnn_error, write one line saying what went wrong;
 * - what _create returns, _free releases; every _free accepts NULL;
 * - no global state: two models on two devices may train in one process;
 * - the library never exits the process and never prints, except where a
 *   function says it writes to a FILE * it was given.
 *
 * Legend used in shape comments:
 *   B = windows in a batch, T = seq_len (steps per window),
 *   I = n_in, H = n_hidden, O = n_out of a layer, P = number of parameters,
 *   R = rows of a data table, F = features, K = targets.
 */
#ifndef CLRNN_H
#define CLRNN_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * CLRNN_API marks what the library exports. It compiles with
 * -fvisibility=hidden, so only declarations that carry it are visible; on
 * Windows, CLRNN_BUILDING_SHARED (set while building the DLL) and
 * CLRNN_SHARED (set for its users by the CMake package) choose
 * dllexport/dllimport. A static library needs neither.
 */
#if defined(_WIN32)
#if defined(CLRNN_BUILDING_SHARED)
#define CLRNN_API __declspec(dllexport)
#elif defined(CLRNN_SHARED)
#define CLRNN_API __declspec(dllimport)
#else
#define CLRNN_API
#endif
#elif defined(__GNUC__) && __GNUC__ >= 4
#define CLRNN_API __attribute__((visibility("default")))
#else
#define CLRNN_API
#endif

/* --------------------------------------------------------------- version */

/* CLRNN_VERSION_MAJOR/MINOR/PATCH and CLRNN_VERSION_STRING of the headers,
 * generated from the project's version (CMakeLists.txt). */
#include "clrnn_version.h"

/* The name this header used before clrnn_version.h; kept so that code using
 * it still builds. */
#define CLRNN_VERSION CLRNN_VERSION_STRING

/* The library's version, "MAJOR.MINOR.PATCH": what runs, which may differ
 * from the CLRNN_VERSION_STRING a program was compiled with. */
CLRNN_API const char *clrnn_version(void);

/* ---------------------------------------------------------------- status */

typedef enum clrnn_status {
    CLRNN_OK = 0,
    CLRNN_E_INPUT = 1,       /* bad argument, flag, shape or data */
    CLRNN_E_IO = 2,          /* a file could not be read or written */
    CLRNN_E_NOMEM = 3,       /* host memory allocation failed */
    CLRNN_E_DEVICE = 4,      /* an OpenCL call failed */
    CLRNN_E_UNSUPPORTED = 5, /* not available here: no OpenCL, no fp64 ... */
    CLRNN_E_NUMERIC = 6,     /* a NaN or an infinity appeared */
    CLRNN_E_CANCELLED = 7    /* stopped on request (clrnn_train_config.cancel) */
} clrnn_status;

/* The status in words ("bad input", "device error", ...). Never NULL. */
CLRNN_API const char *clrnn_status_string(clrnn_status status);

/* Detail of a failure: the status and one line for a person. The line names
 * what the caller can change in this API's terms, between backquotes: the
 * field of a configuration or a parameter (`max_batch`, `optimizer.lr`,
 * `device`, `layers`) or a function (`clrnn_list_devices`), so that a front
 * end can say them in its own terms (the CLI says --batch, --lr ...). */
typedef struct clrnn_error {
    clrnn_status status;
    char message[512];
} clrnn_error;

/* ------------------------------------------------------------- generator */

/*
 * MT19937 with numpy's legacy seeding: clrnn_rng_seed(s) followed by
 * clrnn_rng_uniform() reproduces np.random.seed(s); np.random.rand() bit for
 * bit (53-bit doubles made of two 32-bit outputs). A plain value type.
 */
typedef struct clrnn_rng {
    uint32_t state[624];
    int index;
} clrnn_rng;

CLRNN_API void clrnn_rng_seed(clrnn_rng *rng, uint32_t seed);
CLRNN_API uint32_t clrnn_rng_next_u32(clrnn_rng *rng);
CLRNN_API double clrnn_rng_uniform(clrnn_rng *rng); /* in [0, 1) */
/* Uniform integer in [0, n), n >= 1, without modulo bias. */
CLRNN_API uint32_t clrnn_rng_below(clrnn_rng *rng, uint32_t n);

/* ------------------------------------------------------------------ model */

/* One tanh RNN layer (docs/model.md):
 *   z_t = x_t W_i + h_{t-1} W_h + b_i,  h_t = tanh(z_t),  y_t = h_t W_o + b_o
 */
typedef struct clrnn_layer_shape {
    size_t n_in, n_hidden, n_out;
} clrnn_layer_shape;

/* A layer's parameters, in the order they are stored and initialised. */
typedef enum clrnn_param {
    CLRNN_W_I = 0, /* (I, H) input weights */
    CLRNN_W_H,     /* (H, H) recurrent weights */
    CLRNN_W_O,     /* (H, O) output weights */
    CLRNN_B_O,     /* (O)    output bias */
    CLRNN_B_I,     /* (H)    hidden bias */
    CLRNN_N_PARAMS_PER_LAYER
} clrnn_param;

/* Name of a parameter as in docs/model.md and in exported files: "W_i", ... */
CLRNN_API const char *clrnn_param_name(clrnn_param which);

typedef struct clrnn_model clrnn_model;

/*
 * A stack of n_layers layers; layer l+1's n_in must equal layer l's n_out.
 * Parameters start at zero; all of them live in one flat buffer of doubles,
 * layer after layer, each layer's tensors in clrnn_param order, row-major.
 */
CLRNN_API clrnn_status clrnn_model_create(clrnn_model **out, const clrnn_layer_shape *layers,
                                          size_t n_layers, clrnn_error *err);
CLRNN_API void clrnn_model_free(clrnn_model *model);
CLRNN_API clrnn_status clrnn_model_clone(clrnn_model **out, const clrnn_model *model,
                                         clrnn_error *err);

CLRNN_API size_t clrnn_model_n_layers(const clrnn_model *model);
CLRNN_API clrnn_layer_shape clrnn_model_layer(const clrnn_model *model, size_t layer);
CLRNN_API size_t clrnn_model_n_params(const clrnn_model *model);
CLRNN_API double *clrnn_model_params(clrnn_model *model);                   /* (P) */
CLRNN_API const double *clrnn_model_params_const(const clrnn_model *model); /* (P) */
/* Offset into the flat buffer of one tensor of one layer, and its size. */
CLRNN_API size_t clrnn_model_param_offset(const clrnn_model *model, size_t layer,
                                          clrnn_param which);
CLRNN_API size_t clrnn_model_param_count(const clrnn_model *model, size_t layer, clrnn_param which);

/* The initialisation of docs/model.md: every tensor in order, uniform in [-k, k),
 * k = 1/sqrt(n_hidden), drawn as rand * 2k - k. */
CLRNN_API void clrnn_model_init_uniform(clrnn_model *model, clrnn_rng *rng);

/* Parse "3:16:1,1:8:1" into shapes; *n_layers is the capacity in, count out. */
CLRNN_API clrnn_status clrnn_parse_layers(const char *text, clrnn_layer_shape *layers,
                                          size_t *n_layers, clrnn_error *err);

/* ------------------------------------------------------------------- data */

/* A CSV table as read: a header row of column names, every other cell a
 * number or empty (NaN). A first column whose header is empty holds row
 * labels (dates) and is kept as text. */
typedef struct clrnn_table clrnn_table;

CLRNN_API clrnn_status clrnn_table_read_csv(clrnn_table **out, const char *path, clrnn_error *err);
CLRNN_API void clrnn_table_free(clrnn_table *table);
CLRNN_API const char *clrnn_table_path(const clrnn_table *table);
CLRNN_API size_t clrnn_table_n_rows(const clrnn_table *table);
CLRNN_API size_t clrnn_table_n_cols(const clrnn_table *table); /* numeric columns */
CLRNN_API const char *clrnn_table_col_name(const clrnn_table *table, size_t col);
/* Index of a numeric column by name, or -1. */
CLRNN_API long clrnn_table_find_col(const clrnn_table *table, const char *name);
/* Row label (first, unnamed column), or NULL when the table has none. */
CLRNN_API const char *clrnn_table_row_label(const clrnn_table *table, size_t row);
/* NaN if the cell is empty or not a number; see clrnn_table_bad_cell. */
CLRNN_API double clrnn_table_value(const clrnn_table *table, size_t row, size_t col);
/* The first cell of a column that is neither empty nor a number: its row
 * and text. Returns 0 when the column has none. Such a column may be read
 * but not used: clrnn_dataset_create refuses it with file, line and column. */
CLRNN_API int clrnn_table_bad_cell(const clrnn_table *table, size_t col, size_t *row,
                                   const char **text);
/* The text of a cell as in the file (unquoted), or NULL out of range. */
CLRNN_API const char *clrnn_table_cell_text(const clrnn_table *table, size_t row, size_t col);
/* 1-based line of the file that row came from, for messages. */
CLRNN_API size_t clrnn_table_row_line(const clrnn_table *table, size_t row);

typedef enum clrnn_missing {
    CLRNN_MISSING_FFILL = 0, /* carry a feature's last value forward (default); an
                                empty target cell stays empty: it is masked out of
                                the loss and the metrics, never filled */
    CLRNN_MISSING_DROP,      /* drop rows with an empty cell in a used column */
    CLRNN_MISSING_ERROR      /* an empty cell in a used column is an error */
} clrnn_missing;

typedef enum clrnn_scaler_fit {
    CLRNN_SCALER_FIT_TRAIN = 0, /* mean/std of the training rows (default) */
    CLRNN_SCALER_FIT_ALL        /* of all rows, as the notebook does */
} clrnn_scaler_fit;

typedef struct clrnn_data_config {
    const char *const *features; /* column names, n_features of them */
    size_t n_features;
    const char *const *targets; /* column names, n_targets of them */
    size_t n_targets;
    size_t seq_len;        /* T >= 1 */
    double train_fraction; /* first rows for training, in (0, 1] */
    double val_fraction;   /* next rows for validation, in [0, 1); test is the rest */
    clrnn_missing missing;
    clrnn_scaler_fit scaler_fit;
    int scale_targets; /* standardise targets too (metrics stay in units) */
    /* Given statistics (a trained model's) instead of fitted ones; NULL: fit. */
    const double *feature_mean, *feature_std; /* (n_features) */
    const double *target_mean, *target_std;   /* one per output (n_targets * n_horizons),
                                                 used when scale_targets */
    /* Forecast framing. An output is a target column at a horizon: the
     * model's outputs are the target columns at horizons[0], then at
     * horizons[1] ..., so n_out = n_targets * n_horizons. */
    const size_t *horizons; /* rows from a window's last row to the row its output
                               predicts; NULL or n_horizons 0: {0}, the target
                               columns as they are (pre-shifted); no two equal. A
                               target that is also a feature needs horizons >= 1 */
    size_t n_horizons;
    int difference;          /* model each output's change from its last known value
                                (the naive forecast): the target column at row
                                p - max(h, 1) for predicted row p, carried forward
                                over empty cells; predictions and metrics on levels */
    const char *date_column; /* the row-label column, which must be the first; NULL:
                                the first column when its header is empty or
                                date-like (date, time, timestamp, datetime, any case).
                                Labels that are all ISO dates or times (YYYY-MM,
                                YYYY-MM-DD, YYYY-MM-DD[T ]HH:MM[:SS]) give the rows
                                times, which must increase strictly */
    unsigned date_features;  /* CLRNN_DATE_* bits: sine and cosine of each cycle,
                                appended to the features as inputs named doy_sin,
                                doy_cos, dow_sin, ... (needs dates) */
    size_t season;           /* rows a season, for the seasonal-naive baseline; 0: none */
    int targets_optional;    /* a target column the table lacks is all NaN (missing, so
                                masked) instead of an error: predicting the future */
    /* Many series in one table (long format). series_column names an id
     * column (text or numbers); each series' rows are contiguous and in date
     * order. Windows never cross a series boundary; NULL: one series. */
    const char *series_column;
    int split_by_series;   /* 0: each series' first train_fraction of rows trains, the
                              next val_fraction validate (chronological within each);
                              1: whole series are held out, the first train_fraction
                              of the series train, the next validate, the rest test */
    int scale_per_series;  /* 0: one scaler for all; 1: each series' own training
                              rows' mean and std (features, and targets when
                              scale_targets); metrics stay in units */
    double scale_fraction; /* with scale_per_series and > 0: each series' first
                              scale_fraction of rows fit its scaler instead of its
                              training rows (predict reads every row as training,
                              and passes the model's train_fraction here) */
} clrnn_data_config;

/* clrnn_data_config.date_features. */
#define CLRNN_DATE_DOY 1u   /* day of year */
#define CLRNN_DATE_DOW 2u   /* day of week */
#define CLRNN_DATE_MONTH 4u /* month of year */
#define CLRNN_DATE_HOUR 8u  /* hour of day */

/* The defaults: no columns chosen, seq_len 7, 0.7/0.15 split, ffill, scaler
 * fitted on training rows, targets standardised. */
CLRNN_API clrnn_data_config clrnn_data_config_default(void);

typedef enum clrnn_split {
    CLRNN_SPLIT_TRAIN = 0,
    CLRNN_SPLIT_VAL,
    CLRNN_SPLIT_TEST,
    CLRNN_N_SPLITS
} clrnn_split;

/* Data ready to train on: features and targets standardised, split
 * chronologically, missing values handled. */
typedef struct clrnn_dataset clrnn_dataset;

CLRNN_API clrnn_status clrnn_dataset_create(clrnn_dataset **out, const clrnn_table *table,
                                            const clrnn_data_config *config, clrnn_error *err);
CLRNN_API void clrnn_dataset_free(clrnn_dataset *data);

CLRNN_API size_t clrnn_dataset_n_rows(const clrnn_dataset *data);     /* R, after drops */
CLRNN_API size_t clrnn_dataset_n_features(const clrnn_dataset *data); /* F */
CLRNN_API size_t clrnn_dataset_n_targets(const clrnn_dataset *data);  /* K */
CLRNN_API size_t clrnn_dataset_seq_len(const clrnn_dataset *data);    /* T */
/* x (R, F) standardised. Row r of the (R, K) target arrays holds, for each
 * output k, what row r's step predicts: the target column at row r + h_k.
 * y_raw: that level, in the data's units; NaN where the cell is empty or
 * past the table (a masked cell). y_base: the output's last known value
 * before it, the column at row r + h_k - max(h_k, 1) carried forward over
 * empty cells (NaN before the first): the naive forecast. y: what the model
 * learns, the level or (differenced) y_raw - y_base, standardised if
 * scale_targets; NaN where masked. */
CLRNN_API const double *clrnn_dataset_x(const clrnn_dataset *data);
CLRNN_API const double *clrnn_dataset_y(const clrnn_dataset *data);
CLRNN_API const double *clrnn_dataset_y_raw(const clrnn_dataset *data);
CLRNN_API const double *clrnn_dataset_y_base(const clrnn_dataset *data);
/* Row label of dataset row r (after drops), or NULL. */
CLRNN_API const char *clrnn_dataset_row_label(const clrnn_dataset *data, size_t row);
/* Rows [*begin, *end) of a split; with many series (split within each), the
 * first and past the last row of the split in any series. */
CLRNN_API void clrnn_dataset_split_rows(const clrnn_dataset *data, clrnn_split split, size_t *begin,
                                        size_t *end);
/* Series (clrnn_data_config.series_column): 1 without one. Series s holds
 * rows [*begin, *end); its id is the column's text (NULL without one). */
CLRNN_API size_t clrnn_dataset_n_series(const clrnn_dataset *data);
CLRNN_API const char *clrnn_dataset_series_column(const clrnn_dataset *data); /* or NULL */
CLRNN_API const char *clrnn_dataset_series_id(const clrnn_dataset *data, size_t s);
CLRNN_API void clrnn_dataset_series_rows(const clrnn_dataset *data, size_t s, size_t *begin,
                                         size_t *end);
CLRNN_API size_t clrnn_dataset_row_series(const clrnn_dataset *data, size_t row);
/* The scaler statistics row `row` was scaled with: the dataset's own, or its
 * series' with scale_per_series. */
CLRNN_API double clrnn_dataset_row_feature_mean(const clrnn_dataset *data, size_t row, size_t f);
CLRNN_API double clrnn_dataset_row_feature_std(const clrnn_dataset *data, size_t row, size_t f);
CLRNN_API double clrnn_dataset_row_target_mean(const clrnn_dataset *data, size_t row, size_t k);
CLRNN_API double clrnn_dataset_row_target_std(const clrnn_dataset *data, size_t row, size_t k);
/* Windows of a split: a window belongs to the split that holds the row its
 * farthest horizon predicts, p = s + T - 1 + max(horizons); the windows of
 * a split are every start s >= 0 with begin <= p < end, so every row of the
 * validation and test splits is predicted whatever T is, and a window's
 * earlier steps may read rows before its split. No cell counts in a split
 * before the split of its row. With many series, the same within each
 * series (a window's rows and predicted rows all lie in one series). */
CLRNN_API size_t clrnn_dataset_n_windows(const clrnn_dataset *data, clrnn_split split);
CLRNN_API size_t clrnn_dataset_window_start(const clrnn_dataset *data, clrnn_split split,
                                            size_t window);
/* Scaler statistics: mean and population std of feature f / target k. */
CLRNN_API double clrnn_dataset_feature_mean(const clrnn_dataset *data, size_t f);
CLRNN_API double clrnn_dataset_feature_std(const clrnn_dataset *data, size_t f);
CLRNN_API double clrnn_dataset_target_mean(const clrnn_dataset *data, size_t k);
CLRNN_API double clrnn_dataset_target_std(const clrnn_dataset *data, size_t k);
/* The names of feature f / the target column of output k, as the config
 * gave them (date features: doy_sin ...; NULL out of range). */
CLRNN_API const char *clrnn_dataset_feature_name(const clrnn_dataset *data, size_t f);
CLRNN_API const char *clrnn_dataset_target_name(const clrnn_dataset *data, size_t k);
/* Outputs (what clrnn_dataset_n_targets counts): output k is target column
 * k % n_target_columns at horizon index k / n_target_columns. */
CLRNN_API size_t clrnn_dataset_n_target_columns(const clrnn_dataset *data);
CLRNN_API size_t clrnn_dataset_target_horizon(const clrnn_dataset *data, size_t k);
/* "tmax" at horizon 0, "tmax+7" at horizon 7 (NULL out of range). */
CLRNN_API const char *clrnn_dataset_target_label(const clrnn_dataset *data, size_t k);
/* Output k's target column (R), unshifted, in the data's units, NaN where
 * the cell is missing (targets are never filled). */
CLRNN_API const double *clrnn_dataset_target_column(const clrnn_dataset *data, size_t k);
/* The row that output k of a split's window predicts: start + T - 1 + horizon. */
CLRNN_API size_t clrnn_dataset_window_row(const clrnn_dataset *data, clrnn_split split,
                                          size_t window, size_t k);
/* Row r's date as seconds since 1970-01-01 UTC; NaN when rows have no date. */
CLRNN_API double clrnn_dataset_row_time(const clrnn_dataset *data, size_t row);
CLRNN_API int clrnn_dataset_differenced(const clrnn_dataset *data);
CLRNN_API size_t clrnn_dataset_season(const clrnn_dataset *data);       /* 0: none */
CLRNN_API size_t clrnn_dataset_cells_filled(const clrnn_dataset *data); /* by ffill */
CLRNN_API size_t clrnn_dataset_rows_dropped(const clrnn_dataset *data); /* by drop */
/* Empty cells of the target columns (of the kept rows): masked, not filled. */
CLRNN_API size_t clrnn_dataset_targets_missing(const clrnn_dataset *data);
/* The margin of clrnn_dataset_range_warning: a share of the training range. */
#define CLRNN_RANGE_MARGIN 0.1
/* The feature and target columns whose test values lie outside their
 * training values' range [lo, hi] by more than CLRNN_RANGE_MARGIN (hi - lo):
 * returns how many, and writes one line naming them into line (size bytes,
 * may be NULL) for a front end to print. */
CLRNN_API size_t clrnn_dataset_range_warning(const clrnn_dataset *data, char *line, size_t size);

/* ---------------------------------------------------------------- backend */

/*
 * A backend holds what training needs on one device: a copy of the model's
 * parameters, the gradients and optimizer state (same flat layout), the
 * staged data table, and the activations of one batch. The CPU reference
 * computes in double precision; the OpenCL backend in fp32 or fp64.
 *
 * A batch is a list of B window starts into the staged table: window b's
 * step t reads features row starts[b] + t and targets row starts[b] + t.
 */
typedef enum clrnn_precision { CLRNN_FP32 = 0, CLRNN_FP64 = 1 } clrnn_precision;

typedef enum clrnn_optimizer_kind {
    CLRNN_SGD = 0, /* v = momentum * v - lr * g; w += v   (the notebook's form) */
    CLRNN_ADAM = 1
} clrnn_optimizer_kind;

typedef struct clrnn_optimizer {
    clrnn_optimizer_kind kind;
    double lr;
    double momentum;          /* SGD */
    double beta1, beta2, eps; /* Adam */
    double weight_decay;      /* decoupled (AdamW-style); 0 for none */
    double clip_norm;         /* > 0: scale the gradient to at most this global
                                 L2 norm before the step (computed where the
                                 gradient lives: on the device for OpenCL) */
} clrnn_optimizer;

/* Which steps of a window the loss covers. */
typedef enum clrnn_loss_steps {
    CLRNN_LOSS_ALL = 0, /* every step (sequence to sequence; the notebook) */
    CLRNN_LOSS_LAST = 1 /* the last step only (many-to-one forecasting) */
} clrnn_loss_steps;

typedef struct clrnn_backend clrnn_backend;

/* OpenCL kernel families (kernels/): chosen by device and shape, or forced.
 * One enumerator a family, at its index in the table of families
 * (host/opencl/families.c), which also holds the names. */
typedef enum clrnn_kernels {
    CLRNN_KERNELS_AUTO = 0, /* on CPUs fused where it fits, else tile; on GPUs gpu */
    CLRNN_KERNELS_GROUP,    /* a work-group per window, a work-item per hidden unit */
    CLRNN_KERNELS_TILE,     /* a work-item per tile of windows, sizes built in */
    CLRNN_KERNELS_FUSED,    /* one launch a training step: one layer of at most 16
                               hidden units, 8 windows as vector lanes */
    CLRNN_KERNELS_GPU       /* a work-group per tile of windows, weights, h and g in
                               local memory, register blocks */
} clrnn_kernels;

/* "auto", "group", "tile", "fused" or "gpu"; returns 0 for anything else. */
CLRNN_API int clrnn_parse_kernels(const char *text, clrnn_kernels *out);
/* The name clrnn_parse_kernels takes for a family ("auto" for AUTO), or
 * NULL for a value that is not one. */
CLRNN_API const char *clrnn_kernels_name(clrnn_kernels kernels);
/* Families plus "auto": CLRNN_KERNELS_AUTO .. clrnn_kernels_count() - 1. */
CLRNN_API size_t clrnn_kernels_count(void);

/* What a backend runs on. */
typedef enum clrnn_backend_kind {
    CLRNN_BACKEND_CPU = 0, /* the CPU reference, fp64 */
    CLRNN_BACKEND_OPENCL
} clrnn_backend_kind;

typedef struct clrnn_backend_config {
    const char *device;        /* "cpu", "opencl", "opencl:P.D" or "auto" (NULL: "auto") */
    clrnn_precision precision; /* OpenCL only; the CPU reference is always fp64 */
    size_t seq_len;            /* T */
    size_t max_batch;          /* largest B that will be passed */
    clrnn_loss_steps loss_steps;
    FILE *log;             /* where "auto" says what it chose; may be NULL */
    clrnn_kernels kernels; /* OpenCL kernel family (CLRNN_KERNELS_AUTO) */
    /* The OpenCL compiler's own messages of builds that succeed (warnings:
     * the build log, and what the compiler writes to stderr while it
     * builds, which PoCL does). NULL: dropped. While a program builds, fd 2
     * is pointed at a temporary file to catch them (POSIX; a failed build
     * writes them to `log`). */
    FILE *verbose;
    /* Per-device tuning (OpenCL; `clrnn tune`): the family's build-time
     * tunables come from `tuning` ("NAME=V NAME=V", for the family that
     * runs; NULL: none), else from the tuning cache's entry for the
     * device and the model's shape class (in $XDG_CACHE_HOME/clrnn or
     * ~/.cache/clrnn), unless no_tune_cache, else from what the device
     * reports. "auto" kernels take the family the cache names. */
    const char *tuning;
    int no_tune_cache;
    FILE *tune_log;   /* where a corrupt cache is reported in one line (NULL: not) */
    int tune_verbose; /* ... and, to tune_log, where the tunables came from */
    /* Models of the model's shape the backend holds (0 or 1: one); see
     * "Model groups" below. Each starts with the model's parameters. */
    size_t n_models;
    int stateful; /* made stateful at creation (clrnn_backend_set_stateful) */
} clrnn_backend_config;

/* Creates a backend for the model's shapes and uploads its parameters.
 * The optimizer state starts at zero. */
CLRNN_API clrnn_status clrnn_backend_create(clrnn_backend **out, const clrnn_model *model,
                                            const clrnn_backend_config *config, clrnn_error *err);
CLRNN_API void clrnn_backend_free(clrnn_backend *backend);
/* "CPU reference (fp64)" or "OpenCL <platform> / <device> (fp32)". */
CLRNN_API const char *clrnn_backend_describe(const clrnn_backend *backend);
CLRNN_API int clrnn_backend_is_opencl(const clrnn_backend *backend);
CLRNN_API clrnn_backend_kind clrnn_backend_get_kind(const clrnn_backend *backend);
/* The device's own name ("CPU reference" for the CPU reference). */
CLRNN_API const char *clrnn_backend_device_name(const clrnn_backend *backend);
/* The kernel family that runs (never AUTO on OpenCL; AUTO on the CPU). */
CLRNN_API clrnn_kernels clrnn_backend_family(const clrnn_backend *backend);
CLRNN_API size_t clrnn_backend_n_layers(const clrnn_backend *backend);
CLRNN_API size_t clrnn_backend_n_params(const clrnn_backend *backend);

/* Copies the table to the device once: x (R, F) with F = layer 0's n_in,
 * y (R, K) with K = the last layer's n_out. */
CLRNN_API clrnn_status clrnn_backend_stage(clrnn_backend *backend, const double *x, const double *y,
                                           size_t n_rows, clrnn_error *err);
/* Parameters in, and out, in the model's flat layout. set_params also
 * resets the optimizer state. */
CLRNN_API clrnn_status clrnn_backend_set_params(clrnn_backend *backend, const double *params,
                                                clrnn_error *err);
CLRNN_API clrnn_status clrnn_backend_get_params(clrnn_backend *backend, double *params,
                                                clrnn_error *err);

/* Forward over the batch and the loss; window losses are added to the loss
 * accumulator. No gradients. */
CLRNN_API clrnn_status clrnn_backend_forward(clrnn_backend *backend, const uint32_t *starts,
                                             size_t n_windows, clrnn_error *err);
/* Forward, loss, BPTT and the reduction: the gradient is the mean over the
 * batch's windows of each window's gradient (docs/model.md). */
CLRNN_API clrnn_status clrnn_backend_gradients(clrnn_backend *backend, const uint32_t *starts,
                                               size_t n_windows, clrnn_error *err);
/* Batches by position in a window order staged once, say an epoch's
 * shuffled order of n start rows: on OpenCL the start rows then cross to
 * the device once an order instead of once a batch (each crossing is a
 * command, which costs as much as a small batch's work). The order lasts
 * until staged again, or until clrnn_backend_stage. */
CLRNN_API clrnn_status clrnn_backend_stage_order(clrnn_backend *backend, const uint32_t *order,
                                                 size_t n, clrnn_error *err);
/* clrnn_backend_gradients on the windows order[first .. first + n_windows - 1]. */
CLRNN_API clrnn_status clrnn_backend_gradients_staged(clrnn_backend *backend, size_t first,
                                                      size_t n_windows, clrnn_error *err);

/* One optimizer step with the last gradients. */
CLRNN_API clrnn_status clrnn_backend_update(clrnn_backend *backend,
                                            const clrnn_optimizer *optimizer, clrnn_error *err);

/* Reading back (for parity checks, metrics, traces; never needed per step). */
CLRNN_API clrnn_status clrnn_backend_get_grads(clrnn_backend *backend, double *grads /* (P) */,
                                               clrnn_error *err);
/* Layer l's outputs y (B, T, O) and hidden states h (B, T, H) of the last batch. */
CLRNN_API clrnn_status clrnn_backend_get_outputs(clrnn_backend *backend, size_t layer, double *y,
                                                 clrnn_error *err);
CLRNN_API clrnn_status clrnn_backend_get_hidden(clrnn_backend *backend, size_t layer, double *h,
                                                clrnn_error *err);
/* Loss of each window of the last batch (B): mean over the loss's steps and
 * outputs of 0.5 (y - target)^2. */
CLRNN_API clrnn_status clrnn_backend_get_window_losses(clrnn_backend *backend, double *losses,
                                                       clrnn_error *err);
/* Sum of window losses since the last call, then the accumulator is zeroed. */
CLRNN_API clrnn_status clrnn_backend_take_loss_sum(clrnn_backend *backend, double *sum,
                                                   clrnn_error *err);

/* Input attributions: for each of the n windows at start rows starts (of
 * the staged table), the gradient of the top layer's output `output` (0 ..
 * its n_out - 1) at the window's last step, the step a prediction is read
 * from, with respect to layer 0's inputs at every step of the window, as
 * staged (scaled): dx (n, T, F), dx[(w T + t) F + f] = d y_{T-1}[output] /
 * d x_t[f] of window w (lag T-1-t). The BPTT of training with the loss
 * gradient replaced by 1 at that output and step, 0 elsewhere, on the
 * device for OpenCL. Inference only: parameters, gradients, the loss sum
 * and the optimizer state are left as they were; the last batch (for
 * clrnn_backend_get_outputs) is these windows. n at most max_batch. */
CLRNN_API clrnn_status clrnn_backend_input_gradients(clrnn_backend *backend, const uint32_t *starts,
                                                     size_t n, size_t output, double *dx,
                                                     clrnn_error *err);

/* Waits until the device has done all the work enqueued so far, for
 * progress displays: training only enqueues, so without it the host is an
 * epoch ahead of the device. One wait costs the device the time the host
 * takes to enqueue the next batch; nothing on the CPU reference, which
 * computes as it is asked. */
CLRNN_API clrnn_status clrnn_backend_finish(clrnn_backend *backend, clrnn_error *err);

/* Optimizer state for checkpoints, P values each: m is SGD's velocity or
 * Adam's first moment m; v is Adam's second moment v, zeros for SGD; step is
 * the number of updates made. */
CLRNN_API clrnn_status clrnn_backend_get_optimizer_state(clrnn_backend *backend, double *m,
                                                         double *v, long *step, clrnn_error *err);
CLRNN_API clrnn_status clrnn_backend_set_optimizer_state(clrnn_backend *backend, const double *m,
                                                         const double *v, long step,
                                                         clrnn_error *err);

/* Time spent in one kernel, from OpenCL profiling events. */
typedef struct clrnn_kernel_time {
    const char *name; /* the kernel function's name (kernels/) */
    double seconds;   /* summed over launches, start to end on the device */
    size_t launches;
} clrnn_kernel_time;

/* Turns kernel profiling on (the times restart from zero) or off. OpenCL
 * only: the CPU reference answers CLRNN_E_UNSUPPORTED. */
CLRNN_API clrnn_status clrnn_backend_set_profiling(clrnn_backend *backend, int on,
                                                   clrnn_error *err);
/* Waits for the device, then fills up to *n entries (one per kernel that
 * ran since profiling was turned on) and sets *n to the number filled. */
CLRNN_API clrnn_status clrnn_backend_kernel_times(clrnn_backend *backend, clrnn_kernel_time *times,
                                                  size_t *n, clrnn_error *err);

/* The device's arithmetic peak at the backend's precision, measured (not
 * looked up): independent chains of fused multiply-adds on the device's
 * native vectors, the best over a few launch shapes (work-items a group,
 * groups a compute unit) of runs of at least 50 ms; about a second.
 * CLRNN_E_UNSUPPORTED on the CPU reference. */
typedef struct clrnn_peak {
    double gflops;         /* 2 flops an FMA */
    unsigned vector_width; /* CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT or _DOUBLE, as the device says */
    size_t work_items;     /* of the best launch */
    unsigned compute_units;
} clrnn_peak;
CLRNN_API clrnn_status clrnn_backend_peak(clrnn_backend *backend, clrnn_peak *peak,
                                          clrnn_error *err);

/* Lists OpenCL platforms and devices with their key limits. */
CLRNN_API clrnn_status clrnn_list_devices(FILE *out, clrnn_error *err);

/* ---------------------------------------------------------------- trainer */

/*
 * Carried hidden state (truncated BPTT; README, "Stateful training"). Off
 * by default: every window starts from h = 0, and the backend neither
 * holds nor passes anything of what follows. On: window b of every batch
 * starts each layer l from its initial state h0_l[b] (n_hidden of layer l
 * values; all zero when turned on) instead of 0, in the forward and in the
 * gradient (dW_h gets the step-0 term g_0 h0^T); no gradient flows into
 * h0, which is a constant of the window. A stateful backend cannot share
 * batches between ranks (CLRNN_E_UNSUPPORTED).
 */
CLRNN_API clrnn_status clrnn_backend_set_stateful(clrnn_backend *backend, int on, clrnn_error *err);
CLRNN_API int clrnn_backend_is_stateful(const clrnn_backend *backend);
/* Layer's initial states of windows 0 .. n_windows-1 from h0 (n_windows,
 * n_hidden); h0 NULL: zeros. */
CLRNN_API clrnn_status clrnn_backend_set_initial_state(clrnn_backend *backend, size_t layer,
                                                       const double *h0, size_t n_windows,
                                                       clrnn_error *err);
CLRNN_API clrnn_status clrnn_backend_get_initial_state(clrnn_backend *backend, size_t layer,
                                                       double *h0, size_t n_windows,
                                                       clrnn_error *err);
/* For the next batch, where the state lives (the device, no round trip of
 * h): window b's initial state in every layer <- the last step's h of
 * window b of the last batch, b < n_windows (at most that batch's size),
 * or 0 where reset[b] is nonzero (reset may be NULL: none). */
CLRNN_API clrnn_status clrnn_backend_carry_state(clrnn_backend *backend, const unsigned char *reset,
                                                 size_t n_windows, clrnn_error *err);

/* Stages a dataset's features and targets on the backend. */
CLRNN_API clrnn_status clrnn_backend_stage_dataset(clrnn_backend *backend,
                                                   const clrnn_dataset *data, clrnn_error *err);

typedef enum clrnn_lr_schedule {
    CLRNN_LR_CONSTANT = 0,
    CLRNN_LR_STEP,  /* lr * gamma^(floor(epoch / step_epochs)) */
    CLRNN_LR_COSINE /* from lr down to 0 over all epochs' steps */
} clrnn_lr_schedule;

/* What the trainer reports after each epoch. */
typedef struct clrnn_epoch_stats {
    size_t epoch;      /* 1-based */
    double train_loss; /* mean window loss (scaled units) */
    double val_loss;   /* NaN without validation windows */
    double lr;         /* at the epoch's last step */
    double grad_norm;  /* of the epoch's last batch gradient, before clipping */
    double windows_per_second;
    double seconds; /* the epoch's training time */
    int improved;   /* the best validation loss so far */
} clrnn_epoch_stats;

typedef struct clrnn_train_config {
    size_t epochs;      /* total, counting start_epoch */
    size_t start_epoch; /* epochs already done (resume); the backend holds their state */
    size_t batch;       /* windows per update, at most the backend's max_batch */
    clrnn_optimizer optimizer;
    int shuffle;   /* shuffle the training windows each epoch */
    uint32_t seed; /* the shuffle of epoch e depends on (seed, e) only */
    clrnn_lr_schedule schedule;
    size_t warmup_steps; /* lr ramps linearly from lr/warmup to lr */
    size_t step_epochs;  /* CLRNN_LR_STEP: epochs between decays */
    double step_gamma;   /* CLRNN_LR_STEP: the decay factor */
    size_t patience;     /* stop after this many epochs without a better
                            validation loss and keep the best weights; 0: off */
    FILE *out;           /* one line per epoch; NULL for none */
    /* Called after each epoch (may be NULL); a status other than CLRNN_OK stops. */
    clrnn_status (*on_epoch)(void *context, const clrnn_epoch_stats *stats, clrnn_backend *backend,
                             clrnn_error *err);
    /* Called after each batch (may be NULL), for progress displays. */
    void (*on_batch)(void *context, size_t epoch, size_t windows_done, size_t windows_total);
    void *context;
    /* Read after each batch (may be NULL): nonzero stops the run with
     * CLRNN_E_CANCELLED, the epoch unfinished (a signal handler may set it). */
    const volatile sig_atomic_t *cancel;
    /* Carried hidden state (truncated BPTT; README, "Stateful training"):
     * each series' training rows cut into consecutive windows of seq_len,
     * dealt into `batch` contiguous streams, each window starting from the
     * last h of the one before it in its stream (0 at a series' start and
     * each epoch); no shuffle. The backend is made stateful (and stays so:
     * clrnn_predict, clrnn_evaluate and clrnn_forecast then warm up over
     * each series' rows before the predicted one). 0: off. */
    int stateful;
} clrnn_train_config;

/* Fills the defaults: 20 epochs, batch 32, Adam lr 0.003 (constants
 * 0.9/0.999/1e-8) with the gradient's norm clipped to 1 and a cosine
 * schedule, shuffle on, no patience; momentum 0.9 for SGD, should kind be
 * set to it (lr 0.01 suits it). Measured across shapes and seeds: README,
 * "Why these defaults". */
CLRNN_API void clrnn_train_config_default(clrnn_train_config *config);

/* The learning rate at optimizer step `step` (0-based) of a run of
 * `total_steps` steps with `steps_per_epoch` steps an epoch. */
CLRNN_API double clrnn_lr_at(const clrnn_train_config *config, long step, long steps_per_epoch,
                             long total_steps);

typedef struct clrnn_train_report {
    size_t epochs_run; /* the last epoch done (counting start_epoch) */
    size_t best_epoch; /* the epoch whose weights the backend holds at the end */
    double train_loss; /* last epoch: mean window loss (scaled units) */
    double val_loss;   /* last epoch; NaN without validation windows */
    double best_val_loss;
    double seconds;            /* training time, evaluation excluded */
    double windows_per_second; /* training windows per second */
    int stopped_early;
} clrnn_train_report;

/* Trains on the dataset's training windows (the backend must hold the
 * dataset, see clrnn_backend_stage_dataset), evaluating the validation loss
 * after each epoch. A NaN or infinite loss stops with CLRNN_E_NUMERIC naming
 * the epoch (the on_epoch callback is not called for it); with patience the
 * backend then holds the best epoch's state, report->best_epoch. A cancel
 * stops with CLRNN_E_CANCELLED, report->epochs_run the last epoch finished. */
CLRNN_API clrnn_status clrnn_train(clrnn_backend *backend, const clrnn_dataset *data,
                                   const clrnn_train_config *config, clrnn_train_report *report,
                                   clrnn_error *err);

typedef struct clrnn_metrics {
    size_t n_windows;
    double loss;     /* mean window loss over the windows with an observed loss cell,
                        as trained (scaled units) */
    double rmse;     /* of each window's last step, in the targets' units (levels),
                        pooled over the outputs' observed cells; NaN for none */
    double mae;      /* likewise */
    size_t n_scored; /* the cells scored: masked ones (missing targets) are not */
} clrnn_metrics;

/* One output's metrics (target column and horizon), as clrnn_metrics. */
typedef struct clrnn_output_metrics {
    size_t n_scored;
    double rmse, mae; /* NaN when no cell is scored */
} clrnn_output_metrics;

/* Predictions (n_windows, K) in the targets' units, for the last step of
 * each window of a split: output k of window i predicts row
 * clrnn_dataset_window_row(i, k). Levels: a differenced output's change is
 * added to its last known value (clrnn_dataset_y_base). */
CLRNN_API clrnn_status clrnn_predict(clrnn_backend *backend, const clrnn_dataset *data,
                                     clrnn_split split, size_t batch, double *predictions,
                                     clrnn_error *err);

/* The naive forecast "tomorrow's X = today's X" next to the model's, over
 * the same cells: the targets named X_tomorrow whose X is a feature, at
 * the last step of each window of a split, in the data's units. */
typedef struct clrnn_baseline {
    double naive_rmse, naive_mae;
    double model_rmse, model_mae;
    size_t n_targets; /* targets covered */
    char names[256];  /* their names, comma-separated */
} clrnn_baseline;

/* predictions (n_windows, K) as clrnn_predict gives them. Returns 0 when
 * no target has such a feature (*out is then zeroed), 1 otherwise. */
CLRNN_API int clrnn_naive_baseline(const clrnn_dataset *data, clrnn_split split,
                                   const double *predictions, clrnn_baseline *out);

/*
 * Baselines for every output (host/core/baseline.c): simple forecasts that a
 * model must beat to be of use, scored on exactly the cells the model is
 * scored on. Output k of window i predicts row p = clrnn_dataset_window_row
 * at horizon h = clrnn_dataset_target_horizon; the truth is
 * clrnn_dataset_target_column(k)[p], and a cell whose truth is NaN is not
 * scored. Forecasts are in the data's units.
 */
typedef enum clrnn_baseline_kind {
    CLRNN_BASELINE_NAIVE = 0, /* the column's last known value: row p - max(h, 1) (or the
                                 last present cell before it) */
    CLRNN_BASELINE_SEASONAL,  /* the value whole seasons back: row p - S ceil(max(h, 1) / S)
                                 (or a season further back where that cell is missing) */
    CLRNN_BASELINE_RIDGE,     /* ridge regression on the window's T x F standardised inputs
                                 plus an unpenalised intercept, fitted on the training
                                 windows, its strength picked on the validation windows */
    CLRNN_N_BASELINES
} clrnn_baseline_kind;

/* "naive", "seasonal naive", "ridge"; NULL for a value that is not one. */
CLRNN_API const char *clrnn_baseline_name(clrnn_baseline_kind kind);

typedef struct clrnn_baseline_config {
    size_t season;             /* S; 0: clrnn_dataset_season (0 there too: no seasonal) */
    double ridge_lambda_min;   /* the log grid of ridge strengths, in units of the mean */
    double ridge_lambda_max;   /* square of a standardised input: 1e-4 .. 1e4 */
    size_t ridge_lambda_steps; /* points of the grid, both ends included (17) */
    size_t ridge_max_inputs;   /* the largest T x F accepted (4096): the normal equations
                                  take 3 (T F + 1)^2 doubles and (T F)^2 / 2 multiply-adds
                                  a training window */
} clrnn_baseline_config;

CLRNN_API clrnn_baseline_config clrnn_baseline_config_default(void);

/* What one baseline's forecasts were made of. */
typedef struct clrnn_baseline_fit {
    clrnn_baseline_kind kind;
    size_t season;       /* CLRNN_BASELINE_SEASONAL: S */
    double lambda;       /* CLRNN_BASELINE_RIDGE: the strength picked (the
                            largest over outputs when they differ) */
    int lambda_from_val; /* 1: picked on validation RMSE; 0: no validation cells, 1.0 */
    size_t n_fit;        /* CLRNN_BASELINE_RIDGE: training cells fitted on */
} clrnn_baseline_fit;

/* Forecasts (n_windows, K) of one baseline for every window of a split
 * and every output, NaN where it has none (no earlier row, no present
 * cell). The seasonal naive needs a season (`season` or the dataset's):
 * CLRNN_E_INPUT without one. The ridge needs training cells, and refuses
 * a window of more than `ridge_max_inputs` inputs (CLRNN_E_INPUT) or
 * normal equations that do not fit in memory (CLRNN_E_NOMEM). config
 * may be NULL (the defaults); fit may be NULL. */
CLRNN_API clrnn_status clrnn_baseline_predict(const clrnn_dataset *data, clrnn_split split,
                                              clrnn_baseline_kind kind,
                                              const clrnn_baseline_config *config,
                                              double *forecasts, clrnn_baseline_fit *fit,
                                              clrnn_error *err);

/* A baseline's errors next to the model's, over the same cells: those
 * with a present truth and a finite forecast from both. */
typedef struct clrnn_baseline_score {
    clrnn_baseline_fit fit;
    size_t n_cells;               /* cells compared */
    size_t n_scored;              /* cells the model is scored on (present truth) */
    double rmse, mae;             /* the baseline's, data units; NaN when n_cells is 0 */
    double model_rmse, model_mae; /* the model's, on the same cells */
} clrnn_baseline_score;

/* Every output pooled. */
#define CLRNN_ALL_OUTPUTS ((size_t)-1)

/* Scores forecasts and predictions (n_windows, K each, as clrnn_predict
 * and clrnn_baseline_predict give them) of a split, over output `output`
 * or CLRNN_ALL_OUTPUTS. out->fit is left alone. */
CLRNN_API void clrnn_baseline_compare(const clrnn_dataset *data, clrnn_split split,
                                      const double *forecasts, const double *predictions,
                                      size_t output, clrnn_baseline_score *out);

/* Forward over every window of a split, in batches of at most `batch`. */
CLRNN_API clrnn_status clrnn_evaluate(clrnn_backend *backend, const clrnn_dataset *data,
                                      clrnn_split split, size_t batch, clrnn_metrics *metrics,
                                      clrnn_error *err);
/* clrnn_evaluate, and each output's own metrics into outputs (K, may be NULL). */
CLRNN_API clrnn_status clrnn_evaluate_outputs(clrnn_backend *backend, const clrnn_dataset *data,
                                              clrnn_split split, size_t batch,
                                              clrnn_metrics *metrics, clrnn_output_metrics *outputs,
                                              clrnn_error *err);

/* One series' figures on a split, in the targets' units, over every output
 * at the last step of its windows (cells with a target; NaN when none). */
typedef struct clrnn_series_metrics {
    size_t n_scored;
    double rmse, mae;
    size_t n_naive;               /* of those, the cells with a last known value */
    double naive_rmse, naive_mae; /* the naive forecast: each output's last known
                                     value (clrnn_dataset_y_base), on n_naive cells */
} clrnn_series_metrics;

/* Per series (clrnn_dataset_n_series of them, into out) from predictions
 * (n_windows, K) as clrnn_predict gives them; overall (may be NULL): the
 * same over every series. A series with no window in the split scores 0
 * cells. */
CLRNN_API void clrnn_metrics_by_series(const clrnn_dataset *data, clrnn_split split,
                                       const double *predictions, clrnn_series_metrics *out,
                                       clrnn_series_metrics *overall);

/* ------------------------------------------------------------ checkpoint */

/*
 * A model on disk (docs/checkpoint-format.md): magic, version, layer sizes,
 * precision, feature and target names, scaler statistics, seq_len, loss
 * steps, optimizer and its state, step and epoch counts, a CRC32. Written
 * atomically (temporary file, fsync, rename).
 *
 * A clrnn_checkpoint is made by clrnn_checkpoint_load (from a file) or
 * clrnn_checkpoint_capture (from a training run), read through the
 * accessors below, and released by clrnn_checkpoint_free. It is never
 * changed after it is made.
 */
typedef struct clrnn_checkpoint clrnn_checkpoint;

/* Reads a model file into *out (NULL on failure). Truncated, corrupted,
 * wrong-version or inconsistent files: CLRNN_E_INPUT. */
CLRNN_API clrnn_status clrnn_checkpoint_load(clrnn_checkpoint **out, const char *path,
                                             clrnn_error *err);
/* A training run as of `epoch` epochs into *out (NULL on failure): the
 * backend's shapes, parameters, optimizer state, step, precision and loss
 * steps; the data's column names, scaler statistics, seq_len and forecast
 * framing (horizons, differencing, season); the optimizer and seed of
 * train. How the data was read and split is not recorded: see
 * clrnn_checkpoint_capture_data. */
CLRNN_API clrnn_status clrnn_checkpoint_capture(clrnn_checkpoint **out, clrnn_backend *backend,
                                                const clrnn_dataset *data,
                                                const clrnn_train_config *train, size_t epoch,
                                                clrnn_error *err);
/* clrnn_checkpoint_capture, and also what data was made from: config (the
 * clrnn_data_config data was created with: its date column and date
 * features, fractions, missing values, scaler fit and target scaling; its
 * column names and statistics are taken from data) and data_path (the CSV
 * it was read from, recorded as given and as an absolute path), so that
 * eval, predict and forecast can rebuild the same dataset. config may be
 * NULL (then data_path must be too): nothing of it is recorded. */
CLRNN_API clrnn_status clrnn_checkpoint_capture_data(clrnn_checkpoint **out, clrnn_backend *backend,
                                                     const clrnn_dataset *data,
                                                     const clrnn_data_config *config,
                                                     const char *data_path,
                                                     const clrnn_train_config *train, size_t epoch,
                                                     clrnn_error *err);
/* Writes the file atomically, after the checks loading makes, so that it
 * never writes a file it would refuse to read. */
CLRNN_API clrnn_status clrnn_checkpoint_save(const clrnn_checkpoint *ckpt, const char *path,
                                             clrnn_error *err);
CLRNN_API void clrnn_checkpoint_free(clrnn_checkpoint *ckpt);

/* What it holds (the optimizer state goes to a backend through
 * clrnn_checkpoint_restore). The model (its shapes and parameters) belongs to
 * the checkpoint: clone it (clrnn_model_clone) to keep or change it. */
CLRNN_API const clrnn_model *clrnn_checkpoint_model(const clrnn_checkpoint *ckpt);
CLRNN_API clrnn_precision clrnn_checkpoint_precision(const clrnn_checkpoint *ckpt);
CLRNN_API size_t clrnn_checkpoint_seq_len(const clrnn_checkpoint *ckpt); /* T */
CLRNN_API clrnn_loss_steps clrnn_checkpoint_loss_steps(const clrnn_checkpoint *ckpt);
CLRNN_API clrnn_optimizer clrnn_checkpoint_optimizer(const clrnn_checkpoint *ckpt);
CLRNN_API long clrnn_checkpoint_step(const clrnn_checkpoint *ckpt);    /* optimizer steps taken */
CLRNN_API size_t clrnn_checkpoint_epoch(const clrnn_checkpoint *ckpt); /* epochs completed */
CLRNN_API uint32_t clrnn_checkpoint_seed(const clrnn_checkpoint *ckpt);
/* Trained with carried hidden state (version 4; older files: 0). */
CLRNN_API int clrnn_checkpoint_stateful(const clrnn_checkpoint *ckpt);
/* F feature columns (the first layer's inputs are F plus two a date
 * feature) and K target columns (the last layer's outputs are K times the
 * number of horizons); without date features and horizons, the inputs and
 * outputs. */
CLRNN_API size_t clrnn_checkpoint_n_features(const clrnn_checkpoint *ckpt); /* F */
CLRNN_API size_t clrnn_checkpoint_n_targets(const clrnn_checkpoint *ckpt);  /* K */
/* The format version of the file it was read from (the current one, 4,
 * when captured). */
CLRNN_API uint32_t clrnn_checkpoint_format_version(const clrnn_checkpoint *ckpt);
/* The data file it was trained on, as given to train (absolute 0) or as
 * an absolute path (absolute 1); NULL when not recorded (a version 1 file,
 * or captured without the data's settings). */
CLRNN_API const char *clrnn_checkpoint_data_path(const clrnn_checkpoint *ckpt, int absolute);
/* That data's rows (after drops) and the ends of its training and
 * validation splits; zeros when not recorded. Any pointer may be NULL. */
CLRNN_API void clrnn_checkpoint_data_rows(const clrnn_checkpoint *ckpt, size_t *rows,
                                          size_t *train_end, size_t *val_end);
/* Column names, in input and output order, valid while ckpt is; NULL for
 * an index out of range. */
CLRNN_API const char *clrnn_checkpoint_feature_name(const clrnn_checkpoint *ckpt, size_t f);
CLRNN_API const char *clrnn_checkpoint_target_name(const clrnn_checkpoint *ckpt, size_t k);

/* Continues a run from a checkpoint: the backend (made for the checkpoint
 * model's shapes) gets its parameters, optimizer state and step; train
 * (may be NULL) gets its epoch count as start_epoch, its optimizer and its
 * seed, and stateful where the model was trained so. A backend of other
 * shapes: CLRNN_E_INPUT. */
CLRNN_API clrnn_status clrnn_checkpoint_restore(const clrnn_checkpoint *ckpt,
                                                clrnn_backend *backend, clrnn_train_config *train,
                                                clrnn_error *err);
/* The data settings a model was trained with, pointing into ckpt (valid
 * while it is): feature and target column names, the scaler statistics
 * (feature_mean and feature_std for every input, date features included;
 * target_mean and target_std for every output, n_targets * n_horizons),
 * seq_len, horizons, difference, date features and season; and, where the
 * file records them (clrnn_checkpoint_data_path is not NULL), the date
 * column, fractions, missing values, scaler fit and target scaling, which
 * it otherwise leaves alone, as it leaves targets_optional. */
CLRNN_API void clrnn_checkpoint_data_config(const clrnn_checkpoint *ckpt,
                                            clrnn_data_config *config);
/* The backend settings a model was trained with: precision, seq_len, loss
 * steps, stateful; device, batch and kernels are left alone. */
CLRNN_API void clrnn_checkpoint_backend_config(const clrnn_checkpoint *ckpt,
                                               clrnn_backend_config *config);

/* The parameters as a numpy-loadable .npz: arrays "layer0.W_i", ... shaped as
 * in docs/model.md, float64. */
CLRNN_API clrnn_status clrnn_export_npz(const clrnn_model *model, const char *path,
                                        clrnn_error *err);
/* clrnn_export_npz of a checkpoint's model, with its settings beside the
 * parameters: the scaler (feature_mean, feature_std, target_mean,
 * target_std, float64), the columns (features, targets: unicode strings),
 * seq_len, horizons, difference, date_features, season, loss_steps (int64)
 * and, where recorded, data_path and date_column. */
CLRNN_API clrnn_status clrnn_checkpoint_export_npz(const clrnn_checkpoint *ckpt, const char *path,
                                                   clrnn_error *err);

/* ---------------------------------------------------------------- forecast */

/* The forecast from the data's last window (start R - T, R the dataset's
 * rows): forecast (K outputs), output k for row p = R - 1 + h, h =
 * clrnn_dataset_target_horizon(data, k), in the targets' units; for a
 * differenced dataset in levels: the target column's last known value at
 * row p - max(h, 1), carried forward over empty cells (what
 * clrnn_dataset_y_base holds for rows of the data), plus the predicted
 * change; NaN where the column has none. The backend must hold the dataset
 * (clrnn_backend_stage_dataset); no target value is needed. */
CLRNN_API clrnn_status clrnn_forecast(clrnn_backend *backend, const clrnn_dataset *data,
                                      double *forecast, clrnn_error *err);
/* clrnn_forecast for one series: from the window on its last rows, after
 * its last row (its own last known values when differenced). */
CLRNN_API clrnn_status clrnn_forecast_series(clrnn_backend *backend, const clrnn_dataset *data,
                                             size_t series, double *forecast, clrnn_error *err);

/* ----------------------------------------------------------- model groups */

/*
 * A backend made with clrnn_backend_config.n_models = M > 1 holds M models
 * of one shape: the data staged once for all, each model with its own
 * parameters, gradients, optimizer state, step count, window order and loss
 * sum. Every call above acts on the selected model (model 0 at first), so
 * clrnn_evaluate, clrnn_predict and checkpoints serve each model in turn;
 * the group calls below run every active model in one go (active: M flags,
 * NULL for all), each model computing bitwise what it computes alone on the
 * same device and family. The CPU reference runs the models in a loop; on
 * OpenCL one set of buffers holds them (the data staged once) and every
 * kernel family's launches have the model as a grid dimension: a training
 * step, and a validation batch (clrnn_backend_forward_group), is one set
 * of launches for all the models. clrnn_backend_group_native: 1 for a
 * backend made with n_models > 1 (both implementations hold groups).
 */
CLRNN_API size_t clrnn_backend_n_models(const clrnn_backend *backend);
CLRNN_API int clrnn_backend_group_native(const clrnn_backend *backend);
CLRNN_API clrnn_status clrnn_backend_select_model(clrnn_backend *backend, size_t model,
                                                  clrnn_error *err);
CLRNN_API size_t clrnn_backend_selected_model(const clrnn_backend *backend);
/* Each model's window order: orders (M, n), model k's row k. */
CLRNN_API clrnn_status clrnn_backend_stage_orders(clrnn_backend *backend, const uint32_t *orders,
                                                  size_t n, clrnn_error *err);
/* Gradients of each active model k on its windows orders[k][first ..
 * first + n_windows - 1]. A group's batch keeps no activations to read. */
CLRNN_API clrnn_status clrnn_backend_gradients_group(clrnn_backend *backend, size_t first,
                                                     size_t n_windows, const unsigned char *active,
                                                     clrnn_error *err);
/* Forward and loss of the same n_windows windows (starts, as
 * clrnn_backend_forward's) for each active model: each model's loss sum
 * gets its window losses, bitwise as clrnn_backend_forward alone gives
 * them (a group's validation). Keeps no activations to read. */
CLRNN_API clrnn_status clrnn_backend_forward_group(clrnn_backend *backend, const uint32_t *starts,
                                                   size_t n_windows, const unsigned char *active,
                                                   clrnn_error *err);
/* One optimizer step of each active model k with optimizers[k] (M). */
CLRNN_API clrnn_status clrnn_backend_update_group(clrnn_backend *backend,
                                                  const clrnn_optimizer *optimizers,
                                                  const unsigned char *active, clrnn_error *err);
/* clrnn_train for the group's M models in lock-step, configs[k] (M) model
 * k's (the same batch for all; epochs, seeds, optimizers, schedules and
 * patience may differ; on_epoch is called with model k selected). A model
 * whose loss turns NaN or infinite stops alone: status[k] says
 * CLRNN_E_NUMERIC, errors[k] (may be NULL) why, and the others go on.
 * reports (M) and status (M) are filled for every model; the return value
 * is CLRNN_OK unless the group as a whole failed (the device, memory, a
 * cancel). Model k ends as clrnn_train leaves it alone, bitwise. A
 * stateful config (`stateful`) trains only in a group of one (clrnn_train
 * itself); in a larger group it is CLRNN_E_UNSUPPORTED. */
CLRNN_API clrnn_status clrnn_train_group(clrnn_backend *backend, const clrnn_dataset *data,
                                         const clrnn_train_config *configs,
                                         clrnn_train_report *reports, clrnn_status *status,
                                         clrnn_error *errors, clrnn_error *err);

#ifdef __cplusplus
}
#endif

#endif /* CLRNN_H */
