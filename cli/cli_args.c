/* The one command-line parser of the clrnn subcommands: argv read against a
 * command's option table, and --help printed from it. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_args.h"

/* CLI_CHOICE stores an int into an enum field. */
_Static_assert(sizeof(clrnn_missing) == sizeof(int) && sizeof(clrnn_scaler_fit) == sizeof(int) &&
                   sizeof(clrnn_split) == sizeof(int) && sizeof(clrnn_precision) == sizeof(int) &&
                   sizeof(clrnn_optimizer_kind) == sizeof(int) &&
                   sizeof(clrnn_loss_steps) == sizeof(int) &&
                   sizeof(clrnn_lr_schedule) == sizeof(int),
               "the option enums are int-sized");

int cli_parse_size(const cli_args *a, const char *text, size_t min, size_t max, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (text[0] < '0' || text[0] > '9' || *end || errno || v < min || v > max) {
        fprintf(stderr, "%s: %s '%s': expected a whole number from %zu to %zu\n", a->name, a->flag,
                text, min, max);
        return 0;
    }
    *out = (size_t)v;
    return 1;
}

/* One rule for every number on the command line, as for the table's cells:
 * decimal digits with an optional sign, point and exponent; no spaces, no
 * hex, no inf or nan (strtod alone takes all of those). */
static int decimal_number(const char *text)
{
    return text[0] && strspn(text, "0123456789+-.eE") == strlen(text);
}

int cli_parse_double(const cli_args *a, const char *text, double min, double max, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (!decimal_number(text) || end == text || *end || errno || !isfinite(v) || v < min ||
        v > max) {
        fprintf(stderr, "%s: %s '%s': expected a number from %g to %g\n", a->name, a->flag, text,
                min, max);
        return 0;
    }
    *out = v;
    return 1;
}

/* "expected one of a, b, c" over count words given by word(i). */
static int parse_word(const cli_args *a, const char *text, size_t count,
                      const char *(*word)(const void *words, size_t i), const void *words, int *out)
{
    for (size_t i = 0; i < count; i++) {
        if (strcmp(text, word(words, i)) == 0) {
            *out = (int)i;
            return 1;
        }
    }
    fprintf(stderr, "%s: %s '%s': expected one of", a->name, a->flag, text);
    for (size_t i = 0; i < count; i++)
        fprintf(stderr, "%s %s", i ? "," : "", word(words, i));
    fprintf(stderr, "\n");
    return 0;
}

static const char *choice_word(const void *words, size_t i)
{
    return ((const char *const *)words)[i];
}

static const char *kernels_word(const void *words, size_t i)
{
    (void)words;
    return clrnn_kernels_name((clrnn_kernels)i);
}

int cli_parse_choice(const cli_args *a, const char *text, const char *const *choices, int *out)
{
    size_t count = 0;
    while (choices[count])
        count++;
    return parse_word(a, text, count, choice_word, choices, out);
}

static int parse_kernels(const cli_args *a, const char *text, clrnn_kernels *out)
{
    int which;
    if (!parse_word(a, text, clrnn_kernels_count(), kernels_word, NULL, &which))
        return 0;
    *out = (clrnn_kernels)which;
    return 1;
}

int cli_split_list(const cli_args *a, const char *text, char *buf, size_t buf_size,
                   const char **items, size_t max, size_t *n)
{
    size_t len = strlen(text);
    if (len + 1 > buf_size) {
        fprintf(stderr, "%s: %s: list too long\n", a->name, a->flag);
        return 0;
    }
    memcpy(buf, text, len + 1);
    *n = 0;
    for (char *p = buf;;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        if (*p == '\0' || *n == max) {
            fprintf(stderr, "%s: %s '%s': expected 1 to %zu comma-separated names\n", a->name,
                    a->flag, text, max);
            return 0;
        }
        items[(*n)++] = p;
        if (!comma)
            return 1;
        p = comma + 1;
    }
}

int cli_split_flag_list(const char *command, const char *flag, const char *text, char *buf,
                        size_t buf_size, const char **items, size_t max, size_t *n)
{
    cli_args a = {.name = command, .flag = flag};
    return cli_split_list(&a, text, buf, buf_size, items, max, n);
}

