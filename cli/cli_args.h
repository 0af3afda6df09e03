/* Internal: strict parsing of command-line values for the clrnn subcommands.
 * Each parser prints one line naming the flag and returns 0 on bad input. */
#ifndef CLRNN_CLI_ARGS_H
#define CLRNN_CLI_ARGS_H

#include <stddef.h>

#include "clrnn.h"

/* Walks argv: for "--flag value" and "--flag=value" forms. */
typedef struct cli_args {
    const char *command; /* for messages: "clrnn train" */
    int argc;
    char **argv;
    int index;        /* next argument to read */
    const char *flag; /* the flag just read */
    const char *inline_value;
    char flag_buf[64]; /* the flag part of "--flag=value" */
} cli_args;

void cli_args_init(cli_args *a, const char *command, int argc, char **argv);
/* The next flag, or NULL at the end. A non-flag argument is returned too
 * (a->flag then doesn't start with "--"). */
const char *cli_next(cli_args *a);
/* Is the current flag `name`? */
int cli_is(const cli_args *a, const char *name);
/* The value of the current flag; prints an error and returns NULL if none. */
const char *cli_value(cli_args *a);

int cli_parse_size(const cli_args *a, const char *text, size_t min, size_t max, size_t *out);
int cli_parse_double(const cli_args *a, const char *text, double min, double max, double *out);
int cli_parse_u32(const cli_args *a, const char *text, uint32_t *out);
/* One of the words of `choices` (NULL-terminated); *out is its index. */
int cli_parse_choice(const cli_args *a, const char *text, const char *const *choices, int *out);
/* Splits "a,b,c" into at most max pieces (pointers into a copy kept in buf). */
int cli_split_list(const cli_args *a, const char *text, char *buf, size_t buf_size,
                   const char **items, size_t max, size_t *n);

/* Reports "clrnn train: unknown option '--x' (see clrnn train --help)", or
 * "unexpected argument 'x'" for a word that is not a flag. */
int cli_unknown(const cli_args *a);
/* Is the current flag one of names (NULL-terminated)? If not, reports it
 * with cli_unknown and returns 0; check before cli_value, so an unknown flag
 * is not reported as one missing its value. */
int cli_known(const cli_args *a, const char *const *names);
/* Prints "clrnn <cmd>: <message>" of an error and returns exit code 2. */
int cli_error(const char *command, const clrnn_error *err);

#endif
