/* clrnn reproduce toy|weather: the reference notebook's runs. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_args.h"
#include "reproduce.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: clrnn reproduce toy|weather [options]\n"
            "\n"
            "Runs the reference notebook's training exactly (its window counts, scaler fit,\n"
            "loss formula and print cadence) and prints its lines with 17 significant digits.\n"
            "  toy      two stacks (1,5,1)->(1,7,1) on 1..10, seq-len 3, lr 5e-3, 500 epochs\n"
            "  weather  one layer (3,4,1) on the first 5%% of the weather table, seq-len 7,\n"
            "           lr 1e-3, 51 epochs; its epoch loss keeps the notebook's broadcasting\n"
            "           quirk (mean over all step pairs)\n"
            "\n"
            "options (default: the notebook's values):\n"
            "  --seed S            generator seed (0)\n"
            "  --hidden H[,H2]     hidden sizes of the stack's layers (toy 5,7; weather 4)\n"
            "  --lr X              learning rate\n"
            "  --momentum X        SGD momentum, the notebook's form (0)\n"
            "  --seq-len T         steps per window\n"
            "  --epochs N          epochs\n"
            "  --data FILE         weather: the CSV table (the bundled weather data)\n"
            "  --train-fraction F  weather: first rows used for training (0.05)\n"
            "  --trace             add a line per epoch: epoch E loss L loss_per_step P\n"
            "                      dWi A dWh B dWo C (losses per training row; the norms of\n"
            "                      the last window's gradients of the first layer)\n"
            "  --device D          cpu (default), opencl, opencl:P.D or auto\n"
            "  --precision P       OpenCL precision: fp64 (default here) or fp32\n");
}

static int parse_hidden(cli_args *a, const char *text, reproduce_options *o)
{
    char buf[256];
    const char *items[REPRODUCE_MAX_LAYERS];
    size_t n;
    if (!cli_split_list(a, text, buf, sizeof buf, items, REPRODUCE_MAX_LAYERS, &n))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!cli_parse_size(a, items[i], 1, 4096, &o->hidden[i]))
            return 0;
    o->n_layers = n;
    return 1;
}

int cli_reproduce(int argc, char **argv)
{
    static const char *const precisions[] = {"fp32", "fp64", NULL};
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    reproduce_options o;
    int toy = strcmp(argv[1], "toy") == 0;
    if (toy)
        reproduce_toy_defaults(&o);
    else if (strcmp(argv[1], "weather") == 0)
        reproduce_weather_defaults(&o);
    else {
        fprintf(stderr, "clrnn reproduce: unknown run '%s' (toy or weather)\n", argv[1]);
        return 2;
    }
#ifdef CLRNN_DEFAULT_DATA
    o.data = CLRNN_DEFAULT_DATA;
#endif
    o.log = stderr;
    cli_args a;
    cli_args_init(&a, toy ? "clrnn reproduce toy" : "clrnn reproduce weather", argc - 1, argv + 1);
    while (cli_next(&a)) {
        const char *v = NULL;
        int prec, ok = 1;
        if (cli_is(&a, "--help") || cli_is(&a, "-h")) {
            usage(stdout);
            return 0;
        } else if (cli_is(&a, "--trace")) {
            o.trace = 1;
            continue;
        }
        static const char *const valued[] = {
            "--seed", "--hidden",         "--lr",     "--momentum",  "--seq-len", "--epochs",
            "--data", "--train-fraction", "--device", "--precision", NULL};
        if (!cli_known(&a, valued))
            return 2;
        if (!(v = cli_value(&a)))
            return 2;
        if (cli_is(&a, "--seed"))
            ok = cli_parse_u32(&a, v, &o.seed);
        else if (cli_is(&a, "--hidden"))
            ok = parse_hidden(&a, v, &o);
        else if (cli_is(&a, "--lr"))
            ok = cli_parse_double(&a, v, 1e-300, 1e6, &o.lr);
        else if (cli_is(&a, "--momentum"))
            ok = cli_parse_double(&a, v, 0.0, 0.999999, &o.momentum);
        else if (cli_is(&a, "--seq-len"))
            ok = cli_parse_size(&a, v, 1, 100000, &o.seq_len);
        else if (cli_is(&a, "--epochs"))
            ok = cli_parse_size(&a, v, 0, 100000000, &o.epochs);
        else if (cli_is(&a, "--data") && !toy)
            o.data = v;
        else if (cli_is(&a, "--train-fraction") && !toy)
            ok = cli_parse_double(&a, v, 1e-9, 1.0, &o.train_fraction);
        else if (cli_is(&a, "--device"))
            o.device = v;
        else if (cli_is(&a, "--precision") && (ok = cli_parse_choice(&a, v, precisions, &prec)))
            o.precision = (clrnn_precision)prec;
        else if (!cli_is(&a, "--precision"))
            return cli_unknown(&a), 2;
        if (!ok)
            return 2;
    }
    if (!toy && !o.data) {
        fprintf(stderr, "%s: --data is required\n", a.name);
        return 2;
    }
    clrnn_error err;
    clrnn_status st = toy ? reproduce_toy(&o, &err) : reproduce_weather(&o, &err);
    if (st != CLRNN_OK)
        return cli_error(a.name, &err);
    return 0;
}
