/*
 * Internal: the command-line tool under mpirun (cli_mpi.c, built with
 * CLRNN_MPI) or alone (cli_mpi_off.c). The library knows nothing of MPI: it
 * sees a clrnn_exchange (backend/exchange.h).
 *
 * Under mpirun every rank runs the same command; only rank 0 prints and
 * writes files: the others send stdout to /dev/null and hold their stderr,
 * shown only where a failure is theirs to report. Failures meet at
 * agreement points (cli_dist_agree) and at the end (cli_dist_finish), so
 * that a failure on any rank stops every rank with that rank's one line and
 * a non-zero exit, never a hang.
 */
#ifndef CLRNN_CLI_MPI_H
#define CLRNN_CLI_MPI_H

#include <stddef.h>
#include <stdint.h>

#include "backend/exchange.h"

/* Joins MPI when launched by mpirun (or srun): the environment says so;
 * a plain `clrnn ...` never starts MPI. */
void cli_dist_init(int *argc, char ***argv);
int cli_dist_rank(void);
int cli_dist_size(void);       /* 1 alone */
int cli_dist_local_rank(void); /* among the ranks on this node */
/* The transport for a backend (NULL alone). */
clrnn_exchange *cli_dist_exchange(void);
/* Every rank calls it at the same point: 1 when all are ok. Else the lowest
 * rank that failed has shown its message, and all return 0. */
int cli_dist_agree(int ok);
/* The lowest rank whose value differs from rank 0's (-1: none). */
int cli_dist_differs(uint64_t value);
/* Per rank, gathered at rank 0: n values each into all (size * n) there. */
void cli_dist_gather(const double *mine, double *all, size_t n);
/* Per rank, n bytes (n may differ between ranks), gathered at rank 0:
 * there *all (malloc'ed) holds the ranks' bytes one after another in rank
 * order, sizes[r] (size entries) how many each sent; elsewhere *all is
 * NULL. Every rank calls it at the same point, and every rank gets the
 * same answer: 0 where rank 0 had no memory for them (nothing said). */
int cli_dist_gather_bytes(const void *mine, size_t n, unsigned char **all, size_t *sizes);
/* The exit code of the command on every rank: the worst one; MPI ended. A
 * rank that failed where the others are not (they wait inside training)
 * shows its message and aborts them all. */
int cli_dist_finish(int exit_code);

#endif
