/* clrnn train: train a stack of tanh RNN layers on a CSV table. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cli_args.h"
#include "cli_common.h"
#include "cli_plot.h"
#include "clrnn.h"

#define MAX_LAYERS 16

typedef struct train_options {
    const char *data, *features, *targets;
    int features_set, targets_set, seq_len_set;
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
    int progress;                  /* draw a progress line on the terminal */
    double last_loss;
    double epoch_start; /* seconds, for the progress line's rate */
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
            "  --resume FILE         continue a saved run up to --epochs\n"
            "  --log FILE            metrics per epoch as CSV\n"
            "  --log-json FILE       metrics per epoch as JSON lines\n"
            "  --plot FILE           an SVG report: loss curves, predicted vs actual (test)\n"
            "device:\n"
            "  --device D            auto (default: a GPU, else any OpenCL device, else the\n"
            "                        CPU reference), cpu, opencl, opencl:P.D (clrnn devices)\n"
            "  --precision P         OpenCL precision: fp32 (default) or fp64\n"
            "  --quiet               only the final metrics\n");
}

static int parse_choice_into(cli_args *a, const char *v, const char *const *choices, int *out)
{
    return cli_parse_choice(a, v, choices, out);
}

static int parse_option(cli_args *a, train_options *o, int *lr_set)
{
    static const char *const missing[] = {"ffill", "drop", "error", NULL};
    static const char *const fits[] = {"train", "all", NULL};
    static const char *const optimizers[] = {"sgd", "adam", NULL};
    static const char *const precisions[] = {"fp32", "fp64", NULL};
    static const char *const loss_on[] = {"all", "last", NULL};
    static const char *const schedules[] = {"constant", "step", "cosine", NULL};
    int choice = 0;
    if (cli_is(a, "--no-shuffle"))
        return o->train.shuffle = 0, 1;
    if (cli_is(a, "--quiet"))
        return o->quiet = 1, 1;
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
    } else if (cli_is(a, "--lr"))
        return *lr_set = 1, cli_parse_double(a, v, 1e-12, 100.0, &opt->lr);
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
    else if (cli_is(a, "--clip-norm"))
        return cli_parse_double(a, v, 1e-12, 1e12, &opt->clip_norm);
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

/* Fills the parts of the checkpoint that do not change while training. */
static int checkpoint_describe(clrnn_checkpoint *c, const train_options *o,
                               const clrnn_dataset *data, const clrnn_model *model)
{
    size_t F = clrnn_dataset_n_features(data), K = clrnn_dataset_n_targets(data);
    size_t P = clrnn_model_n_params(model);
    char buf[2048];
    const char *names[CLI_MAX_COLUMNS];
    memset(c, 0, sizeof *c);
    if (clrnn_model_clone(&c->model, model, NULL) != CLRNN_OK)
        return 0;
    c->precision = o->backend.precision;
    c->seq_len = clrnn_dataset_seq_len(data);
    c->loss_steps = o->backend.loss_steps;
    c->n_features = F;
    c->n_targets = K;
    c->feature_names = calloc(F, sizeof *c->feature_names);
    c->target_names = calloc(K, sizeof *c->target_names);
    c->feature_mean = malloc(2 * (F + K) * sizeof *c->feature_mean);
    c->opt_state_a = malloc(P * sizeof *c->opt_state_a);
    c->opt_state_b = malloc(P * sizeof *c->opt_state_b);
    if (!c->feature_names || !c->target_names || !c->feature_mean || !c->opt_state_a ||
        !c->opt_state_b)
        return 0;
    c->feature_std = c->feature_mean + F;
    c->target_mean = c->feature_std + F;
    c->target_std = c->target_mean + K;
    const char *lists[2] = {o->features, o->targets};
    char **dest[2] = {c->feature_names, c->target_names};
    for (int which = 0; which < 2; which++) {
        size_t n = 0;
        strncpy(buf, lists[which], sizeof buf - 1);
        buf[sizeof buf - 1] = '\0';
        for (char *tok = strtok(buf, ","); tok && n < CLI_MAX_COLUMNS; tok = strtok(NULL, ","))
            names[n++] = tok;
        for (size_t i = 0; i < n; i++)
            if (!(dest[which][i] = strdup(names[i])))
                return 0;
    }
    for (size_t f = 0; f < F; f++) {
        c->feature_mean[f] = clrnn_dataset_feature_mean(data, f);
        c->feature_std[f] = clrnn_dataset_feature_std(data, f);
    }
    for (size_t k = 0; k < K; k++) {
        c->target_mean[k] = clrnn_dataset_target_mean(data, k);
        c->target_std[k] = clrnn_dataset_target_std(data, k);
    }
    c->optimizer = o->train.optimizer;
    c->seed = o->train.seed;
    return 1;
}

