/* clrnn eval, predict, forecast and export: using a saved model.
 *
 * A model file of format version 2 records the data it was trained on (the
 * file, columns, date settings, split, window, horizons, differencing):
 * --model alone rebuilds that dataset, --data reads another table the same
 * way. A version 1 file records only the columns and the window: the data
 * is then --data, else the bundled weather table, split by the flags. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* gmtime_r */
#endif
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cli_args.h"
#include "cli_baselines.h"
#include "cli_common.h"
#include "cli_explain.h"
#include "cli_sweep.h"
#include "core/error.h"
#include "io/files.h"

typedef struct model_options {
    const char *model, *data, *out, *device;
    const char *plot; /* explain */
    int split_choice; /* train, val, test or all */
    clrnn_split split;
    int all_rows;
    clrnn_data_config data_cfg; /* the flags' values */
    size_t batch;
    clrnn_precision precision;
    int precision_set, data_set, train_fraction_set, val_fraction_set, missing_set;
    int allow_split_change;
} model_options;

static const char *const splits[] = {"train", "val", "test", "all", NULL};
static const char *const missing[] = {"ffill", "drop", "error", NULL};
static const char *const precisions[] = {"fp32", "fp64", NULL};

#define AT(field) offsetof(model_options, field)

/* The options the commands share; a flag of another command is refused
 * rather than silently ignored. */
#define OPTION_MODEL                                                                               \
    {                                                                                              \
        "--model", "FILE", CLI_STRING, AT(model), .help = "a model saved by clrnn train --save"    \
    }
#define OPTION_DATA                                                                                \
    {                                                                                              \
        "--data", "FILE", CLI_STRING, AT(data),                                                    \
            .help = "CSV table (default: the one the model was trained on)"                        \
    }
#define OPTIONS_FORWARD                                                                            \
    {"--missing",        "M",                                                                      \
     CLI_CHOICE,         AT(data_cfg.missing),                                                     \
     .choices = missing, .help = "ffill, drop, error (default: the model's)"},                     \
        {"--batch",                                                                                \
         "B",                                                                                      \
         CLI_SIZE,                                                                                 \
         AT(batch),                                                                                \
         1,                                                                                        \
         1u << 24,                                                                                 \
         .help = "windows per forward pass (256)"},                                                \
        {"--device", "D", CLI_STRING, AT(device),                                                  \
         .help = "auto, cpu (default), opencl, opencl:P.D"},                                       \
    {                                                                                              \
        "--precision", "P", CLI_CHOICE, AT(precision),                                             \
            .choices = precisions, .help = "OpenCL precision (default: the model's)"               \
    }

static const cli_option eval_options[] = {
    OPTION_MODEL,
    OPTION_DATA,
    {"--split", "S", CLI_CHOICE, AT(split_choice), .choices = splits,
     .help = "train, val, test (default) or all rows"},
    {"--train-fraction", "F", CLI_DOUBLE, AT(data_cfg.train_fraction), 1e-9, 1.0,
     .help = "and --val-fraction F: default the model's (0.7 and\n0.15 for a version 1 "
             "file); another is refused\nunless --allow-split-change"},
    {"--val-fraction", "F", CLI_DOUBLE, AT(data_cfg.val_fraction), 0.0, 0.999999, .hidden = 1},
    {"--allow-split-change", NULL, CLI_FLAG, AT(allow_split_change),
     .help = "score a split that may hold rows the model was trained on"},
    OPTIONS_FORWARD,
    {0},
};

static const cli_option predict_options[] = {
    OPTION_MODEL,
    OPTION_DATA,
    {"--out", "FILE", CLI_STRING, AT(out), .help = "the CSV to write (atomically)"},
    OPTIONS_FORWARD,
    {0},
};

static const cli_option forecast_options[] = {
    OPTION_MODEL,
    OPTION_DATA,
    {"--out", "FILE", CLI_STRING, AT(out),
     .help = "the CSV to write (atomically; default: standard output)"},
    OPTIONS_FORWARD,
    {0},
};

static const cli_option explain_options[] = {
    OPTION_MODEL,
    OPTION_DATA,
    {"--split", "S", CLI_CHOICE, AT(split_choice), .choices = splits,
     .help = "train, val, test (default) or all rows: whose windows"},
    {"--out", "FILE", CLI_STRING, AT(out), .help = "the CSV to write (atomically)"},
    {"--plot", "FILE", CLI_STRING, AT(plot),
     .help = "an SVG heat map of mean |gradient| (features x lags)"},
    {"--train-fraction", "F", CLI_DOUBLE, AT(data_cfg.train_fraction), 1e-9, 1.0,
     .help = "and --val-fraction F: default the model's"},
    {"--val-fraction", "F", CLI_DOUBLE, AT(data_cfg.val_fraction), 0.0, 0.999999, .hidden = 1},
    {"--allow-split-change", NULL, CLI_FLAG, AT(allow_split_change),
     .help = "explain a split that may hold rows the model was trained on"},
    OPTIONS_FORWARD,
    {0},
};

static const cli_option export_options[] = {
    OPTION_MODEL,
    {"--out", "FILE", CLI_STRING, AT(out), .help = "the .npz to write (atomically)"},
    {0},
};

