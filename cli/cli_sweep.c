/* clrnn sweep and clrnn train --models N: the product of lists of settings,
 * trained through the library on one dataset (read once), the models of
 * one shape as one group (a backend of n_models, the data staged once,
 * clrnn_train_group: each model as it trains alone, bit for bit), the
 * groups one after another; then their table, the best by validation loss,
 * every model's file and the mean of their predictions.
 *
 * Each model's options are clrnn train's own: the command line with each
 * list replaced by one of its values goes through train_parse, so a model
 * of a sweep is the model `clrnn train` makes of the same settings. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "cli_mpi.h"
#include "cli_sweep.h"
#include "cli_train.h"
#include "core/error.h"
#include "io/bytes.h"
#include "io/checkpoint.h"

/* ------------------------------------------------------------ options */

/* The settings a sweep may list, in the order of their columns. */
enum { AXIS_SEED, AXIS_LR, AXIS_HIDDEN, AXIS_OPTIMIZER, AXIS_MOMENTUM, AXIS_CLIP, AXIS_DECAY };
#define N_AXES 7
static const char *const axis_flags[N_AXES] = {
    "--seed", "--lr", "--hidden", "--optimizer", "--momentum", "--clip-norm", "--weight-decay"};

#define SWEEP_MAX_MODELS CLI_ENSEMBLE_MAX_MEMBERS
#define SWEEP_MAX_VALUES SWEEP_MAX_MODELS /* --models N fills the seeds' list */
#define VALUE_CHARS 40

typedef struct sweep_axis {
    char (*values)[VALUE_CHARS]; /* (SWEEP_MAX_VALUES), the texts as clrnn train takes them */
    size_t n;
    int order; /* where it was given among the lists; -1: not a list */
} sweep_axis;

typedef struct sweep_options {
    train_options t; /* first: the train table's offsets hold */
    size_t models;
    int select, ensemble; /* their one word each */
    int select_given, ensemble_given;
    const char *save_each;
    sweep_axis axes[N_AXES];
    int n_lists;
    const cli_option *axis_option[N_AXES]; /* the train table's entry */
} sweep_options;

static const char *const select_words[] = {"best", NULL};
static const char *const ensemble_words[] = {"mean", NULL};

static int axis_of(const char *flag)
{
    for (int i = 0; i < N_AXES; i++)
        if (strcmp(flag, axis_flags[i]) == 0)
            return i;
    return -1;
}

static int add_value(const cli_args *a, sweep_axis *axis, const char *text)
{
    if (axis->n == SWEEP_MAX_VALUES) {
        fprintf(stderr, "%s: %s: more than %d values\n", a->name, a->flag, SWEEP_MAX_VALUES);
        return 0;
    }
    snprintf(axis->values[axis->n++], VALUE_CHARS, "%s", text);
    return 1;
}

/* One value as clrnn train's table takes it, so that each is checked with
 * train's own rule and message. */
static int check_value(const cli_args *a, const cli_option *opt, const char *text)
{
    size_t size;
    double number;
    int choice;
    switch (opt->kind) {
    case CLI_U32:
        return cli_parse_size(a, text, 0, UINT32_MAX, &size);
    case CLI_SIZE:
        return cli_parse_size(a, text, (size_t)opt->min, (size_t)opt->max, &size);
    case CLI_DOUBLE:
        return cli_parse_double(a, text, opt->min, opt->max, &number);
    case CLI_CHOICE:
        return cli_parse_choice(a, text, opt->choices, &choice);
    default:
        return 0;
    }
}

/* --seed 0-7,9 --lr 1e-3,3e-3 ...: a comma-separated list; whole-number
 * settings also take ranges LOW-HIGH. Given again, a list replaces the
 * earlier one and keeps its place in the order. */
static int parse_axis(const cli_args *a, const char *text, void *options)
{
    sweep_options *s = options;
    int i = axis_of(a->flag);
    const cli_option *opt = s->axis_option[i];
    sweep_axis *axis = &s->axes[i];
    char buf[4096];
    const char *items[256];
    size_t n;
    if (!cli_split_list(a, text, buf, sizeof buf, items, 256, &n))
        return 0;
    axis->n = 0;
    for (size_t k = 0; k < n; k++) {
        const char *dash = strchr(items[k] + 1, '-');
        int whole = opt->kind == CLI_U32 || opt->kind == CLI_SIZE;
        if (i == AXIS_CLIP && strcmp(items[k], "off") == 0) { /* train without --clip-norm */
            if (!add_value(a, axis, items[k]))
                return 0;
            continue;
        }
        if (!whole || !dash) {
            if (!check_value(a, opt, items[k]) || !add_value(a, axis, items[k]))
                return 0;
            continue;
        }
        char low_text[64];
        size_t low, high, min = opt->kind == CLI_SIZE ? (size_t)opt->min : 0;
        size_t max = opt->kind == CLI_SIZE ? (size_t)opt->max : UINT32_MAX;
        snprintf(low_text, sizeof low_text, "%.*s", (int)(dash - items[k]), items[k]);
        if (!cli_parse_size(a, low_text, min, max, &low) ||
            !cli_parse_size(a, dash + 1, min, max, &high))
            return 0;
        if (high < low) {
            fprintf(stderr, "%s: %s '%s': a range runs from low to high\n", a->name, a->flag,
                    items[k]);
            return 0;
        }
        if (high - low >= SWEEP_MAX_VALUES) {
            fprintf(stderr, "%s: %s '%s': more than %d values\n", a->name, a->flag, items[k],
                    SWEEP_MAX_VALUES);
            return 0;
        }
        for (size_t v = low; v <= high; v++) {
            char value[32];
            snprintf(value, sizeof value, "%zu", v);
            if (!add_value(a, axis, value))
                return 0;
        }
    }
    if (axis->order < 0)
        axis->order = s->n_lists++;
    return 1;
}

#define AT(field) offsetof(sweep_options, field)

/* --models N: the seeds' list, at the place of the first of --models and
 * --seed among the lists. */
static int parse_models(const cli_args *a, const char *text, void *options)
{
    sweep_options *s = options;
    if (!cli_parse_size(a, text, 1, SWEEP_MAX_MODELS, &s->models))
        return 0;
    if (s->axes[AXIS_SEED].order < 0)
        s->axes[AXIS_SEED].order = s->n_lists++;
    return 1;
}

static const cli_option sweep_only[] = {
    {"sweep:", .kind = CLI_SECTION},
    {"--models", "N", CLI_CUSTOM, .parse = parse_models,
     .help = "N models of seeds S..S+N-1 (S: --seed, one value)"},
    {"--select", "best", CLI_CHOICE, AT(select), .choices = select_words,
     .help = "--save the model of the lowest validation loss"},
    {"--save-each", "DIR", CLI_STRING, AT(save_each),
     .help = "write every model as DIR/model-K.clrnn (K: its index)"},
    {"--ensemble", "mean", CLI_CHOICE, AT(ensemble), .choices = ensemble_words,
     .help = "score the mean of the models' predictions on the test\n"
             "split; with --save, write an ensemble file (its members\n"
             "beside it in FILE.members/) that eval, predict and\n"
             "forecast take as --model"},
};

#define N_SWEEP_ONLY (sizeof sweep_only / sizeof sweep_only[0])

static cli_option table[CLI_MAX_OPTIONS];
static char axis_help[N_AXES][512];

