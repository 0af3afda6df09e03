/*
 * The command-line tool under MPI (CLRNN_MPI): joining, the transport the
 * backend's data parallel batches use (point to point along the ranks and
 * one broadcast, docs/scaling.md), agreement on failures and the end.
 */
#include <limits.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli_mpi.h"
#include "core/clock.h"

/* How long a rank that failed waits at the end for the others to arrive
 * before it decides they wait for it inside training and aborts them. */
#define FINISH_WAIT_SECONDS 5.0

static struct {
    int on, rank, size, local_rank;
    FILE *held;      /* ranks past 0: what they wrote to stderr */
    int real_stderr; /* ... and where stderr went before */
    clrnn_exchange exchange;
} dist = {0, 0, 1, 0, NULL, -1, {0}};

/* The test hook CLRNN_MPI_FAIL=R:N[:how]: on rank R, training batch N
 * fails. how: "device" (default) as a device error would, which every
 * rank learns through the batch's sums; "send": sending the sums fails,
 * which the others do not learn (they wait: cli_dist_finish stops them);
 * "crash": the process dies (mpirun stops the others). */
static struct {
    long batch; /* counting from 0; -1 none */
    char how[16];
} hook = {-1, ""};

static void read_hook(void)
{
    const char *text = getenv("CLRNN_MPI_FAIL");
    int rank;
    long batch;
    char how[16] = "device";
    if (!text || sscanf(text, "%d:%ld:%15s", &rank, &batch, how) < 2 || rank != dist.rank ||
        batch < 1)
        return;
    hook.batch = batch - 1;
    snprintf(hook.how, sizeof hook.how, "%s", how);
    if (strcmp(how, "device") == 0)
        dist.exchange.fail_batch = hook.batch;
}

static int mpi_send(void *context, const void *data, size_t bytes, int to)
{
    (void)context;
    if (dist.exchange.batches == hook.batch && strcmp(hook.how, "send") == 0)
        return 0;
    if (dist.exchange.batches == hook.batch && strcmp(hook.how, "crash") == 0)
        _exit(3);
    return bytes <= INT_MAX &&
           MPI_Send(data, (int)bytes, MPI_BYTE, to, 0, MPI_COMM_WORLD) == MPI_SUCCESS;
}

static int mpi_recv(void *context, void *data, size_t bytes, int from)
{
    (void)context;
    return bytes <= INT_MAX && MPI_Recv(data, (int)bytes, MPI_BYTE, from, 0, MPI_COMM_WORLD,
                                        MPI_STATUS_IGNORE) == MPI_SUCCESS;
}

static int mpi_bcast(void *context, void *data, size_t bytes, int root)
{
    (void)context;
    return bytes <= INT_MAX &&
           MPI_Bcast(data, (int)bytes, MPI_BYTE, root, MPI_COMM_WORLD) == MPI_SUCCESS;
}

static int launched_by_mpirun(void)
{
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMI_SIZE") || getenv("PMIX_RANK") ||
           getenv("PMI_RANK");
}

void cli_dist_init(int *argc, char ***argv)
{
    if (!launched_by_mpirun())
        return;
    if (MPI_Init(argc, argv) != MPI_SUCCESS)
        return;
    dist.on = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &dist.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &dist.size);
    MPI_Comm node;
    if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, dist.rank, MPI_INFO_NULL,
                            &node) == MPI_SUCCESS) {
        MPI_Comm_rank(node, &dist.local_rank);
        MPI_Comm_free(&node);
    }
    dist.exchange = (clrnn_exchange){.rank = dist.rank,
                                     .size = dist.size,
                                     .send = mpi_send,
                                     .recv = mpi_recv,
                                     .bcast = mpi_bcast,
                                     .fail_batch = -1};
    read_hook();
    if (dist.rank == 0)
        return;
    /* Only rank 0 prints; the others' stderr waits in a file. */
    fflush(stdout);
    fflush(stderr);
    if (!freopen("/dev/null", "w", stdout))
        return;
    dist.held = tmpfile();
    dist.real_stderr = dist.held ? dup(STDERR_FILENO) : -1;
    if (dist.real_stderr >= 0)
        dup2(fileno(dist.held), STDERR_FILENO);
}

int cli_dist_rank(void)
{
    return dist.rank;
}

int cli_dist_size(void)
{
    return dist.size;
}

int cli_dist_local_rank(void)
{
    return dist.local_rank;
}

clrnn_exchange *cli_dist_exchange(void)
{
    return dist.on && dist.size > 1 ? &dist.exchange : NULL;
}

/* This rank's held stderr to the real one, once. */
static void show_held(void)
{
    if (!dist.held || dist.real_stderr < 0)
        return;
    fflush(stderr);
    int fd = fileno(dist.held);
    struct stat info;
    char buf[4096];
    off_t at = 0;
    while (fstat(fd, &info) == 0 && at < info.st_size) {
        ssize_t got = pread(fd, buf, sizeof buf, at);
        if (got <= 0 || write(dist.real_stderr, buf, (size_t)got) != got)
            break;
        at += got;
    }
    if (ftruncate(fd, 0) == 0)
        lseek(fd, 0, SEEK_SET);
}

