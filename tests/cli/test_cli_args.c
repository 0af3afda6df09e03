/*
 * The command line's tables and its one parser: every command's --help
 * lists every option of its table; every table is well formed; cli_parse
 * reads each kind of option, refuses what it must with CLI_BAD_INPUT and
 * answers --help with CLI_HELP_SHOWN; --kernels takes the library's names;
 * library messages come out in the command line's terms.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cli.h"
#include "cli_args.h"

static const cli_command *const commands[] = {
    &cli_train_command,     &cli_eval_command,   &cli_predict_command, &cli_export_command,
    &cli_reproduce_command, &cli_parity_command, &cli_devices_command, &cli_bench_command,
    &cli_forecast_command,  &cli_tune_command,   &cli_explain_command,
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

/* The command's --help text (malloc'd). */
static char *usage_text(const cli_command *c)
{
    FILE *f = tmpfile();
    if (!f)
        return NULL;
    cli_usage(c, f);
    long size = ftell(f);
    char *text = size >= 0 ? malloc((size_t)size + 1) : NULL;
    rewind(f);
    if (text)
        text[fread(text, 1, (size_t)size, f)] = '\0';
    fclose(f);
    return text;
}

/* An option without a line of its own must be on another's line or be an
 * alias: another option of the same kind storing into the same place. */
static int shown_or_alias(const cli_command *c, const cli_option *opt, const char *help)
{
    if (strstr(help, opt->name))
        return 1;
    for (const cli_option *o = c->options; o->name; o++)
        if (o != opt && !o->hidden && o->kind == opt->kind && o->offset == opt->offset &&
            o->kind != CLI_CUSTOM && o->kind != CLI_LIST)
            return 1;
    return 0;
}

static void test_help_lists_every_option(void)
{
    for (size_t i = 0; i < N_COMMANDS; i++) {
        const cli_command *c = commands[i];
        char *help = usage_text(c), what[256], line[160];
        size_t n = 0, listed = 0;
        for (const cli_option *opt = c->options; help && opt->name; opt++) {
            if (opt->kind == CLI_SECTION)
                continue;
            n++;
            int plain = !opt->usage && opt->value; /* "--name VALUE" */
            snprintf(line, sizeof line, "\n  %s%s%s", opt->usage ? opt->usage : opt->name,
                     plain ? " " : "", plain ? opt->value : "");
            int ok = opt->hidden ? shown_or_alias(c, opt, help) : strstr(help, line) != NULL;
            listed += ok;
            if (!ok) {
                snprintf(what, sizeof what, "%s --help lists %s", c->name, opt->name);
                check_true(0, what);
            }
        }
        snprintf(what, sizeof what, "%s --help lists its %zu options (%zu)", c->name, n, listed);
        check_true(help && listed == n, what);
        free(help);
    }
}

static int kind_is_well_formed(const cli_option *opt)
{
    switch (opt->kind) {
    case CLI_SECTION:
        return 1;
    case CLI_FLAG:
    case CLI_UNFLAG:
        return opt->value == NULL;
    case CLI_SIZE:
    case CLI_DOUBLE:
        return opt->value && opt->min <= opt->max;
    case CLI_CHOICE:
        return opt->value && opt->choices && opt->choices[0];
    case CLI_LIST:
        return opt->value && opt->list && opt->max >= 1;
    case CLI_LAYERS:
        return opt->value && opt->max >= 1 && opt->max <= CLI_MAX_LAYERS;
    case CLI_CUSTOM:
        return opt->value && opt->parse;
    default:
        return opt->value != NULL;
    }
}