static const char about[] =
    "usage: clrnn sweep [options]   (or clrnn train --models N)\n"
    "\n"
    "Trains many models on one dataset: the product of the lists given, e.g.\n"
    "--seed 0-7 --lr 1e-3,3e-3,1e-2 --hidden 8,16 --optimizer sgd,adam; lists of\n"
    "--seed, --lr, --hidden, --optimizer, --momentum, --clip-norm, --weight-decay;\n"
    "whole numbers also as ranges LOW-HIGH. The settings expand in the order the\n"
    "lists are given, the last varying fastest: that order gives each model its\n"
    "index K. Every other option is clrnn train's, for every model, and each model\n"
    "is what clrnn train makes of its settings, bit for bit. A model whose loss\n"
    "goes NaN or infinite stops alone (its row says diverged); the others go on.\n"
    "Prints a table of every model (settings, best validation loss and its epoch,\n"
    "the epoch whose weights it keeps (the last, or the best with --patience), test\n"
    "RMSE and MAE, the naive forecast's RMSE), sorted by validation loss;\n"
    "--log and --log-json write it (one row or JSON line a model).\n"
    "\n"
    "The models of one shape train as one group, in lock-step: the data staged once,\n"
    "each model its own window order from its own seed, and their work together\n"
    "(the CPU reference a loop over the models; on OpenCL every kernel family with\n"
    "the model a dimension of its launches); the shapes one after another. A group\n"
    "too large for the device is refused before training, saying how many models\n"
    "fit.\n"
    "\n"
    "Under mpirun the models are dealt out over the ranks (model K to rank K mod R;\n"
    "a rank trains the models of one shape it holds as one group on its device);\n"
    "rank 0 prints and writes the one table and the files, bit for bit those of\n"
    "one process (docs/scaling.md).\n"
    "\n";

const cli_command cli_sweep_command = {
    .name = "clrnn sweep",
    .about = about,
    .options = table,
    .width = 21,
    .footer = "--save FILE needs --select best or --ensemble mean; --log FILE and\n"
              "--log-json FILE get the table; --plot and --resume are clrnn train's only.\n",
};

/* The sweep's own options, then clrnn train's with the listable ones
 * taking lists. */
static int build_table(sweep_options *s)
{
    size_t n = 0;
    for (size_t i = 0; i < N_SWEEP_ONLY; i++)
        table[n++] = sweep_only[i];
    for (const cli_option *opt = cli_train_command.options; opt->name; opt++) {
        if (n + 1 >= CLI_MAX_OPTIONS) /* cli_args.given holds CLI_MAX_OPTIONS */
            return fprintf(stderr,
                           "clrnn sweep: internal: clrnn train's options and the sweep's are "
                           "more than CLI_MAX_OPTIONS (%d)\n",
                           CLI_MAX_OPTIONS),
                   0;
        cli_option entry = *opt;
        int i = opt->kind == CLI_SECTION ? -1 : axis_of(opt->name);
        if (i >= 0) {
            s->axis_option[i] = opt;
            snprintf(axis_help[i], sizeof axis_help[i], "%s;\na list: A,B,...%s", opt->help,
                     opt->kind == CLI_U32 || opt->kind == CLI_SIZE ? ", LOW-HIGH"
                     : i == AXIS_CLIP                              ? " (off: none)"
                                                                   : "");
            entry.kind = CLI_CUSTOM;
            entry.parse = parse_axis;
            entry.value = "LIST";
            entry.help = axis_help[i];
        }
        table[n++] = entry;
    }
    table[n] = (cli_option){0};
    return 1;
}

static const cli_option *table_entry(const char *flag)
{
    for (const cli_option *opt = table; opt->name; opt++)
        if (opt->kind != CLI_SECTION && strcmp(opt->name, flag) == 0)
            return opt;
    return NULL;
}

/* What clrnn train gets of the command line: everything but the sweep's
 * own options, the lists and the outputs the sweep writes itself. */
static int passed_to_train(const char *flag)
{
    static const char *const kept_back[] = {"--save", "--log", "--log-json", "--plot"};
    for (size_t i = 0; i < N_SWEEP_ONLY; i++)
        if (sweep_only[i].kind != CLI_SECTION && strcmp(flag, sweep_only[i].name) == 0)
            return 0;
    for (size_t i = 0; i < sizeof kept_back / sizeof kept_back[0]; i++)
        if (strcmp(flag, kept_back[i]) == 0)
            return 0;
    return axis_of(flag) < 0;
}

/* ---------------------------------------------------------- the models */

typedef struct sweep_model {
    train_options o;
    char layers[256]; /* "3:16:1" */
    double best_val;  /* the lowest validation loss and its epoch */
    size_t best_val_epoch, kept_epoch;
    double rmse, mae, naive_rmse;
    double *pred; /* (n_test, K) test predictions */
    clrnn_checkpoint *ckpt;
    int diverged;
    char note[600];   /* why it diverged */
    char device[256]; /* what trained it (clrnn_backend_describe) */
} sweep_model;

/* The argv of model m: the fixed part, then each list's value. */
static int model_options(sweep_options *s, int argc, char **argv, size_t m, size_t n_models,
                         train_options *out)
{
    char **args = malloc(((size_t)argc + 2 * N_AXES + 1) * sizeof *args);
    if (!args)
        return fprintf(stderr, "%s: out of memory\n", cli_sweep_command.name), 0;
    int n = 0;
    args[n++] = argv[0];
    for (int i = 1; i < argc; i++) {
        char flag[64];
        const char *eq = strncmp(argv[i], "--", 2) == 0 ? strchr(argv[i], '=') : NULL;
        snprintf(flag, sizeof flag, "%.*s", eq ? (int)(eq - argv[i]) : (int)strlen(argv[i]),
                 argv[i]);
        const cli_option *opt = table_entry(flag);
        int has_value = opt && !eq && opt->kind != CLI_FLAG && opt->kind != CLI_UNFLAG;
        if (passed_to_train(flag)) {
            args[n++] = argv[i];
            if (has_value)
                args[n++] = argv[i + 1];
        }
        if (has_value)
            i++;
    }
    /* K's digits: the last list given varies fastest */
    size_t rest = m, span = n_models;
    for (int order = 0; order < s->n_lists; order++)
        for (int i = 0; i < N_AXES; i++) {
            sweep_axis *axis = &s->axes[i];
            if (axis->order != order)
                continue;
            span /= axis->n;
            const char *value = axis->values[rest / span];
            rest %= span;
            if (i == AXIS_CLIP && strcmp(value, "off") == 0)
                continue;
            args[n++] = (char *)axis_flags[i];
            args[n++] = (char *)value;
        }
    args[n] = NULL;
    cli_status st = train_parse(out, n, args);
    free(args);
    return st == CLI_OK;
}

static void describe_layers(const train_options *o, size_t n_features, size_t n_targets, char *buf,
                            size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    if (o->layers.n == 0) {
        snprintf(buf, size, "%zu:%zu:%zu", n_features, o->hidden, n_targets);
        return;
    }
    for (size_t l = 0; l < o->layers.n && used < size; l++) {
        const clrnn_layer_shape *s = &o->layers.shape[l];
        int w = snprintf(buf + used, size - used, "%s%zu:%zu:%zu", l ? "," : "", s->n_in,
                         s->n_hidden, s->n_out);
        used = w < 0 ? size : used + (size_t)w;
    }
}

static const char *optimizer_name(const train_options *o)
{
    return o->train.optimizer.kind == CLRNN_ADAM ? "adam" : "sgd";
}