int cli_dist_agree(int ok)
{
    if (!dist.on || dist.size == 1)
        return ok;
    int mine = ok ? dist.size : dist.rank, lowest = dist.size;
    MPI_Allreduce(&mine, &lowest, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (lowest == dist.size)
        return 1;
    if (lowest == dist.rank)
        show_held();
    return 0;
}

int cli_dist_differs(uint64_t value)
{
    if (!dist.on || dist.size == 1)
        return -1;
    uint64_t first = value;
    MPI_Bcast(&first, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
    int mine = value == first ? dist.size : dist.rank, lowest = dist.size;
    MPI_Allreduce(&mine, &lowest, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    return lowest == dist.size ? -1 : lowest;
}

void cli_dist_gather(const double *mine, double *all, size_t n)
{
    if (!dist.on || dist.size == 1) {
        for (size_t i = 0; i < n; i++)
            all[i] = mine[i];
        return;
    }
    MPI_Gather(mine, (int)n, MPI_DOUBLE, all, (int)n, MPI_DOUBLE, 0, MPI_COMM_WORLD);
}

/* The tag of cli_dist_gather_bytes's messages (the exchange's are 0), and
 * the most one message carries (MPI counts are ints). */
#define GATHER_TAG 1
#define GATHER_PIECE ((size_t)1 << 30)

int cli_dist_gather_bytes(const void *mine, size_t n, unsigned char **all, size_t *sizes)
{
    *all = NULL;
    if (!dist.on || dist.size == 1) {
        *all = malloc(n ? n : 1);
        if (*all && n)
            memcpy(*all, mine, n);
        sizes[0] = n;
        return *all != NULL;
    }
    uint64_t n64 = n, *each = malloc((size_t)dist.size * sizeof *each);
    int ok = each != NULL, all_ok = 0;
    /* Every rank learns every size: a rank without memory for them says so. */
    MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (!all_ok) {
        free(each);
        return 0;
    }
    MPI_Allgather(&n64, 1, MPI_UINT64_T, each, 1, MPI_UINT64_T, MPI_COMM_WORLD);
    size_t total = 0;
    for (int r = 0; r < dist.size; r++) {
        sizes[r] = (size_t)each[r];
        total += (size_t)each[r];
    }
    free(each);
    ok = 1;
    if (dist.rank == 0) {
        *all = malloc(total ? total : 1);
        ok = *all != NULL;
    }
    MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (!ok)
        return 0;
    if (dist.rank != 0) {
        for (size_t at = 0; at < n; at += GATHER_PIECE) {
            size_t piece = n - at < GATHER_PIECE ? n - at : GATHER_PIECE;
            MPI_Send((const unsigned char *)mine + at, (int)piece, MPI_BYTE, 0, GATHER_TAG,
                     MPI_COMM_WORLD);
        }
        return 1;
    }
    size_t at = 0;
    if (n)
        memcpy(*all, mine, n);
    at = n;
    for (int r = 1; r < dist.size; r++)
        for (size_t done = 0; done < sizes[r]; done += GATHER_PIECE) {
            size_t piece = sizes[r] - done < GATHER_PIECE ? sizes[r] - done : GATHER_PIECE;
            MPI_Recv(*all + at, (int)piece, MPI_BYTE, r, GATHER_TAG, MPI_COMM_WORLD,
                     MPI_STATUS_IGNORE);
            at += piece;
        }
    return 1;
}

/* Waits for a non-blocking collective; a rank that failed waits at most
 * FINISH_WAIT_SECONDS (0: it timed out). */
static int wait_for(MPI_Request *request, int failed)
{
    double until = clock_seconds() + FINISH_WAIT_SECONDS;
    for (;;) {
        int done = 0;
        MPI_Test(request, &done, MPI_STATUS_IGNORE);
        if (done)
            return 1;
        if (failed && clock_seconds() > until)
            return 0;
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
}

int cli_dist_finish(int exit_code)
{
    if (!dist.on)
        return exit_code;
    if (dist.size > 1) {
        /* The worst exit code, and the lowest rank that failed: it alone
         * shows its message (rank 0's is shown already). */
        int codes[2] = {exit_code, exit_code ? dist.rank : dist.size}, worst[2];
        MPI_Request requests[2];
        MPI_Iallreduce(&codes[0], &worst[0], 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD, &requests[0]);
        MPI_Iallreduce(&codes[1], &worst[1], 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD, &requests[1]);
        if (!wait_for(&requests[0], exit_code != 0) || !wait_for(&requests[1], exit_code != 0)) {
            show_held(); /* the others wait inside training: stop them */
            MPI_Abort(MPI_COMM_WORLD, exit_code);
            return exit_code;
        }
        if (worst[1] == dist.rank)
            show_held();
        exit_code = worst[0];
    }
    fflush(stdout);
    fflush(stderr);
    MPI_Finalize();
    return exit_code;
}
