/*
 * clrnn bench: training throughput of the CPU reference and of each OpenCL
 * device over a suite of shapes, in window-steps per second and GFLOP/s,
 * with the device time of each kernel from OpenCL profiling events.
 *
 * A measured step is what training does per batch: forward, loss, BPTT, the
 * gradient reduction and an SGD-with-momentum update, on B windows of T
 * steps drawn at random from a random table that was staged once. Timing
 * is wall-clock over whole steps and ends with a read of the loss, which
 * waits for the device. Benchmarks, not tests: no figure here is asserted.
 *
 * FLOPs counted per window-step and layer (a multiply-add is 2, tanh 1):
 *   forward   2IH + 2HH + 2HO + 2H + O     (x W_i, h W_h, bias, tanh; h W_o + b_o)
 *   loss      3O                           (top layer only)
 *   backward  2OH + 2HH + 3H               (d_t and g_t)
 *             2HO + O + 2HH + 2IH + H      (dW_o, db_o, dW_h, dW_i, db_i)
 *             2IH                          (dx, layers above the first)
 * plus 4P per step for the update.
 */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_args.h"
#include "cli_bench.h"
#include "clrnn.h"
#include "core/clock.h"
#include "core/error.h"
#include "io/files.h"

#define MAX_SHAPES 16
#define MAX_DEVICES 16
#define MAX_MODEL_COUNTS 16
#define MAX_GROUP 4096

/* The suite: the notebook's run, the default `clrnn train`, and two larger
 * shapes where the device has work to share out. */
static const bench_shape suite[] = {
    {"notebook", {3, 4, 1}, 7, 668},
    {"weather", {3, 16, 1}, 7, 32},
    {"medium", {8, 64, 1}, 32, 1024},
    {"large", {32, 256, 1}, 64, 256},
};

#define MAX_CANDIDATES 8

typedef struct bench_options {
    bench_shape shapes[MAX_SHAPES];
    size_t n_shapes;
    const char *devices[MAX_DEVICES];
    size_t n_devices;
    int precisions[2]; /* fp32, fp64 wanted */
    double seconds;
    size_t warmup;
    int profile;
    const char *csv;
    const char *tuning; /* --tuning: the family's tunables, NAME=V ... (one candidate) */
    /* --tuning 'A|B|...': the candidates, timed in turns (measure_turns) */
    char candidate_text[512];
    const char *candidates[MAX_CANDIDATES];
    size_t n_candidates;
    clrnn_kernels kernels;
    int no_tune_cache, verbose;
    char device_names[512];          /* what devices[] points into */
    size_t models[MAX_MODEL_COUNTS]; /* --models: the group sizes measured */
    size_t n_models;
} bench_options;

int bench_parse_shape(const cli_args *a, const char *text, bench_shape *shape)
{
    for (size_t i = 0; i < sizeof suite / sizeof suite[0]; i++)
        if (strcmp(text, suite[i].name) == 0) {
            *shape = suite[i];
            return 1;
        }
    const char *eq = strchr(text, '=');
    size_t I, H, O, T, B;
    char tail;
    if (eq && eq - text < (long)sizeof shape->name &&
        sscanf(eq + 1, "%zu:%zu:%zu/%zu/%zu%c", &I, &H, &O, &T, &B, &tail) == 5 && I && H && O &&
        T && B) {
        memset(shape, 0, sizeof *shape);
        memcpy(shape->name, text, (size_t)(eq - text));
        shape->layer = (clrnn_layer_shape){I, H, O};
        shape->seq_len = T;
        shape->batch = B;
        return 1;
    }
    fprintf(stderr,
            "%s: --shapes '%s': expected notebook, weather, medium, large or NAME=I:H:O/T/B\n",
            a->name, text);
    return 0;
}

static int parse_shapes(const cli_args *a, const char *const *items, size_t n, void *options)
{
    bench_options *o = options;
    for (size_t i = 0; i < n; i++)
        if (!bench_parse_shape(a, items[i], &o->shapes[i]))
            return 0;
    o->n_shapes = n;
    return 1;
}

static int parse_devices(const cli_args *a, const char *const *items, size_t n, void *options)
{
    bench_options *o = options;
    size_t used = 0;
    (void)a;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(items[i]) + 1; /* the items fit: they came from as long a list */
        o->devices[i] = memcpy(o->device_names + used, items[i], len);
        used += len;
    }
    o->n_devices = n;
    return 1;
}