static void test_tables_are_well_formed(void)
{
    for (size_t i = 0; i < N_COMMANDS; i++) {
        const cli_command *c = commands[i];
        int ok = c->name && c->about && c->options;
        size_t n = 0;
        for (const cli_option *opt = c->options; ok && opt->name; opt++, n++) {
            ok = kind_is_well_formed(opt) &&
                 (opt->kind == CLI_SECTION || strncmp(opt->name, "--", 2) == 0) &&
                 (opt->kind == CLI_SECTION || opt->hidden || opt->help || opt->kind == CLI_KERNELS);
            for (const cli_option *other = c->options; ok && other < opt; other++)
                ok = other->kind == CLI_SECTION || strcmp(other->name, opt->name) != 0;
            if (!ok)
                printf("  %s: %s is not well formed\n", c->name, opt->name);
        }
        char what[128];
        snprintf(what, sizeof what, "%s: %zu entries, each well formed, names unique", c->name, n);
        check_true(ok && n < CLI_MAX_OPTIONS, what);
    }
}

/* A table with every kind. */
typedef struct sample {
    int flag, unflag, choice;
    uint32_t seed;
    size_t size, n_items;
    double number;
    const char *text;
    clrnn_kernels kernels;
    char custom[32];
    cli_layers layers;
} sample;

static int parse_custom(const cli_args *a, const char *text, void *options)
{
    (void)a;
    snprintf(((sample *)options)->custom, sizeof((sample *)options)->custom, "<%s>", text);
    return 1;
}

static int parse_items(const cli_args *a, const char *const *items, size_t n, void *options)
{
    (void)a;
    (void)items;
    ((sample *)options)->n_items = n;
    return 1;
}

static const char *const words[] = {"red", "green", NULL};

static const cli_option sample_options[] = {
    {"things:", .kind = CLI_SECTION},
    {"--flag", NULL, CLI_FLAG, offsetof(sample, flag), .help = "a flag"},
    {"--no-unflag", NULL, CLI_UNFLAG, offsetof(sample, unflag), .help = "clears"},
    {"--seed", "S", CLI_U32, offsetof(sample, seed), .help = "a seed"},
    {"--size", "N", CLI_SIZE, offsetof(sample, size), 1, 10, .help = "1 to 10"},
    {"--number", "X", CLI_DOUBLE, offsetof(sample, number), 0.5, 2.0, .help = "0.5 to 2"},
    {"--text", "T", CLI_STRING, offsetof(sample, text), .help = "any text\nover two lines"},
    {"--colour", "C", CLI_CHOICE, offsetof(sample, choice), .choices = words, .help = "red, green"},
    CLI_OPTION_KERNELS(sample, kernels),
    {"--items", "LIST", CLI_LIST, 0, 0, 3, .list = parse_items, .help = "1 to 3 items"},
    {"--custom", "V", CLI_CUSTOM, .parse = parse_custom, .help = "its own parser"},
    {"--layers", "I:H:O,...", CLI_LAYERS, offsetof(sample, layers), 0, 2, .help = "a stack"},
    {NULL},
};

static const cli_command sample_command = {
    .name = "clrnn sample",
    .about = "usage: clrnn sample\n",
    .options = sample_options,
    .width = 12,
};

static cli_status parse_words(sample *s, cli_args *a, const char *line)
{
    char buf[512], *argv[32];
    int argc = 0;
    snprintf(buf, sizeof buf, "sample %s", line);
    for (char *p = strtok(buf, " "); p && argc < 32; p = strtok(NULL, " "))
        argv[argc++] = p;
    memset(s, 0, sizeof *s);
    s->unflag = 1;
    return cli_parse(a, &sample_command, argc, argv, s);
}