/* "seed 3, lr 0.01, ..." of the settings that vary (lists of 2 or more). */
static void describe_settings(const sweep_options *s, const sweep_model *m, char *buf, size_t size)
{
    const clrnn_optimizer *opt = &m->o.train.optimizer;
    size_t used = 0;
    buf[0] = '\0';
    for (int order = 0; order < s->n_lists; order++)
        for (int i = 0; i < N_AXES; i++) {
            if (s->axes[i].order != order || s->axes[i].n < 2 || used >= size)
                continue;
            int w = 0;
            const char *sep = used ? ", " : "";
            switch (i) {
            case AXIS_SEED:
                w = snprintf(buf + used, size - used, "%sseed %u", sep, (unsigned)m->o.train.seed);
                break;
            case AXIS_LR:
                w = snprintf(buf + used, size - used, "%slr %g", sep, opt->lr);
                break;
            case AXIS_HIDDEN:
                w = snprintf(buf + used, size - used, "%shidden %zu", sep, m->o.hidden);
                break;
            case AXIS_OPTIMIZER:
                w = snprintf(buf + used, size - used, "%s%s", sep, optimizer_name(&m->o));
                break;
            case AXIS_MOMENTUM:
                w = snprintf(buf + used, size - used, "%smomentum %g", sep, opt->momentum);
                break;
            case AXIS_CLIP:
                w = snprintf(buf + used, size - used, "%sclip-norm %g", sep, opt->clip_norm);
                break;
            default:
                w = snprintf(buf + used, size - used, "%sweight-decay %g", sep, opt->weight_decay);
            }
            used = w < 0 ? size : used + (size_t)w;
        }
}

/* --------------------------------------------------------- the scores */

void cli_score_predictions(const clrnn_dataset *data, clrnn_split split, const double *pred,
                           double *rmse, double *mae)
{
    size_t n = clrnn_dataset_n_windows(data, split), T = clrnn_dataset_seq_len(data);
    size_t K = clrnn_dataset_n_targets(data), scored = 0;
    const double *y_raw = clrnn_dataset_y_raw(data);
    double sq = 0.0, abs_sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        size_t row = clrnn_dataset_window_start(data, split, i) + T - 1;
        for (size_t k = 0; k < K; k++) {
            if (isnan(y_raw[row * K + k]))
                continue; /* masked, as clrnn_evaluate does */
            double diff = pred[i * K + k] - y_raw[row * K + k];
            sq += diff * diff;
            abs_sum += fabs(diff);
            scored++;
        }
    }
    *rmse = scored ? sqrt(sq / (double)scored) : NAN;
    *mae = scored ? abs_sum / (double)scored : NAN;
}

/* ---------------------------------------------------------- training */

typedef struct sweep_run {
    const char *name;
    sweep_options *s;
    clrnn_dataset *data;
    sweep_model *models;
    size_t n_models, n_test, K;
    size_t n_groups;  /* made so far: the first says "device auto:" */
    size_t *sequence; /* (n_models) the order one process trains and says them */
} sweep_run;

static int model_shapes(const sweep_run *r, const train_options *o, clrnn_layer_shape *layers,
                        size_t *n_layers)
{
    size_t F = clrnn_dataset_n_features(r->data), K = clrnn_dataset_n_targets(r->data);
    if (o->layers.n == 0) {
        layers[0] = (clrnn_layer_shape){F, o->hidden, K};
        *n_layers = 1;
        return 1;
    }
    memcpy(layers, o->layers.shape, o->layers.n * sizeof *layers);
    *n_layers = o->layers.n;
    if (layers[0].n_in != F || layers[o->layers.n - 1].n_out != K) {
        fprintf(stderr,
                "%s: --layers takes %zu inputs and gives %zu outputs, but the data has %zu "
                "features and %zu targets\n",
                r->name, layers[0].n_in, layers[o->layers.n - 1].n_out, F, K);
        return 0;
    }
    return 1;
}

static clrnn_status on_epoch(void *context, const clrnn_epoch_stats *s, clrnn_backend *backend,
                             clrnn_error *err)
{
    sweep_model *m = context;
    (void)backend, (void)err;
    if (!isnan(s->val_loss) && (isnan(m->best_val) || s->val_loss < m->best_val)) {
        m->best_val = s->val_loss;
        m->best_val_epoch = s->epoch;
    }
    return CLRNN_OK;
}

static volatile sig_atomic_t interrupted;

static void on_interrupt(int signal_number)
{
    (void)signal_number;
    interrupted = 1;
}

/* Trains model k and scores it on the test split. 0 after a message: the
 * sweep stops (a diverging model does not stop it). */

/* The naive forecast's test RMSE (the targets' last known values, as train
 * prints it: baseline.c) on the model's cells; NaN where it has none. */
static double naive_rmse(const clrnn_dataset *data, const double *pred)
{
    size_t n = clrnn_dataset_n_windows(data, CLRNN_SPLIT_TEST), K = clrnn_dataset_n_targets(data);
    double *forecasts = malloc((n ? n : 1) * K * sizeof *forecasts);
    clrnn_baseline_score score = {0};
    clrnn_error ignored;
    int ok = forecasts && n &&
             clrnn_baseline_predict(data, CLRNN_SPLIT_TEST, CLRNN_BASELINE_NAIVE, NULL, forecasts,
                                    NULL, &ignored) == CLRNN_OK;
    if (ok)
        clrnn_baseline_compare(data, CLRNN_SPLIT_TEST, forecasts, pred, CLRNN_ALL_OUTPUTS, &score);
    free(forecasts);
    return ok && score.n_cells ? score.rmse : NAN;
}

/* Model k's line once it has trained, and the line of a model that
 * diverged (under mpirun rank 0 says the other ranks' as they arrive; the
 * line of a model that diverged elsewhere is not held there, so that a
 * rank that fails later shows its one line). */
static void say_trained(const sweep_run *r, size_t k)
{
    const sweep_model *m = &r->models[k];
    char settings[512];
    describe_settings(r->s, m, settings, sizeof settings);
    if (!m->o.quiet)
        printf("model %zu/%zu%s%s%s: best validation loss %.6g (epoch %zu), test RMSE %.4f, MAE "
               "%.4f\n",
               k, r->n_models, settings[0] ? " (" : "", settings, settings[0] ? ")" : "",
               m->best_val, m->best_val_epoch, m->rmse, m->mae);
}

static void say_diverged(const sweep_run *r, size_t k)
{
    char settings[512];
    if (cli_dist_rank() != 0)
        return;
    describe_settings(r->s, &r->models[k], settings, sizeof settings);
    fprintf(stderr, "%s: model %zu (%s) diverged: %s; the others go on\n", r->name, k, settings,
            r->models[k].note);
}

/* Model k's initial parameters (from its seed) into params (P). */
static int initial_params(sweep_run *r, size_t k, const clrnn_layer_shape *layers, size_t n_layers,
                          clrnn_model **model)
{
    clrnn_error err;
    if (clrnn_model_create(model, layers, n_layers, &err) != CLRNN_OK)
        return cli_error(r->name, &err), 0;
    clrnn_rng rng;
    clrnn_rng_seed(&rng, r->models[k].o.train.seed);
    clrnn_model_init_uniform(*model, &rng);
    return 1;
}

/* The group's backend (n models of the first's shape), the data staged on
 * it once and each model's initial parameters set. */
static clrnn_backend *group_backend(sweep_run *r, const size_t *ks, size_t n,
                                    const clrnn_layer_shape *layers, size_t n_layers)
{
    train_options *o = &r->models[ks[0]].o;
    clrnn_backend *b = NULL;
    clrnn_model *model = NULL;
    clrnn_error err;
    if (!initial_params(r, ks[0], layers, n_layers, &model))
        return NULL;
    o->backend.seq_len = clrnn_dataset_seq_len(r->data);
    o->backend.max_batch = o->train.batch;
    o->backend.log = o->quiet || r->n_groups ? NULL : stdout; /* "device auto:" once */
    o->backend.verbose = o->verbose ? stderr : NULL;
    o->backend.n_models = n;
    int ok = clrnn_backend_create(&b, model, &o->backend, &err) == CLRNN_OK &&
             clrnn_backend_stage_dataset(b, r->data, &err) == CLRNN_OK;
    clrnn_model_free(model);
    r->n_groups++;
    if (!ok)
        cli_error(r->name, &err);
    for (size_t j = 1; ok && j < n; j++) {
        if (!(ok = initial_params(r, ks[j], layers, n_layers, &model)))
            break;
        ok = clrnn_backend_select_model(b, j, &err) == CLRNN_OK &&
             clrnn_backend_set_params(b, clrnn_model_params_const(model), &err) == CLRNN_OK;
        clrnn_model_free(model);
        if (!ok)
            cli_error(r->name, &err);
    }
    if (!ok) {
        clrnn_backend_free(b);
        return NULL;
    }
    return b;
}

