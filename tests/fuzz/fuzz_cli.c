/* libFuzzer harness: the command line's one parser (cli/cli_args.c) over
 * every command's option table. The first byte picks the command; the
 * rest, cut at NUL bytes, is argv. Any argv must be parsed or refused with
 * a status, never a crash, undefined behaviour or a read past an option's
 * value; clrnn train's own checks (train_parse) run too. */
#include <stdalign.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_args.h"
#include "cli_train.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const cli_command *const commands[] = {
    &cli_train_command,   &cli_eval_command,      &cli_predict_command,
    &cli_export_command,  &cli_reproduce_command, &cli_parity_command,
    &cli_devices_command, &cli_bench_command,     &cli_forecast_command,
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])
#define MAX_ARGS 32

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* The parser's messages (fprintf to stdout and stderr) would fill the
     * log; the sanitizers write to descriptor 2, which stays. */
    FILE *null = fopen("/dev/null", "w");
    if (null)
        stdout = stderr = null;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const cli_command *command = commands[data[0] % N_COMMANDS];
    char *text = malloc(size); /* the arguments, each NUL-terminated */
    char *argv[MAX_ARGS + 1];
    int argc = 0;
    if (!text)
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    argv[argc++] = (char *)command->name;
    for (size_t at = 0; at < size - 1 && argc < MAX_ARGS; at += strlen(text + at) + 1)
        argv[argc++] = text + at;
    argv[argc] = NULL;
    if (command == &cli_train_command) {
        train_options o;
        train_parse(&o, argc, argv);
    } else {
        static alignas(max_align_t) unsigned char options[1 << 16];
        cli_args a;
        memset(options, 0, sizeof options);
        cli_parse(&a, command, argc, argv, options);
    }
    free(text);
    return 0;
}