const cli_command cli_eval_command = {
    .name = "clrnn eval",
    .about = "usage: clrnn eval --model FILE [--data FILE] [--split train|val|test|all]\n"
             "\n"
             "Loss, RMSE and MAE (target units) of a saved model on a split of the data it\n"
             "was trained on, split as it was for training (or of --data, split the same\n"
             "way). A split other than the model's is refused: its validation and test rows\n"
             "would hold rows the model was trained on.\n"
             "\n"
             "options:\n",
    .options = eval_options,
    .width = 23,
};

const cli_command cli_predict_command = {
    .name = "clrnn predict",
    .about = "usage: clrnn predict --model FILE [--data FILE] --out preds.csv\n"
             "\n"
             "Writes, for every full window of the data, the predicted row's date (or row\n"
             "number), the truth and the prediction of each target: date,y,y_pred,...\n"
             "(with several horizons one line per window and output:\n"
             "date,target,horizon,truth,prediction). The data needs the model's feature\n"
             "columns; a target column it lacks, or an empty target cell, gives an empty\n"
             "truth. It is scaled with the model's statistics.\n"
             "\n"
             "options:\n",
    .options = predict_options,
    .width = 21,
};

const cli_command cli_forecast_command = {
    .name = "clrnn forecast",
    .about = "usage: clrnn forecast --model FILE [--data FILE] [--out forecast.csv]\n"
             "\n"
             "Predicts the rows after the end of the data from its last window: one line\n"
             "per output, date,target,horizon,forecast, the date that of the row the output\n"
             "predicts (the last row's plus the horizon times the median step between row\n"
             "dates; row numbers for data without dates). A differenced model's forecast\n"
             "is in levels. No target column is needed, except a differenced model's\n"
             "(its last known value).\n"
             "\n"
             "options:\n",
    .options = forecast_options,
    .width = 21,
};

const cli_command cli_explain_command = {
    .name = "clrnn explain",
    .about = "usage: clrnn explain --model FILE [--data FILE] [--split S] --out attr.csv\n"
             "                     [--plot attr.svg]\n"
             "\n"
             "Which inputs and lags a saved model relies on: for every window of the split,\n"
             "the gradient of its prediction of each output (the window's last step) with\n"
             "respect to each input feature at each lag (0: the window's last row, up to\n"
             "seq-len - 1), by backpropagation on the device (--device) or the CPU\n"
             "reference, no parameter changed. The prediction is in the target's units, the\n"
             "inputs as the model sees them: standardised by its scaler, so a gradient is\n"
             "the change of the prediction for one standard deviation of the input, and\n"
             "gradient x input uses the standardised input (0 at its mean). Writes\n"
             "output,feature,lag,mean_abs_grad,mean_grad,mean_grad_x_input: the means\n"
             "over the split's windows; prints each output's largest.\n"
             "\n"
             "options:\n",
    .options = explain_options,
    .width = 23,
};

const cli_command cli_export_command = {
    .name = "clrnn export",
    .about = "usage: clrnn export --model FILE --out weights.npz\n"
             "\n"
             "Writes the parameters as a numpy .npz: layer0.W_i, layer0.W_h, layer0.W_o,\n"
             "layer0.b_o, layer0.b_i, layer1..., shaped as in docs/model.md (float64), and\n"
             "the model's settings: feature_mean, feature_std, target_mean, target_std,\n"
             "features, targets, seq_len, horizons, difference, date_features, season,\n"
             "loss_steps, format_version, data_path, data_path_absolute, date_column,\n"
             "series_column.\n"
             "\n"
             "options:\n",
    .options = export_options,
    .width = 21,
};

static void defaults(model_options *o)
{
    memset(o, 0, sizeof *o);
    o->device = "cpu";
    o->split_choice = CLRNN_SPLIT_TEST;
    o->data_cfg = clrnn_data_config_default();
    o->batch = 256;
}

static const cli_command *command_named(const char *command)
{
    return strcmp(command, "eval") == 0       ? &cli_eval_command
           : strcmp(command, "predict") == 0  ? &cli_predict_command
           : strcmp(command, "forecast") == 0 ? &cli_forecast_command
           : strcmp(command, "explain") == 0  ? &cli_explain_command
                                              : &cli_export_command;
}

/* The options of command, with its required ones. CLI_OK to go on. */
static cli_status parse(model_options *o, const char *command, int argc, char **argv)
{
    const cli_command *c = command_named(command);
    cli_args a;
    defaults(o);
    cli_status st = cli_parse(&a, c, argc, argv, o);
    if (st != CLI_OK)
        return st;
    o->all_rows = o->split_choice == 3; /* "all": every row is one split */
    o->split = o->all_rows ? CLRNN_SPLIT_TRAIN : (clrnn_split)o->split_choice;
    o->precision_set = cli_given(&a, "--precision");
    o->data_set = cli_given(&a, "--data");
    o->train_fraction_set = cli_given(&a, "--train-fraction");
    o->val_fraction_set = cli_given(&a, "--val-fraction");
    o->missing_set = cli_given(&a, "--missing");
    if (!o->model)
        return fprintf(stderr, "%s: --model is required (see %s --help)\n", c->name, c->name),
               CLI_BAD_INPUT;
    if ((c == &cli_predict_command || c == &cli_export_command || c == &cli_explain_command) &&
        !o->out)
        return fprintf(stderr, "%s: --out is required (see %s --help)\n", c->name, c->name),
               CLI_BAD_INPUT;
    /* the output must not be written over what the command reads */
    const char *inputs[2][2] = {{"--model", o->model}, {"--data", o->data}};
    for (int i = 0; o->out && i < 2; i++)
        if (inputs[i][1] && path_same_file(o->out, inputs[i][1]))
            return fprintf(stderr, "%s: --out '%s' is the same file as %s '%s'\n", c->name, o->out,
                           inputs[i][0], inputs[i][1]),
                   CLI_BAD_INPUT;
    for (int i = 0; o->plot && i < 2; i++)
        if (inputs[i][1] && path_same_file(o->plot, inputs[i][1]))
            return fprintf(stderr, "%s: --plot '%s' is the same file as %s '%s'\n", c->name,
                           o->plot, inputs[i][0], inputs[i][1]),
                   CLI_BAD_INPUT;
    if (o->plot && o->out && path_same_file(o->plot, o->out))
        return fprintf(stderr, "%s: --plot '%s' is the same file as --out\n", c->name, o->plot),
               CLI_BAD_INPUT;
    return CLI_OK;
}