/* The checkpoint's three separately allocated stat arrays are one block
 * here (feature_mean); clear frees them individually, so detach first. */
static void checkpoint_release(clrnn_checkpoint *c)
{
    free(c->feature_mean);
    c->feature_mean = c->feature_std = c->target_mean = c->target_std = NULL;
    clrnn_checkpoint_clear(c);
}

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
    return st;
}

/* ---------------------------------------------------------- callbacks */

static clrnn_status on_epoch(void *context, const clrnn_epoch_stats *s, clrnn_backend *backend,
                             clrnn_error *err)
{
    train_run *run = context;
    if (run->progress)
        fprintf(stderr, "\r\033[K");
    run->last_loss = s->train_loss;
    run->train_loss[s->epoch - 1] = s->train_loss;
    run->val_loss[s->epoch - 1] = s->val_loss;
    if (run->log_csv) {
        fprintf(run->log_csv, "%zu,%.9g,%.9g,%.6g,%.6g,%.1f,%.4f\n", s->epoch, s->train_loss,
                s->val_loss, s->lr, s->grad_norm, s->windows_per_second, s->seconds);
        fflush(run->log_csv);
    }
    if (run->log_json) {
        fprintf(run->log_json,
                "{\"epoch\": %zu, \"train_loss\": %.9g, \"val_loss\": %s%.9g%s, \"lr\": %.6g, "
                "\"grad_norm\": %.6g, \"windows_per_second\": %.1f, \"seconds\": %.4f}\n",
                s->epoch, s->train_loss, isfinite(s->val_loss) ? "" : "\"", s->val_loss,
                isfinite(s->val_loss) ? "" : "\"", s->lr, s->grad_norm, s->windows_per_second,
                s->seconds);
        fflush(run->log_json);
    }
    return run->o->save ? checkpoint_save(run, backend, s->epoch, err) : CLRNN_OK;
}

static double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void on_batch(void *context, size_t epoch, size_t done, size_t total)
{
    train_run *run = context;
    if (!run->progress)
        return;
    double now = seconds_now();
    if (done <= run->o->train.batch)
        run->epoch_start = now;
    double rate = now > run->epoch_start ? (double)done / (now - run->epoch_start) : 0.0;
    int width = 30, filled = (int)((double)width * (double)done / (double)total);
    fprintf(stderr, "\r\033[Kepoch %zu [%.*s%*s] %zu/%zu windows", epoch + 1, filled,
            "==============================", width - filled, "", done, total);
    if (isfinite(run->last_loss))
        fprintf(stderr, "  last loss %.4g", run->last_loss);
    if (rate > 0)
        fprintf(stderr, "  %.0f windows/s  ETA %.1f s", rate, (double)(total - done) / rate);
    fflush(stderr);
}

/* ---------------------------------------------------------------- main */

/* Can a file be created at path? Checked before training, so that a bad
 * --save or --plot path costs no training and leaves nothing behind. */