static int parse_models(const cli_args *a, const char *const *items, size_t n, void *options)
{
    bench_options *o = options;
    for (size_t i = 0; i < n; i++)
        if (!cli_parse_size(a, items[i], 1, MAX_GROUP, &o->models[i]))
            return 0;
    o->n_models = n;
    return 1;
}

int bench_parse_precisions(const cli_args *a, const char *const *items, size_t n, int *precisions)
{
    static const char *const names[] = {"fp32", "fp64", NULL};
    precisions[0] = precisions[1] = 0;
    for (size_t i = 0; i < n; i++) {
        int which;
        if (!cli_parse_choice(a, items[i], names, &which))
            return 0;
        precisions[which] = 1;
    }
    return 1;
}

static int parse_precisions(const cli_args *a, const char *const *items, size_t n, void *options)
{
    return bench_parse_precisions(a, items, n, ((bench_options *)options)->precisions);
}

#define AT(field) offsetof(bench_options, field)

static const cli_option options[] = {
    {"--shapes", "LIST", CLI_LIST, 0, 0, MAX_SHAPES, .list = parse_shapes,
     .help = "names from the suite, or NAME=I:H:O/T/B (default: all)"},
    {"--devices", "LIST", CLI_LIST, 0, 0, MAX_DEVICES, .list = parse_devices,
     .help = "cpu, opencl, opencl:P.D (default: cpu,opencl)"},
    {"--precision", "LIST", CLI_LIST, 0, 0, 2, .list = parse_precisions,
     .help = "fp32, fp64 for OpenCL (default: fp32,fp64)"},
    {"--seconds", "S", CLI_DOUBLE, AT(seconds), 0.01, 3600,
     .help = "minimum timed seconds per measurement (1)"},
    {"--warmup", "N", CLI_SIZE, AT(warmup), 0, 1000000, .help = "untimed steps before timing (2)"},
    CLI_OPTION_KERNELS(bench_options, kernels),
    {"--no-profile", NULL, CLI_UNFLAG, AT(profile), .help = "skip the per-kernel times"},
    {"--models", "LIST", CLI_LIST, 0, 0, MAX_MODEL_COUNTS, .list = parse_models,
     .help = "groups of N same-shape models trained at once, e.g. 1,8,64\n"
             "(default 1): aggregate window-steps/s = models x windows x steps"},
    {"--csv", "FILE", CLI_STRING, AT(csv), .help = "also write the table as CSV"},
    {"--no-tune-cache", NULL, CLI_FLAG, AT(no_tune_cache),
     .help = "ignore the tuning cache (clrnn tune): device-derived defaults"},
    {"--tuning", "TEXT", CLI_STRING, AT(tuning),
     .help = "the kernel family's tunables, e.g. 'WB=8 JB=2' (clrnn tune\n"
             "--verbose lists them), the rest derived from the device;\n"
             "'A|B|...' (an empty one: the derived values) times up to 8\n"
             "candidates in turns, 5 runs each, each rate its fastest run"},
    {"--verbose", NULL, CLI_FLAG, AT(verbose),
     .help = "say where each family's tunables came from"},
    {0},
};

const cli_command cli_bench_command = {
    .name = "clrnn bench",
    .about = "usage: clrnn bench [options]\n"
             "\n"
             "Measures training throughput (forward, loss, BPTT, gradient reduction and SGD\n"
             "update per step) on the CPU reference and on OpenCL devices, and prints\n"
             "window-steps per second, GFLOP/s, the speed-up over the CPU reference, the\n"
             "device time of each kernel, and each OpenCL device's arithmetic peak, measured\n"
             "with chains of fused multiply-adds on its native vectors, with each shape's\n"
             "GFLOP/s as a share of it. Shapes (one layer, n_out 1):\n"
             "  notebook  n_in 3, n_hidden 4, seq-len 7, batch 668 (the notebook's run)\n"
             "  weather   n_in 3, n_hidden 16, seq-len 7, batch 32 (clrnn train's defaults)\n"
             "  medium    n_in 8, n_hidden 64, seq-len 32, batch 1024\n"
             "  large     n_in 32, n_hidden 256, seq-len 64, batch 256\n"
             "With --models N, N models of the shape (each its own parameters and window\n"
             "order) train as one group (clrnn_backend_gradients_group), and the rates are\n"
             "the group's: N x windows x steps a second.\n"
             "\n"
             "options:\n",
    .options = options,
    .width = 18,
};