static void test_parser(void)
{
    sample s;
    cli_args a;
    cli_status st = parse_words(&s, &a,
                                "--flag --no-unflag --seed 4294967295 --size=10 --number 0.5 "
                                "--text hello --colour green --kernels tile --items a,b,c "
                                "--custom x --layers 3:4:5,5:6:1");
    check_true(st == CLI_OK && s.flag == 1 && s.unflag == 0 && s.seed == 4294967295u &&
                   s.size == 10 && s.number == 0.5 && strcmp(s.text, "hello") == 0 &&
                   s.choice == 1 && s.kernels == CLRNN_KERNELS_TILE && s.n_items == 3 &&
                   strcmp(s.custom, "<x>") == 0 && s.layers.n == 2 &&
                   s.layers.shape[1].n_hidden == 6,
               "every kind parsed, in both --flag value and --flag=value forms");
    check_true(cli_given(&a, "--size") && cli_given(&a, "--custom"), "given options are known");
    st = parse_words(&s, &a, "--flag");
    check_true(st == CLI_OK && !cli_given(&a, "--size") && s.size == 0,
               "an option not given is not given and keeps its default");
    static const char *const bad[] = {
        "--size 0",          "--size 11",    "--size x",        "--seed -1",
        "--seed 4294967296", "--number 3",   "--number nan",    "--colour blue",
        "--kernels x",       "--items a,,b", "--items a,b,c,d", "--size",
        "--unknown 1",       "stray",        "--size=",         "--layers 1:1:1,1:1:1,1:1:1",
        "--layers 3:0:1",
    };
    int refused = 0;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        refused += parse_words(&s, &a, bad[i]) == CLI_BAD_INPUT;
    check_true(refused == (int)(sizeof bad / sizeof bad[0]), "bad input refused: CLI_BAD_INPUT");
    check_true(parse_words(&s, &a, "--size 3 --help") == CLI_HELP_SHOWN && s.size == 3,
               "--help after options: CLI_HELP_SHOWN");
    check_true(parse_words(&s, &a, "--unknown --help") == CLI_BAD_INPUT,
               "an unknown option before --help is refused first");
    check_true(parse_words(&s, &a, "--size --help") == CLI_BAD_INPUT,
               "--help as a value is the value, not help");
    size_t accepted = 0;
    for (size_t k = 0; k < clrnn_kernels_count(); k++) {
        char line[64];
        snprintf(line, sizeof line, "--kernels %s", clrnn_kernels_name((clrnn_kernels)k));
        accepted += parse_words(&s, &a, line) == CLI_OK && s.kernels == (clrnn_kernels)k;
    }
    check_true(accepted == clrnn_kernels_count(), "--kernels takes every name of the library");
}

static void test_messages_in_cli_terms(void)
{
    static const struct {
        const char *library, *cli;
    } cases[] = {
        {"out of memory (try a smaller `max_batch`)", "out of memory (try a smaller --batch)"},
        {"`device` 'x': expected auto (see `clrnn_list_devices`)",
         "--device 'x': expected auto (see 'clrnn devices')"},
        {"try a lower `optimizer.lr` or `optimizer.clip_norm`", "try a lower --lr or --clip-norm"},
        {"`layers` '3:0:1': bad", "--layers '3:0:1': bad"},
        {"'a`b`c' and `unknown` and a lone ` stay", "'a`b`c' and `unknown` and a lone ` stay"},
        {"no terms at all", "no terms at all"},
    };
    int same = 0, n = (int)(sizeof cases / sizeof cases[0]);
    for (int i = 0; i < n; i++) {
        clrnn_error err = {CLRNN_E_INPUT, ""};
        char out[600];
        snprintf(err.message, sizeof err.message, "%s", cases[i].library);
        cli_message(out, sizeof out, &err);
        if (strcmp(out, cases[i].cli) == 0)
            same++;
        else
            printf("  '%s' -> '%s', expected '%s'\n", cases[i].library, out, cases[i].cli);
    }
    check_true(same == n, "library terms said as flags; other text untouched");
    clrnn_error err = {CLRNN_E_INPUT, "`max_batch` is too big"};
    char tiny[6];
    cli_message(tiny, sizeof tiny, &err);
    check_true(strcmp(tiny, "--bat") == 0, "a short buffer holds a truncated, terminated line");
}

int main(void)
{
    test_help_lists_every_option();
    test_tables_are_well_formed();
    test_parser();
    test_messages_in_cli_terms();
    return check_summary();
}
