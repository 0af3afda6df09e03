/* clrnn eval, predict and export: using a saved model. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_args.h"
#include "cli_common.h"

typedef struct model_options {
    const char *model, *data, *out, *device;
    clrnn_split split;
    int all_rows;
    clrnn_data_config data_cfg;
    size_t batch;
    clrnn_precision precision;
    int precision_set;
} model_options;

static void usage(FILE *out, const char *command)
{
    if (strcmp(command, "eval") == 0)
        fprintf(out,
                "usage: clrnn eval --model FILE [--data FILE] [--split train|val|test|all]\n"
                "\n"
                "Loss, RMSE and MAE (target units, last step of each window) of a saved model\n"
                "on a split of the data (default: the test split of the bundled weather data;\n"
                "splits by --train-fraction 0.7 and --val-fraction 0.15, as clrnn train).\n");
    else if (strcmp(command, "predict") == 0)
        fprintf(out, "usage: clrnn predict --model FILE --data FILE --out preds.csv\n"
                     "\n"
                     "Writes the row label (date), truth and prediction of every row that ends a\n"
                     "full window of the data. The data needs the model's feature and target\n"
                     "columns; it is scaled with the model's statistics.\n");
    else
        fprintf(out, "usage: clrnn export --model FILE --out weights.npz\n"
                     "\n"
                     "Writes the parameters as a numpy .npz: layer0.W_i, layer0.W_h, layer0.W_o,\n"
                     "layer0.b_o, layer0.b_i, layer1..., shaped as in SPEC.md (float64).\n");
    if (strcmp(command, "export") == 0)
        return;
    fprintf(out, "\noptions:\n"
                 "  --model FILE          a model saved by clrnn train --save\n"
                 "  --data FILE           CSV table (default: the bundled weather data)\n");
    if (strcmp(command, "eval") == 0)
        fprintf(out, "  --split S             train, val, test (default) or all rows\n"
                     "  --train-fraction F    (0.7)   --val-fraction F (0.15)\n");
    else
        fprintf(out, "  --out FILE            the CSV to write (atomically)\n");
    fprintf(out, "  --missing M           ffill (default), drop, error\n"
                 "  --batch B             windows per forward pass (256)\n"
                 "  --device D            auto, cpu (default), opencl, opencl:P.D\n"
                 "  --precision P         OpenCL precision (default: the model's)\n");
}

/* The flags each command takes; a flag of another command is refused
 * rather than silently ignored. */
static const char *const *flags_of(const char *command)
{
    static const char *const eval[] = {"--model",        "--data",    "--split", "--train-fraction",
                                       "--val-fraction", "--missing", "--batch", "--device",
                                       "--precision",    NULL};
    static const char *const predict[] = {"--model", "--data",   "--out",       "--missing",
                                          "--batch", "--device", "--precision", NULL};
    static const char *const export[] = {"--model", "--out", NULL};
    return strcmp(command, "eval") == 0 ? eval : strcmp(command, "predict") == 0 ? predict : export;
}

/* One flag's value into o; 0 (after one line on stderr) when it is bad. */
static int parse_value(cli_args *a, model_options *o, const char *v)
{
    static const char *const splits[] = {"train", "val", "test", "all", NULL};
    static const char *const missing[] = {"ffill", "drop", "error", NULL};
    static const char *const precisions[] = {"fp32", "fp64", NULL};
    int choice = 0;
    if (cli_is(a, "--model"))
        o->model = v;
    else if (cli_is(a, "--data"))
        o->data = v;
    else if (cli_is(a, "--out"))
        o->out = v;
    else if (cli_is(a, "--device"))
        o->device = v;
    else if (cli_is(a, "--batch"))
        return cli_parse_size(a, v, 1, 1u << 24, &o->batch);
    else if (cli_is(a, "--train-fraction"))
        return cli_parse_double(a, v, 1e-9, 1.0, &o->data_cfg.train_fraction);
    else if (cli_is(a, "--val-fraction"))
        return cli_parse_double(a, v, 0.0, 0.999999, &o->data_cfg.val_fraction);
    else if (cli_is(a, "--missing")) {
        if (!cli_parse_choice(a, v, missing, &choice))
            return 0;
        o->data_cfg.missing = (clrnn_missing)choice;
    } else if (cli_is(a, "--split")) {
        if (!cli_parse_choice(a, v, splits, &choice))
            return 0;
        o->all_rows = choice == 3; /* "all": every row is one split */
        o->split = choice == 3 ? CLRNN_SPLIT_TRAIN : (clrnn_split)choice;
    } else if (cli_is(a, "--precision")) {
        if (!cli_parse_choice(a, v, precisions, &choice))
            return 0;
        o->precision = (clrnn_precision)choice;
        o->precision_set = 1;
    }
    return 1;
}

/* Returns an exit code (help, bad flags), or -1 to go on. */
static int parse(model_options *o, const char *command, int argc, char **argv)
{
    char name[64];
    snprintf(name, sizeof name, "clrnn %s", command);
    cli_args a;
    cli_args_init(&a, name, argc, argv);
    while (cli_next(&a)) {
        if (cli_is(&a, "--help") || cli_is(&a, "-h"))
            return usage(stdout, command), 0;
        if (!cli_known(&a, flags_of(command)))
            return 2;
        const char *v = cli_value(&a);
        if (!v || !parse_value(&a, o, v))
            return 2;
    }
    if (!o->model)
        return fprintf(stderr, "%s: --model is required (see %s --help)\n", name, name), 2;
    if (strcmp(command, "eval") != 0 && !o->out)
        return fprintf(stderr, "%s: --out is required (see %s --help)\n", name, name), 2;
    if (!o->data)
        return fprintf(stderr, "%s: --data is required\n", name), 2;
    return -1; /* go on */
}

