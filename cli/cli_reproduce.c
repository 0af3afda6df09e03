/* clrnn reproduce toy|weather: the reference notebook's runs. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_args.h"
#include "cli_common.h"
#include "reproduce.h"

/* The run's options, and which run: toy refuses the weather-only ones. */
typedef struct reproduce_cli {
    reproduce_options run;
    int toy;
} reproduce_cli;

static int parse_hidden(const cli_args *a, const char *const *items, size_t n, void *options)
{
    reproduce_options *o = &((reproduce_cli *)options)->run;
    for (size_t i = 0; i < n; i++)
        if (!cli_parse_size(a, items[i], 1, 4096, &o->hidden[i]))
            return 0;
    o->n_layers = n;
    return 1;
}

static int parse_data(const cli_args *a, const char *text, void *options)
{
    reproduce_cli *o = options;
    if (o->toy)
        return cli_unknown(a);
    o->run.data = text;
    return 1;
}

static int parse_train_fraction(const cli_args *a, const char *text, void *options)
{
    reproduce_cli *o = options;
    if (o->toy)
        return cli_unknown(a);
    return cli_parse_double(a, text, 1e-9, 1.0, &o->run.train_fraction);
}

static const char *const precisions[] = {"fp32", "fp64", NULL};

#define AT(field) offsetof(reproduce_cli, run.field)

static const cli_option options[] = {
    {"--seed", "S", CLI_U32, AT(seed), .help = "generator seed (0)"},
    {"--hidden", "H[,H2]", CLI_LIST, 0, 0, REPRODUCE_MAX_LAYERS, .list = parse_hidden,
     .help = "hidden sizes of the stack's layers (toy 5,7; weather 4)"},
    {"--lr", "X", CLI_DOUBLE, AT(lr), 1e-300, 1e6, .help = "learning rate"},
    {"--momentum", "X", CLI_DOUBLE, AT(momentum), 0.0, 0.999999,
     .help = "SGD momentum, the notebook's form (0)"},
    {"--seq-len", "T", CLI_SIZE, AT(seq_len), 1, 100000, .help = "steps per window"},
    {"--epochs", "N", CLI_SIZE, AT(epochs), 0, 100000000, .help = "epochs"},
    {"--data", "FILE", CLI_CUSTOM, .parse = parse_data,
     .help = "weather: the CSV table (the bundled weather data)"},
    {"--train-fraction", "F", CLI_CUSTOM, .parse = parse_train_fraction,
     .help = "weather: first rows used for training (0.05)"},
    {"--trace", NULL, CLI_FLAG, AT(trace),
     .help = "add a line per epoch: epoch E loss L loss_per_step P\n"
             "dWi A dWh B dWo C (losses per training row; the norms of\n"
             "the last window's gradients of the first layer)"},
    {"--device", "D", CLI_STRING, AT(device), .help = "cpu (default), opencl, opencl:P.D or auto"},
    {"--precision", "P", CLI_CHOICE, AT(precision), .choices = precisions,
     .help = "OpenCL precision: fp64 (default here) or fp32"},
    {0},
};

const cli_command cli_reproduce_command = {
    .name = "clrnn reproduce",
    .about = "usage: clrnn reproduce toy|weather [options]\n"
             "\n"
             "Runs the reference notebook's training exactly (its window counts, scaler fit,\n"
             "loss formula and print cadence) and prints its lines with 17 significant digits.\n"
             "  toy      two stacks (1,5,1)->(1,7,1) on 1..10, seq-len 3, lr 5e-3, 500 epochs\n"
             "  weather  one layer (3,4,1) on the first 5% of the weather table, seq-len 7,\n"
             "           lr 1e-3, 51 epochs; its epoch loss keeps the notebook's broadcasting\n"
             "           quirk (mean over all step pairs)\n"
             "\n"
             "options (default: the notebook's values):\n",
    .options = options,
    .width = 19,
};

int cli_reproduce(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        cli_usage(&cli_reproduce_command, argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_BAD_INPUT : CLI_HELP_SHOWN;
    }
    reproduce_cli o;
    memset(&o, 0, sizeof o);
    o.toy = strcmp(argv[1], "toy") == 0;
    if (o.toy)
        reproduce_toy_defaults(&o.run);
    else if (strcmp(argv[1], "weather") == 0)
        reproduce_weather_defaults(&o.run);
    else {
        fprintf(stderr, "clrnn reproduce: unknown run '%s' (toy or weather)\n", argv[1]);
        return CLI_BAD_INPUT;
    }
    o.run.data = cli_default_data();
    o.run.log = stderr;
    cli_command command = cli_reproduce_command; /* the same options; messages name the run */
    command.name = o.toy ? "clrnn reproduce toy" : "clrnn reproduce weather";
    cli_args a;
    cli_status st = cli_parse(&a, &command, argc - 1, argv + 1, &o);
    if (st != CLI_OK)
        return st;
    if (!o.toy && !o.run.data) {
        fprintf(stderr, "%s: --data is required\n", command.name);
        return CLI_BAD_INPUT;
    }
    clrnn_error err;
    clrnn_status run = o.toy ? reproduce_toy(&o.run, &err) : reproduce_weather(&o.run, &err);
    if (run != CLRNN_OK)
        return cli_error(command.name, &err);
    return CLI_OK;
}
