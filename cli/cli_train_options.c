/* clrnn train's options: the table, the defaults and the checks made before
 * anything is read or trained. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "cli_train.h"
#include "io/files.h"

static const char *const missing[] = {"ffill", "drop", "error", NULL};
static const char *const fits[] = {"train", "all", NULL};
static const char *const split_bys[] = {"time", "series", NULL};
static const char *const scales[] = {"global", "per-series", NULL};
static const char *const optimizers[] = {"sgd", "adam", NULL};
static const char *const precisions[] = {"fp32", "fp64", NULL};
static const char *const loss_on[] = {"all", "last", NULL};
static const char *const schedules[] = {"constant", "step", "cosine", NULL};

#define AT(field) offsetof(train_options, field)

/* --horizon K or K1,K2,...: distinct rows ahead. */
static int parse_horizons(const cli_args *a, const char *const *items, size_t n, void *options)
{
    train_options *o = options;
    for (size_t i = 0; i < n; i++) {
        if (!cli_parse_size(a, items[i], 0, 100000, &o->horizons[i]))
            return 0;
        for (size_t j = 0; j < i; j++)
            if (o->horizons[j] == o->horizons[i]) {
                fprintf(stderr, "%s: %s lists %zu twice\n", a->name, a->flag, o->horizons[i]);
                return 0;
            }
    }
    o->data_cfg.horizons = o->horizons;
    o->data_cfg.n_horizons = n;
    return 1;
}

/* --date-features doy,dow,month,hour: CLRNN_DATE_* bits. */
static int parse_date_features(const cli_args *a, const char *const *items, size_t n, void *options)
{
    static const char *const cycles[] = {"doy", "dow", "month", "hour", NULL};
    train_options *o = options;
    o->data_cfg.date_features = 0;
    for (size_t i = 0; i < n; i++) {
        int which;
        if (!cli_parse_choice(a, items[i], cycles, &which))
            return 0;
        o->data_cfg.date_features |= 1u << which;
    }
    return 1;
}