/* The model, the data it reads and a backend holding both. */
typedef struct loaded {
    clrnn_checkpoint *ckpt;
    clrnn_dataset *data;
    clrnn_backend *backend;
    const char *data_path;
    char path_buf[8192];
    /* An ensemble file (clrnn sweep --ensemble mean): its first member is
     * ckpt and backend, the others these; paths: every member's. */
    int ensemble;
    char **paths;
    size_t n_paths, n_more;
    clrnn_checkpoint **more;
    clrnn_backend **more_backends;
} loaded;

static void loaded_free(loaded *l)
{
    for (size_t i = 0; i < l->n_more; i++) {
        clrnn_backend_free(l->more_backends ? l->more_backends[i] : NULL);
        clrnn_checkpoint_free(l->more ? l->more[i] : NULL);
    }
    free(l->more);
    free(l->more_backends);
    for (size_t i = 0; i < l->n_paths; i++)
        free(l->paths[i]);
    free(l->paths);
    clrnn_backend_free(l->backend);
    clrnn_dataset_free(l->data);
    clrnn_checkpoint_free(l->ckpt);
}

/* The data file a model records, where it is now: its absolute path, else
 * the path as given from here, else from the model file's folder. */
static const char *recorded_data(loaded *l, const char *model_path, const char *command)
{
    const char *absolute = clrnn_checkpoint_data_path(l->ckpt, 1);
    const char *given = clrnn_checkpoint_data_path(l->ckpt, 0);
    char dir[4096];
    if (access(absolute, R_OK) == 0)
        return absolute;
    if (access(given, R_OK) == 0)
        return given;
    if (given[0] != '/' && path_dirname(model_path, dir, sizeof dir) &&
        (size_t)snprintf(l->path_buf, sizeof l->path_buf, "%s/%s", dir, given) <
            sizeof l->path_buf &&
        access(l->path_buf, R_OK) == 0)
        return l->path_buf;
    fprintf(stderr,
            "%s: the data '%s' that '%s' was trained on is not found (at %s either); give "
            "--data\n",
            command, given, model_path, absolute);
    return NULL;
}

/* A split other than the one the model was trained with is refused (it
 * would score rows the model was trained on) unless --allow-split-change,
 * and then said. 1 to go on. */
static int check_split(const loaded *l, const model_options *o, const clrnn_data_config *model_cfg,
                       const char *command)
{
    if (!clrnn_checkpoint_data_path(l->ckpt, 0) || o->all_rows ||
        (o->data_set && !path_same_file(o->data, clrnn_checkpoint_data_path(l->ckpt, 1))))
        return 1; /* not recorded, every row, or another table */
    char what[256] = "";
    if (o->train_fraction_set && o->data_cfg.train_fraction != model_cfg->train_fraction)
        snprintf(what, sizeof what, "--train-fraction %g is not the model's %g",
                 o->data_cfg.train_fraction, model_cfg->train_fraction);
    else if (o->val_fraction_set && o->data_cfg.val_fraction != model_cfg->val_fraction)
        snprintf(what, sizeof what, "--val-fraction %g is not the model's %g",
                 o->data_cfg.val_fraction, model_cfg->val_fraction);
    else if (o->missing_set && o->data_cfg.missing != model_cfg->missing)
        snprintf(what, sizeof what, "--missing %s is not the model's %s",
                 missing[o->data_cfg.missing], missing[model_cfg->missing]);
    if (what[0] == '\0')
        return 1;
    if (!o->allow_split_change) {
        fprintf(stderr,
                "%s: %s: its validation and test rows would include rows the model was "
                "trained on (--allow-split-change to score them anyway)\n",
                command, what);
        return 0;
    }
    fprintf(stderr, "%s: warning: %s: the split may hold rows the model was trained on\n", command,
            what);
    return 1;
}

/* The scored split of the model's own data must start after the rows it
 * was trained on (the file may have changed since). 1 to go on. */