static void defaults(model_options *o)
{
    memset(o, 0, sizeof *o);
#ifdef CLRNN_DEFAULT_DATA
    o->data = CLRNN_DEFAULT_DATA;
#endif
    o->device = "cpu";
    o->split = CLRNN_SPLIT_TEST;
    o->data_cfg = clrnn_data_config_default();
    o->batch = 256;
}

/* The model, the data it reads and a backend holding both. */
typedef struct loaded {
    clrnn_checkpoint ckpt;
    clrnn_dataset *data;
    clrnn_backend *backend;
} loaded;

static void loaded_free(loaded *l)
{
    clrnn_backend_free(l->backend);
    clrnn_dataset_free(l->data);
    clrnn_checkpoint_clear(&l->ckpt);
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
    if (!cli_load_dataset_for_model(command, o->data, &l->ckpt, o->data_cfg, &l->data))
        return 0;
    size_t n = clrnn_dataset_n_windows(l->data, o->split);
    clrnn_backend_config cfg = {.device = o->device,
                                .precision = o->precision_set ? o->precision : l->ckpt.precision,
                                .seq_len = l->ckpt.seq_len,
                                .max_batch = o->batch,
                                .loss_steps = l->ckpt.loss_steps};
    if (n == 0) {
        fprintf(stderr, "%s: the split has no full window of %zu rows\n", command, l->ckpt.seq_len);
        return 0;
    }
    if (clrnn_backend_create(&l->backend, l->ckpt.model, &cfg, &err) != CLRNN_OK ||
        clrnn_backend_stage_dataset(l->backend, l->data, &err) != CLRNN_OK)
        return cli_error(command, &err), 0;
    return 1;
}

static int run_eval(int argc, char **argv)
{
    model_options o;
    defaults(&o);
    int code = parse(&o, "eval", argc, argv);
    if (code >= 0)
        return code;
    loaded l;
    clrnn_metrics m;
    clrnn_error err;
    code = 2;
    if (load(&l, &o, "clrnn eval")) {
        if (clrnn_evaluate(l.backend, l.data, o.split, o.batch, &m, &err) != CLRNN_OK) {
            cli_error("clrnn eval", &err);
        } else {
            static const char *const names[] = {"train", "val", "test"};
            printf("%s split: %zu windows, loss %.6g, RMSE %.4f, MAE %.4f\n",
                   o.all_rows ? "all" : names[o.split], m.n_windows, m.loss, m.rmse, m.mae);
            code = 0;
        }
    }
    loaded_free(&l);
    return code;
}

static int write_predictions(const char *path, const loaded *l, const double *pred, size_t n)
{
    char tmp[4096];
    size_t K = l->ckpt.n_targets, T = l->ckpt.seq_len;
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f)
        return fprintf(stderr, "clrnn predict: cannot write '%s': %s\n", path, strerror(errno)), 0;
    fprintf(f, "date");
    for (size_t k = 0; k < K; k++)
        fprintf(f, ",%s,%s_pred", l->ckpt.target_names[k], l->ckpt.target_names[k]);
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
    int ok = !ferror(f);
    ok = fclose(f) == 0 && ok && rename(tmp, path) == 0;
    if (!ok) {
        fprintf(stderr, "clrnn predict: cannot write '%s': %s\n", path, strerror(errno));
        remove(tmp);
    }
    return ok;
}

static int run_predict(int argc, char **argv)
{
    model_options o;
    defaults(&o);
    o.all_rows = 1;
    o.split = CLRNN_SPLIT_TRAIN; /* all rows are one split */
    int code = parse(&o, "predict", argc, argv);
    if (code >= 0)
        return code;
    o.all_rows = 1;
    o.split = CLRNN_SPLIT_TRAIN;
    loaded l;
    clrnn_error err;
    code = 2;
    if (load(&l, &o, "clrnn predict")) {
        size_t n = clrnn_dataset_n_windows(l.data, CLRNN_SPLIT_TRAIN);
        double *pred = malloc(n * l.ckpt.n_targets * sizeof *pred);
        if (!pred)
            fprintf(stderr, "clrnn predict: out of memory\n");
        else if (clrnn_predict(l.backend, l.data, CLRNN_SPLIT_TRAIN, o.batch, pred, &err) !=
                 CLRNN_OK)
            cli_error("clrnn predict", &err);
        else if (write_predictions(o.out, &l, pred, n)) {
            printf("predict: %zu rows written to %s\n", n, o.out);
            code = 0;
        }
        free(pred);
    }
    loaded_free(&l);
    return code;
}

static int run_export(int argc, char **argv)
{
    model_options o;
    defaults(&o);
    int code = parse(&o, "export", argc, argv);
    if (code >= 0)
        return code;
    clrnn_checkpoint c = {0};
    clrnn_error err;
    if (clrnn_checkpoint_load(&c, o.model, &err) != CLRNN_OK ||
        clrnn_export_npz(c.model, o.out, &err) != CLRNN_OK) {
        clrnn_checkpoint_clear(&c);
        return cli_error("clrnn export", &err);
    }
    printf("export: %zu layer(s), %zu parameters written to %s\n", clrnn_model_n_layers(c.model),
           clrnn_model_n_params(c.model), o.out);
    clrnn_checkpoint_clear(&c);
    return 0;
}

int cli_model(const char *command, int argc, char **argv)
{
    if (strcmp(command, "eval") == 0)
        return run_eval(argc, argv);
    if (strcmp(command, "predict") == 0)
        return run_predict(argc, argv);
    return run_export(argc, argv);
}
