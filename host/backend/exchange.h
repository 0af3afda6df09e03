/*
 * Internal: data parallel training across processes (docs/scaling.md),
 * without any message-passing library's headers. The command-line tool
 * fills a clrnn_exchange from MPI (cli/cli_mpi.c) and hands it to a backend
 * (clrnn__backend_set_exchange); from then on every training batch is
 * shared out over the ranks in contiguous runs of WINDOWS_PER_CHUNK-window
 * chunks, and the ranks' contributions are folded along the ranks in rank
 * order, so that the gradient and the loss have the bits of one process.
 *
 * The three transport calls move bytes and return 0 when the transport
 * failed (MPI's own error handler usually aborts first).
 */
#ifndef CLRNN_EXCHANGE_H
#define CLRNN_EXCHANGE_H

#include <stddef.h>

#include "clrnn.h"

typedef struct clrnn_exchange {
    int rank, size; /* this process, of size */
    void *context;
    int (*send)(void *context, const void *data, size_t bytes, int to);
    int (*recv)(void *context, void *data, size_t bytes, int from);
    int (*bcast)(void *context, void *data, size_t bytes, int root);
    /* Seconds spent, summed over the shared batches: the rank's own work
     * (its windows, its fold, the finish from the total), waiting for and
     * receiving the running sums from the rank before, sending them on
     * (with the wait for the rank after to take them: past MPI's eager
     * size a send waits for its receive), and the broadcast of the total
     * (with the wait for the last rank). */
    double seconds_compute, seconds_recv, seconds_send, seconds_bcast;
    size_t bytes_moved; /* sent and received by this rank */
    long batches;
    /* A test hook (CLRNN_MPI_FAIL, cli_mpi.c): this rank's share of batch
     * number fail_batch (counting from 0; -1 never) fails as a device error
     * would. */
    long fail_batch;
} clrnn_exchange;

/* Shares every later training batch (clrnn_backend_gradients_staged) of
 * backend over exchange's ranks; NULL, or a size of 1, runs alone. The
 * exchange must outlive the backend's use of it. */
void clrnn__backend_set_exchange(clrnn_backend *backend, clrnn_exchange *exchange);

/* Windows a chunk: the unit a batch is shared out in. It is the OpenCL
 * kernels' WINDOWS_PER_CHUNK (opencl/runtime.h checks), so that a rank's
 * chunks are chunks of the whole batch, summed to the same bits. */
#define CLRNN_SHARE_CHUNK 32

/* Windows [*first, *first + *n) of a batch of B: rank's contiguous run of
 * whole chunks, chunks [rank C / size, (rank + 1) C / size) of the batch's C =
 * ceil(B / CLRNN_SHARE_CHUNK); *n = 0 where it has none (size > C). */
void clrnn__share_range(size_t B, int rank, int size, size_t *first, size_t *n);

/* Where ranks share a node: "opencl:P.D" of its GPU number k modulo the
 * node's usable GPUs (in platform order) into spec; returns how many there
 * are (0: none, or no OpenCL; spec untouched). */
size_t clrnn__gpu_spec(size_t k, char *spec, size_t size);

#endif