static int check_rows(const loaded *l, const model_options *o, const char *command)
{
    size_t rows, train_end, begin;
    clrnn_checkpoint_data_rows(l->ckpt, &rows, &train_end, NULL);
    if (clrnn_dataset_series_column(l->data))
        return 1; /* many series: each split's rows lie within each series */
    if (!clrnn_checkpoint_data_path(l->ckpt, 0) || o->all_rows || o->split == CLRNN_SPLIT_TRAIN ||
        (o->data_set && !path_same_file(o->data, clrnn_checkpoint_data_path(l->ckpt, 1))))
        return 1;
    clrnn_dataset_split_rows(l->data, o->split, &begin, NULL);
    if (begin >= train_end)
        return 1;
    if (!o->allow_split_change) {
        fprintf(stderr,
                "%s: the split starts at row %zu of '%s', among the %zu rows the model was "
                "trained on (the file has %zu rows; it had %zu): --allow-split-change to "
                "score it anyway\n",
                command, begin, l->data_path, train_end, clrnn_dataset_n_rows(l->data), rows);
        return 0;
    }
    fprintf(stderr, "%s: warning: the split starts at row %zu, among the %zu training rows\n",
            command, begin, train_end);
    return 1;
}

static int read_dataset(loaded *l, const clrnn_data_config *cfg, const char *command)
{
    clrnn_error err;
    clrnn_table *table = NULL;
    if (clrnn_table_read_csv(&table, l->data_path, &err) != CLRNN_OK)
        return cli_error(command, &err), 0;
    clrnn_status st = clrnn_dataset_create(&l->data, table, cfg, &err);
    clrnn_table_free(table);
    if (st != CLRNN_OK)
        return cli_error(command, &err), 0;
    return 1;
}

/* The members after the first of an ensemble file. */
static int load_members(loaded *l, const char *command)
{
    clrnn_error err;
    l->more = calloc(l->n_paths, sizeof *l->more);
    l->more_backends = calloc(l->n_paths, sizeof *l->more_backends);
    if (!l->more || !l->more_backends)
        return fprintf(stderr, "%s: out of memory\n", command), 0;
    for (size_t i = 1; i < l->n_paths; i++) {
        if (clrnn_checkpoint_load(&l->more[i - 1], l->paths[i], &err) != CLRNN_OK)
            return cli_error(command, &err), 0;
        l->n_more = i;
    }
    return 1;
}

/* Members must read the same data the same way: columns, window, outputs
 * and scaler statistics. */
static int same_data(const clrnn_checkpoint *a, const clrnn_checkpoint *b, const char *a_path,
                     const char *b_path, const char *command)
{
    char fa[2048], fb[2048], ta[2048], tb[2048];
    clrnn_data_config ca = clrnn_data_config_default(), cb = ca;
    const clrnn_model *ma = clrnn_checkpoint_model(a), *mb = clrnn_checkpoint_model(b);
    size_t I = clrnn_model_layer(ma, 0).n_in;
    size_t O = clrnn_model_layer(ma, clrnn_model_n_layers(ma) - 1).n_out;
    clrnn_checkpoint_data_config(a, &ca);
    clrnn_checkpoint_data_config(b, &cb);
    int same =
        strcmp(cli_join_columns(fa, sizeof fa, a, 0), cli_join_columns(fb, sizeof fb, b, 0)) == 0 &&
        strcmp(cli_join_columns(ta, sizeof ta, a, 1), cli_join_columns(tb, sizeof tb, b, 1)) == 0 &&
        ca.seq_len == cb.seq_len && I == clrnn_model_layer(mb, 0).n_in &&
        O == clrnn_model_layer(mb, clrnn_model_n_layers(mb) - 1).n_out &&
        ca.difference == cb.difference && ca.n_horizons == cb.n_horizons &&
        memcmp(ca.feature_mean, cb.feature_mean, I * sizeof(double)) == 0 &&
        memcmp(ca.feature_std, cb.feature_std, I * sizeof(double)) == 0 &&
        memcmp(ca.target_mean, cb.target_mean, O * sizeof(double)) == 0 &&
        memcmp(ca.target_std, cb.target_std, O * sizeof(double)) == 0;
    if (!same)
        fprintf(stderr,
                "%s: ensemble members '%s' and '%s' read different data (columns, window or "
                "scaler statistics)\n",
                command, a_path, b_path);
    return same;
}

/* The checkpoint, its data as it was read for training (or --data read the
 * same way), and a backend holding both. predict and forecast read every
 * row as one split and do without the target columns. */
