/* Internal: the command line of the clrnn subcommands, as tables.
 *
 * Each command describes its options in one table of cli_option (name, kind,
 * range or choices, where the value is stored, help text); cli_parse reads
 * argv against it, strictly, and cli_usage prints --help from it. Parsing
 * never exits: it returns a cli_status and the caller decides the exit code.
 * Every message is one line on stderr that names the flag. */
#ifndef CLRNN_CLI_ARGS_H
#define CLRNN_CLI_ARGS_H

#include <stddef.h>
#include <stdio.h>

#include "clrnn.h"

/* What a command (or its parser) came to: main.c turns it into the exit code. */
typedef enum cli_status {
    CLI_OK = 0,           /* done; or, from cli_parse, go on and run */
    CLI_CHECK_FAILED = 1, /* ran, and a check failed (parity past tolerance) */
    CLI_BAD_INPUT = 2,    /* bad input or a failure, its message printed */
    CLI_HELP_SHOWN = 3,   /* --help printed the usage */
    CLI_INTERRUPTED = 4   /* stopped by SIGINT (Ctrl-C), what was finished kept */
} cli_status;

typedef enum cli_kind {
    CLI_SECTION, /* not an option: a heading line of --help ("data:") */
    CLI_FLAG,    /* no value; stores int 1 */
    CLI_UNFLAG,  /* no value; stores int 0 (--no-shuffle) */
    CLI_U32,     /* a whole number 0 .. UINT32_MAX into uint32_t */
    CLI_SIZE,    /* a whole number in [min, max] into size_t */
    CLI_DOUBLE,  /* a finite number in [min, max] into double */
    CLI_STRING,  /* the text itself into const char * (it points into argv) */
    CLI_CHOICE,  /* one of the words of choices; its index into an int-sized enum */
    CLI_KERNELS, /* an OpenCL kernel family, the library's names, into clrnn_kernels */
    CLI_LIST,    /* 1 to max comma-separated items, given to list() */
    CLI_LAYERS,  /* a stack I:H:O,... (clrnn_parse_layers), at most max layers, into cli_layers */
    CLI_CUSTOM   /* the text, given to parse() */
} cli_kind;

typedef struct cli_args cli_args;

#define CLI_MAX_LAYERS 16

/* The shapes --layers gives. */
typedef struct cli_layers {
    clrnn_layer_shape shape[CLI_MAX_LAYERS];
    size_t n;
} cli_layers;

typedef struct cli_option {
    const char *name;  /* "--batch"; the text of a CLI_SECTION heading */
    const char *value; /* its value's name in --help ("B"); NULL for flags */
    cli_kind kind;
    size_t offset;              /* where it stores: offsetof(the command's options, field) */
    double min, max;            /* the range; CLI_LIST, CLI_LAYERS: max items */
    const char *const *choices; /* CLI_CHOICE: the words, NULL-terminated */
    /* CLI_CUSTOM: parses text into options (the whole options struct).
     * CLI_LIST: the same for the n items (valid during the call only). */
    int (*parse)(const cli_args *a, const char *text, void *options);
    int (*list)(const cli_args *a, const char *const *items, size_t n, void *options);
    /* --help: "--batch B" then help; lines after a '\n' are indented under
     * it. usage replaces "--batch B" ("--beta1/--beta2/--eps"); hidden
     * options (an alias, one shown on another's line) have no line. */
    const char *help;
    const char *usage;
    int hidden;
} cli_option;

/* --kernels, the same for every command that takes it: names, message and
 * help from clrnn_kernels_count() / clrnn_kernels_name(). */
#define CLI_OPTION_KERNELS(type, field)                                                            \
    {                                                                                              \
        .name = "--kernels", .value = "K", .kind = CLI_KERNELS, .offset = offsetof(type, field)    \
    }

#define CLI_MAX_OPTIONS 64

typedef struct cli_command {
    const char *name;          /* for messages: "clrnn train" */
    const char *about;         /* --help before the options: usage line, prose, heading */
    const cli_option *options; /* ends with an entry whose name is NULL */
    int width;                 /* --help: the column of the options' names */
    const char *footer;        /* --help after the options, or NULL */
} cli_command;

/* The parse of one command line. */
struct cli_args {
    const cli_command *command;
    const char *name;                     /* the command's, for messages */
    const char *flag;                     /* the flag just read, for messages */
    char flag_part[64];                   /* the flag of "--flag=value" */
    unsigned char given[CLI_MAX_OPTIONS]; /* by index in command->options */
};

/* Reads argv[1..argc) into options. CLI_OK to go on; CLI_HELP_SHOWN after
 * printing the usage on stdout for --help or -h; CLI_BAD_INPUT after one
 * line on stderr (an unknown option, a missing or bad value). */
cli_status cli_parse(cli_args *a, const cli_command *command, int argc, char **argv, void *options);
/* Was the option `name` on the command line? */
int cli_given(const cli_args *a, const char *name);
void cli_usage(const cli_command *command, FILE *out);

/* Value parsers for CLI_CUSTOM and CLI_LIST functions: 0 after one line
 * naming a->flag when text is bad. */
int cli_parse_size(const cli_args *a, const char *text, size_t min, size_t max, size_t *out);
int cli_parse_double(const cli_args *a, const char *text, double min, double max, double *out);
/* One of the words of `choices` (NULL-terminated); *out is its index. */
int cli_parse_choice(const cli_args *a, const char *text, const char *const *choices, int *out);
/* Splits "a,b,c" into at most max pieces (pointers into a copy kept in buf). */
int cli_split_list(const cli_args *a, const char *text, char *buf, size_t buf_size,
                   const char **items, size_t max, size_t *n);
/* A flag's list outside cli_parse (columns named by --features). */
int cli_split_flag_list(const char *command, const char *flag, const char *text, char *buf,
                        size_t buf_size, const char **items, size_t max, size_t *n);

/* Reports "clrnn train: unknown option '--x' (see clrnn train --help)", or
 * "unexpected argument 'x'" for a word that is not a flag; returns 0. */
int cli_unknown(const cli_args *a);
/* An error's message in the command line's terms: what it names between
 * backquotes in the library's terms said as the flag (`max_batch` as
 * --batch, `clrnn_list_devices` as 'clrnn devices'). Returns out. */
const char *cli_message(char *out, size_t size, const clrnn_error *err);
/* Prints "clrnn <cmd>: <message>" of an error, in the command line's terms
 * (cli_message), and returns CLI_BAD_INPUT. */
int cli_error(const char *command, const clrnn_error *err);

#endif