static int writable(const char *flag, const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    size_t len = slash ? (size_t)(slash - path) : 0;
    if (len >= sizeof dir)
        len = sizeof dir - 1;
    memcpy(dir, path, len);
    strcpy(dir + len, len ? "" : ".");
    if (slash == path)
        strcpy(dir, "/");
    if (access(dir, W_OK) != 0) {
        fprintf(stderr, "clrnn train: %s '%s': cannot write in '%s': %s\n", flag, path, dir,
                strerror(errno));
        return 0;
    }
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

/* Resuming: the saved model, optimizer state, step and epoch; the data's
 * columns and window length must be the model's. */
static int apply_resume(const train_options *o, const clrnn_checkpoint *c, clrnn_backend *backend,
                        clrnn_train_config *train)
{
    clrnn_error err;
    if (clrnn_backend_set_optimizer_state(backend, c->opt_state_a, c->opt_state_b, c->step,
                                          &err) != CLRNN_OK)
        return cli_error("clrnn train", &err), 0;
    train->start_epoch = c->epoch;
    double clip_norm = train->optimizer.clip_norm; /* not part of the saved state */
    train->optimizer = c->optimizer;
    train->optimizer.clip_norm = clip_norm;
    train->seed = c->seed;
    if (c->epoch >= train->epochs) {
        fprintf(stderr, "clrnn train: '%s' has done %zu epochs already; ask for more with --epochs\n",
                o->resume, c->epoch);
        return 0;
    }
    return 1;
}

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

int cli_train(int argc, char **argv)
{
    train_options o;
    int lr_set = 0;
    defaults(&o);
    cli_args a;
    cli_args_init(&a, "clrnn train", argc, argv);
    while (cli_next(&a)) {
        if (cli_is(&a, "--help") || cli_is(&a, "-h"))
            return usage(stdout), 0;
        if (!parse_option(&a, &o, &lr_set))
            return 2;
    }
    if (o.train.optimizer.kind == CLRNN_ADAM && !lr_set)
        o.train.optimizer.lr = 1e-3;
    if (!o.data)
        return fprintf(stderr, "clrnn train: --data is required\n"), 2;

    clrnn_checkpoint resumed = {0};
    clrnn_dataset *data = NULL;
    clrnn_model *model = NULL;
    clrnn_backend *backend = NULL;
    train_run run = {&o, NULL, NULL, NULL, NULL, {0}, 0, NAN, 0.0};
    clrnn_error err;
    int code = 2;
    char feat_buf[2048], targ_buf[2048];
    if (o.resume) {
        if (clrnn_checkpoint_load(&resumed, o.resume, &err) != CLRNN_OK)
            return cli_error(a.command, &err);
        if (!check_resume_matches(&o, &resumed))
            goto done;
        o.features = cli_join(feat_buf, sizeof feat_buf, resumed.feature_names, resumed.n_features);
        o.targets = cli_join(targ_buf, sizeof targ_buf, resumed.target_names, resumed.n_targets);
        o.backend.loss_steps = resumed.loss_steps;
        o.backend.precision = resumed.precision;
        if (!cli_load_dataset_for_model(a.command, o.data, &resumed, o.data_cfg, &data))
            goto done;
    } else if (!cli_load_dataset(a.command, o.data, o.features, o.targets, o.data_cfg, &data)) {
        goto done;
    }
    size_t n_train = clrnn_dataset_n_windows(data, CLRNN_SPLIT_TRAIN);
    if (o.train.batch > n_train) {
        fprintf(stderr, "clrnn train: --batch %zu is larger than the %zu training windows\n",
                o.train.batch, n_train);
        goto done;
    }
    if (o.resume) {
        if (clrnn_model_clone(&model, resumed.model, &err) != CLRNN_OK)
            goto fail;
    } else {
        clrnn_layer_shape layers[MAX_LAYERS];
        size_t n_layers;
        if (!model_shapes(&o, clrnn_dataset_n_features(data), clrnn_dataset_n_targets(data),
                          layers, &n_layers))
            goto done;
        if (clrnn_model_create(&model, layers, n_layers, &err) != CLRNN_OK)
            goto fail;
        clrnn_rng rng;
        clrnn_rng_seed(&rng, o.train.seed);
        clrnn_model_init_uniform(model, &rng);
    }
    /* Check every output before training, so a bad path costs no training. */
    if ((o.save && !writable("--save", o.save)) || (o.plot && !writable("--plot", o.plot)))
        goto done;
    if (o.log_csv &&
        !(run.log_csv = open_log(o.log_csv, "epoch,train_loss,val_loss,lr,grad_norm,"
                                            "windows_per_second,seconds\n")))
        goto done;
    if (o.log_json && !(run.log_json = open_log(o.log_json, NULL)))
        goto done;
    run.train_loss = calloc(o.train.epochs, sizeof *run.train_loss);
    run.val_loss = calloc(o.train.epochs, sizeof *run.val_loss);
    if (!run.train_loss || !run.val_loss || !checkpoint_describe(&run.ckpt, &o, data, model)) {
        fprintf(stderr, "clrnn train: out of memory\n");
        goto done;
    }
    for (size_t e = 0; e < o.train.epochs; e++)
        run.train_loss[e] = run.val_loss[e] = NAN;

    o.backend.seq_len = clrnn_dataset_seq_len(data);
    o.backend.max_batch = o.train.batch;
    o.backend.log = o.quiet ? NULL : stdout;
    if (!o.quiet)
        print_data_summary(&o, data);
    if (clrnn_backend_create(&backend, model, &o.backend, &err) != CLRNN_OK ||
        clrnn_backend_stage_dataset(backend, data, &err) != CLRNN_OK)
        goto fail;
    if (o.resume && !apply_resume(&o, &resumed, backend, &o.train))
        goto done;
    run.ckpt.optimizer = o.train.optimizer;
    run.ckpt.seed = o.train.seed;
    if (!o.quiet) {
        printf("device: %s\nmodel: %zu layer(s), %zu parameters\n", clrnn_backend_describe(backend),
               clrnn_model_n_layers(model), clrnn_model_n_params(model));
        if (o.resume)
            printf("resume: %s after epoch %zu (step %ld)\n", o.resume, resumed.epoch,
                   resumed.step);
    }
    run.progress = !o.quiet && isatty(STDERR_FILENO);
    o.train.out = o.quiet ? NULL : stdout;
    o.train.on_epoch = on_epoch;
    o.train.on_batch = on_batch;
    o.train.context = &run;
    clrnn_train_report report;
    clrnn_status st = clrnn_train(backend, data, &o.train, &report, &err);
    if (run.progress)
        fprintf(stderr, "\r\033[K");
    if (st != CLRNN_OK) {
        if (st == CLRNN_E_NUMERIC && o.save)
            fprintf(stderr, "clrnn train: '%s' keeps the last good epoch\n", o.save);
        goto fail;
    }
    if (o.save && checkpoint_save(&run, backend, report.epochs_run, &err) != CLRNN_OK)
        goto fail;

    clrnn_metrics test;
    if (clrnn_evaluate(backend, data, CLRNN_SPLIT_TEST, o.train.batch, &test, &err) != CLRNN_OK)
        goto fail;
    printf("trained %zu epochs in %.2f s (%.0f windows/s)%s\n",
           report.epochs_run - o.train.start_epoch, report.seconds, report.windows_per_second,
           report.stopped_early ? ", stopped early" : "");
    if (report.best_epoch != report.epochs_run)
        printf("kept the weights of epoch %zu (best validation loss %.6g)\n", report.best_epoch,
               report.best_val_loss);
    if (test.n_windows == 0) {
        printf("test: no test windows (the test split is shorter than one window)\n");
    } else {
        printf("test: %zu windows, RMSE %.4f, MAE %.4f (target units, last step of each window)\n",
               test.n_windows, test.rmse, test.mae);
        double b_rmse, b_mae;
        if (cli_naive_baseline(data, CLRNN_SPLIT_TEST,
                               (const char *const *)run.ckpt.feature_names,
                               (const char *const *)run.ckpt.target_names, &b_rmse, &b_mae))
            printf("naive baseline (tomorrow = today): RMSE %.4f, MAE %.4f\n", b_rmse, b_mae);
    }
    if (o.plot) {
        size_t n = test.n_windows, K = clrnn_dataset_n_targets(data), T = o.backend.seq_len;
        double *pred = malloc((n ? n : 1) * K * sizeof *pred);
        double *truth = malloc((n ? n : 1) * sizeof *truth);
        double *first = malloc((n ? n : 1) * sizeof *first);
        int ok = pred && truth && first &&
                 clrnn_predict(backend, data, CLRNN_SPLIT_TEST, o.train.batch, pred, &err) ==
                     CLRNN_OK;
        for (size_t i = 0; ok && i < n; i++) {
            size_t row = clrnn_dataset_window_start(data, CLRNN_SPLIT_TEST, i) + T - 1;
            truth[i] = clrnn_dataset_y_raw(data)[row * K];
            first[i] = pred[i * K];
        }
        cli_plot_data plot = {run.train_loss, run.val_loss, report.epochs_run, truth, first, n,
                              run.ckpt.target_names[0]};
        ok = ok && cli_plot_svg(o.plot, &plot, &err);
        free(pred);
        free(truth);
        free(first);
        if (!ok)
            goto fail;
        printf("plot: %s\n", o.plot);
    }
    if (o.save)
        printf("model: %s\n", o.save);
    code = 0;
    goto done;
fail:
    code = cli_error(a.command, &err);
done:
    if (run.log_csv)
        fclose(run.log_csv);
    if (run.log_json)
        fclose(run.log_json);
    free(run.train_loss);
    free(run.val_loss);
    checkpoint_release(&run.ckpt);
    clrnn_checkpoint_clear(&resumed);
    clrnn_backend_free(backend);
    clrnn_model_free(model);
    clrnn_dataset_free(data);
    return code;
}