/* Group member j (model k) after training: its test scores and checkpoint. */
static int score_model(sweep_run *r, clrnn_backend *b, size_t j, size_t k,
                       const clrnn_train_report *report)
{
    sweep_model *m = &r->models[k];
    train_options *o = &m->o;
    clrnn_error err;
    char settings[512];
    describe_settings(r->s, m, settings, sizeof settings);
    m->kept_epoch = report->best_epoch;
    clrnn_metrics test = {0};
    m->pred = malloc((r->n_test ? r->n_test : 1) * r->K * sizeof *m->pred);
    if (!m->pred)
        return fprintf(stderr, "%s: out of memory\n", r->name), 0;
    if (clrnn_backend_select_model(b, j, &err) != CLRNN_OK ||
        clrnn_evaluate(b, r->data, CLRNN_SPLIT_TEST, o->train.batch, &test, &err) != CLRNN_OK ||
        clrnn_predict(b, r->data, CLRNN_SPLIT_TEST, o->train.batch, m->pred, &err) != CLRNN_OK ||
        clrnn_checkpoint_capture_data(&m->ckpt, b, r->data, &o->data_cfg, o->data, &o->train,
                                      report->best_epoch, &err) != CLRNN_OK)
        return cli_error(r->name, &err), 0;
    m->rmse = test.rmse;
    m->mae = test.mae;
    m->naive_rmse = naive_rmse(r->data, m->pred);
    if (cli_dist_size() == 1) /* under mpirun rank 0 says every model's after the gather */
        say_trained(r, k);
    return 1;
}

/* ------------------------------------------------------ under mpirun */

/* Under mpirun (cli_mpi.h) the models are dealt out over the ranks: model
 * k trains on rank k mod R, in a group of the models of its shape that rank
 * holds (train_all), each bitwise as it trains alone, so that its bits are
 * one process's. Then rank 0 gathers the results in rounds of R models
 * (dist_pack: the numbers of the table, the test predictions for
 * --ensemble, the model file's bytes for --save and --save-each), says the
 * lines in one process's order and reports (train_models, docs/scaling.md). */

static int get_text(byte_reader *in, char *text, size_t size)
{
    uint32_t n = get_u32(in); /* put_text's */
    const unsigned char *bytes = n < size ? get_bytes(in, (size_t)n) : NULL;
    if (!bytes)
        return 0;
    memcpy(text, bytes, (size_t)n);
    text[n] = '\0';
    return 1;
}

/* What rank 0 needs of model k, trained here; then this rank lets go of
 * its predictions and its checkpoint. */
static int dist_pack(sweep_run *r, size_t k, byte_writer *w)
{
    sweep_model *m = &r->models[k];
    clrnn_error err;
    unsigned char *file = NULL;
    size_t file_size = 0;
    int send_pred = r->s->ensemble_given && !m->diverged && m->pred;
    if ((r->s->t.save || r->s->save_each) && m->ckpt &&
        clrnn__checkpoint_encode(m->ckpt, &file, &file_size, &err) != CLRNN_OK)
        return cli_error(r->name, &err), 0;
    put_u64(w, k);
    put_u32(w, (uint32_t)m->diverged);
    put_f64(w, m->best_val);
    put_u64(w, m->best_val_epoch);
    put_u64(w, m->kept_epoch);
    put_f64(w, m->rmse);
    put_f64(w, m->mae);
    put_f64(w, m->naive_rmse);
    put_text(w, m->layers);
    put_text(w, m->device);
    put_text(w, m->note);
    put_u64(w, send_pred ? r->n_test * r->K : 0);
    if (send_pred)
        put_f64_array(w, m->pred, r->n_test * r->K);
    put_u64(w, file_size);
    put_bytes(w, file, file_size);
    free(file);
    free(m->pred);
    clrnn_checkpoint_free(m->ckpt);
    m->pred = NULL;
    m->ckpt = NULL;
    if (w->failed)
        return fprintf(stderr, "%s: out of memory\n", r->name), 0;
    return 1;
}

/* Model k's results from the rank that trained it (0: they came garbled,
 * said). */
static int dist_unpack(sweep_run *r, size_t k, byte_reader *in)
{
    sweep_model *m = &r->models[k];
    clrnn_error err;
    int ok = get_u64(in) == k;
    m->diverged = get_u32(in) != 0;
    m->best_val = get_f64(in);
    m->best_val_epoch = (size_t)get_u64(in);
    m->kept_epoch = (size_t)get_u64(in);
    m->rmse = get_f64(in);
    m->mae = get_f64(in);
    m->naive_rmse = get_f64(in);
    ok = ok && get_text(in, m->layers, sizeof m->layers) &&
         get_text(in, m->device, sizeof m->device) && get_text(in, m->note, sizeof m->note);
    uint64_t n_pred = get_u64(in);
    if (ok && n_pred) {
        m->pred = n_pred == r->n_test * r->K ? malloc((size_t)n_pred * sizeof *m->pred) : NULL;
        if (!m->pred)
            return fprintf(stderr, "%s: out of memory\n", r->name), 0;
        get_f64_array(in, m->pred, (size_t)n_pred);
    }
    uint64_t file_size = get_u64(in);
    const unsigned char *file = ok && file_size ? get_bytes(in, (size_t)file_size) : NULL;
    if (file) {
        char name[64];
        snprintf(name, sizeof name, "model %zu from rank %d", k,
                 (int)(k % (size_t)cli_dist_size()));
        if (clrnn__checkpoint_decode(&m->ckpt, file, (size_t)file_size, name, &err) != CLRNN_OK)
            return cli_error(r->name, &err), 0;
    }
    if (!ok || in->failed || bytes_left(in) || (file_size && !file))
        return fprintf(stderr, "%s: internal: the results of model %zu arrived garbled\n", r->name,
                       k),
               0;
    return 1;
}

/* A description without how many models its group holds (", 3 models a
 * launch", ", 3 models in turn": the ranks' groups differ in that). */
static size_t backend_part(const char *description)
{
    const char *comma = strrchr(description, ',');
    size_t n = strlen(description);
    if (comma && comma[1] == ' ' && isdigit((unsigned char)comma[2])) {
        const char *rest = comma + 2;
        while (isdigit((unsigned char)*rest))
            rest++;
        if (strcmp(rest, " models a launch") == 0 || strcmp(rest, " models in turn") == 0)
            return (size_t)(comma - description);
    }
    return n;
}

static int same_part(const char *a, const char *b, size_t (*part)(const char *))
{
    size_t n = part(a);
    return n == part(b) && strncmp(a, b, n) == 0;
}

/* The device of a description, without the kernel family that the shape
 * chose: "OpenCL P / D (fp32, fused kernels)" is "OpenCL P / D (fp32". */
static size_t device_part(const char *description)
{
    size_t n = backend_part(description), comma = n;
    while (comma > 0 && description[comma - 1] != ',')
        comma--;
    if (comma > 0 && n > 9 && strncmp(description + n - 9, " kernels)", 9) == 0)
        return comma - 1;
    return n;
}