int cli_unknown(const cli_args *a)
{
    fprintf(stderr, "%s: %s '%s' (see %s --help)\n", a->name,
            a->flag[0] == '-' ? "unknown option" : "unexpected argument", a->flag, a->name);
    return 0;
}

#define LIST_MAX_ITEMS 64

static int parse_list(const cli_args *a, const cli_option *opt, const char *text, void *options)
{
    char buf[512];
    const char *items[LIST_MAX_ITEMS];
    size_t n, max = (size_t)opt->max < LIST_MAX_ITEMS ? (size_t)opt->max : LIST_MAX_ITEMS;
    return cli_split_list(a, text, buf, sizeof buf, items, max, &n) &&
           opt->list(a, items, n, options);
}

static int parse_layers(const cli_args *a, const cli_option *opt, const char *text, cli_layers *out)
{
    clrnn_error err;
    out->n = (size_t)opt->max < CLI_MAX_LAYERS ? (size_t)opt->max : CLI_MAX_LAYERS;
    if (clrnn_parse_layers(text, out->shape, &out->n, &err) != CLRNN_OK)
        return cli_error(a->name, &err), 0;
    return 1;
}

/* One option's value into options. */
static int store(const cli_args *a, const cli_option *opt, const char *text, void *options)
{
    void *field = (char *)options + opt->offset;
    size_t size;
    int choice;
    switch (opt->kind) {
    case CLI_U32:
        if (!cli_parse_size(a, text, 0, UINT32_MAX, &size))
            return 0;
        *(uint32_t *)field = (uint32_t)size;
        return 1;
    case CLI_SIZE:
        return cli_parse_size(a, text, (size_t)opt->min, (size_t)opt->max, field);
    case CLI_DOUBLE:
        return cli_parse_double(a, text, opt->min, opt->max, field);
    case CLI_STRING:
        *(const char **)field = text;
        return 1;
    case CLI_CHOICE:
        if (!cli_parse_choice(a, text, opt->choices, &choice))
            return 0;
        *(int *)field = choice;
        return 1;
    case CLI_KERNELS:
        return parse_kernels(a, text, field);
    case CLI_LIST:
        return parse_list(a, opt, text, options);
    case CLI_LAYERS:
        return parse_layers(a, opt, text, field);
    case CLI_CUSTOM:
        return opt->parse(a, text, options);
    default:
        return 0;
    }
}

/* The table's entry for flag, or -1. */
static int find(const cli_command *command, const char *flag)
{
    for (int i = 0; command->options[i].name; i++)
        if (command->options[i].kind != CLI_SECTION && strcmp(command->options[i].name, flag) == 0)
            return i;
    return -1;
}

cli_status cli_parse(cli_args *a, const cli_command *command, int argc, char **argv, void *options)
{
    memset(a, 0, sizeof *a);
    a->command = command;
    a->name = command->name;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *value = NULL;
        const char *eq = strncmp(arg, "--", 2) == 0 ? strchr(arg, '=') : NULL;
        a->flag = arg;
        if (eq && (size_t)(eq - arg) < sizeof a->flag_part) {
            memcpy(a->flag_part, arg, (size_t)(eq - arg));
            a->flag_part[eq - arg] = '\0';
            a->flag = a->flag_part;
            value = eq + 1;
        }
        if (strcmp(a->flag, "--help") == 0 || strcmp(a->flag, "-h") == 0) {
            cli_usage(command, stdout);
            return CLI_HELP_SHOWN;
        }
        int index = find(command, a->flag);
        if (index < 0)
            return cli_unknown(a), CLI_BAD_INPUT;
        const cli_option *opt = &command->options[index];
        if (index < CLI_MAX_OPTIONS)
            a->given[index] = 1;
        if (opt->kind == CLI_FLAG || opt->kind == CLI_UNFLAG) {
            *(int *)((char *)options + opt->offset) = opt->kind == CLI_FLAG;
            continue;
        }
        if (!value && i + 1 >= argc) {
            fprintf(stderr, "%s: %s needs a value (see %s --help)\n", command->name, a->flag,
                    command->name);
            return CLI_BAD_INPUT;
        }
        if (!store(a, opt, value ? value : argv[++i], options))
            return CLI_BAD_INPUT;
    }
    return CLI_OK;
}

