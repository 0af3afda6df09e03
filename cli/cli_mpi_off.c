/* The command-line tool without MPI (CLRNN_MPI off): one process. */
#include <stdlib.h>
#include <string.h>

#include "cli_mpi.h"

void cli_dist_init(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
}

int cli_dist_rank(void)
{
    return 0;
}

int cli_dist_size(void)
{
    return 1;
}

int cli_dist_local_rank(void)
{
    return 0;
}

clrnn_exchange *cli_dist_exchange(void)
{
    return NULL;
}

int cli_dist_agree(int ok)
{
    return ok;
}

int cli_dist_differs(uint64_t value)
{
    (void)value;
    return -1;
}

void cli_dist_gather(const double *mine, double *all, size_t n)
{
    for (size_t i = 0; i < n; i++)
        all[i] = mine[i];
}

int cli_dist_gather_bytes(const void *mine, size_t n, unsigned char **all, size_t *sizes)
{
    *all = malloc(n ? n : 1);
    if (!*all)
        return 0;
    if (n)
        memcpy(*all, mine, n);
    sizes[0] = n;
    return 1;
}

int cli_dist_finish(int exit_code)
{
    return exit_code;
}