static int load(loaded *l, model_options *o, const char *command, int whole_table)
{
    clrnn_error err;
    memset(l, 0, sizeof *l);
    const char *model_path = o->model;
    if (cli_ensemble_is_file(o->model)) {
        if (!cli_ensemble_read(command, o->model, &l->paths, &l->n_paths) ||
            !load_members(l, command))
            return 0;
        model_path = l->paths[0];
        l->ensemble = 1;
    }
    if (clrnn_checkpoint_load(&l->ckpt, model_path, &err) != CLRNN_OK)
        return cli_error(command, &err), 0;
    for (size_t i = 0; i < l->n_more; i++)
        if (!same_data(l->ckpt, l->more[i], l->paths[0], l->paths[i + 1], command))
            return 0;
    clrnn_data_config cfg = clrnn_data_config_default();
    cfg.train_fraction = o->data_cfg.train_fraction; /* a version 1 file has none */
    cfg.val_fraction = o->data_cfg.val_fraction;
    cfg.missing = o->data_cfg.missing;
    clrnn_checkpoint_data_config(l->ckpt, &cfg);
    if (!whole_table && !check_split(l, o, &cfg, command))
        return 0;
    if (o->train_fraction_set)
        cfg.train_fraction = o->data_cfg.train_fraction;
    if (o->val_fraction_set)
        cfg.val_fraction = o->data_cfg.val_fraction;
    if (o->missing_set)
        cfg.missing = o->data_cfg.missing;
    if (whole_table && cfg.scale_per_series)
        cfg.scale_fraction = cfg.train_fraction; /* each series' scaler as in training */
    if (o->all_rows || whole_table) {
        cfg.train_fraction = 1.0;
        cfg.val_fraction = 0.0;
    }
    cfg.targets_optional = whole_table;
    if (o->data)
        l->data_path = o->data;
    else if (clrnn_checkpoint_data_path(l->ckpt, 0))
        l->data_path = recorded_data(l, model_path, command);
    else
        l->data_path = cli_default_data(); /* version 1: as before */
    if (!l->data_path || !read_dataset(l, &cfg, command))
        return 0;
    if (!whole_table && !check_rows(l, o, command))
        return 0;
    size_t n = clrnn_dataset_n_windows(l->data, o->split);
    clrnn_backend_config bcfg = {.device = o->device, .max_batch = o->batch};
    clrnn_checkpoint_backend_config(l->ckpt, &bcfg);
    if (o->precision_set)
        bcfg.precision = o->precision;
    if (n == 0) {
        fprintf(stderr, "%s: the split has no full window of %zu rows\n", command,
                clrnn_checkpoint_seq_len(l->ckpt));
        return 0;
    }
    if (clrnn_backend_create(&l->backend, clrnn_checkpoint_model(l->ckpt), &bcfg, &err) !=
            CLRNN_OK ||
        clrnn_backend_stage_dataset(l->backend, l->data, &err) != CLRNN_OK)
        return cli_error(command, &err), 0;
    for (size_t i = 0; i < l->n_more; i++) {
        clrnn_backend_config mcfg = {.device = o->device, .max_batch = o->batch};
        clrnn_checkpoint_backend_config(l->more[i], &mcfg);
        if (o->precision_set)
            mcfg.precision = o->precision;
        if (clrnn_backend_create(&l->more_backends[i], clrnn_checkpoint_model(l->more[i]), &mcfg,
                                 &err) != CLRNN_OK ||
            clrnn_backend_stage_dataset(l->more_backends[i], l->data, &err) != CLRNN_OK)
            return cli_error(command, &err), 0;
    }
    return 1;
}

/* The mean of every member's predictions (a model's own for a model
 * file): members added in order, then divided by their number. */
static clrnn_status predict_mean(loaded *l, clrnn_split split, size_t batch, double *pred,
                                 clrnn_error *err)
{
    clrnn_status st = clrnn_predict(l->backend, l->data, split, batch, pred, err);
    if (st != CLRNN_OK || l->n_more == 0)
        return st;
    size_t n = clrnn_dataset_n_windows(l->data, split) * clrnn_dataset_n_targets(l->data);
    double *member = malloc((n ? n : 1) * sizeof *member);
    if (!member)
        return clrnn__fail(err, CLRNN_E_NOMEM, "out of memory");
    for (size_t m = 0; st == CLRNN_OK && m < l->n_more; m++) {
        st = clrnn_predict(l->more_backends[m], l->data, split, batch, member, err);
        for (size_t i = 0; st == CLRNN_OK && i < n; i++)
            pred[i] += member[i];
    }
    for (size_t i = 0; i < n; i++)
        pred[i] /= (double)(l->n_more + 1);
    free(member);
    return st;
}

/* clrnn_forecast of the mean, likewise. */
/* One model's forecast after the data's end, or after series `series`'s
 * (SIZE_MAX: the table as one series). */
static clrnn_status forecast_one(clrnn_backend *backend, const clrnn_dataset *data, size_t series,
                                 double *forecast, clrnn_error *err)
{
    return series == SIZE_MAX ? clrnn_forecast(backend, data, forecast, err)
                              : clrnn_forecast_series(backend, data, series, forecast, err);
}

/* The forecast, or an ensemble's mean of its members' forecasts. */
static clrnn_status forecast_mean(loaded *l, size_t series, double *forecast, clrnn_error *err)
{
    clrnn_status st = forecast_one(l->backend, l->data, series, forecast, err);
    size_t K = clrnn_dataset_n_targets(l->data);
    double member[256];
    if (st != CLRNN_OK || l->n_more == 0)
        return st;
    if (K > sizeof member / sizeof member[0])
        return clrnn__fail(err, CLRNN_E_UNSUPPORTED, "an ensemble forecast of %zu outputs", K);
    for (size_t m = 0; st == CLRNN_OK && m < l->n_more; m++) {
        st = forecast_one(l->more_backends[m], l->data, series, member, err);
        for (size_t k = 0; st == CLRNN_OK && k < K; k++)
            forecast[k] += member[k];
    }
    for (size_t k = 0; k < K; k++)
        forecast[k] /= (double)(l->n_more + 1);
    return st;
}

static const char *const split_names[] = {"train", "val", "test"};