int cli_given(const cli_args *a, const char *name)
{
    int index = find(a->command, name);
    return index >= 0 && index < CLI_MAX_OPTIONS && a->given[index];
}

/* --kernels' help, from the library's names. */
static void kernels_help(char *buf, size_t size)
{
    size_t used = (size_t)snprintf(buf, size, "OpenCL kernel family:");
    for (size_t i = 0; i < clrnn_kernels_count() && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s %s%s", i ? "," : "",
                                 clrnn_kernels_name((clrnn_kernels)i),
                                 i == CLRNN_KERNELS_AUTO ? " (default)" : "");
}

void cli_usage(const cli_command *command, FILE *out)
{
    fputs(command->about, out);
    for (const cli_option *opt = command->options; opt->name; opt++) {
        char left[128], help[256];
        if (opt->kind == CLI_SECTION) {
            fprintf(out, "%s\n", opt->name);
            continue;
        }
        if (opt->hidden)
            continue;
        if (opt->usage)
            snprintf(left, sizeof left, "%s", opt->usage);
        else
            snprintf(left, sizeof left, "%s%s%s", opt->name, opt->value ? " " : "",
                     opt->value ? opt->value : "");
        const char *text = opt->help;
        if (opt->kind == CLI_KERNELS && !text) {
            kernels_help(help, sizeof help);
            text = help;
        }
        fprintf(out, "  %-*s ", command->width, left);
        for (const char *line = text;;) { /* continuation lines under the first */
            const char *end = strchr(line, '\n');
            if (!end) {
                fprintf(out, "%s\n", line);
                break;
            }
            fprintf(out, "%.*s\n%*s", (int)(end - line), line, command->width + 3, "");
            line = end + 1;
        }
    }
    if (command->footer)
        fputs(command->footer, out);
}

/* What the library's messages name between backquotes (clrnn_error), as
 * the command line says it. */
static const struct {
    const char *api, *cli;
} terms[] = {
    {"layers", "--layers"},
    {"device", "--device"},
    {"precision", "--precision"},
    {"kernels", "--kernels"},
    {"missing", "--missing"},
    {"max_batch", "--batch"},
    {"optimizer.lr", "--lr"},
    {"optimizer.clip_norm", "--clip-norm"},
    {"clrnn_list_devices", "'clrnn devices'"},
    {"horizons", "--horizon"},
    {"difference", "--difference"},
    {"date_column", "--date-column"},
    {"date_features", "--date-features"},
    {"train_fraction", "--train-fraction"},
    {"val_fraction", "--val-fraction"},
    {"seq_len", "--seq-len"},
    {"season", "--season"},
    {"series_column", "--series"},
    {"split_by_series", "--split-by series"},
    {"scale_per_series", "--scale per-series"},
    {"n_models", "--models"},
    {"stateful", "--stateful"},
    {"batch", "--batch"},
};

static const char *cli_term(const char *api, size_t len)
{
    for (size_t i = 0; i < sizeof terms / sizeof terms[0]; i++)
        if (strlen(terms[i].api) == len && strncmp(terms[i].api, api, len) == 0)
            return terms[i].cli;
    return NULL;
}

const char *cli_message(char *out, size_t size, const clrnn_error *err)
{
    size_t used = 0;
    for (const char *p = err->message; *p && used + 1 < size;) {
        const char *end = *p == '`' ? strchr(p + 1, '`') : NULL;
        const char *term = end ? cli_term(p + 1, (size_t)(end - p - 1)) : NULL;
        if (term) { /* `max_batch` -> --batch */
            used += (size_t)snprintf(out + used, size - used, "%s", term);
            p = end + 1;
        } else {
            out[used++] = *p++;
        }
    }
    out[used < size ? used : size - 1] = '\0';
    return out;
}

int cli_error(const char *command, const clrnn_error *err)
{
    char message[sizeof err->message + 256];
    fprintf(stderr, "%s: %s\n", command, cli_message(message, sizeof message, err));
    return CLI_BAD_INPUT;
}