/* One process's bits need every rank on the same kind of device, kernels
 * and precision: model k's description is that of the first model of its
 * shape, and its device that of model 0 (rank 0's). */
static int dist_same_device(const sweep_run *r, size_t k)
{
    size_t R = (size_t)cli_dist_size(), j = 0;
    const sweep_model *m = &r->models[k];
    while (j < k && strcmp(r->models[j].layers, m->layers) != 0)
        j++;
    const char *mine = m->device, *theirs = r->models[j].device;
    int same = j < k ? same_part(mine, theirs, backend_part)
                     : same_part(mine, theirs = r->models[0].device, device_part);
    if (same)
        return 1;
    fprintf(stderr,
            "%s: rank %zu trains on %s, rank %zu on %s; under mpirun every rank trains on the "
            "same kind of device with the same kernels and precision\n",
            r->name, k % R, mine, (j < k ? j : 0) % R, theirs);
    return 0;
}

/* One round of the gather: model first + i from rank i to rank 0, which
 * checks where it trained. Every rank returns the same. */
static int gather_round(sweep_run *r, size_t first, size_t *sizes)
{
    size_t R = (size_t)cli_dist_size(), rank = (size_t)cli_dist_rank(), k = first + rank;
    byte_writer w = {0};
    int ok = rank == 0 || k >= r->n_models || dist_pack(r, k, &w);
    unsigned char *all = NULL;
    if (!cli_dist_gather_bytes(w.data, ok ? w.size : 0, &all, sizes))
        ok = (fprintf(stderr, "%s: out of memory\n", r->name), 0);
    byte_writer_free(&w);
    if (!cli_dist_agree(ok)) { /* a rank could not send its results */
        free(all);
        return 0;
    }
    for (size_t i = 0, at = 0; ok && rank == 0 && i < R && first + i < r->n_models; i++) {
        byte_reader in = {all + at, sizes[i], 0, 0};
        at += sizes[i];
        ok = (i == 0 || dist_unpack(r, first + i, &in)) && dist_same_device(r, first + i);
    }
    free(all);
    return cli_dist_agree(ok);
}

static uint64_t fnv1a(uint64_t h, const char *text)
{
    for (const char *c = text;; c++) {
        h = (h ^ (unsigned char)*c) * 1099511628211u;
        if (!*c)
            return h;
    }
}

/* Every rank must deal out the same models: the same command line but for
 * --device (a rank's own). Without --device, where its node has GPUs, rank
 * r takes its node's GPU number local rank (modulo the GPUs); local rank 0
 * keeps the automatic choice, and its "device auto:" line. */
static int dist_setup(sweep_run *r, const cli_args *a, int argc, char **argv)
{
    static char spec[64];
    if (cli_dist_size() == 1)
        return 1;
    uint64_t h = 1469598103934665603u;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--device") == 0)
            i++;
        else if (strncmp(argv[i], "--device=", 9) != 0)
            h = fnv1a(h, argv[i]);
    }
    int differs = cli_dist_differs(h);
    if (differs >= 0) {
        if (cli_dist_rank() == 0)
            fprintf(stderr,
                    "%s: rank %d runs another command than rank 0; under mpirun every rank runs "
                    "the same sweep (but for --device)\n",
                    r->name, differs);
        return 0;
    }
    if (!cli_given(a, "--device") && cli_dist_local_rank() > 0 &&
        clrnn__gpu_spec((size_t)cli_dist_local_rank(), spec, sizeof spec) > 0)
        for (size_t k = 0; k < r->n_models; k++)
            r->models[k].o.backend.device = spec;
    return 1;
}

/* Trains the models ks (n, one shape) as one group (clrnn_train_group:
 * each model as it trains alone, bit for bit) and scores each. 0 after a
 * message: the sweep stops (a diverging model does not stop it). */
static int train_group(sweep_run *r, const size_t *ks, size_t n, const clrnn_layer_shape *layers,
                       size_t n_layers)
{
    clrnn_train_config *configs = malloc(n * sizeof *configs);
    clrnn_train_report *reports = malloc(n * sizeof *reports);
    clrnn_status *status = malloc(n * sizeof *status);
    clrnn_error *errors = malloc(n * sizeof *errors), err;
    clrnn_backend *b = NULL;
    int ok = configs && reports && status && errors;
    if (!ok)
        fprintf(stderr, "%s: out of memory\n", r->name);
    for (size_t j = 0; ok && j < n; j++) {
        sweep_model *m = &r->models[ks[j]];
        m->best_val = NAN;
        describe_layers(&m->o, layers[0].n_in, layers[n_layers - 1].n_out, m->layers,
                        sizeof m->layers);
        configs[j] = m->o.train;
        configs[j].out = NULL;
        configs[j].on_epoch = on_epoch;
        configs[j].on_batch = NULL;
        configs[j].context = m;
        configs[j].cancel = &interrupted;
    }
    ok = ok && (b = group_backend(r, ks, n, layers, n_layers)) != NULL;
    for (size_t j = 0; ok && j < n; j++) /* what trained it, for the checks under mpirun */
        snprintf(r->models[ks[j]].device, sizeof r->models[ks[j]].device, "%s",
                 clrnn_backend_describe(b));
    clrnn_status st =
        ok ? clrnn_train_group(b, r->data, configs, reports, status, errors, &err) : CLRNN_OK;
    if (ok && st == CLRNN_E_CANCELLED) {
        fprintf(stderr, "%s: interrupted in model %zu%s; nothing saved\n", r->name, ks[0],
                n > 1 ? " and the models of its group" : "");
        ok = 0;
    } else if (ok && st != CLRNN_OK) {
        cli_error(r->name, &err);
        ok = 0;
    }
    for (size_t j = 0; ok && j < n; j++) {
        size_t k = ks[j];
        if (status[j] == CLRNN_E_NUMERIC) {
            cli_message(r->models[k].note, sizeof r->models[k].note, &errors[j]);
            r->models[k].diverged = 1;
            if (cli_dist_size() == 1)
                say_diverged(r, k);
        } else if (status[j] != CLRNN_OK) {
            cli_error(r->name, &errors[j]);
            ok = 0;
        } else {
            ok = score_model(r, b, j, k, &reports[j]);
        }
    }
    clrnn_backend_free(b);
    free(configs);
    free(reports);
    free(status);
    free(errors);
    return ok;
}

/* The models in groups of one shape each, in the order of their first
 * model (r->sequence); a group trains in one go, under mpirun the part
 * of it that is this rank's. */
static int train_all(sweep_run *r)
{
    size_t R = (size_t)cli_dist_size(), rank = (size_t)cli_dist_rank(), n_seq = 0;
    size_t *ks = malloc(r->n_models * sizeof *ks);
    unsigned char *done = calloc(r->n_models, 1);
    int ok = ks && done;
    if (!ok)
        fprintf(stderr, "%s: out of memory\n", r->name);
    for (size_t first = 0; ok && first < r->n_models; first++) {
        if (done[first])
            continue;
        clrnn_layer_shape layers[TRAIN_MAX_LAYERS], other[TRAIN_MAX_LAYERS];
        size_t n_layers, n_other, n = 0;
        if (!(ok = model_shapes(r, &r->models[first].o, layers, &n_layers)))
            break;
        /* A stateful model carries its state alone (a group cannot): a
         * group of one. */
        const size_t last = r->models[first].o.train.stateful ? first + 1 : r->n_models;
        for (size_t k = first; ok && k < last; k++) {
            if (done[k] || !(ok = model_shapes(r, &r->models[k].o, other, &n_other)))
                continue;
            if (n_other == n_layers && memcmp(other, layers, n_layers * sizeof *layers) == 0) {
                ks[n++] = k;
                done[k] = 1;
            }
        }
        memcpy(r->sequence + n_seq, ks, n * sizeof *ks);
        n_seq += n;
        size_t mine = 0; /* under mpirun, model K is rank K mod R's */
        for (size_t j = 0; j < n; j++)
            if (ks[j] % R == rank)
                ks[mine++] = ks[j];
        ok = ok && (mine == 0 || train_group(r, ks, mine, layers, n_layers));
    }
    free(ks);
    free(done);
    return ok;
}