static cli_status parse(bench_options *o, int argc, char **argv)
{
    memset(o, 0, sizeof *o);
    for (size_t i = 0; i < sizeof suite / sizeof suite[0]; i++)
        o->shapes[o->n_shapes++] = suite[i];
    o->devices[0] = "cpu";
    o->devices[1] = "opencl";
    o->n_devices = 2;
    o->precisions[0] = o->precisions[1] = 1;
    o->seconds = 1.0;
    o->warmup = 2;
    o->profile = 1;
    o->models[0] = 1;
    o->n_models = 1;
    cli_args a;
    cli_status st = cli_parse(&a, &cli_bench_command, argc, argv, o);
    if (st != CLI_OK || !o->tuning || !strchr(o->tuning, '|'))
        return st;
    if (strlen(o->tuning) >= sizeof o->candidate_text) {
        fprintf(stderr, "clrnn bench: --tuning: at most %zu characters\n",
                sizeof o->candidate_text - 1);
        return CLI_BAD_INPUT;
    }
    snprintf(o->candidate_text, sizeof o->candidate_text, "%s", o->tuning);
    for (char *c = o->candidate_text;; c++) {
        if (o->n_candidates == MAX_CANDIDATES) {
            fprintf(stderr, "clrnn bench: --tuning '%s': at most %d candidates\n", o->tuning,
                    MAX_CANDIDATES);
            return CLI_BAD_INPUT;
        }
        o->candidates[o->n_candidates++] = c;
        c = strchr(c, '|');
        if (!c)
            break;
        *c = '\0';
    }
    o->tuning = NULL; /* the CPU reference takes none */
    return CLI_OK;
}

static double flops_per_step(const bench_shape *s, size_t n_params)
{
    double I = (double)s->layer.n_in, H = (double)s->layer.n_hidden, O = (double)s->layer.n_out;
    double forward = 2 * I * H + 2 * H * H + 2 * H * O + 2 * H + O;
    double loss = 3 * O;
    double backward = 2 * O * H + 2 * H * H + 3 * H + 2 * H * O + O + 2 * H * H + 2 * I * H + H;
    return (double)(s->batch * s->seq_len) * (forward + loss + backward) + 4.0 * (double)n_params;
}

clrnn_status bench_make_problem(bench_problem *p, const bench_shape *s, clrnn_error *err)
{
    memset(p, 0, sizeof *p);
    clrnn_rng rng;
    clrnn_rng_seed(&rng, 42);
    clrnn_status st = clrnn_model_create(&p->model, &s->layer, 1, err);
    if (st != CLRNN_OK)
        return st;
    clrnn_model_init_uniform(p->model, &rng);
    p->rows = s->batch + s->seq_len + 1000;
    p->x = malloc(p->rows * s->layer.n_in * sizeof *p->x);
    p->y = malloc(p->rows * s->layer.n_out * sizeof *p->y);
    p->starts = malloc(N_BATCHES * s->batch * sizeof *p->starts);
    if (!p->x || !p->y || !p->starts)
        return CLRNN_E_NOMEM;
    for (size_t i = 0; i < p->rows * s->layer.n_in; i++)
        p->x[i] = 2 * clrnn_rng_uniform(&rng) - 1;
    for (size_t i = 0; i < p->rows * s->layer.n_out; i++)
        p->y[i] = 2 * clrnn_rng_uniform(&rng) - 1;
    for (size_t i = 0; i < N_BATCHES * s->batch; i++)
        p->starts[i] = clrnn_rng_below(&rng, (uint32_t)(p->rows - s->seq_len + 1));
    return CLRNN_OK;
}

void bench_free_problem(bench_problem *p)
{
    clrnn_model_free(p->model);
    free(p->x);
    free(p->y);
    free(p->starts);
}

