/* The progress line of clrnn train: what it says, fitted to the terminal. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_progress.h"

int cli_progress_wanted(void)
{
    struct stat out;
    if (!isatty(STDERR_FILENO))
        return 0;
    if (fstat(STDOUT_FILENO, &out) != 0)
        return 1; /* no stdout: nothing to mix with */
    return !S_ISFIFO(out.st_mode) && !S_ISSOCK(out.st_mode);
}

size_t cli_terminal_width(int fd)
{
#ifdef TIOCGWINSZ
    struct winsize ws;
    if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
#endif
    const char *columns = getenv("COLUMNS");
    char *end;
    long n = columns ? strtol(columns, &end, 10) : 0;
    return columns && *end == '\0' && n > 0 && n < 100000 ? (size_t)n : 80;
}

enum { PART_EPOCH, PART_BAR, PART_BATCH, PART_LOSS, PART_RATE, PART_ETA, N_PARTS };

void cli_progress_format(char *line, size_t size, size_t width, const cli_progress_state *p)
{
    char part[N_PARTS][96];
    const size_t batches = (p->total + p->batch - 1) / p->batch;
    const size_t batch = p->done ? (p->done + p->batch - 1) / p->batch : 0;
    snprintf(part[PART_EPOCH], sizeof part[0], "epoch %zu/%zu", p->epoch, p->epochs);
    enum { BAR = 24 };
    const int filled = p->total ? (int)((double)BAR * (double)p->done / (double)p->total) : 0;
    snprintf(part[PART_BAR], sizeof part[0], " [%.*s%*s]", filled,
             "========================", BAR - filled, "");
    snprintf(part[PART_BATCH], sizeof part[0], " batch %zu/%zu", batch, batches);
    part[PART_LOSS][0] = part[PART_RATE][0] = part[PART_ETA][0] = '\0';
    if (isfinite(p->last_loss))
        snprintf(part[PART_LOSS], sizeof part[0], "  loss %.4g (last epoch)", p->last_loss);
    if (p->windows_per_second > 0) {
        snprintf(part[PART_RATE], sizeof part[0], "  %.0f windows/s", p->windows_per_second);
        snprintf(part[PART_ETA], sizeof part[0], "  ETA %.1f s",
                 (double)(p->total - p->done) / p->windows_per_second);
    }
    /* Parts dropped, least wanted first, until the line fits. */
    static const int drop_order[] = {PART_BAR, PART_LOSS, PART_RATE, PART_ETA, PART_BATCH};
    const size_t limit = width > 1 ? width - 1 : 0;
    size_t length = 0;
    for (int i = 0; i < N_PARTS; i++)
        length += strlen(part[i]);
    for (size_t d = 0; length > limit && d < sizeof drop_order / sizeof drop_order[0]; d++) {
        length -= strlen(part[drop_order[d]]);
        part[drop_order[d]][0] = '\0';
    }
    snprintf(line, size, "%s%s%s%s%s%s", part[PART_EPOCH], part[PART_BAR], part[PART_BATCH],
             part[PART_ETA], part[PART_RATE], part[PART_LOSS]);
    if (strlen(line) > limit && limit < size)
        line[limit] = '\0'; /* a terminal too narrow even for "epoch E/N" */
}