/* Every model, dealt out over the ranks: each rank trains its own (in
 * groups of a shape), the ranks agree (a failure anywhere stops all, with
 * its rank's line), rank 0 gathers the results in rounds of R models
 * (dist_pack) and says every model's line in the order one process says
 * them; at the end rank 0 alone reports (docs/scaling.md). */
static int train_models(sweep_run *r)
{
    size_t R = (size_t)cli_dist_size();
    size_t *sizes = malloc(R * sizeof *sizes);
    r->sequence = malloc(r->n_models * sizeof *r->sequence);
    int ok = sizes && r->sequence;
    if (!ok)
        fprintf(stderr, "%s: out of memory\n", r->name);
    ok = cli_dist_agree(ok && train_all(r));
    for (size_t first = 0; ok && R > 1 && first < r->n_models; first += R)
        ok = gather_round(r, first, sizes);
    for (size_t i = 0; ok && R > 1 && cli_dist_rank() == 0 && i < r->n_models; i++) {
        size_t k = r->sequence[i];
        if (r->models[k].diverged)
            say_diverged(r, k);
        else
            say_trained(r, k);
    }
    free(sizes);
    return ok;
}

/* ------------------------------------------------------------ results */

static const sweep_model *sort_models;

/* Lowest validation loss first; diverged models (and NaN) last; ties by K. */
static int by_val_loss(const void *pa, const void *pb)
{
    size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
    const sweep_model *ma = &sort_models[a], *mb = &sort_models[b];
    int bad_a = ma->diverged || isnan(ma->best_val), bad_b = mb->diverged || isnan(mb->best_val);
    if (bad_a != bad_b)
        return bad_a - bad_b;
    if (!bad_a && ma->best_val != mb->best_val)
        return ma->best_val < mb->best_val ? -1 : 1;
    return a < b ? -1 : a > b;
}

static void json_number(FILE *f, const char *key, double v)
{
    fprintf(f, ", \"%s\": ", key);
    if (isfinite(v))
        fprintf(f, "%.9g", v);
    else
        fputs("null", f);
}

static void csv_number(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, ",%.9g", v);
    else
        fputs(",", f);
}

static void write_row(FILE *csv, FILE *json, size_t k, const sweep_model *m)
{
    const clrnn_optimizer *opt = &m->o.train.optimizer;
    if (csv) {
        fprintf(csv, "%zu,%u,%s,%.9g,%.9g,%.9g,%.9g,%s", k, (unsigned)m->o.train.seed,
                optimizer_name(&m->o), opt->lr, opt->momentum, opt->weight_decay, opt->clip_norm,
                m->layers);
        csv_number(csv, m->diverged ? NAN : m->best_val);
        fprintf(csv, ",%zu,%zu", m->best_val_epoch, m->kept_epoch);
        csv_number(csv, m->diverged ? NAN : m->rmse);
        csv_number(csv, m->diverged ? NAN : m->mae);
        csv_number(csv, m->diverged ? NAN : m->naive_rmse);
        fprintf(csv, ",%s\n", m->diverged ? "diverged" : "ok");
    }
    if (json) {
        fprintf(json, "{\"index\": %zu, \"seed\": %u, \"optimizer\": \"%s\"", k,
                (unsigned)m->o.train.seed, optimizer_name(&m->o));
        json_number(json, "lr", opt->lr);
        json_number(json, "momentum", opt->momentum);
        json_number(json, "weight_decay", opt->weight_decay);
        json_number(json, "clip_norm", opt->clip_norm);
        fprintf(json, ", \"layers\": \"%s\"", m->layers);
        json_number(json, "best_val_loss", m->diverged ? NAN : m->best_val);
        fprintf(json, ", \"best_epoch\": %zu, \"kept_epoch\": %zu", m->best_val_epoch,
                m->kept_epoch);
        json_number(json, "test_rmse", m->diverged ? NAN : m->rmse);
        json_number(json, "test_mae", m->diverged ? NAN : m->mae);
        json_number(json, "naive_rmse", m->diverged ? NAN : m->naive_rmse);
        fprintf(json, ", \"status\": \"%s\"}\n", m->diverged ? "diverged" : "ok");
    }
}

/* A metric in 8 columns: 4 decimals, or 3 digits where it is huge. */
static const char *metric(double v, char *buf)
{
    if (isnan(v))
        return "       -"; /* no naive forecast (no earlier value of a target) */
    snprintf(buf, 16, fabs(v) < 1e4 || !isfinite(v) ? "%8.4f" : "%8.2e", v);
    return buf;
}

static void print_table(const sweep_run *r, const size_t *order)
{
    char rmse[16], mae[16], naive[16];
    printf("%5s %10s %4s %10s %8s %8s %8s %-12s %12s %5s %5s %8s %8s %8s\n", "K", "seed", "opt",
           "lr", "momentum", "decay", "clip", "layers", "val_loss", "epoch", "kept", "RMSE", "MAE",
           "naive");
    for (size_t i = 0; i < r->n_models; i++) {
        const sweep_model *m = &r->models[order[i]];
        const clrnn_optimizer *opt = &m->o.train.optimizer;
        printf("%5zu %10u %4s %10.4g %8.4g %8.4g %8.4g %-12s ", order[i], (unsigned)m->o.train.seed,
               optimizer_name(&m->o), opt->lr, opt->momentum, opt->weight_decay, opt->clip_norm,
               m->layers);
        if (m->diverged)
            printf("%12s\n", "diverged");
        else
            printf("%12.6g %5zu %5zu %s %s %s\n", m->best_val, m->best_val_epoch, m->kept_epoch,
                   metric(m->rmse, rmse), metric(m->mae, mae), metric(m->naive_rmse, naive));
    }
}

/* Creates folder dir unless it is one already. */
static int make_dir(const char *name, const char *flag, const char *dir)
{
    struct stat info;
    if (mkdir(dir, 0777) != 0 &&
        (errno != EEXIST || stat(dir, &info) != 0 || !S_ISDIR(info.st_mode))) {
        fprintf(stderr, "%s: %s '%s': cannot make the folder: %s\n", name, flag, dir,
                errno == EEXIST ? "a file is in the way" : strerror(errno));
        return 0;
    }
    if (access(dir, W_OK) != 0) {
        fprintf(stderr, "%s: %s '%s': cannot write in it: %s\n", name, flag, dir, strerror(errno));
        return 0;
    }
    return 1;
}

static int save_each(const sweep_run *r, const char *dir)
{
    clrnn_error err;
    char path[8192];
    for (size_t k = 0; k < r->n_models; k++) {
        if (!r->models[k].ckpt)
            continue; /* diverged */
        snprintf(path, sizeof path, "%s/model-%zu.clrnn", dir, k);
        if (clrnn_checkpoint_save(r->models[k].ckpt, path, &err) != CLRNN_OK)
            return cli_error(r->name, &err), 0;
    }
    return 1;
}