static const cli_option options[] = {
    {"data:", .kind = CLI_SECTION},
    {"--data", "FILE", CLI_STRING, AT(data),
     .help = "CSV with a header row (default: bundled weather data)"},
    {"--features", "A,B,...", CLI_STRING, AT(features), .help = "input columns (tmax,tmin,rain)"},
    {"--target", "A[,B]", CLI_STRING, AT(targets),
     .help = "target columns, one output each (tmax_tomorrow)"},
    {"--targets", "A[,B]", CLI_STRING, AT(targets), .hidden = 1},
    {"--seq-len", "T", CLI_SIZE, AT(data_cfg.seq_len), 1, 1000000, .help = "steps per window (7)"},
    {"--horizon", "K[,K2]", CLI_LIST, 0, 0, TRAIN_MAX_HORIZONS, .list = parse_horizons,
     .help = "predict each target K rows after a window's last row, one\n"
             "output per target and horizon (0: the target columns as they\n"
             "are, already shifted; default)"},
    {"--difference", NULL, CLI_FLAG, AT(data_cfg.difference),
     .help = "learn each output's change from its last known value\n"
             "(for trends); predictions and metrics stay on levels"},
    {"--date-column", "NAME", CLI_STRING, AT(data_cfg.date_column),
     .help = "the first column, of row labels (default: an empty header\n"
             "or date, time, timestamp, datetime); ISO dates order rows"},
    {"--date-features", "LIST", CLI_LIST, 0, 0, 4, .list = parse_date_features,
     .help = "add sin and cos of doy, dow, month, hour as inputs"},
    {"--train-fraction", "F", CLI_DOUBLE, AT(data_cfg.train_fraction), 1e-9, 1.0,
     .help = "first rows for training (0.7)"},
    {"--val-fraction", "F", CLI_DOUBLE, AT(data_cfg.val_fraction), 0.0, 0.999999,
     .help = "next rows for validation (0.15); the rest is the test split"},
    {"--missing", "M", CLI_CHOICE, AT(data_cfg.missing), .choices = missing,
     .help = "empty cells: ffill (carry forward, default), drop, error"},
    {"--scaler-fit", "S", CLI_CHOICE, AT(data_cfg.scaler_fit), .choices = fits,
     .help = "standardise with statistics of: train (default), all"},
    {"--season", "S", CLI_SIZE, AT(data_cfg.season), 0, 100000000,
     .help = "rows a season, for the seasonal-naive baseline (0: none)"},
    {"--series", "COLUMN", CLI_STRING, AT(data_cfg.series_column),
     .help = "many series in one table: COLUMN holds each row's series\n"
             "id (rows of a series together, in date order); windows\n"
             "never cross a series"},
    {"--split-by", "S", CLI_CHOICE, AT(data_cfg.split_by_series), .choices = split_bys,
     .help = "time (each series' first rows train, default) or series\n"
             "(whole series held out for validation and test)"},
    {"--scale", "S", CLI_CHOICE, AT(data_cfg.scale_per_series), .choices = scales,
     .help = "global (default) or per-series: each series' own training\n"
             "rows' mean and std"},
    {"model:", .kind = CLI_SECTION},
    {"--hidden", "H", CLI_SIZE, AT(hidden), 1, 65536, .help = "one layer of H hidden units (16)"},
    {"--layers", "I:H:O,...", CLI_LAYERS, AT(layers), 0, TRAIN_MAX_LAYERS,
     .help = "a stack, e.g. 3:16:1,1:8:1 (layer l+1's I = layer l's O)"},
    {"--seed", "S", CLI_U32, AT(train.seed), .help = "initialisation and shuffling seed (0)"},
    {"training:", .kind = CLI_SECTION},
    {"--epochs", "N", CLI_SIZE, AT(train.epochs), 1, 100000000, .help = "total epochs (20)"},
    {"--batch", "B", CLI_SIZE, AT(train.batch), 1, 1u << 24, .help = "windows per update (32)"},
    {"--optimizer", "O", CLI_CHOICE, AT(train.optimizer.kind), .choices = optimizers,
     .help = "adam (default) or sgd"},
    {"--lr", "X", CLI_DOUBLE, AT(train.optimizer.lr), 1e-12, 100.0,
     .help = "learning rate (adam 0.003, sgd 0.01)"},
    {"--momentum", "X", CLI_DOUBLE, AT(train.optimizer.momentum), 0.0, 0.999999,
     .help = "SGD momentum (0.9): v = momentum v - lr g; w += v"},
    {"--beta1", "X", CLI_DOUBLE, AT(train.optimizer.beta1), 0.0, 0.999999,
     .usage = "--beta1/--beta2/--eps", .help = "Adam's constants (0.9, 0.999, 1e-8)"},
    {"--beta2", "X", CLI_DOUBLE, AT(train.optimizer.beta2), 0.0, 0.999999999, .hidden = 1},
    {"--eps", "X", CLI_DOUBLE, AT(train.optimizer.eps), 1e-300, 1.0, .hidden = 1},
    {"--weight-decay", "X", CLI_DOUBLE, AT(train.optimizer.weight_decay), 0.0, 1.0,
     .help = "decoupled weight decay (0)"},
    {"--clip-norm", "X", CLI_DOUBLE, AT(train.optimizer.clip_norm), 0.0, 1e12,
     .help = "clip the gradient's global L2 norm to X (1; 0: off)"},
    {"--lr-schedule", "S", CLI_CHOICE, AT(train.schedule), .choices = schedules,
     .help = "cosine (default: from --lr down to 0 over the run),\n"
             "constant, step"},
    {"--step-epochs", "N", CLI_SIZE, AT(train.step_epochs), 1, 100000000,
     .help = "step schedule: epochs between decays (10)"},
    {"--step-gamma", "X", CLI_DOUBLE, AT(train.step_gamma), 1e-9, 1.0,
     .help = "step schedule: decay factor (0.5)"},
    {"--warmup", "N", CLI_SIZE, AT(train.warmup_steps), 0, 1000000000,
     .help = "linear warm-up over the first N updates (0)"},
    {"--patience", "N", CLI_SIZE, AT(train.patience), 0, 100000000,
     .help = "stop after N epochs without a better validation loss and\n"
             "keep the best weights (0: off)"},
    {"--no-shuffle", NULL, CLI_UNFLAG, AT(train.shuffle),
     .help = "keep the windows in order (default: shuffled each epoch)"},
    {"--stateful", NULL, CLI_FLAG, AT(train.stateful),
     .help = "carry the hidden state (truncated BPTT): each series cut into\n"
             "back-to-back windows of --seq-len rows, dealt into --batch\n"
             "streams in order; a window starts from the last h of the one\n"
             "before it in its stream (0 at a series' start, each epoch);\n"
             "no shuffle. eval, predict and forecast then warm up over\n"
             "each series' rows before the one predicted"},
    {"--loss-on", "all|last", CLI_CHOICE, AT(backend.loss_steps), .choices = loss_on,
     .help = "loss on every step of a window (default) or the last"},
    {"files:", .kind = CLI_SECTION},
    {"--save", "FILE", CLI_STRING, AT(save),
     .help = "save the model after every epoch (atomically) and at the end"},
    {"--resume", "FILE", CLI_STRING, AT(resume),
     .help = "continue a saved run up to --epochs: its model, optimizer\n"
             "state, seed and columns; optimizer flags given override the\n"
             "saved ones; repeat --batch, --lr-schedule and the split"},
    {"--log", "FILE", CLI_STRING, AT(log_csv), .help = "metrics per epoch as CSV"},
    {"--log-json", "FILE", CLI_STRING, AT(log_json), .help = "metrics per epoch as JSON lines"},
    {"--plot", "FILE", CLI_STRING, AT(plot),
     .help = "an SVG report: loss curves, predicted vs actual (test)"},
    {"device:", .kind = CLI_SECTION},
    {"--device", "D", CLI_STRING, AT(backend.device),
     .help = "auto (default: a GPU, else any OpenCL device, else the\n"
             "CPU reference), cpu, opencl, opencl:P.D (clrnn devices)"},
    {"--precision", "P", CLI_CHOICE, AT(backend.precision), .choices = precisions,
     .help = "OpenCL precision: fp32 (default) or fp64"},
    CLI_OPTION_KERNELS(train_options, backend.kernels),
    {"--no-tune-cache", NULL, CLI_FLAG, AT(backend.no_tune_cache),
     .help = "ignore the tuning cache (clrnn tune): device-derived defaults"},
    {"--quiet", NULL, CLI_FLAG, AT(quiet), .help = "only the final metrics"},
    {"--verbose", NULL, CLI_FLAG, AT(verbose),
     .help = "also where the kernels' tunables came from and the OpenCL compiler's warnings "
             "(on stderr)"},
    {0},
};

