/* clrnn train: train a stack of tanh RNN layers on a CSV table. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cli_args.h"
#include "cli_common.h"
#include "cli_plot.h"
#include "clrnn.h"
#include "core/error.h"

#define MAX_LAYERS 16

/* Optimizer flags given on the command line: on --resume they take
 * precedence over the saved values. */
enum {
    SET_OPTIMIZER = 1 << 0,
    SET_LR = 1 << 1,
    SET_MOMENTUM = 1 << 2,
    SET_BETA1 = 1 << 3,
    SET_BETA2 = 1 << 4,
    SET_EPS = 1 << 5,
    SET_WEIGHT_DECAY = 1 << 6,
    SET_CLIP_NORM = 1 << 7
};

typedef struct train_options {
    const char *data, *features, *targets;
    int features_set, targets_set, seq_len_set;
    unsigned optimizer_set; /* SET_ flags */
    clrnn_data_config data_cfg;
    clrnn_layer_shape layers[MAX_LAYERS];
    size_t n_layers; /* 0: one layer of `hidden` units */
    size_t hidden;
    clrnn_train_config train;
    clrnn_backend_config backend;
    const char *save, *resume, *log_csv, *log_json, *plot;
    int quiet;
} train_options;

/* What the epoch callback needs: files, history, the checkpoint to save. */
typedef struct train_run {
    const train_options *o;
    FILE *log_csv, *log_json;
    double *train_loss, *val_loss; /* (epochs) history for the plot */
    clrnn_checkpoint ckpt;         /* shapes, names, stats; params filled at each save */
    size_t epochs_saved;           /* the epoch of the last save, 0 before any */
    int progress;                  /* draw a progress line on the terminal */
    double last_loss;              /* the last epoch's, shown while the next one runs */
    double epoch_start, last_draw; /* seconds, for the progress line's rate */
} train_run;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: clrnn train [options]\n"
            "\n"
            "Trains a stack of tanh RNN layers on sliding windows of a CSV table and reports\n"
            "the test RMSE and MAE in the target's units, next to the naive forecast\n"
            "\"tomorrow's X = today's X\" when a target is named X_tomorrow. With no options:\n"
            "the bundled daily weather table, features tmax,tmin,rain, target tmax_tomorrow.\n"
            "\n"
            "data:\n"
            "  --data FILE           CSV with a header row (default: bundled weather data)\n"
            "  --features A,B,...    input columns (tmax,tmin,rain)\n"
            "  --target A[,B]        target columns, one output each (tmax_tomorrow)\n"
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
            "  --epochs N            total epochs (20)\n"
            "  --batch B             windows per update (32)\n"
            "  --optimizer O         sgd (default) or adam\n"
            "  --lr X                learning rate (sgd 0.01, adam 0.001)\n"
            "  --momentum X          SGD momentum (0.9): v = momentum v - lr g; w += v\n"
            "  --beta1/--beta2/--eps Adam's constants (0.9, 0.999, 1e-8)\n"
            "  --weight-decay X      decoupled weight decay (0)\n"
            "  --clip-norm X         clip the gradient's global L2 norm to X (off)\n"
            "  --lr-schedule S       constant (default), step, cosine\n"
            "  --step-epochs N       step schedule: epochs between decays (10)\n"
            "  --step-gamma X        step schedule: decay factor (0.5)\n"
            "  --warmup N            linear warm-up over the first N updates (0)\n"
            "  --patience N          stop after N epochs without a better validation loss and\n"
            "                        keep the best weights (0: off)\n"
            "  --no-shuffle          keep the windows in order (default: shuffled each epoch)\n"
            "  --loss-on all|last    loss on every step of a window (default) or the last\n"
            "files:\n"
            "  --save FILE           save the model after every epoch (atomically) and at the end\n"
            "  --resume FILE         continue a saved run up to --epochs: its model, optimizer\n"
            "                        state, seed and columns; optimizer flags given override the\n"
            "                        saved ones; repeat --batch, --lr-schedule and the split\n"
            "  --log FILE            metrics per epoch as CSV\n"
            "  --log-json FILE       metrics per epoch as JSON lines\n"
            "  --plot FILE           an SVG report: loss curves, predicted vs actual (test)\n"
            "device:\n"
            "  --device D            auto (default: a GPU, else any OpenCL device, else the\n"
            "                        CPU reference), cpu, opencl, opencl:P.D (clrnn devices)\n"
            "  --precision P         OpenCL precision: fp32 (default) or fp64\n"
            "  --kernels K           OpenCL kernel family: auto (default), group, tile, fused\n"
            "  --quiet               only the final metrics\n");
}

static int parse_choice_into(cli_args *a, const char *v, const char *const *choices, int *out)
{
    return cli_parse_choice(a, v, choices, out);
}