typedef struct bench_result {
    double window_steps_per_second, gflops, seconds;
    double peak_gflops; /* the device's measured peak at this precision; NaN on the CPU */
    size_t steps;
    clrnn_kernel_time kernels[16];
    size_t n_kernels;
    char description[256];
    char tuning[128]; /* measure_turns: the candidate ("derived" for an empty one) */
} bench_result;

clrnn_status bench_run_steps(clrnn_backend *b, const bench_problem *p, const bench_shape *s,
                             size_t first, size_t n, clrnn_error *err)
{
    /* A small lr keeps the random model finite however long it runs. */
    clrnn_optimizer sgd = {.kind = CLRNN_SGD, .lr = 1e-6, .momentum = 0.9};
    clrnn_status st = CLRNN_OK;
    const size_t M = clrnn_backend_n_models(b);
    if (M > 1) { /* a group: every model a step at once, as clrnn_train_group */
        clrnn_optimizer *opts = malloc(M * sizeof *opts);
        if (!opts)
            return CLRNN_E_NOMEM;
        for (size_t k = 0; k < M; k++)
            opts[k] = sgd;
        for (size_t i = first; st == CLRNN_OK && i < first + n; i++) {
            st = clrnn_backend_gradients_group(b, (i % N_BATCHES) * s->batch, s->batch, NULL, err);
            if (st == CLRNN_OK)
                st = clrnn_backend_update_group(b, opts, NULL, err);
        }
        free(opts);
        double loss;
        if (st == CLRNN_OK)
            st = clrnn_backend_finish(b, err);
        for (size_t k = 0; st == CLRNN_OK && k < M; k++)
            if ((st = clrnn_backend_select_model(b, k, err)) == CLRNN_OK)
                st = clrnn_backend_take_loss_sum(b, &loss, err);
        return st;
    }
    /* As clrnn train does: the batches' windows staged once (an epoch). */
    for (size_t i = first; st == CLRNN_OK && i < first + n; i++) {
        st = clrnn_backend_gradients_staged(b, (i % N_BATCHES) * s->batch, s->batch, err);
        if (st == CLRNN_OK)
            st = clrnn_backend_update(b, &sgd, err);
    }
    double loss;
    if (st == CLRNN_OK) /* waits for the device */
        st = clrnn_backend_take_loss_sum(b, &loss, err);
    return st;
}

clrnn_status bench_timed_run(clrnn_backend *b, const bench_problem *p, const bench_shape *s,
                             size_t first, double seconds, size_t *steps, double *elapsed,
                             clrnn_error *err)
{
    size_t n = 1;
    clrnn_status st = CLRNN_OK;
    *steps = 0;
    *elapsed = 0;
    while (st == CLRNN_OK) {
        double t0 = clock_seconds();
        st = bench_run_steps(b, p, s, first + *steps, n, err);
        *elapsed += clock_seconds() - t0;
        *steps += n;
        if (*elapsed >= seconds)
            break;
        n = *steps;
    }
    return st;
}

clrnn_status bench_take_turns(clrnn_backend *const *b, size_t n, const bench_problem *p,
                              const bench_shape *s, size_t first, int rounds, double seconds,
                              size_t *done, double *fastest, clrnn_error *err)
{
    clrnn_status st = CLRNN_OK;
    for (size_t k = 0; k < n; k++)
        fastest[k] = INFINITY;
    for (int round = 0; st == CLRNN_OK && round < rounds; round++)
        for (size_t k = 0; st == CLRNN_OK && k < n; k++) {
            size_t steps;
            double elapsed;
            if (!b[k])
                continue;
            st = bench_timed_run(b[k], p, s, first + done[k], seconds / rounds, &steps, &elapsed,
                                 err);
            done[k] += steps;
            if (st == CLRNN_OK && elapsed / (double)steps < fastest[k])
                fastest[k] = elapsed / (double)steps;
        }
    return st;
}

/* Each OpenCL device's peak, measured once per precision and printed then. */
static struct {
    char device[64];
    clrnn_precision precision;
    double gflops;
} peaks[2 * MAX_DEVICES];
static size_t n_peaks;

