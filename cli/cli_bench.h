/* Internal: what clrnn bench shares with clrnn tune (cli_bench.c): the
 * suite's shapes, their random problems, and a run of training steps. */
#ifndef CLRNN_CLI_BENCH_H
#define CLRNN_CLI_BENCH_H

#include <stdint.h>

#include "cli_args.h"
#include "clrnn.h"

typedef struct bench_shape {
    char name[32];
    clrnn_layer_shape layer; /* one layer: the suite's shapes are single layers */
    size_t seq_len, batch;
} bench_shape;

/* A suite name or NAME=I:H:O/T/B into shape; 0 (said on stderr) if neither. */
/* --precision's list (fp32, fp64) into precisions[0] and [1] (1: chosen). */
int bench_parse_precisions(const cli_args *a, const char *const *items, size_t n, int *precisions);
int bench_parse_shape(const cli_args *a, const char *text, bench_shape *shape);

/* The random problem of a shape: table, model, a ring of batches. */
enum { N_BATCHES = 8 };
typedef struct bench_problem {
    clrnn_model *model;
    double *x, *y;
    size_t rows;
    uint32_t *starts; /* (N_BATCHES, B) */
} bench_problem;

clrnn_status bench_make_problem(bench_problem *p, const bench_shape *s, clrnn_error *err);
void bench_free_problem(bench_problem *p);
/* Steps first .. first+n-1 (batches of the staged ring, SGD), then waits
 * for the device. */
clrnn_status bench_run_steps(clrnn_backend *b, const bench_problem *p, const bench_shape *s,
                             size_t first, size_t n, clrnn_error *err);
/* Runs whole steps of b from batch `first` on, their count doubling until
 * the run lasts `seconds`: the steps run into *steps, their time into
 * *elapsed. */
clrnn_status bench_timed_run(clrnn_backend *b, const bench_problem *p, const bench_shape *s,
                             size_t first, double seconds, size_t *steps, double *elapsed,
                             clrnn_error *err);
/* The n backends (a NULL one skipped) take turns: `rounds` timed runs each
 * of seconds / rounds, backend k's from batch first + done[k] (done[k]
 * counts its steps), fastest[k] its fastest run's seconds a step. On a
 * machine whose speed moves with other work all are seen at the same
 * moments, and the fastest run is the least disturbed. */
clrnn_status bench_take_turns(clrnn_backend *const *b, size_t n, const bench_problem *p,
                              const bench_shape *s, size_t first, int rounds, double seconds,
                              size_t *done, double *fastest, clrnn_error *err);

#endif