const cli_command cli_train_command = {
    .name = "clrnn train",
    .about = "usage: clrnn train [options]\n"
             "\n"
             "Trains a stack of tanh RNN layers on sliding windows of a CSV table and reports\n"
             "the test RMSE and MAE in the target's units, next to baselines: the naive\n"
             "forecast (the target's last known value), the seasonal naive one (--season)\n"
             "and a ridge regression on the same window of inputs. With no options:\n"
             "the bundled daily weather table, features tmax,tmin,rain, target tmax_tomorrow.\n"
             "A window belongs to the split of the row its farthest horizon predicts, so\n"
             "every validation and test row is scored whatever --seq-len is; empty target\n"
             "cells are left out of the loss and the metrics.\n"
             "\n",
    .options = options,
    .width = 21,
    .footer = "many models: --models N trains N of them, seeds S..S+N-1 (clrnn sweep --help:\n"
              "lists of settings, their table, --select best, --save-each, --ensemble mean)\n",
};

static void defaults(train_options *o)
{
    memset(o, 0, sizeof *o);
    o->data = cli_default_data();
    o->features = "tmax,tmin,rain";
    o->targets = "tmax_tomorrow";
    o->data_cfg = clrnn_data_config_default();
    o->hidden = 16;
    clrnn_train_config_default(&o->train);
    o->backend.device = "auto";
    o->backend.precision = CLRNN_FP32;
}

/* Can a file be created at path? Checked before anything else, so that a
 * bad path costs no training and leaves nothing behind. */
static int writable(const char *flag, const char *path)
{
    char dir[4096];
    struct stat info;
    if (path[0] == '\0' || !path_dirname(path, dir, sizeof dir) ||
        (stat(path, &info) == 0 && S_ISDIR(info.st_mode))) {
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

/* Every output can be written, and none is an input (--data, --resume) or
 * another output: writing it would destroy what the run reads or writes. */
static int check_outputs(const train_options *o)
{
    const char *flags[6] = {"--save", "--plot", "--log", "--log-json", "--data", "--resume"};
    const char *paths[6] = {o->save, o->plot, o->log_csv, o->log_json, o->data, o->resume};
    for (int i = 0; i < 4; i++) {
        if (!paths[i])
            continue;
        if (!writable(flags[i], paths[i]))
            return 0;
        for (int j = 0; j < 6; j++) {
            /* --save onto --resume continues the same model: that is allowed */
            if (j == i || !paths[j] || (i == 0 && j == 5) || (j < 4 && j < i))
                continue;
            if (path_same_file(paths[i], paths[j])) {
                fprintf(stderr, "clrnn train: %s '%s' is the same file as %s '%s'\n", flags[i],
                        paths[i], flags[j], paths[j]);
                return 0;
            }
        }
    }
    return 1;
}

cli_status train_parse(train_options *o, int argc, char **argv)
{
    defaults(o);
    cli_status st = cli_parse(&o->args, &cli_train_command, argc, argv, o);
    if (st != CLI_OK)
        return st;
    if (o->train.optimizer.kind == CLRNN_SGD && !cli_given(&o->args, "--lr"))
        o->train.optimizer.lr = 0.01; /* the default lr (0.003) is Adam's */
    if (!o->data)
        return fprintf(stderr, "clrnn train: --data is required\n"), CLI_BAD_INPUT;
    if (!check_outputs(o))
        return CLI_BAD_INPUT;
    return CLI_OK;
}