static int parse_option(cli_args *a, train_options *o)
{
    static const char *const missing[] = {"ffill", "drop", "error", NULL};
    static const char *const fits[] = {"train", "all", NULL};
    static const char *const optimizers[] = {"sgd", "adam", NULL};
    static const char *const precisions[] = {"fp32", "fp64", NULL};
    static const char *const loss_on[] = {"all", "last", NULL};
    static const char *const schedules[] = {"constant", "step", "cosine", NULL};
    static const char *const with_values[] = {
        "--data",         "--features",       "--target",       "--targets",
        "--seq-len",      "--train-fraction", "--val-fraction", "--missing",
        "--scaler-fit",   "--hidden",         "--layers",       "--seed",
        "--epochs",       "--batch",          "--optimizer",    "--lr",
        "--momentum",     "--beta1",          "--beta2",        "--eps",
        "--weight-decay", "--clip-norm",      "--lr-schedule",  "--step-epochs",
        "--step-gamma",   "--warmup",         "--patience",     "--loss-on",
        "--device",       "--precision",      "--save",         "--resume",
        "--log",          "--log-json",       "--plot",         "--kernels",      NULL};
    int choice = 0;
    if (cli_is(a, "--no-shuffle"))
        return o->train.shuffle = 0, 1;
    if (cli_is(a, "--quiet"))
        return o->quiet = 1, 1;
    if (!cli_known(a, with_values))
        return 0;
    const char *v = cli_value(a);
    if (!v)
        return 0;
    clrnn_data_config *d = &o->data_cfg;
    clrnn_optimizer *opt = &o->train.optimizer;
    if (cli_is(a, "--data"))
        o->data = v;
    else if (cli_is(a, "--features"))
        o->features = v, o->features_set = 1;
    else if (cli_is(a, "--target") || cli_is(a, "--targets"))
        o->targets = v, o->targets_set = 1;
    else if (cli_is(a, "--seq-len"))
        return o->seq_len_set = 1, cli_parse_size(a, v, 1, 1000000, &d->seq_len);
    else if (cli_is(a, "--train-fraction"))
        return cli_parse_double(a, v, 1e-9, 1.0, &d->train_fraction);
    else if (cli_is(a, "--val-fraction"))
        return cli_parse_double(a, v, 0.0, 0.999999, &d->val_fraction);
    else if (cli_is(a, "--missing")) {
        if (!parse_choice_into(a, v, missing, &choice))
            return 0;
        d->missing = (clrnn_missing)choice;
    } else if (cli_is(a, "--scaler-fit")) {
        if (!parse_choice_into(a, v, fits, &choice))
            return 0;
        d->scaler_fit = (clrnn_scaler_fit)choice;
    } else if (cli_is(a, "--hidden"))
        return cli_parse_size(a, v, 1, 65536, &o->hidden);
    else if (cli_is(a, "--layers")) {
        clrnn_error err;
        o->n_layers = MAX_LAYERS;
        if (clrnn_parse_layers(v, o->layers, &o->n_layers, &err) != CLRNN_OK)
            return cli_error(a->command, &err), 0;
    } else if (cli_is(a, "--seed"))
        return cli_parse_u32(a, v, &o->train.seed);
    else if (cli_is(a, "--epochs"))
        return cli_parse_size(a, v, 1, 100000000, &o->train.epochs);
    else if (cli_is(a, "--batch"))
        return cli_parse_size(a, v, 1, 1u << 24, &o->train.batch);
    else if (cli_is(a, "--optimizer")) {
        if (!parse_choice_into(a, v, optimizers, &choice))
            return 0;
        opt->kind = (clrnn_optimizer_kind)choice;
        o->optimizer_set |= SET_OPTIMIZER;
    } else if (cli_is(a, "--lr"))
        return o->optimizer_set |= SET_LR, cli_parse_double(a, v, 1e-12, 100.0, &opt->lr);
    else if (cli_is(a, "--momentum"))
        return o->optimizer_set |= SET_MOMENTUM,
               cli_parse_double(a, v, 0.0, 0.999999, &opt->momentum);
    else if (cli_is(a, "--beta1"))
        return o->optimizer_set |= SET_BETA1, cli_parse_double(a, v, 0.0, 0.999999, &opt->beta1);
    else if (cli_is(a, "--beta2"))
        return o->optimizer_set |= SET_BETA2, cli_parse_double(a, v, 0.0, 0.999999999, &opt->beta2);
    else if (cli_is(a, "--eps"))
        return o->optimizer_set |= SET_EPS, cli_parse_double(a, v, 1e-300, 1.0, &opt->eps);
    else if (cli_is(a, "--weight-decay"))
        return o->optimizer_set |= SET_WEIGHT_DECAY,
               cli_parse_double(a, v, 0.0, 1.0, &opt->weight_decay);
    else if (cli_is(a, "--clip-norm"))
        return o->optimizer_set |= SET_CLIP_NORM,
               cli_parse_double(a, v, 1e-12, 1e12, &opt->clip_norm);
    else if (cli_is(a, "--lr-schedule")) {
        if (!parse_choice_into(a, v, schedules, &choice))
            return 0;
        o->train.schedule = (clrnn_lr_schedule)choice;
    } else if (cli_is(a, "--step-epochs"))
        return cli_parse_size(a, v, 1, 100000000, &o->train.step_epochs);
    else if (cli_is(a, "--step-gamma"))
        return cli_parse_double(a, v, 1e-9, 1.0, &o->train.step_gamma);
    else if (cli_is(a, "--warmup"))
        return cli_parse_size(a, v, 0, 1000000000, &o->train.warmup_steps);
    else if (cli_is(a, "--patience"))
        return cli_parse_size(a, v, 0, 100000000, &o->train.patience);
    else if (cli_is(a, "--loss-on")) {
        if (!parse_choice_into(a, v, loss_on, &choice))
            return 0;
        o->backend.loss_steps = (clrnn_loss_steps)choice;
    } else if (cli_is(a, "--device"))
        o->backend.device = v;
    else if (cli_is(a, "--kernels")) {
        if (!clrnn_parse_kernels(v, &o->backend.kernels)) {
            fprintf(stderr, "%s: --kernels '%s': expected one of auto, group, tile, fused\n", a->command, v);
            return 0;
        }
    }
    else if (cli_is(a, "--precision")) {
        if (!parse_choice_into(a, v, precisions, &choice))
            return 0;
        o->backend.precision = (clrnn_precision)choice;
    } else if (cli_is(a, "--save"))
        o->save = v;
    else if (cli_is(a, "--resume"))
        o->resume = v;
    else if (cli_is(a, "--log"))
        o->log_csv = v;
    else if (cli_is(a, "--log-json"))
        o->log_json = v;
    else if (cli_is(a, "--plot"))
        o->plot = v;
    else
        return cli_unknown(a), 0;
    return 1;
}

