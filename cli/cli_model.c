/* clrnn eval, predict and export: using a saved model. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_args.h"
#include "cli_baselines.h"
#include "cli_common.h"
#include "io/files.h"

typedef struct model_options {
    const char *model, *data, *out, *device;
    int split_choice; /* train, val, test or all */
    clrnn_split split;
    int all_rows;
    clrnn_data_config data_cfg;
    size_t batch;
    clrnn_precision precision;
    int precision_set;
} model_options;

static const char *const splits[] = {"train", "val", "test", "all", NULL};
static const char *const missing[] = {"ffill", "drop", "error", NULL};
static const char *const precisions[] = {"fp32", "fp64", NULL};

#define AT(field) offsetof(model_options, field)

/* The options the three commands share; a flag of another command is
 * refused rather than silently ignored. */
#define OPTION_MODEL                                                                               \
    {                                                                                              \
        "--model", "FILE", CLI_STRING, AT(model), .help = "a model saved by clrnn train --save"    \
    }
#define OPTION_DATA                                                                                \
    {                                                                                              \
        "--data", "FILE", CLI_STRING, AT(data),                                                    \
            .help = "CSV table (default: the bundled weather data)"                                \
    }
#define OPTIONS_FORWARD                                                                            \
    {"--missing",        "M",                                                                      \
     CLI_CHOICE,         AT(data_cfg.missing),                                                     \
     .choices = missing, .help = "ffill (default), drop, error"},                                  \
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
     .help = "(0.7)   --val-fraction F (0.15)"},
    {"--val-fraction", "F", CLI_DOUBLE, AT(data_cfg.val_fraction), 0.0, 0.999999, .hidden = 1},
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

static const cli_option export_options[] = {
    OPTION_MODEL,
    {"--out", "FILE", CLI_STRING, AT(out), .help = "the .npz to write (atomically)"},
    {0},
};

const cli_command cli_eval_command = {
    .name = "clrnn eval",
    .about = "usage: clrnn eval --model FILE [--data FILE] [--split train|val|test|all]\n"
             "\n"
             "Loss, RMSE and MAE (target units, last step of each window) of a saved model\n"
             "on a split of the data (default: the test split of the bundled weather data;\n"
             "splits by --train-fraction 0.7 and --val-fraction 0.15, as clrnn train).\n"
             "\n"
             "options:\n",
    .options = eval_options,
    .width = 21,
};

const cli_command cli_predict_command = {
    .name = "clrnn predict",
    .about = "usage: clrnn predict --model FILE --data FILE --out preds.csv\n"
             "\n"
             "Writes the row label (date), truth and prediction of every row that ends a\n"
             "full window of the data. The data needs the model's feature and target\n"
             "columns; it is scaled with the model's statistics.\n"
             "\n"
             "options:\n",
    .options = predict_options,
    .width = 21,
};

const cli_command cli_export_command = {
    .name = "clrnn export",
    .about = "usage: clrnn export --model FILE --out weights.npz\n"
             "\n"
             "Writes the parameters as a numpy .npz: layer0.W_i, layer0.W_h, layer0.W_o,\n"
             "layer0.b_o, layer0.b_i, layer1..., shaped as in docs/model.md (float64).\n"
             "\n"
             "options:\n",
    .options = export_options,
    .width = 21,
};

static void defaults(model_options *o)
{
    memset(o, 0, sizeof *o);
    o->data = cli_default_data();
    o->device = "cpu";
    o->split_choice = CLRNN_SPLIT_TEST;
    o->data_cfg = clrnn_data_config_default();
    o->batch = 256;
}

/* The options of command (eval, predict or export), with its required
 * ones. CLI_OK to go on. */
static cli_status parse(model_options *o, const char *command, int argc, char **argv)
{
    const cli_command *c = strcmp(command, "eval") == 0      ? &cli_eval_command
                           : strcmp(command, "predict") == 0 ? &cli_predict_command
                                                             : &cli_export_command;
    cli_args a;
    defaults(o);
    cli_status st = cli_parse(&a, c, argc, argv, o);
    if (st != CLI_OK)
        return st;
    o->all_rows = o->split_choice == 3; /* "all": every row is one split */
    o->split = o->all_rows ? CLRNN_SPLIT_TRAIN : (clrnn_split)o->split_choice;
    o->precision_set = cli_given(&a, "--precision");
    if (!o->model)
        return fprintf(stderr, "%s: --model is required (see %s --help)\n", c->name, c->name),
               CLI_BAD_INPUT;
    if (c->options != eval_options && !o->out)
        return fprintf(stderr, "%s: --out is required (see %s --help)\n", c->name, c->name),
               CLI_BAD_INPUT;
    if (!o->data)
        return fprintf(stderr, "%s: --data is required\n", c->name), CLI_BAD_INPUT;
    /* the output must not be written over what the command reads */
    const char *inputs[2][2] = {{"--model", o->model}, {"--data", o->data}};
    for (int i = 0; o->out && i < 2; i++)
        if (path_same_file(o->out, inputs[i][1]))
            return fprintf(stderr, "%s: --out '%s' is the same file as %s '%s'\n", c->name, o->out,
                           inputs[i][0], inputs[i][1]),
                   CLI_BAD_INPUT;
    return CLI_OK;
}

