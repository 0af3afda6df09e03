/* Internal: the progress line of clrnn train (cli_progress.c). */
#ifndef CLRNN_CLI_PROGRESS_H
#define CLRNN_CLI_PROGRESS_H

#include <stddef.h>

/* Whether to draw one: stderr is a terminal and stdout is not a pipe or a
 * socket (whose lines may reach the same terminal later, through the line
 * being drawn: `clrnn train | tee log`). */
int cli_progress_wanted(void);

/* Columns of the terminal on fd: its window size, else $COLUMNS, else 80. */
size_t cli_terminal_width(int fd);

typedef struct cli_progress_state {
    size_t epoch, epochs;      /* 1-based epoch running, of epochs */
    size_t done, total, batch; /* windows the device has done, of total; windows a batch */
    double last_loss;          /* the last epoch's, NaN before one */
    double windows_per_second; /* 0: not known yet */
} cli_progress_state;

/* line <- the progress line, at most width - 1 characters (the last column
 * left free: a terminal may wrap on it), what matters most kept: the epoch,
 * then the batch, the time left, the rate, the loss, the bar. */
void cli_progress_format(char *line, size_t size, size_t width, const cli_progress_state *p);

#endif