static double device_peak(clrnn_backend *b, const char *device, clrnn_precision precision)
{
    for (size_t i = 0; i < n_peaks; i++)
        if (peaks[i].precision == precision && strcmp(peaks[i].device, device) == 0)
            return peaks[i].gflops;
    clrnn_peak peak;
    clrnn_error err;
    double gflops = NAN;
    if (clrnn_backend_peak(b, &peak, &err) == CLRNN_OK) {
        gflops = peak.gflops;
        printf("  %-8s %-32.32s %-5s peak %.4g GFLOP/s (FMA chains on %u-wide vectors, %zu "
               "work-items, %u compute units)\n",
               "", clrnn_backend_device_name(b), precision == CLRNN_FP64 ? "fp64" : "fp32",
               peak.gflops, peak.vector_width, peak.work_items, peak.compute_units);
    }
    if (n_peaks < sizeof peaks / sizeof peaks[0]) {
        snprintf(peaks[n_peaks].device, sizeof peaks[n_peaks].device, "%s", device);
        peaks[n_peaks].precision = precision;
        peaks[n_peaks++].gflops = gflops;
    }
    return gflops;
}

/* Each of the group's M models its own order: the ring rotated by k
 * windows; the models' own parameters: model 0's perturbed by k. */
static clrnn_status stage_group(clrnn_backend *b, const bench_problem *p, const bench_shape *s,
                                size_t M, clrnn_error *err)
{
    const size_t n = N_BATCHES * s->batch, P = clrnn_model_n_params(p->model);
    uint32_t *orders = malloc(M * n * sizeof *orders);
    double *params = malloc(P * sizeof *params);
    clrnn_status st = orders && params ? CLRNN_OK
                                       : clrnn__fail(err, CLRNN_E_NOMEM,
                                                     "out of memory for %zu models' orders", M);
    for (size_t k = 0; st == CLRNN_OK && k < M; k++) {
        for (size_t i = 0; i < n; i++)
            orders[k * n + i] = p->starts[(i + k) % n];
        for (size_t q = 0; q < P; q++)
            params[q] = clrnn_model_params_const(p->model)[q] * (1.0 + 1e-3 * (double)k);
        st = clrnn_backend_select_model(b, k, err);
        if (st == CLRNN_OK)
            st = clrnn_backend_set_params(b, params, err);
    }
    if (st == CLRNN_OK)
        st = clrnn_backend_stage_orders(b, orders, n, err);
    free(orders);
    free(params);
    return st;
}

/* A backend of the shape on device at precision with `tuning`, its
 * problem staged, warmed up and (with --profile, OpenCL) profiling;
 * r->peak_gflops the device's peak (NaN on the CPU). */
static clrnn_status open_backend(clrnn_backend **out, bench_result *r, const bench_options *o,
                                 const bench_shape *s, const bench_problem *p, const char *device,
                                 clrnn_precision precision, size_t models, const char *tuning,
                                 clrnn_error *err)
{
    clrnn_backend_config cfg = {.device = device,
                                .precision = precision,
                                .seq_len = s->seq_len,
                                .max_batch = s->batch,
                                .kernels = o->kernels,
                                .no_tune_cache = o->no_tune_cache,
                                .tuning = tuning,
                                .tune_log = stderr,
                                .tune_verbose = o->verbose,
                                .n_models = models};
    clrnn_backend *b = NULL;
    memset(r, 0, sizeof *r);
    clrnn_status st = clrnn_backend_create(&b, p->model, &cfg, err);
    if (st == CLRNN_OK)
        st = clrnn_backend_stage(b, p->x, p->y, p->rows, err);
    if (st == CLRNN_OK && models > 1)
        st = stage_group(b, p, s, models, err);
    else if (st == CLRNN_OK)
        st = clrnn_backend_stage_order(b, p->starts, N_BATCHES * s->batch, err);
    r->peak_gflops =
        st == CLRNN_OK && clrnn_backend_is_opencl(b) ? device_peak(b, device, precision) : NAN;
    if (st == CLRNN_OK)
        st = bench_run_steps(b, p, s, 0, o->warmup, err);
    if (st == CLRNN_OK && o->profile && clrnn_backend_is_opencl(b))
        st = clrnn_backend_set_profiling(b, 1, err);
    if (st == CLRNN_OK)
        *out = b;
    else
        clrnn_backend_free(b);
    return st;
}

/* r's rates from `done` steps in `seconds`, its kernel times (profiling)
 * and description. */