/* The mean of the models' test predictions, over those that did not diverge. */
static int score_ensemble(const sweep_run *r, double *rmse, double *mae, size_t *members)
{
    size_t n = r->n_test * r->K;
    double *mean = calloc(n ? n : 1, sizeof *mean);
    if (!mean)
        return fprintf(stderr, "%s: out of memory\n", r->name), 0;
    *members = 0;
    for (size_t k = 0; k < r->n_models; k++) {
        if (r->models[k].diverged)
            continue;
        for (size_t i = 0; i < n; i++)
            mean[i] += r->models[k].pred[i];
        (*members)++;
    }
    for (size_t i = 0; *members && i < n; i++)
        mean[i] /= (double)*members;
    cli_score_predictions(r->data, CLRNN_SPLIT_TEST, mean, rmse, mae);
    free(mean);
    return 1;
}

/* FILE, and its members as FILE.members/model-K.clrnn. */
static int save_ensemble(const sweep_run *r, const char *path)
{
    char dir[4200], member[8192];
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    clrnn_error err;
    snprintf(dir, sizeof dir, "%s.members", path);
    if (!make_dir(r->name, "--save", dir))
        return 0;
    atomic_out out;
    if (atomic_open(&out, path, &err) != CLRNN_OK)
        return cli_error(r->name, &err), 0;
    fprintf(out.f, "%s\ncombine mean\n", CLI_ENSEMBLE_MAGIC);
    for (size_t k = 0; k < r->n_models; k++) {
        if (!r->models[k].ckpt)
            continue;
        snprintf(member, sizeof member, "%s/model-%zu.clrnn", dir, k);
        if (clrnn_checkpoint_save(r->models[k].ckpt, member, &err) != CLRNN_OK) {
            atomic_abort(&out);
            return cli_error(r->name, &err), 0;
        }
        fprintf(out.f, "member %s.members/model-%zu.clrnn\n", base, k);
    }
    if (atomic_commit(&out, &err) != CLRNN_OK)
        return cli_error(r->name, &err), 0;
    return 1;
}

/* ------------------------------------------------------------ checks */

static int check_options(const char *name, sweep_options *s, const cli_args *a)
{
    train_options *t = &s->t;
    int select = cli_given(a, "--select"), ensemble = cli_given(a, "--ensemble");
    if (t->resume || t->plot)
        return fprintf(stderr, "%s: %s is clrnn train's only (train the model alone)\n", name,
                       t->resume ? "--resume" : "--plot"),
               0;
    if (t->save && select == ensemble)
        return fprintf(stderr, "%s: --save FILE needs %s\n", name,
                       select ? "--select best or --ensemble mean, not both"
                              : "--select best (the best model) or --ensemble mean (all)"),
               0;
    if (select && !t->save)
        return fprintf(stderr, "%s: --select best needs --save FILE\n", name), 0;
    if (s->models && s->axes[AXIS_SEED].order >= 0 && s->axes[AXIS_SEED].n > 1)
        return fprintf(stderr,
                       "%s: --models N takes one --seed S (the models' seeds are S..S+N-1)\n",
                       name),
               0;
    if (s->axes[AXIS_HIDDEN].order >= 0 && t->layers.n)
        return fprintf(stderr, "%s: a --hidden list and --layers: give one\n", name), 0;
    const char *flags[4] = {"--save", "--log", "--log-json", "--save-each"};
    const char *paths[4] = {t->save, t->log_csv, t->log_json, s->save_each};
    for (int i = 0; i < 4; i++)
        for (int j = i + 1; j < 4; j++)
            if (paths[i] && paths[j] && path_same_file(paths[i], paths[j]))
                return fprintf(stderr, "%s: %s '%s' is the same file as %s '%s'\n", name, flags[i],
                               paths[i], flags[j], paths[j]),
                       0;
    for (int i = 0; i < 3; i++) {
        char dir[4096];
        if (paths[i] && (!path_dirname(paths[i], dir, sizeof dir) || access(dir, W_OK) != 0))
            return fprintf(stderr, "%s: %s '%s': cannot write in '%s'\n", name, flags[i], paths[i],
                           dir),
                   0;
    }
    return 1;
}

/* --save-each's folder, made once the data are read, before any training. */
static int make_dirs_first(const sweep_run *r)
{
    return !r->s->save_each || make_dir(r->name, "--save-each", r->s->save_each);
}

/* ------------------------------------------------------------- main */

static void run_free(sweep_run *r)
{
    for (size_t k = 0; r->models && k < r->n_models; k++) {
        free(r->models[k].pred);
        clrnn_checkpoint_free(r->models[k].ckpt);
    }
    free(r->models);
    free(r->sequence);
    clrnn_dataset_free(r->data);
    for (int i = 0; i < N_AXES; i++)
        free(r->s->axes[i].values);
}

/* The table, the logs and the files, once every model has trained. */
static int report(sweep_run *r)
{
    sweep_options *s = r->s;
    train_options *t = &s->t;
    clrnn_error err;
    atomic_out csv = {0}, json = {0};
    size_t *order = malloc(r->n_models * sizeof *order);
    if (!order)
        return fprintf(stderr, "%s: out of memory\n", r->name), 0;
    for (size_t k = 0; k < r->n_models; k++)
        order[k] = k;
    sort_models = r->models;
    qsort(order, r->n_models, sizeof *order, by_val_loss);
    print_table(r, order);
    double ens_rmse = NAN, ens_mae = NAN;
    size_t members = 0;
    int ok = 1;
    if (s->ensemble_given) {
        ok = score_ensemble(r, &ens_rmse, &ens_mae, &members);
        if (ok && members == 0)
            printf("ensemble: every model diverged\n");
        else if (ok) {
            double sum = 0.0, best = INFINITY;
            for (size_t k = 0; k < r->n_models; k++)
                if (!r->models[k].diverged) {
                    sum += r->models[k].rmse;
                    best = r->models[k].rmse < best ? r->models[k].rmse : best;
                }
            printf("ensemble mean of %zu models: test RMSE %.4f, MAE %.4f (single models: RMSE "
                   "%.4f on average, %.4f the best)\n",
                   members, ens_rmse, ens_mae, sum / (double)members, best);
        }
    }
    const sweep_model *best = r->models[order[0]].diverged ? NULL : &r->models[order[0]];
    if (ok && t->log_csv) {
        ok = atomic_open(&csv, t->log_csv, &err) == CLRNN_OK;
        if (ok)
            fprintf(csv.f,
                    "index,seed,optimizer,lr,momentum,weight_decay,clip_norm,layers,"
                    "best_val_loss,best_epoch,kept_epoch,test_rmse,test_mae,naive_rmse,status\n");
    }
    if (ok && t->log_json)
        ok = atomic_open(&json, t->log_json, &err) == CLRNN_OK;
    for (size_t i = 0; ok && i < r->n_models; i++)
        write_row(csv.f, json.f, order[i], &r->models[order[i]]);
    if (ok && json.f && s->ensemble_given) {
        fprintf(json.f, "{\"ensemble\": \"mean\", \"members\": %zu", members);
        json_number(json.f, "test_rmse", ens_rmse);
        json_number(json.f, "test_mae", ens_mae);
        fprintf(json.f, "}\n");
    }
    if (ok && csv.f)
        ok = atomic_commit(&csv, &err) == CLRNN_OK;
    if (ok && json.f)
        ok = atomic_commit(&json, &err) == CLRNN_OK;
    if (!ok && err.message[0])
        cli_error(r->name, &err);
    atomic_abort(&csv);
    atomic_abort(&json);
    if (ok && s->save_each && (ok = save_each(r, s->save_each)))
        printf("models: %s/model-K.clrnn\n", s->save_each);
    if (ok && t->save && s->select_given) {
        if (!best)
            ok = (fprintf(stderr, "%s: --select best: every model diverged\n", r->name), 0);
        else if (clrnn_checkpoint_save(best->ckpt, t->save, &err) != CLRNN_OK)
            ok = (cli_error(r->name, &err), 0);
        else
            printf("model: %s (model %zu)\n", t->save, order[0]);
    }
    if (ok && t->save && s->ensemble_given) {
        if (members == 0)
            ok = (fprintf(stderr, "%s: --save: every model diverged\n", r->name), 0);
        else if ((ok = save_ensemble(r, t->save)))
            printf("ensemble: %s (%zu members in %s.members/)\n", t->save, members, t->save);
    }
    free(order);
    return ok;
}

