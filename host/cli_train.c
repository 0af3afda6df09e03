/* clrnn train: train a stack of tanh RNN layers on a CSV table. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_args.h"
#include "clrnn.h"

#define MAX_COLUMNS 64
#define MAX_LAYERS 16

typedef struct train_options {
    const char *data;
    const char *features_text, *targets_text;
    clrnn_data_config data_cfg;
    clrnn_layer_shape layers[MAX_LAYERS];
    size_t n_layers; /* 0: one layer of `hidden` units */
    size_t hidden;
    clrnn_train_config train;
    clrnn_backend_config backend;
    int quiet;
} train_options;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: clrnn train [options]\n"
            "\n"
            "Trains a stack of tanh RNN layers on sliding windows of a CSV table and reports\n"
            "the test RMSE and MAE in the target's units. With no options: the bundled daily\n"
            "weather table, features tmax,tmin,rain, target tmax_tomorrow, seq-len 7.\n"
            "\n"
            "data:\n"
            "  --data FILE           CSV with a header row (default: bundled weather data)\n"
            "  --features A,B,...    input columns (tmax,tmin,rain)\n"
            "  --target A[,B]        target columns (tmax_tomorrow)\n"
            "  --seq-len T           steps per window (7)\n"
            "  --train-fraction F    first rows for training (0.7)\n"
            "  --val-fraction F      next rows for validation (0.15); the rest is the test split\n"
            "  --missing M           empty cells: ffill (carry forward, default), drop, error\n"
            "  --scaler-fit S        standardise with statistics of: train (default), all\n"
            "model:\n"
            "  --hidden H            one layer of H hidden units (16)\n"
            "  --layers I:H:O,...    a stack, e.g. 3:16:1,1:8:1 (layer l+1's I = layer l's O)\n"
            "  --seed S              initialisation and shuffling seed (0)\n"
            "training:\n"
            "  --epochs N            (20)\n"
            "  --batch B             windows per update (32)\n"
            "  --optimizer O         sgd (default) or adam\n"
            "  --lr X                learning rate (0.01)\n"
            "  --momentum X          SGD momentum (0.9): v = momentum v - lr g; w += v\n"
            "  --beta1/--beta2/--eps Adam's constants (0.9, 0.999, 1e-8)\n"
            "  --weight-decay X      decoupled weight decay (0)\n"
            "  --no-shuffle          keep the windows in order\n"
            "  --loss-on all|last    loss on every step of a window (default) or the last\n"
            "device:\n"
            "  --device D            auto (default: a GPU, else any OpenCL device, else the\n"
            "                        CPU reference), cpu, opencl, opencl:P.D (clrnn devices)\n"
            "  --precision P         OpenCL precision: fp32 (default) or fp64\n"
            "  --quiet               only the final metrics\n");
}