/* The mean's RMSE and MAE on the split, then each member's. */
static int eval_ensemble(loaded *l, const model_options *o)
{
    clrnn_error err;
    clrnn_metrics m;
    size_t n = clrnn_dataset_n_windows(l->data, o->split), K = clrnn_dataset_n_targets(l->data);
    double *pred = malloc((n ? n : 1) * K * sizeof *pred), rmse, mae;
    if (!pred)
        return fprintf(stderr, "clrnn eval: out of memory\n"), CLI_BAD_INPUT;
    if (predict_mean(l, o->split, o->batch, pred, &err) != CLRNN_OK) {
        free(pred);
        return cli_error("clrnn eval", &err);
    }
    cli_score_predictions(l->data, o->split, pred, &rmse, &mae);
    free(pred);
    if (!o->data && clrnn_checkpoint_data_path(l->ckpt, 0))
        printf("data: %s (the model's)\n", l->data_path);
    const char *split = o->all_rows ? "all" : split_names[o->split];
    printf("%s split: %zu windows, the mean of %zu models: RMSE %.4f, MAE %.4f\n", split, n,
           l->n_more + 1, rmse, mae);
    for (size_t i = 0; i <= l->n_more; i++) {
        clrnn_backend *b = i ? l->more_backends[i - 1] : l->backend;
        if (clrnn_evaluate(b, l->data, o->split, o->batch, &m, &err) != CLRNN_OK)
            return cli_error("clrnn eval", &err);
        printf("member %zu (%s): loss %.6g, RMSE %.4f, MAE %.4f\n", i, l->paths[i], m.loss, m.rmse,
               m.mae);
    }
    return CLI_OK;
}

static int run_eval(int argc, char **argv)
{
    model_options o;
    int code = parse(&o, "eval", argc, argv);
    if (code != CLI_OK)
        return code;
    loaded l;
    clrnn_metrics m;
    clrnn_error err;
    code = CLI_BAD_INPUT;
    int loaded_ok = load(&l, &o, "clrnn eval", 0);
    if (loaded_ok && l.ensemble) {
        code = eval_ensemble(&l, &o);
    } else if (loaded_ok) {
        if (clrnn_evaluate(l.backend, l.data, o.split, o.batch, &m, &err) != CLRNN_OK) {
            cli_error("clrnn eval", &err);
        } else {
            static const char *const names[] = {"train", "val", "test"};
            if (!o.data && clrnn_checkpoint_data_path(l.ckpt, 0))
                printf("data: %s (the model's)\n", l.data_path);
            printf("%s split: %zu windows, loss %.6g, RMSE %.4f, MAE %.4f\n",
                   o.all_rows ? "all" : names[o.split], m.n_windows, m.loss, m.rmse, m.mae);
            code = cli_report_baselines("clrnn eval", l.backend, l.data, o.split, o.batch, 0)
                       ? CLI_OK
                       : CLI_BAD_INPUT;
        }
    }
    loaded_free(&l);
    return code;
}

/* --------------------------------------------------------------- dates */

/* The median step between consecutive row dates, NaN without dates. */
static double median_step(const clrnn_dataset *data)
{
    size_t R = clrnn_dataset_n_rows(data), n = 0;
    double *steps = malloc((R ? R : 1) * sizeof *steps);
    for (size_t r = 1; steps && r < R; r++) {
        double step = clrnn_dataset_row_time(data, r) - clrnn_dataset_row_time(data, r - 1);
        if (isfinite(step))
            steps[n++] = step;
    }
    for (size_t i = 1; i < n; i++) /* insertion sort: once a command */
        for (size_t j = i; j > 0 && steps[j - 1] > steps[j]; j--) {
            double t = steps[j];
            steps[j] = steps[j - 1];
            steps[j - 1] = t;
        }
    double median = n == 0 ? NAN : n % 2 ? steps[n / 2] : 0.5 * (steps[n / 2 - 1] + steps[n / 2]);
    free(steps);
    return median;
}

/* Seconds since 1970 as an ISO date, with the time of day unless midnight. */
static void format_time(char *out, size_t size, double seconds)
{
    time_t t = (time_t)floor(seconds);
    struct tm tm;
    if (!gmtime_r(&t, &tm) ||
        !strftime(out, size, fmod(seconds, 86400.0) == 0.0 ? "%Y-%m-%d" : "%Y-%m-%dT%H:%M:%S", &tm))
        snprintf(out, size, "%.0f", seconds);
}

/* What names row `row` (it may lie past the data's last row, R - 1): its
 * label; past the end, the last row's date plus the median step for each
 * row beyond; else the row number. */
static void row_name(char *out, size_t size, const clrnn_dataset *data, size_t row, double step)
{
    size_t R = clrnn_dataset_n_rows(data);
    const char *label = row < R ? clrnn_dataset_row_label(data, row) : NULL;
    double last = R ? clrnn_dataset_row_time(data, R - 1) : NAN;
    if (label)
        snprintf(out, size, "%s", label);
    else if (row >= R && isfinite(last) && isfinite(step))
        format_time(out, size, last + step * (double)(row - (R - 1)));
    else
        snprintf(out, size, "%zu", row);
}

static int has_dates(const clrnn_dataset *data)
{
    size_t R = clrnn_dataset_n_rows(data);
    return clrnn_dataset_row_label(data, 0) || (R && isfinite(clrnn_dataset_row_time(data, R - 1)));
}

/* A number, or nothing for a missing one. */
static void put_value(FILE *f, double v)
{
    if (!isnan(v))
        fprintf(f, "%.10g", v);
}

/* ------------------------------------------------------------- predict */