static void defaults(train_options *o)
{
    memset(o, 0, sizeof *o);
#ifdef CLRNN_DEFAULT_DATA
    o->data = CLRNN_DEFAULT_DATA;
#endif
    o->features = "tmax,tmin,rain";
    o->targets = "tmax_tomorrow";
    o->data_cfg = clrnn_data_config_default();
    o->hidden = 16;
    clrnn_train_config_default(&o->train);
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

static void print_data_summary(const train_options *o, const clrnn_dataset *data)
{
    static const char *const names[] = {"train", "validation", "test"};
    printf("data: %s: %zu rows, features %s, target %s, seq-len %zu\n", o->data,
           clrnn_dataset_n_rows(data), o->features, o->targets, clrnn_dataset_seq_len(data));
    if (clrnn_dataset_cells_filled(data))
        printf("data: %zu empty cells filled forward (--missing ffill)\n",
               clrnn_dataset_cells_filled(data));
    if (clrnn_dataset_rows_dropped(data))
        printf("data: %zu rows with empty cells dropped (--missing drop)\n",
               clrnn_dataset_rows_dropped(data));
    for (int s = 0; s < CLRNN_N_SPLITS; s++) {
        size_t begin, end;
        clrnn_dataset_split_rows(data, (clrnn_split)s, &begin, &end);
        printf("%s%s rows %zu-%zu (%zu windows)", s ? ", " : "split: ", names[s], begin, end,
               clrnn_dataset_n_windows(data, (clrnn_split)s));
    }
    printf("\n");
}

/* ------------------------------------------------------- checkpointing */

/* (*out)[0..n) <- copies of the comma-separated names of list. */
static int copy_names(char ***out, const char *list, size_t n)
{
    *out = calloc(n ? n : 1, sizeof **out);
    for (size_t i = 0; *out && i < n; i++) {
        const char *comma = strchr(list, ',');
        size_t len = comma ? (size_t)(comma - list) : strlen(list);
        if (!((*out)[i] = malloc(len + 1)))
            return 0;
        memcpy((*out)[i], list, len);
        (*out)[i][len] = '\0';
        list = comma ? comma + 1 : list + len;
    }
    return *out != NULL;
}

static double *copy_stats(const clrnn_dataset *data, size_t n,
                          double (*stat)(const clrnn_dataset *, size_t))
{
    double *v = malloc((n ? n : 1) * sizeof *v);
    for (size_t i = 0; v && i < n; i++)
        v[i] = stat(data, i);
    return v;
}

/* Fills the parts of the checkpoint that do not change while training;
 * released with clrnn_checkpoint_clear. */
static int checkpoint_describe(clrnn_checkpoint *c, const train_options *o,
                               const clrnn_dataset *data, const clrnn_model *model)
{
    size_t F = clrnn_dataset_n_features(data), K = clrnn_dataset_n_targets(data);
    size_t P = clrnn_model_n_params(model);
    memset(c, 0, sizeof *c);
    c->precision = o->backend.precision;
    c->seq_len = clrnn_dataset_seq_len(data);
    c->loss_steps = o->backend.loss_steps;
    c->n_features = F;
    c->n_targets = K;
    c->optimizer = o->train.optimizer;
    c->seed = o->train.seed;
    c->feature_mean = copy_stats(data, F, clrnn_dataset_feature_mean);
    c->feature_std = copy_stats(data, F, clrnn_dataset_feature_std);
    c->target_mean = copy_stats(data, K, clrnn_dataset_target_mean);
    c->target_std = copy_stats(data, K, clrnn_dataset_target_std);
    c->opt_state_a = malloc(P * sizeof *c->opt_state_a);
    c->opt_state_b = malloc(P * sizeof *c->opt_state_b);
    return copy_names(&c->feature_names, o->features, F) &&
           copy_names(&c->target_names, o->targets, K) &&
           clrnn_model_clone(&c->model, model, NULL) == CLRNN_OK && c->feature_mean &&
           c->feature_std && c->target_mean && c->target_std && c->opt_state_a && c->opt_state_b;
}

/* The backend's parameters and optimizer state, as of `epoch`, to --save. */
static clrnn_status checkpoint_save(train_run *run, clrnn_backend *backend, size_t epoch,
                                    clrnn_error *err)
{
    clrnn_checkpoint *c = &run->ckpt;
    c->epoch = epoch;
    clrnn_status st = clrnn_backend_get_params(backend, clrnn_model_params(c->model), err);
    if (st == CLRNN_OK)
        st = clrnn_backend_get_optimizer_state(backend, c->opt_state_a, c->opt_state_b, &c->step,
                                               err);
    if (st == CLRNN_OK)
        st = clrnn_checkpoint_save(c, run->o->save, err);
    if (st == CLRNN_OK)
        run->epochs_saved = epoch;
    return st;
}

/* ---------------------------------------------------------- callbacks */

static double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* JSON has no NaN: a missing figure (no validation windows) is null. */
static void json_number(FILE *f, const char *key, double v, const char *format)
{
    fprintf(f, ", \"%s\": ", key);
    if (isfinite(v))
        fprintf(f, format, v);
    else
        fputs("null", f);
}

static void log_epoch(const train_run *run, const clrnn_epoch_stats *s)
{
    if (run->log_csv) {
        fprintf(run->log_csv, "%zu,%.9g,%.9g,%.6g,%.6g,%.1f,%.4f\n", s->epoch, s->train_loss,
                s->val_loss, s->lr, s->grad_norm, s->windows_per_second, s->seconds);
        fflush(run->log_csv);
    }
    if (run->log_json) {
        fprintf(run->log_json, "{\"epoch\": %zu", s->epoch);
        json_number(run->log_json, "train_loss", s->train_loss, "%.9g");
        json_number(run->log_json, "val_loss", s->val_loss, "%.9g");
        json_number(run->log_json, "lr", s->lr, "%.6g");
        json_number(run->log_json, "grad_norm", s->grad_norm, "%.6g");
        json_number(run->log_json, "windows_per_second", s->windows_per_second, "%.1f");
        json_number(run->log_json, "seconds", s->seconds, "%.4f");
        fprintf(run->log_json, "}\n");
        fflush(run->log_json);
    }
}

static clrnn_status on_epoch(void *context, const clrnn_epoch_stats *s, clrnn_backend *backend,
                             clrnn_error *err)
{
    train_run *run = context;
    run->last_loss = s->train_loss;
    run->train_loss[s->epoch - 1] = s->train_loss;
    run->val_loss[s->epoch - 1] = s->val_loss;
    log_epoch(run, s);
    clrnn_status st = run->o->save ? checkpoint_save(run, backend, s->epoch, err) : CLRNN_OK;
    run->epoch_start = seconds_now(); /* the next epoch's batches start now */
    return st;
}

/* The progress line on stderr (a terminal): redrawn at most 10 times a
 * second, and wiped after the epoch's last batch so that the epoch's line
 * on stdout starts on a clean line. */
static void on_batch(void *context, size_t epoch, size_t done, size_t total)
{
    train_run *run = context;
    if (!run->progress)
        return;
    double now = seconds_now();
    if (done == total) {
        fprintf(stderr, "\r\033[K");
        fflush(stderr);
        return;
    }
    if (now - run->last_draw < 0.1)
        return;
    run->last_draw = now;
    size_t batch = run->o->train.batch;
    double rate = now > run->epoch_start ? (double)done / (now - run->epoch_start) : 0.0;
    int width = 24, filled = (int)((double)width * (double)done / (double)total);
    fprintf(stderr, "\r\033[Kepoch %zu/%zu [%.*s%*s] batch %zu/%zu", epoch + 1,
            run->o->train.epochs, filled, "========================", width - filled, "",
            (done + batch - 1) / batch, (total + batch - 1) / batch);
    if (isfinite(run->last_loss))
        fprintf(stderr, "  loss %.4g (last epoch)", run->last_loss);
    if (rate > 0)
        fprintf(stderr, "  %.0f windows/s  ETA %.1f s", rate, (double)(total - done) / rate);
    fflush(stderr);
}

/* ------------------------------------------------------- output files */

/* Can a file be created at path? Checked before anything else, so that a
 * bad path costs no training and leaves nothing behind. */
static int writable(const char *flag, const char *path)
{
    char dir[4096];
    struct stat info;
    const char *slash = strrchr(path, '/');
    size_t len = slash ? (size_t)(slash - path) : 0;
    if (len >= sizeof dir)
        len = sizeof dir - 1;
    memcpy(dir, path, len);
    strcpy(dir + len, slash == path ? "/" : len ? "" : ".");
    if (path[0] == '\0' || (stat(path, &info) == 0 && S_ISDIR(info.st_mode))) {
        fprintf(stderr, "clrnn train: %s '%s': cannot write: not a file name\n", flag, path);
        return 0;
    }
    if (access(dir, W_OK) != 0) {
        fprintf(stderr, "clrnn train: %s '%s': cannot write in '%s': %s\n", flag, path, dir,
                strerror(errno));
        return 0;
    }
    return 1;
}

static int check_outputs(const train_options *o)
{
    const char *flags[4] = {"--save", "--plot", "--log", "--log-json"};
    const char *paths[4] = {o->save, o->plot, o->log_csv, o->log_json};
    for (int i = 0; i < 4; i++)
        if (paths[i] && !writable(flags[i], paths[i]))
            return 0;
    return 1;
}

static FILE *open_log(const char *path, const char *header)
{
    FILE *f = fopen(path, "w");
    if (!f)
        fprintf(stderr, "clrnn train: cannot write '%s': %s\n", path, strerror(errno));
    else if (header)
        fputs(header, f);
    return f;
}

/* ---------------------------------------------------------- resuming */

/* The saved optimizer, with the hyper-parameters given on the command line
 * taking precedence (fine-tuning with a lower --lr, say). Its kind cannot
 * change: the saved state belongs to it. */
static int resume_optimizer(const train_options *o, const clrnn_checkpoint *c, clrnn_optimizer *opt)
{
    static const char *const kinds[] = {"sgd", "adam"};
    clrnn_optimizer given = *opt;
    unsigned set = o->optimizer_set;
    if ((set & SET_OPTIMIZER) && given.kind != c->optimizer.kind) {
        fprintf(stderr,
                "clrnn train: '%s' was trained with --optimizer %s; it cannot resume "
                "with %s\n",
                o->resume, kinds[c->optimizer.kind], kinds[given.kind]);
        return 0;
    }
    *opt = c->optimizer;
    opt->lr = set & SET_LR ? given.lr : opt->lr;
    opt->momentum = set & SET_MOMENTUM ? given.momentum : opt->momentum;
    opt->beta1 = set & SET_BETA1 ? given.beta1 : opt->beta1;
    opt->beta2 = set & SET_BETA2 ? given.beta2 : opt->beta2;
    opt->eps = set & SET_EPS ? given.eps : opt->eps;
    opt->weight_decay = set & SET_WEIGHT_DECAY ? given.weight_decay : opt->weight_decay;
    opt->clip_norm = set & SET_CLIP_NORM ? given.clip_norm : opt->clip_norm;
    return 1;
}

/* Resuming: the saved optimizer state, step, epoch and seed. */
static int apply_resume(const train_options *o, const clrnn_checkpoint *c, clrnn_backend *backend,
                        clrnn_train_config *train)
{
    clrnn_error err;
    if (c->epoch >= train->epochs) {
        fprintf(stderr,
                "clrnn train: '%s' has done %zu epochs already; ask for more with --epochs\n",
                o->resume, c->epoch);
        return 0;
    }
    if (!resume_optimizer(o, c, &train->optimizer))
        return 0;
    if (clrnn_backend_set_optimizer_state(backend, c->opt_state_a, c->opt_state_b, c->step, &err) !=
        CLRNN_OK)
        return cli_error("clrnn train", &err), 0;
    train->start_epoch = c->epoch;
    train->seed = c->seed;
    return 1;
}

/* The data's columns and window length must be the model's. */
static int check_resume_matches(const train_options *o, const clrnn_checkpoint *c)
{
    char feat[2048], targ[2048];
    cli_join(feat, sizeof feat, c->feature_names, c->n_features);
    cli_join(targ, sizeof targ, c->target_names, c->n_targets);
    if ((o->features_set && strcmp(feat, o->features) != 0) ||
        (o->targets_set && strcmp(targ, o->targets) != 0) ||
        (o->seq_len_set && o->data_cfg.seq_len != c->seq_len)) {
        fprintf(stderr,
                "clrnn train: '%s' was trained on features %s, target %s, seq-len %zu; the "
                "options ask for something else\n",
                o->resume, feat, targ, c->seq_len);
        return 0;
    }
    return 1;
}

/* ---------------------------------------------------------------- main */

/* Everything one training run owns; released by job_free. */
typedef struct train_job {
    train_options *o;
    clrnn_checkpoint resumed; /* --resume's file; empty otherwise */
    clrnn_dataset *data;
    clrnn_model *model;
    clrnn_backend *backend;
    train_run run;
    char features[2048], targets[2048]; /* the resumed model's columns */
} train_job;

static void job_free(train_job *job)
{
    if (job->run.log_csv)
        fclose(job->run.log_csv);
    if (job->run.log_json)
        fclose(job->run.log_json);
    free(job->run.train_loss);
    free(job->run.val_loss);
    clrnn_checkpoint_clear(&job->run.ckpt);
    clrnn_checkpoint_clear(&job->resumed);
    clrnn_backend_free(job->backend);
    clrnn_model_free(job->model);
    clrnn_dataset_free(job->data);
}

/* The dataset: columns from the options, or from the resumed model along
 * with its scaler statistics. */
static int load_data(train_job *job)
{
    train_options *o = job->o;
    clrnn_error err;
    if (!o->resume)
        return cli_load_dataset("clrnn train", o->data, o->features, o->targets, o->data_cfg,
                                &job->data);
    clrnn_checkpoint *c = &job->resumed;
    if (clrnn_checkpoint_load(c, o->resume, &err) != CLRNN_OK)
        return cli_error("clrnn train", &err), 0;
    if (!check_resume_matches(o, c))
        return 0;
    o->features = cli_join(job->features, sizeof job->features, c->feature_names, c->n_features);
    o->targets = cli_join(job->targets, sizeof job->targets, c->target_names, c->n_targets);
    o->backend.loss_steps = c->loss_steps;
    o->backend.precision = c->precision;
    return cli_load_dataset_for_model("clrnn train", o->data, c, o->data_cfg, &job->data);
}

/* The model: the resumed one, or new shapes initialised from --seed. */
static int make_model(train_job *job)
{
    clrnn_error err;
    clrnn_layer_shape layers[MAX_LAYERS];
    size_t n_layers;
    if (job->o->resume) {
        if (clrnn_model_clone(&job->model, job->resumed.model, &err) != CLRNN_OK)
            return cli_error("clrnn train", &err), 0;
        return 1;
    }
    if (!model_shapes(job->o, clrnn_dataset_n_features(job->data),
                      clrnn_dataset_n_targets(job->data), layers, &n_layers))
        return 0;
    if (clrnn_model_create(&job->model, layers, n_layers, &err) != CLRNN_OK)
        return cli_error("clrnn train", &err), 0;
    clrnn_rng rng;
    clrnn_rng_seed(&rng, job->o->train.seed);
    clrnn_model_init_uniform(job->model, &rng);
    return 1;
}

/* Data, model and backend, every check done; nothing written yet. */
static int prepare(train_job *job)
{
    train_options *o = job->o;
    clrnn_error err;
    if (!load_data(job))
        return 0;
    size_t n_train = clrnn_dataset_n_windows(job->data, CLRNN_SPLIT_TRAIN);
    if (o->train.batch > n_train) {
        fprintf(stderr, "clrnn train: --batch %zu is larger than the %zu training windows\n",
                o->train.batch, n_train);
        return 0;
    }
    if (!make_model(job))
        return 0;
    o->backend.seq_len = clrnn_dataset_seq_len(job->data);
    o->backend.max_batch = o->train.batch;
    o->backend.log = o->quiet ? NULL : stdout;
    if (clrnn_backend_create(&job->backend, job->model, &o->backend, &err) != CLRNN_OK ||
        clrnn_backend_stage_dataset(job->backend, job->data, &err) != CLRNN_OK)
        return cli_error("clrnn train", &err), 0;
    if (o->resume && !apply_resume(o, &job->resumed, job->backend, &o->train))
        return 0;
    if (!o->quiet) /* only once every check has passed: bad input gets one line */
        print_data_summary(o, job->data);
    return 1;
}

/* History, checkpoint description and log files for the callbacks. */
static int start_run(train_job *job)
{
    train_options *o = job->o;
    train_run *run = &job->run;
    run->o = o;
    run->last_loss = NAN;
    run->train_loss = malloc(o->train.epochs * sizeof *run->train_loss);
    run->val_loss = malloc(o->train.epochs * sizeof *run->val_loss);
    if (!run->train_loss || !run->val_loss ||
        !checkpoint_describe(&run->ckpt, o, job->data, job->model)) {
        fprintf(stderr, "clrnn train: out of memory\n");
        return 0;
    }
    for (size_t e = 0; e < o->train.epochs; e++)
        run->train_loss[e] = run->val_loss[e] = NAN;
    run->ckpt.optimizer = o->train.optimizer; /* as resume_optimizer left it */
    run->ckpt.seed = o->train.seed;
    if (o->log_csv && !(run->log_csv = open_log(o->log_csv, "epoch,train_loss,val_loss,lr,"
                                                            "grad_norm,windows_per_second,"
                                                            "seconds\n")))
        return 0;
    if (o->log_json && !(run->log_json = open_log(o->log_json, NULL)))
        return 0;
    run->progress = !o->quiet && isatty(STDERR_FILENO);
    o->train.out = o->quiet ? NULL : stdout;
    o->train.on_epoch = on_epoch;
    o->train.on_batch = on_batch;
    o->train.context = run;
    return 1;
}

static int run_training(train_job *job, clrnn_train_report *report)
{
    train_options *o = job->o;
    clrnn_error err;
    if (!o->quiet) {
        if (strcmp(o->backend.device, "auto") != 0) /* auto said its choice already */
            printf("device: %s\n", clrnn_backend_describe(job->backend));
        printf("model: %zu layer(s), %zu parameters\n", clrnn_model_n_layers(job->model),
               clrnn_model_n_params(job->model));
        if (o->resume)
            printf("resume: %s after epoch %zu (step %ld)\n", o->resume, job->resumed.epoch,
                   job->resumed.step);
    }
    job->run.epoch_start = seconds_now();
    clrnn_status st = clrnn_train(job->backend, job->data, &o->train, report, &err);
    if (job->run.progress)
        fprintf(stderr, "\r\033[K");
    if (st != CLRNN_OK) {
        cli_error("clrnn train", &err);
        if (st == CLRNN_E_NUMERIC && job->run.epochs_saved)
            fprintf(stderr, "clrnn train: '%s' keeps epoch %zu, the last good one\n", o->save,
                    job->run.epochs_saved);
        return 0;
    }
    /* After an early stop the backend holds the best epoch's state. */
    if (o->save && checkpoint_save(&job->run, job->backend, report->best_epoch, &err) != CLRNN_OK)
        return cli_error("clrnn train", &err), 0;
    printf("trained %zu epochs in %.2f s (%.0f windows/s)%s\n",
           report->epochs_run - o->train.start_epoch, report->seconds, report->windows_per_second,
           report->stopped_early ? ", stopped early" : "");
    if (report->best_epoch != report->epochs_run)
        printf("kept the weights of epoch %zu (best validation loss %.6g)\n", report->best_epoch,
               report->best_val_loss);
    return 1;
}

/* The naive forecast's line: against the model's test RMSE when it covers
 * every target, else with the model's figures on the targets it covers. */
static void print_baseline(const cli_baseline *b, size_t n_targets)
{
    double gain = 100.0 * fabs(b->naive_rmse - b->model_rmse) / b->naive_rmse;
    const char *direction = b->model_rmse <= b->naive_rmse ? "lower" : "HIGHER";
    if (b->n_targets == n_targets)
        printf("naive baseline (tomorrow = today): RMSE %.4f, MAE %.4f: the model's RMSE is "
               "%.1f%% %s\n",
               b->naive_rmse, b->naive_mae, gain, direction);
    else
        printf("naive baseline (tomorrow = today) on %s: RMSE %.4f, MAE %.4f; the model on %s: "
               "RMSE %.4f, MAE %.4f: the model's RMSE is %.1f%% %s\n",
               b->names, b->naive_rmse, b->naive_mae, b->names, b->model_rmse, b->model_mae, gain,
               direction);
}

/* Test metrics next to the naive forecast "tomorrow = today". */
static int report_test(train_job *job)
{
    const clrnn_dataset *data = job->data;
    size_t n = clrnn_dataset_n_windows(data, CLRNN_SPLIT_TEST), K = clrnn_dataset_n_targets(data);
    size_t batch = job->o->train.batch;
    clrnn_metrics test;
    clrnn_error err;
    cli_baseline baseline;
    if (clrnn_evaluate(job->backend, data, CLRNN_SPLIT_TEST, batch, &test, &err) != CLRNN_OK)
        return cli_error("clrnn train", &err), 0;
    if (n == 0) {
        printf("test: no test windows (the test split is shorter than one window)\n");
        return 1;
    }
    printf("test: %zu windows, loss %.6g, RMSE %.4f, MAE %.4f (target units, last step of "
           "each window)\n",
           test.n_windows, test.loss, test.rmse, test.mae);
    double *pred = malloc(n * K * sizeof *pred); /* (n, K) */
    clrnn_status st = pred ? clrnn_predict(job->backend, data, CLRNN_SPLIT_TEST, batch, pred, &err)
                           : clrnn_fail(&err, CLRNN_E_NOMEM, "out of memory");
    if (st != CLRNN_OK) {
        free(pred);
        return cli_error("clrnn train", &err), 0;
    }
    if (cli_naive_baseline(data, CLRNN_SPLIT_TEST, (const char *const *)job->run.ckpt.feature_names,
                           (const char *const *)job->run.ckpt.target_names, pred, &baseline))
        print_baseline(&baseline, K);
    free(pred);
    return 1;
}

/* --plot: loss curves and the first target over the test split, against
 * the dates of the predicted rows when the data has row labels. */
static int write_plot(train_job *job, const clrnn_train_report *report)
{
    const clrnn_dataset *data = job->data;
    size_t n = clrnn_dataset_n_windows(data, CLRNN_SPLIT_TEST);
    size_t K = clrnn_dataset_n_targets(data), T = clrnn_dataset_seq_len(data);
    double *pred = malloc((n ? n : 1) * K * sizeof *pred); /* (n, K) */
    double *truth = malloc((n ? n : 1) * sizeof *truth);   /* (n) first target */
    double *first = malloc((n ? n : 1) * sizeof *first);   /* (n) */
    const char **labels = malloc((n ? n : 1) * sizeof *labels);
    clrnn_error err = {CLRNN_E_NOMEM, "out of memory"};
    int ok = pred && truth && first && labels &&
             (n == 0 || clrnn_predict(job->backend, data, CLRNN_SPLIT_TEST, job->o->train.batch,
                                      pred, &err) == CLRNN_OK);
    int have_labels = 1;
    for (size_t i = 0; ok && i < n; i++) {
        size_t row = clrnn_dataset_window_start(data, CLRNN_SPLIT_TEST, i) + T - 1;
        truth[i] = clrnn_dataset_y_raw(data)[row * K];
        first[i] = pred[i * K];
        labels[i] = clrnn_dataset_row_label(data, row);
        have_labels = have_labels && labels[i];
    }
    cli_plot_data plot = {.train_loss = job->run.train_loss,
                          .val_loss = job->run.val_loss,
                          .n_epochs = report->epochs_run,
                          .truth = truth,
                          .prediction = first,
                          .n_points = n,
                          .labels = have_labels ? labels : NULL,
                          .target_name = job->run.ckpt.target_names[0]};
    ok = ok && cli_plot_svg(job->o->plot, &plot, &err);
    free(pred);
    free(truth);
    free(first);
    free(labels);
    if (!ok)
        return cli_error("clrnn train", &err), 0;
    printf("plot: %s\n", job->o->plot);
    return 1;
}

int cli_train(int argc, char **argv)
{
    train_options o;
    defaults(&o);
    cli_args a;
    cli_args_init(&a, "clrnn train", argc, argv);
    while (cli_next(&a)) {
        if (cli_is(&a, "--help") || cli_is(&a, "-h"))
            return usage(stdout), 0;
        if (!parse_option(&a, &o))
            return 2;
    }
    if (o.train.optimizer.kind == CLRNN_ADAM && !(o.optimizer_set & SET_LR))
        o.train.optimizer.lr = 1e-3;
    if (!o.data)
        return fprintf(stderr, "clrnn train: --data is required\n"), 2;
    if (!check_outputs(&o))
        return 2;
    train_job job;
    memset(&job, 0, sizeof job);
    job.o = &o;
    clrnn_train_report report;
    int ok = prepare(&job) && start_run(&job) && run_training(&job, &report) && report_test(&job) &&
             (!o.plot || write_plot(&job, &report));
    if (ok && o.save)
        printf("model: %s\n", o.save);
    job_free(&job);
    return ok ? 0 : 2;
}