static clrnn_status finish_result(bench_result *r, clrnn_backend *b, const bench_options *o,
                                  const bench_shape *s, const bench_problem *p, size_t models,
                                  size_t done, double seconds, clrnn_error *err)
{
    clrnn_status st = CLRNN_OK;
    if (o->profile && clrnn_backend_is_opencl(b)) {
        r->n_kernels = sizeof r->kernels / sizeof r->kernels[0];
        st = clrnn_backend_kernel_times(b, r->kernels, &r->n_kernels, err);
    }
    r->steps = done;
    r->seconds = seconds;
    const double m = (double)(models ? models : 1);
    r->window_steps_per_second = m * (double)(done * s->batch * s->seq_len) / seconds;
    r->gflops =
        m * flops_per_step(s, clrnn_model_n_params(p->model)) * (double)done / seconds * 1e-9;
    snprintf(r->description, sizeof r->description, "%s", clrnn_backend_device_name(b));
    return st;
}

static clrnn_status measure(bench_result *r, const bench_options *o, const bench_shape *s,
                            const bench_problem *p, const char *device, clrnn_precision precision,
                            size_t models, clrnn_error *err)
{
    clrnn_backend *b = NULL;
    clrnn_status st = open_backend(&b, r, o, s, p, device, precision, models, o->tuning, err);
    size_t done = 0;
    double elapsed = 0;
    if (st == CLRNN_OK)
        st = bench_timed_run(b, p, s, o->warmup, o->seconds, &done, &elapsed, err);
    if (st == CLRNN_OK)
        st = finish_result(r, b, o, s, p, models, done, elapsed, err);
    clrnn_backend_free(b);
    return st;
}

/* --tuning 'A|B|...': the candidates' backends take turns
 * (bench_take_turns, TURN_ROUNDS runs each), and each one's rate is its
 * fastest run's. Kernel times are over all its runs. */
#define TURN_ROUNDS 5
static clrnn_status measure_turns(bench_result *r, size_t n, const bench_options *o,
                                  const bench_shape *s, const bench_problem *p, const char *device,
                                  clrnn_precision precision, size_t models, clrnn_error *err)
{
    clrnn_backend *b[MAX_CANDIDATES] = {0};
    size_t done[MAX_CANDIDATES] = {0};
    double fastest[MAX_CANDIDATES];
    clrnn_status st = CLRNN_OK;
    for (size_t k = 0; st == CLRNN_OK && k < n; k++)
        st = open_backend(&b[k], &r[k], o, s, p, device, precision, models, o->candidates[k], err);
    if (st == CLRNN_OK)
        st = bench_take_turns(b, n, p, s, o->warmup, TURN_ROUNDS, o->seconds, done, fastest, err);
    for (size_t k = 0; st == CLRNN_OK && k < n; k++) {
        st =
            finish_result(&r[k], b[k], o, s, p, models, done[k], fastest[k] * (double)done[k], err);
        snprintf(r[k].tuning, sizeof r[k].tuning, "%s",
                 o->candidates[k][0] ? o->candidates[k] : "derived");
        size_t len = strlen(r[k].description);
        snprintf(r[k].description + len, sizeof r[k].description - len, " [%s]", r[k].tuning);
    }
    for (size_t k = 0; k < n; k++)
        clrnn_backend_free(b[k]);
    return st;
}

static void print_kernels(const bench_result *r)
{
    double total = 0;
    for (size_t k = 0; k < r->n_kernels; k++)
        total += r->kernels[k].seconds;
    for (size_t k = 0; k < r->n_kernels; k++)
        printf("      %-16s %9.1f us/step  %5.1f%%  (%zu launches)\n", r->kernels[k].name,
               r->kernels[k].seconds / (double)r->steps * 1e6,
               total > 0 ? 100 * r->kernels[k].seconds / total : 0.0, r->kernels[k].launches);
}