static int write_predictions(const char *path, const loaded *l, const double *pred, size_t n)
{
    const clrnn_dataset *d = l->data;
    size_t K = clrnn_dataset_n_targets(d), R = clrnn_dataset_n_rows(d);
    size_t n_horizons = K / clrnn_dataset_n_target_columns(d);
    double step = median_step(d);
    atomic_out out;
    clrnn_error err;
    char name[128];
    if (atomic_open(&out, path, &err) != CLRNN_OK)
        return cli_error("clrnn predict", &err), 0;
    FILE *f = out.f;
    const char *series = clrnn_dataset_series_column(d);
    fprintf(f, "%s", has_dates(d) ? "date" : "row");
    if (series)
        fprintf(f, ",%s", series);
    if (n_horizons > 1)
        fprintf(f, ",target,horizon,truth,prediction");
    for (size_t k = 0; n_horizons == 1 && k < K; k++)
        fprintf(f, ",%s,%s_pred", clrnn_dataset_target_label(d, k),
                clrnn_dataset_target_label(d, k));
    fprintf(f, "\n");
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < K; k++) {
            size_t row = clrnn_dataset_window_row(d, CLRNN_SPLIT_TRAIN, i, k);
            double truth = row < R ? clrnn_dataset_target_column(d, k)[row] : NAN;
            if (k == 0 || n_horizons > 1) {
                row_name(name, sizeof name, d, row, step);
                fprintf(f, "%s", name);
                if (series) { /* the window's own series */
                    fputc(',', f);
                    cli_csv_field(
                        f, clrnn_dataset_series_id(
                               d, clrnn_dataset_row_series(
                                      d, clrnn_dataset_window_start(d, CLRNN_SPLIT_TRAIN, i))));
                }
            }
            if (n_horizons > 1)
                fprintf(f, ",%s,%zu", clrnn_dataset_target_name(d, k % (K / n_horizons)),
                        clrnn_dataset_target_horizon(d, k));
            fprintf(f, ",");
            put_value(f, truth);
            fprintf(f, ",");
            put_value(f, pred[i * K + k]);
            if (n_horizons > 1 || k == K - 1)
                fprintf(f, "\n");
        }
    }
    if (atomic_commit(&out, &err) != CLRNN_OK)
        return cli_error("clrnn predict", &err), 0;
    return 1;
}

static int run_predict(int argc, char **argv)
{
    model_options o;
    int code = parse(&o, "predict", argc, argv);
    if (code != CLI_OK)
        return code;
    o.all_rows = 1; /* all rows are one split */
    o.split = CLRNN_SPLIT_TRAIN;
    loaded l;
    clrnn_error err;
    code = CLI_BAD_INPUT;
    if (load(&l, &o, "clrnn predict", 1)) {
        size_t n = clrnn_dataset_n_windows(l.data, CLRNN_SPLIT_TRAIN);
        double *pred = malloc(n * clrnn_dataset_n_targets(l.data) * sizeof *pred);
        if (!pred)
            fprintf(stderr, "clrnn predict: out of memory\n");
        else if (predict_mean(&l, CLRNN_SPLIT_TRAIN, o.batch, pred, &err) != CLRNN_OK)
            cli_error("clrnn predict", &err);
        else if (write_predictions(o.out, &l, pred, n)) {
            printf("predict: %zu rows written to %s\n", n, o.out);
            code = CLI_OK;
        }
        free(pred);
    }
    loaded_free(&l);
    return code;
}

/* ------------------------------------------------------------ forecast */

static void write_forecast(FILE *f, const clrnn_dataset *d, const double *forecast)
{
    size_t K = clrnn_dataset_n_targets(d), R = clrnn_dataset_n_rows(d);
    size_t columns = clrnn_dataset_n_target_columns(d);
    double step = median_step(d);
    char name[128];
    fprintf(f, "%s,target,horizon,forecast\n", has_dates(d) ? "date" : "row");
    for (size_t k = 0; k < K; k++) {
        size_t h = clrnn_dataset_target_horizon(d, k);
        row_name(name, sizeof name, d, R - 1 + h, step);
        fprintf(f, "%s,%s,%zu,", name, clrnn_dataset_target_name(d, k % columns), h);
        put_value(f, forecast[k]);
        fprintf(f, "\n");
    }
}

/* --series: every series' forecast (S, K), a row per series and output,
 * dated from the series' own last row. */
static void write_forecast_series(FILE *f, const clrnn_dataset *d, const double *forecast)
{
    size_t K = clrnn_dataset_n_targets(d), S = clrnn_dataset_n_series(d);
    size_t columns = clrnn_dataset_n_target_columns(d);
    double step = median_step(d);
    char name[128];
    fprintf(f, "%s,%s,target,horizon,forecast\n", has_dates(d) ? "date" : "row",
            clrnn_dataset_series_column(d));
    for (size_t s = 0; s < S; s++) {
        size_t first, end;
        clrnn_dataset_series_rows(d, s, &first, &end);
        double last = clrnn_dataset_row_time(d, end - 1);
        for (size_t k = 0; k < K; k++) {
            size_t h = clrnn_dataset_target_horizon(d, k);
            if (h == 0 || !isfinite(last) || !isfinite(step))
                row_name(name, sizeof name, d, h == 0 ? end - 1 : end - 1 + h, step);
            else
                format_time(name, sizeof name, last + step * (double)h);
            fprintf(f, "%s,", name);
            cli_csv_field(f, clrnn_dataset_series_id(d, s));
            fprintf(f, ",%s,%zu,", clrnn_dataset_target_name(d, k % columns), h);
            put_value(f, forecast[s * K + k]);
            fprintf(f, "\n");
        }
    }
}