/* The models' options, the data and a place for each model's results. */
static int prepare(sweep_run *r, int argc, char **argv)
{
    sweep_options *s = r->s;
    size_t n = 1;
    for (int i = 0; i < N_AXES; i++)
        if (s->axes[i].order >= 0) {
            if (n > SWEEP_MAX_MODELS / s->axes[i].n)
                return fprintf(stderr, "%s: the lists make more than %d models\n", r->name,
                               SWEEP_MAX_MODELS),
                       0;
            n *= s->axes[i].n;
        }
    r->n_models = n;
    r->models = calloc(n, sizeof *r->models);
    if (!r->models)
        return fprintf(stderr, "%s: out of memory\n", r->name), 0;
    for (size_t k = 0; k < n; k++)
        if (!model_options(s, argc, argv, k, n, &r->models[k].o))
            return 0;
    train_options *o = &r->models[0].o;
    if (!cli_load_dataset(r->name, o->data, o->features, o->targets, o->data_cfg, &r->data))
        return 0;
    size_t n_train = clrnn_dataset_n_windows(r->data, CLRNN_SPLIT_TRAIN);
    if (o->train.batch > n_train)
        return fprintf(stderr, "%s: --batch %zu is larger than the %zu training windows\n", r->name,
                       o->train.batch, n_train),
               0;
    r->n_test = clrnn_dataset_n_windows(r->data, CLRNN_SPLIT_TEST);
    r->K = clrnn_dataset_n_targets(r->data);
    if (!o->quiet)
        train_print_data_summary(o, r->data);
    return 1;
}

int cli_sweep(int argc, char **argv, int from_train)
{
    static sweep_options s; /* large; one sweep a process */
    cli_command command = cli_sweep_command;
    cli_args a;
    sweep_run r;
    memset(&s, 0, sizeof s);
    memset(&r, 0, sizeof r);
    if (from_train)
        command.name = "clrnn train";
    r.name = command.name;
    r.s = &s;
    int ok = 1;
    for (int i = 0; i < N_AXES; i++) {
        s.axes[i].order = -1;
        s.axes[i].values = malloc(SWEEP_MAX_VALUES * sizeof *s.axes[i].values);
        ok = ok && s.axes[i].values;
    }
    if (!ok)
        fprintf(stderr, "%s: out of memory\n", r.name);
    if (!ok || !build_table(&s)) {
        run_free(&r);
        return CLI_BAD_INPUT;
    }
    cli_status st = cli_parse(&a, &command, argc, argv, &s);
    if (st == CLI_OK) {
        s.select_given = cli_given(&a, "--select");
        s.ensemble_given = cli_given(&a, "--ensemble");
        if (!check_options(r.name, &s, &a))
            st = CLI_BAD_INPUT;
    }
    if (st == CLI_OK && s.models) { /* seeds S..S+N-1 */
        sweep_axis *seeds = &s.axes[AXIS_SEED];
        clrnn_train_config defaults;
        clrnn_train_config_default(&defaults);
        unsigned long first = seeds->n ? strtoul(seeds->values[0], NULL, 10) : defaults.seed;
        if (first + s.models - 1 > UINT32_MAX) {
            fprintf(stderr, "%s: --models %zu from --seed %lu passes %lu\n", r.name, s.models,
                    first, (unsigned long)UINT32_MAX);
            st = CLI_BAD_INPUT;
        }
        for (size_t i = 0; st == CLI_OK && i < s.models; i++)
            snprintf(seeds->values[i], VALUE_CHARS, "%lu", first + i);
        seeds->n = s.models;
    }
    /* Under mpirun every rank stops where one does (cli_mpi.h). */
    if (!cli_dist_agree(st == CLI_OK)) {
        run_free(&r);
        return st == CLI_OK ? CLI_BAD_INPUT : st;
    }
    ok = cli_dist_agree(prepare(&r, argc, argv)) && dist_setup(&r, &a, argc, argv) &&
         cli_dist_agree(cli_dist_rank() != 0 || make_dirs_first(&r));
    interrupted = 0;
    void (*previous)(int) = signal(SIGINT, on_interrupt);
    ok = ok && train_models(&r);
    signal(SIGINT, previous);
    ok = ok && (cli_dist_rank() != 0 || report(&r));
    int was_interrupted = interrupted;
    run_free(&r);
    return ok ? CLI_OK : was_interrupted ? CLI_INTERRUPTED : CLI_BAD_INPUT;
}

/* ------------------------------------------------------- ensemble files */

int cli_ensemble_is_file(const char *path)
{
    char head[sizeof CLI_ENSEMBLE_MAGIC];
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t n = fread(head, 1, sizeof head - 1, f);
    fclose(f);
    head[n] = '\0';
    return strcmp(head, CLI_ENSEMBLE_MAGIC) == 0;
}

static void free_paths(char **paths, size_t n)
{
    for (size_t i = 0; paths && i < n; i++)
        free(paths[i]);
    free(paths);
}

int cli_ensemble_read(const char *command, const char *path, char ***paths, size_t *n)
{
    unsigned char *text;
    size_t size, line_no = 0, cap = 0;
    clrnn_error err;
    char dir[4096];
    *paths = NULL;
    *n = 0;
    if (read_file_all(path, (size_t)1 << 24, "an ensemble file", &text, &size, &err) != CLRNN_OK)
        return cli_error(command, &err), 0;
    if (!path_dirname(path, dir, sizeof dir))
        snprintf(dir, sizeof dir, ".");
    int ok = 1, combine = 0;
    for (char *line = (char *)text, *next; ok && line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        line_no++;
        if (line_no == 1) {
            ok = strcmp(line, CLI_ENSEMBLE_MAGIC) == 0;
        } else if (strcmp(line, "combine mean") == 0) {
            combine = 1;
        } else if (strncmp(line, "member ", 7) == 0 && line[7]) {
            const char *member = line + 7;
            size_t len = strlen(dir) + strlen(member) + 2;
            if (*n == cap) {
                cap = cap ? 2 * cap : 16;
                char **grown =
                    cap <= CLI_ENSEMBLE_MAX_MEMBERS ? realloc(*paths, cap * sizeof *grown) : NULL;
                if (!grown) {
                    fprintf(stderr, "%s: '%s': more than %d members\n", command, path,
                            CLI_ENSEMBLE_MAX_MEMBERS);
                    free(text);
                    free_paths(*paths, *n);
                    *paths = NULL;
                    *n = 0;
                    return 0;
                }
                *paths = grown;
            }
            char *full = malloc(len);
            if (!full) {
                ok = 0;
                break;
            }
            if (member[0] == '/')
                snprintf(full, len, "%s", member);
            else
                snprintf(full, len, "%s/%s", dir, member);
            (*paths)[(*n)++] = full;
        } else if (line[0]) {
            ok = 0;
        }
    }
    if (ok && (!combine || *n == 0))
        ok = 0;
    if (!ok) {
        fprintf(stderr,
                "%s: '%s': not an ensemble file as clrnn sweep writes it (line %zu; "
                "docs/checkpoint-format.md)\n",
                command, path, line_no);
        free_paths(*paths, *n);
        *paths = NULL;
        *n = 0;
    }
    free(text);
    return ok;
}
