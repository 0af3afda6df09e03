/* Strict command-line value parsing shared by the clrnn subcommands. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_args.h"

void cli_args_init(cli_args *a, const char *command, int argc, char **argv)
{
    a->command = command;
    a->argc = argc;
    a->argv = argv;
    a->index = 1;
    a->flag = NULL;
    a->inline_value = NULL;
}

const char *cli_next(cli_args *a)
{
    if (a->index >= a->argc)
        return NULL;
    const char *arg = a->argv[a->index++];
    a->inline_value = NULL;
    const char *eq = strncmp(arg, "--", 2) == 0 ? strchr(arg, '=') : NULL;
    if (eq && (size_t)(eq - arg) < sizeof a->flag_buf) {
        memcpy(a->flag_buf, arg, (size_t)(eq - arg));
        a->flag_buf[eq - arg] = '\0';
        a->flag = a->flag_buf;
        a->inline_value = eq + 1;
    } else {
        a->flag = arg;
    }
    return a->flag;
}

int cli_is(const cli_args *a, const char *name)
{
    return strcmp(a->flag, name) == 0;
}

const char *cli_value(cli_args *a)
{
    if (a->inline_value)
        return a->inline_value;
    if (a->index >= a->argc) {
        fprintf(stderr, "%s: %s needs a value (see %s --help)\n", a->command, a->flag, a->command);
        return NULL;
    }
    return a->argv[a->index++];
}

int cli_parse_size(const cli_args *a, const char *text, size_t min, size_t max, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (text[0] < '0' || text[0] > '9' || *end || errno || v < min || v > max) {
        fprintf(stderr, "%s: %s '%s': expected a whole number from %zu to %zu\n", a->command,
                a->flag, text, min, max);
        return 0;
    }
    *out = (size_t)v;
    return 1;
}

int cli_parse_double(const cli_args *a, const char *text, double min, double max, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || *end || errno || !isfinite(v) || v < min || v > max) {
        fprintf(stderr, "%s: %s '%s': expected a number from %g to %g\n", a->command, a->flag, text,
                min, max);
        return 0;
    }
    *out = v;
    return 1;
}

int cli_parse_u32(const cli_args *a, const char *text, uint32_t *out)
{
    size_t v;
    if (!cli_parse_size(a, text, 0, UINT32_MAX, &v))
        return 0;
    *out = (uint32_t)v;
    return 1;
}

int cli_parse_choice(const cli_args *a, const char *text, const char *const *choices, int *out)
{
    for (int i = 0; choices[i]; i++) {
        if (strcmp(text, choices[i]) == 0) {
            *out = i;
            return 1;
        }
    }
    fprintf(stderr, "%s: %s '%s': expected one of", a->command, a->flag, text);
    for (int i = 0; choices[i]; i++)
        fprintf(stderr, "%s %s", i ? "," : "", choices[i]);
    fprintf(stderr, "\n");
    return 0;
}

int cli_split_list(const cli_args *a, const char *text, char *buf, size_t buf_size,
                   const char **items, size_t max, size_t *n)
{
    size_t len = strlen(text);
    if (len + 1 > buf_size) {
        fprintf(stderr, "%s: %s: list too long\n", a->command, a->flag);
        return 0;
    }
    memcpy(buf, text, len + 1);
    *n = 0;
    for (char *p = buf;;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        if (*p == '\0' || *n == max) {
            fprintf(stderr, "%s: %s '%s': expected 1 to %zu comma-separated names\n", a->command,
                    a->flag, text, max);
            return 0;
        }
        items[(*n)++] = p;
        if (!comma)
            return 1;
        p = comma + 1;
    }
}

int cli_unknown(const cli_args *a)
{
    fprintf(stderr, "%s: %s '%s' (see %s --help)\n", a->command,
            a->flag[0] == '-' ? "unknown option" : "unexpected argument", a->flag, a->command);
    return 2;
}

int cli_known(const cli_args *a, const char *const *names)
{
    for (size_t i = 0; names[i]; i++)
        if (cli_is(a, names[i]))
            return 1;
    cli_unknown(a);
    return 0;
}

int cli_error(const char *command, const clrnn_error *err)
{
    fprintf(stderr, "%s: %s\n", command, err->message);
    return 2;
}