static int run_forecast(int argc, char **argv)
{
    model_options o;
    int code = parse(&o, "forecast", argc, argv);
    if (code != CLI_OK)
        return code;
    o.all_rows = 1;
    o.split = CLRNN_SPLIT_TRAIN;
    loaded l;
    clrnn_error err;
    code = CLI_BAD_INPUT;
    double *forecast = NULL;
    if (!load(&l, &o, "clrnn forecast", 1))
        goto done;
    size_t K = clrnn_dataset_n_targets(l.data);
    size_t S = clrnn_dataset_series_column(l.data) ? clrnn_dataset_n_series(l.data) : 0;
    if (!(forecast = malloc((S ? S : 1) * K * sizeof *forecast))) {
        fprintf(stderr, "clrnn forecast: out of memory\n");
        goto done;
    }
    clrnn_status st = S ? CLRNN_OK : forecast_mean(&l, SIZE_MAX, forecast, &err);
    for (size_t s = 0; st == CLRNN_OK && s < S; s++)
        st = forecast_mean(&l, s, forecast + s * K, &err);
    if (st != CLRNN_OK) {
        cli_error("clrnn forecast", &err);
        goto done;
    }
    for (size_t k = 0; k < (S ? S : 1) * K; k++)
        if (isnan(forecast[k])) {
            fprintf(
                stderr,
                "clrnn forecast: the model is differenced and '%s' has no value of its "
                "target column '%s' to add the change to\n",
                l.data_path,
                clrnn_dataset_target_name(l.data, k % K % clrnn_dataset_n_target_columns(l.data)));
            goto done;
        }
    void (*write)(FILE *, const clrnn_dataset *, const double *) =
        S ? write_forecast_series : write_forecast;
    if (!o.out) {
        write(stdout, l.data, forecast);
        code = fflush(stdout) == 0 ? CLI_OK : CLI_BAD_INPUT;
        goto done;
    }
    atomic_out out;
    if (atomic_open(&out, o.out, &err) != CLRNN_OK) {
        cli_error("clrnn forecast", &err);
        goto done;
    }
    write(out.f, l.data, forecast);
    if (atomic_commit(&out, &err) != CLRNN_OK) {
        cli_error("clrnn forecast", &err);
        goto done;
    }
    if (S)
        printf("forecast: %zu output(s) after the last row of each of %zu series written to %s\n",
               K, S, o.out);
    else
        printf("forecast: %zu output(s) after the last of %zu rows written to %s\n", K,
               clrnn_dataset_n_rows(l.data), o.out);
    code = CLI_OK;
done:
    free(forecast);
    loaded_free(&l);
    return code;
}

/* ------------------------------------------------------------- explain */

static int run_explain(int argc, char **argv)
{
    model_options o;
    int code = parse(&o, "explain", argc, argv);
    if (code != CLI_OK)
        return code;
    loaded l;
    code = CLI_BAD_INPUT;
    if (load(&l, &o, "clrnn explain", 0)) {
        clrnn_backend **backends = malloc((l.n_more + 1) * sizeof *backends);
        if (!backends) {
            fprintf(stderr, "clrnn explain: out of memory\n");
        } else {
            backends[0] = l.backend;
            for (size_t i = 0; i < l.n_more; i++)
                backends[i + 1] = l.more_backends[i];
            if (!o.data && clrnn_checkpoint_data_path(l.ckpt, 0))
                printf("data: %s (the model's)\n", l.data_path);
            cli_explain_job job = {
                "clrnn explain", backends, l.n_more + 1,
                l.data,          o.split,  o.all_rows ? "all" : split_names[o.split],
                o.batch,         o.out,    o.plot};
            code = cli_explain_run(&job) ? CLI_OK : CLI_BAD_INPUT;
        }
        free(backends);
    }
    loaded_free(&l);
    return code;
}

/* -------------------------------------------------------------- export */

static int run_export(int argc, char **argv)
{
    model_options o;
    int code = parse(&o, "export", argc, argv);
    if (code != CLI_OK)
        return code;
    clrnn_checkpoint *c = NULL;
    clrnn_error err;
    if (clrnn_checkpoint_load(&c, o.model, &err) != CLRNN_OK ||
        clrnn_checkpoint_export_npz(c, o.out, &err) != CLRNN_OK) {
        clrnn_checkpoint_free(c);
        return cli_error("clrnn export", &err);
    }
    const clrnn_model *model = clrnn_checkpoint_model(c);
    printf("export: %zu layer(s), %zu parameters and the model's settings written to %s\n",
           clrnn_model_n_layers(model), clrnn_model_n_params(model), o.out);
    clrnn_checkpoint_free(c);
    return CLI_OK;
}

int cli_model(const char *command, int argc, char **argv)
{
    if (strcmp(command, "eval") == 0)
        return run_eval(argc, argv);
    if (strcmp(command, "predict") == 0)
        return run_predict(argc, argv);
    if (strcmp(command, "forecast") == 0)
        return run_forecast(argc, argv);
    if (strcmp(command, "explain") == 0)
        return run_explain(argc, argv);
    return run_export(argc, argv);
}