static int parse_option(cli_args *a, train_options *o)
{
    static const char *const missing[] = {"ffill", "drop", "error", NULL};
    static const char *const fits[] = {"train", "all", NULL};
    static const char *const optimizers[] = {"sgd", "adam", NULL};
    static const char *const precisions[] = {"fp32", "fp64", NULL};
    static const char *const loss_on[] = {"all", "last", NULL};
    int choice;
    if (cli_is(a, "--no-shuffle")) {
        o->train.shuffle = 0;
        return 1;
    }
    if (cli_is(a, "--quiet")) {
        o->quiet = 1;
        return 1;
    }
    const char *v = cli_value(a);
    if (!v)
        return 0;
    clrnn_data_config *d = &o->data_cfg;
    clrnn_optimizer *opt = &o->train.optimizer;
    if (cli_is(a, "--data"))
        o->data = v;
    else if (cli_is(a, "--features"))
        o->features_text = v;
    else if (cli_is(a, "--target") || cli_is(a, "--targets"))
        o->targets_text = v;
    else if (cli_is(a, "--seq-len"))
        return cli_parse_size(a, v, 1, 1000000, &d->seq_len);
    else if (cli_is(a, "--train-fraction"))
        return cli_parse_double(a, v, 1e-9, 1.0, &d->train_fraction);
    else if (cli_is(a, "--val-fraction"))
        return cli_parse_double(a, v, 0.0, 0.999999, &d->val_fraction);
    else if (cli_is(a, "--missing")) {
        if (!cli_parse_choice(a, v, missing, &choice))
            return 0;
        d->missing = (clrnn_missing)choice;
    } else if (cli_is(a, "--scaler-fit")) {
        if (!cli_parse_choice(a, v, fits, &choice))
            return 0;
        d->scaler_fit = (clrnn_scaler_fit)choice;
    } else if (cli_is(a, "--hidden"))
        return cli_parse_size(a, v, 1, 65536, &o->hidden);
    else if (cli_is(a, "--layers")) {
        clrnn_error err;
        o->n_layers = MAX_LAYERS;
        if (clrnn_parse_layers(v, o->layers, &o->n_layers, &err) != CLRNN_OK) {
            cli_error(a->command, &err);
            return 0;
        }
    } else if (cli_is(a, "--seed"))
        return cli_parse_u32(a, v, &o->train.seed);
    else if (cli_is(a, "--epochs"))
        return cli_parse_size(a, v, 1, 100000000, &o->train.epochs);
    else if (cli_is(a, "--batch"))
        return cli_parse_size(a, v, 1, 1u << 24, &o->train.batch);
    else if (cli_is(a, "--optimizer")) {
        if (!cli_parse_choice(a, v, optimizers, &choice))
            return 0;
        opt->kind = (clrnn_optimizer_kind)choice;
    } else if (cli_is(a, "--lr"))
        return cli_parse_double(a, v, 1e-12, 100.0, &opt->lr);
    else if (cli_is(a, "--momentum"))
        return cli_parse_double(a, v, 0.0, 0.999999, &opt->momentum);
    else if (cli_is(a, "--beta1"))
        return cli_parse_double(a, v, 0.0, 0.999999, &opt->beta1);
    else if (cli_is(a, "--beta2"))
        return cli_parse_double(a, v, 0.0, 0.999999999, &opt->beta2);
    else if (cli_is(a, "--eps"))
        return cli_parse_double(a, v, 1e-300, 1.0, &opt->eps);
    else if (cli_is(a, "--weight-decay"))
        return cli_parse_double(a, v, 0.0, 1.0, &opt->weight_decay);
    else if (cli_is(a, "--loss-on")) {
        if (!cli_parse_choice(a, v, loss_on, &choice))
            return 0;
        o->backend.loss_steps = (clrnn_loss_steps)choice;
    } else if (cli_is(a, "--device"))
        o->backend.device = v;
    else if (cli_is(a, "--precision")) {
        if (!cli_parse_choice(a, v, precisions, &choice))
            return 0;
        o->backend.precision = (clrnn_precision)choice;
    } else {
        cli_unknown(a);
        return 0;
    }
    return 1;
}

static void defaults(train_options *o)
{
    memset(o, 0, sizeof *o);
#ifdef CLRNN_DEFAULT_DATA
    o->data = CLRNN_DEFAULT_DATA;
#endif
    o->features_text = "tmax,tmin,rain";
    o->targets_text = "tmax_tomorrow";
    o->data_cfg = clrnn_data_config_default();
    o->hidden = 16;
    o->train.epochs = 20;
    o->train.batch = 32;
    o->train.optimizer = (clrnn_optimizer){CLRNN_SGD, 0.01, 0.9, 0.9, 0.999, 1e-8, 0.0, 0.0};
    o->train.shuffle = 1;
    o->backend.device = "auto";
    o->backend.precision = CLRNN_FP32;
}

/* The model's shapes: --layers as given (checked against the data), or one
 * layer of --hidden units from the features to the targets. */
static int model_shapes(const train_options *o, size_t n_features, size_t n_targets,
                        clrnn_layer_shape *layers, size_t *n_layers)
{
    if (o->n_layers == 0) {
        layers[0] = (clrnn_layer_shape){n_features, o->hidden, n_targets};
        *n_layers = 1;
        return 1;
    }
    memcpy(layers, o->layers, o->n_layers * sizeof *layers);
    *n_layers = o->n_layers;
    if (layers[0].n_in != n_features || layers[o->n_layers - 1].n_out != n_targets) {
        fprintf(stderr,
                "clrnn train: --layers takes %zu inputs and gives %zu outputs, but the data has "
                "%zu features and %zu targets\n",
                layers[0].n_in, layers[o->n_layers - 1].n_out, n_features, n_targets);
        return 0;
    }
    return 1;
}

static int load_data(const train_options *o, clrnn_dataset **data)
{
    const char *cmd = "clrnn train";
    char feat_buf[1024], targ_buf[1024];
    const char *features[MAX_COLUMNS], *targets[MAX_COLUMNS];
    cli_args a;
    char *argv0[] = {NULL};
    cli_args_init(&a, cmd, 0, argv0);
    a.flag = "--features";
    clrnn_data_config cfg = o->data_cfg;
    if (!cli_split_list(&a, o->features_text, feat_buf, sizeof feat_buf, features, MAX_COLUMNS,
                        &cfg.n_features))
        return 0;
    a.flag = "--target";
    if (!cli_split_list(&a, o->targets_text, targ_buf, sizeof targ_buf, targets, MAX_COLUMNS,
                        &cfg.n_targets))
        return 0;
    cfg.features = features;
    cfg.targets = targets;
    clrnn_error err;
    clrnn_table *table = NULL;
    if (clrnn_table_read_csv(&table, o->data, &err) != CLRNN_OK)
        return cli_error(cmd, &err), 0;
    clrnn_status st = clrnn_dataset_create(data, table, &cfg, &err);
    clrnn_table_free(table);
    if (st != CLRNN_OK)
        return cli_error(cmd, &err), 0;
    return 1;
}