/* The model, the data it reads and a backend holding both. */
typedef struct loaded {
    clrnn_checkpoint *ckpt;
    clrnn_dataset *data;
    clrnn_backend *backend;
} loaded;

static void loaded_free(loaded *l)
{
    clrnn_backend_free(l->backend);
    clrnn_dataset_free(l->data);
    clrnn_checkpoint_free(l->ckpt);
}

static int load(loaded *l, model_options *o, const char *command)
{
    clrnn_error err;
    memset(l, 0, sizeof *l);
    if (o->all_rows) {
        o->data_cfg.train_fraction = 1.0;
        o->data_cfg.val_fraction = 0.0;
    }
    if (clrnn_checkpoint_load(&l->ckpt, o->model, &err) != CLRNN_OK)
        return cli_error(command, &err), 0;
    if (!cli_load_dataset_for_model(command, o->data, l->ckpt, o->data_cfg, &l->data))
        return 0;
    size_t n = clrnn_dataset_n_windows(l->data, o->split);
    clrnn_backend_config cfg = {.device = o->device, .max_batch = o->batch};
    clrnn_checkpoint_backend_config(l->ckpt, &cfg);
    if (o->precision_set)
        cfg.precision = o->precision;
    if (n == 0) {
        fprintf(stderr, "%s: the split has no full window of %zu rows\n", command,
                clrnn_checkpoint_seq_len(l->ckpt));
        return 0;
    }
    if (clrnn_backend_create(&l->backend, clrnn_checkpoint_model(l->ckpt), &cfg, &err) !=
            CLRNN_OK ||
        clrnn_backend_stage_dataset(l->backend, l->data, &err) != CLRNN_OK)
        return cli_error(command, &err), 0;
    return 1;
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
    if (load(&l, &o, "clrnn eval")) {
        if (clrnn_evaluate(l.backend, l.data, o.split, o.batch, &m, &err) != CLRNN_OK) {
            cli_error("clrnn eval", &err);
        } else {
            static const char *const names[] = {"train", "val", "test"};
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

static int write_predictions(const char *path, const loaded *l, const double *pred, size_t n)
{
    size_t K = clrnn_checkpoint_n_targets(l->ckpt), T = clrnn_checkpoint_seq_len(l->ckpt);
    atomic_out out;
    clrnn_error err;
    if (atomic_open(&out, path, &err) != CLRNN_OK)
        return cli_error("clrnn predict", &err), 0;
    FILE *f = out.f;
    fprintf(f, "date");
    for (size_t k = 0; k < K; k++)
        fprintf(f, ",%s,%s_pred", clrnn_checkpoint_target_name(l->ckpt, k),
                clrnn_checkpoint_target_name(l->ckpt, k));
    fprintf(f, "\n");
    const double *y = clrnn_dataset_y_raw(l->data);
    for (size_t i = 0; i < n; i++) {
        size_t row = clrnn_dataset_window_start(l->data, CLRNN_SPLIT_TRAIN, i) + T - 1;
        const char *label = clrnn_dataset_row_label(l->data, row);
        if (label)
            fprintf(f, "%s", label);
        else
            fprintf(f, "%zu", row);
        for (size_t k = 0; k < K; k++)
            fprintf(f, ",%.10g,%.10g", y[row * K + k], pred[i * K + k]);
        fprintf(f, "\n");
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
    if (load(&l, &o, "clrnn predict")) {
        size_t n = clrnn_dataset_n_windows(l.data, CLRNN_SPLIT_TRAIN);
        double *pred = malloc(n * clrnn_checkpoint_n_targets(l.ckpt) * sizeof *pred);
        if (!pred)
            fprintf(stderr, "clrnn predict: out of memory\n");
        else if (clrnn_predict(l.backend, l.data, CLRNN_SPLIT_TRAIN, o.batch, pred, &err) !=
                 CLRNN_OK)
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

static int run_export(int argc, char **argv)
{
    model_options o;
    int code = parse(&o, "export", argc, argv);
    if (code != CLI_OK)
        return code;
    clrnn_checkpoint *c = NULL;
    clrnn_error err;
    if (clrnn_checkpoint_load(&c, o.model, &err) != CLRNN_OK ||
        clrnn_export_npz(clrnn_checkpoint_model(c), o.out, &err) != CLRNN_OK) {
        clrnn_checkpoint_free(c);
        return cli_error("clrnn export", &err);
    }
    const clrnn_model *model = clrnn_checkpoint_model(c);
    printf("export: %zu layer(s), %zu parameters written to %s\n", clrnn_model_n_layers(model),
           clrnn_model_n_params(model), o.out);
    clrnn_checkpoint_free(c);
    return CLI_OK;
}

int cli_model(const char *command, int argc, char **argv)
{
    if (strcmp(command, "eval") == 0)
        return run_eval(argc, argv);
    if (strcmp(command, "predict") == 0)
        return run_predict(argc, argv);
    return run_export(argc, argv);
}