int cli_bench(int argc, char **argv)
{
    bench_options o;
    int code = parse(&o, argc, argv);
    if (code != CLI_OK)
        return code;
    atomic_out out = {0};
    clrnn_error open_err;
    if (o.csv && atomic_open(&out, o.csv, &open_err) != CLRNN_OK)
        return cli_error("clrnn bench", &open_err);
    FILE *csv = out.f;
    if (csv)
        fprintf(csv, "shape,n_in,n_hidden,n_out,seq_len,batch,device,precision,"
                     "window_steps_per_second,gflops,speedup_vs_cpu,peak_gflops,share_of_peak,"
                     "models\n");
    const int grouped = o.n_models > 1 || o.models[0] > 1;
    printf("%-10s %-32s %-5s %s%16s %9s %9s %8s\n", "shape", "device", "prec",
           grouped ? "models " : "", "window-steps/s", "GFLOP/s", "vs CPU", "of peak");
    int failed = 0;
    for (size_t i = 0; i < o.n_shapes; i++) {
        const bench_shape *s = &o.shapes[i];
        bench_problem p;
        clrnn_error err;
        if (bench_make_problem(&p, s, &err) != CLRNN_OK) {
            fprintf(stderr, "clrnn bench: %s: out of memory\n", s->name);
            bench_free_problem(&p);
            failed = 1;
            continue;
        }
        printf("%s: n_in %zu, n_hidden %zu, n_out %zu, seq-len %zu, batch %zu\n", s->name,
               s->layer.n_in, s->layer.n_hidden, s->layer.n_out, s->seq_len, s->batch);
        for (size_t g = 0; g < o.n_models; g++) {
            const size_t models = o.models[g];
            double cpu_rate = NAN;
            for (size_t d = 0; d < o.n_devices; d++) {
                int is_cpu = strcmp(o.devices[d], "cpu") == 0;
                for (int prec = 0; prec < 2; prec++) {
                    if (is_cpu ? prec != CLRNN_FP64 : !o.precisions[prec])
                        continue;
                    bench_result results[MAX_CANDIDATES];
                    const size_t n_results = !is_cpu && o.n_candidates ? o.n_candidates : 1;
                    if ((!is_cpu && o.n_candidates
                             ? measure_turns(results, n_results, &o, s, &p, o.devices[d],
                                             (clrnn_precision)prec, models, &err)
                             : measure(results, &o, s, &p, o.devices[d], (clrnn_precision)prec,
                                       models, &err)) != CLRNN_OK) {
                        char message[sizeof err.message + 256];
                        printf("  %-8s %-32s %-5s %s\n", "", o.devices[d], prec ? "fp64" : "fp32",
                               cli_message(message, sizeof message, &err));
                        failed = 1;
                        continue;
                    }
                    if (is_cpu)
                        cpu_rate = results[0].window_steps_per_second;
                    for (size_t k = 0; k < n_results; k++) {
                        const bench_result r = results[k];
                        /* The ratio needs the CPU reference in this run (--devices cpu,...). */
                        double ratio = r.window_steps_per_second / cpu_rate;
                        char ratio_text[16] = "-";
                        if (isfinite(ratio))
                            snprintf(ratio_text, sizeof ratio_text, "%.2fx", ratio);
                        double share = r.gflops / r.peak_gflops;
                        char share_text[16] = "-";
                        if (isfinite(share))
                            snprintf(share_text, sizeof share_text, "%.1f%%", 100.0 * share);
                        char models_text[16] = "";
                        if (grouped)
                            snprintf(models_text, sizeof models_text, "%6zu ", models);
                        printf("  %-8s %-32.32s %-5s %s%16.4g %9.3g %9s %8s\n", "", r.description,
                               prec ? "fp64" : "fp32", models_text, r.window_steps_per_second,
                               r.gflops, ratio_text, share_text);
                        if (r.tuning[0])
                            printf("      tuning %s: the fastest of %d runs, in turns\n", r.tuning,
                                   TURN_ROUNDS);
                        print_kernels(&r);
                        if (csv)
                            fprintf(
                                csv,
                                "%s,%zu,%zu,%zu,%zu,%zu,\"%s\",%s,%.6g,%.6g,%.4g,%.6g,%.4g,%zu\n",
                                s->name, s->layer.n_in, s->layer.n_hidden, s->layer.n_out,
                                s->seq_len, s->batch, r.description, prec ? "fp64" : "fp32",
                                r.window_steps_per_second, r.gflops, ratio, r.peak_gflops, share,
                                models);
                    }
                }
            }
        }
        bench_free_problem(&p);
    }
    if (csv && atomic_commit(&out, &open_err) != CLRNN_OK)
        return cli_error("clrnn bench", &open_err);
    return failed ? CLI_BAD_INPUT : CLI_OK;
}