static void print_data_summary(const train_options *o, const clrnn_dataset *data)
{
    size_t begin, end;
    printf("data: %s: %zu rows, features %s, target %s, seq-len %zu\n", o->data,
           clrnn_dataset_n_rows(data), o->features_text, o->targets_text,
           clrnn_dataset_seq_len(data));
    if (clrnn_dataset_cells_filled(data))
        printf("data: %zu empty cells filled forward (--missing ffill)\n",
               clrnn_dataset_cells_filled(data));
    if (clrnn_dataset_rows_dropped(data))
        printf("data: %zu rows with empty cells dropped (--missing drop)\n",
               clrnn_dataset_rows_dropped(data));
    static const char *const names[] = {"train", "validation", "test"};
    for (int s = 0; s < CLRNN_N_SPLITS; s++) {
        clrnn_dataset_split_rows(data, (clrnn_split)s, &begin, &end);
        printf("%s%s rows %zu-%zu (%zu windows)", s ? ", " : "split: ", names[s], begin, end,
               clrnn_dataset_n_windows(data, (clrnn_split)s));
    }
    printf("\n");
}

int cli_train(int argc, char **argv)
{
    train_options o;
    defaults(&o);
    cli_args a;
    cli_args_init(&a, "clrnn train", argc, argv);
    while (cli_next(&a)) {
        if (cli_is(&a, "--help") || cli_is(&a, "-h")) {
            usage(stdout);
            return 0;
        }
        if (!parse_option(&a, &o))
            return 2;
    }
    if (!o.data) {
        fprintf(stderr, "clrnn train: --data is required\n");
        return 2;
    }
    clrnn_dataset *data = NULL;
    clrnn_model *model = NULL;
    clrnn_backend *backend = NULL;
    clrnn_error err;
    int code = 2;
    if (!load_data(&o, &data))
        return 2;
    size_t n_train = clrnn_dataset_n_windows(data, CLRNN_SPLIT_TRAIN);
    if (o.train.batch > n_train) {
        fprintf(stderr, "clrnn train: --batch %zu is larger than the %zu training windows\n",
                o.train.batch, n_train);
        goto done;
    }
    clrnn_layer_shape layers[MAX_LAYERS];
    size_t n_layers;
    if (!model_shapes(&o, clrnn_dataset_n_features(data), clrnn_dataset_n_targets(data), layers,
                      &n_layers))
        goto done;
    if (clrnn_model_create(&model, layers, n_layers, &err) != CLRNN_OK) {
        code = cli_error(a.command, &err);
        goto done;
    }
    clrnn_rng rng;
    clrnn_rng_seed(&rng, o.train.seed);
    clrnn_model_init_uniform(model, &rng);
    o.backend.seq_len = clrnn_dataset_seq_len(data);
    o.backend.max_batch = o.train.batch;
    o.backend.log = o.quiet ? NULL : stdout;
    if (!o.quiet)
        print_data_summary(&o, data);
    if (clrnn_backend_create(&backend, model, &o.backend, &err) != CLRNN_OK ||
        clrnn_backend_stage_dataset(backend, data, &err) != CLRNN_OK) {
        code = cli_error(a.command, &err);
        goto done;
    }
    if (!o.quiet)
        printf("device: %s\nmodel: %zu layer(s), %zu parameters\n", clrnn_backend_describe(backend),
               n_layers, clrnn_model_n_params(model));
    o.train.out = o.quiet ? NULL : stdout;
    clrnn_train_report report;
    clrnn_status st = clrnn_train(backend, data, &o.train, &report, &err);
    if (st != CLRNN_OK) {
        code = cli_error(a.command, &err);
        goto done;
    }
    clrnn_metrics test;
    if (clrnn_evaluate(backend, data, CLRNN_SPLIT_TEST, o.train.batch, &test, &err) != CLRNN_OK) {
        code = cli_error(a.command, &err);
        goto done;
    }
    printf("trained %zu epochs in %.2f s (%.0f windows/s)\n", report.epochs_run, report.seconds,
           report.windows_per_second);
    if (test.n_windows)
        printf("test: %zu windows, loss %.6g, RMSE %.4f, MAE %.4f (target units, last step)\n",
               test.n_windows, test.loss, test.rmse, test.mae);
    else
        printf("test: no test windows (raise the test split)\n");
    code = 0;
done:
    clrnn_backend_free(backend);
    clrnn_model_free(model);
    clrnn_dataset_free(data);
    return code;
}
