/*
 * clrnn tune: searches each kernel family's build-time tunables (family.h:
 * ocl_tunable) for an OpenCL device and shape class, and stores the
 * winners in the device's tuning cache (host/opencl/tune_cache.h), which
 * every later backend on that device reads: CLBlast's tuners.
 *
 * The search, per shape, precision and family, is a bounded coordinate
 * search: it starts from the device-derived values, then tries each value
 * of each tunable in turn with the others at the best so far, keeping a
 * candidate that is faster, at most --budget candidates (those that cannot
 * run the model are skipped and not counted). Every candidate is first
 * checked against the CPU reference: the gradient of one batch and the
 * parameters after --steps SGD steps, each tensor to the parity
 * tolerances (fp32 1e-5, fp64 1e-12, relative to the tensor's largest
 * reference value); one that fails is never timed nor stored. Timing is
 * wall-clock over whole training steps, as clrnn bench measures them: the
 * candidate and the best so far take turns, 4 runs each of a quarter of
 * --seconds (steps doubling until a run lasts that long), and each one's
 * fastest run counts (time_against: a machine shared with other work moves
 * both alike). The fastest family of a shape becomes the cache's choice
 * for `--kernels auto`.
 *
 * For the tests, CLRNN_TUNE_FAULT=NAME=V makes every candidate with that
 * value fail its parity check (its device parameters are perturbed before
 * the comparison), so that a test can see that such a candidate is never
 * stored. Benchmarks, not tests: no timing here is asserted.
 */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "cli.h"
#include "cli_args.h"
#include "cli_bench.h"
#include "clrnn.h"

#define MAX_SHAPES 16
#define MAX_TUNABLES 16
#define MAX_SEEN 512
/* Windows of the parity check's batch: two chunks of the reduction. */
#define PARITY_BATCH 40

typedef struct tune_options {
    bench_shape shapes[MAX_SHAPES];
    size_t n_shapes;
    int precisions[2];
    const char *device;
    clrnn_kernels kernels;
    double seconds;
    size_t budget, steps;
    int no_tune_cache, verbose;
} tune_options;

static const char *const suite_names[] = {"notebook", "weather", "medium", "large"};

static int parse_shapes(const cli_args *a, const char *const *items, size_t n, void *options)
{
    tune_options *o = options;
    for (size_t i = 0; i < n; i++)
        if (!bench_parse_shape(a, items[i], &o->shapes[i]))
            return 0;
    o->n_shapes = n;
    return 1;
}

static int parse_precisions(const cli_args *a, const char *const *items, size_t n, void *options)
{
    return bench_parse_precisions(a, items, n, ((tune_options *)options)->precisions);
}

#define AT(field) offsetof(tune_options, field)

static const cli_option options[] = {
    {"--shapes", "LIST", CLI_LIST, 0, 0, MAX_SHAPES, .list = parse_shapes,
     .help = "clrnn bench's names, or NAME=I:H:O/T/B (default: all)"},
    {"--precision", "LIST", CLI_LIST, 0, 0, 2, .list = parse_precisions,
     .help = "fp32, fp64 (default: fp32,fp64; fp64 where the device has it)"},
    {"--device", "D", CLI_STRING, AT(device), .help = "opencl (default) or opencl:P.D"},
    CLI_OPTION_KERNELS(tune_options, kernels),
    {"--budget", "N", CLI_SIZE, AT(budget), 1, 10000,
     .help = "most candidates timed per family and shape (24)"},
    {"--seconds", "S", CLI_DOUBLE, AT(seconds), 0.001, 3600,
     .help = "timed seconds per candidate, and again for the best so far beside it\n"
             "(0.3)"},
    {"--steps", "N", CLI_SIZE, AT(steps), 1, 100,
     .help = "SGD steps of each candidate's parity check (3)"},
    {"--no-tune-cache", NULL, CLI_FLAG, AT(no_tune_cache),
     .help = "search and print, but neither read nor write the cache"},
    {"--verbose", NULL, CLI_FLAG, AT(verbose), .help = "print every candidate"},
    {0},
};

const cli_command cli_tune_command = {
    .name = "clrnn tune",
    .about = "usage: clrnn tune [options]\n"
             "\n"
             "Searches each OpenCL kernel family's build-time tunables (windows a work-item,\n"
             "vector width, register blocks, work-group sizes, fp32 FMA contraction) for the\n"
             "device and each shape, checks every candidate against the CPU reference (one\n"
             "batch's gradient and the parameters after a few SGD steps, to 1e-5 in fp32 and\n"
             "1e-12 in fp64) before timing it, and stores the fastest in the device's tuning\n"
             "cache ($XDG_CACHE_HOME/clrnn, else ~/.cache/clrnn), keyed by platform, device,\n"
             "driver and clrnn version; the fastest family is what --kernels auto then takes\n"
             "for that shape class (layers, seq-len, batch rounded up to a power of two).\n"
             "train and bench use the cache unless --no-tune-cache; delete the file to\n"
             "forget. The search: from the device-derived values, each value of each tunable\n"
             "in turn, keeping what is faster, at most --budget candidates. --kernels auto\n"
             "(the default) searches every family and records auto's choice; --verbose\n"
             "lists each family's tunables and their values, and every candidate.\n"
             "\n"
             "options:\n",
    .options = options,
    .width = 18,
};

static cli_status parse(tune_options *o, int argc, char **argv)
{
    memset(o, 0, sizeof *o);
    cli_args a;
    a.name = "clrnn tune";
    for (size_t i = 0; i < sizeof suite_names / sizeof suite_names[0]; i++)
        bench_parse_shape(&a, suite_names[i], &o->shapes[o->n_shapes++]);
    o->precisions[0] = o->precisions[1] = 1;
    o->device = "opencl";
    o->seconds = 0.3;
    o->budget = 24;
    o->steps = 3;
    return cli_parse(&a, &cli_tune_command, argc, argv, o);
}

/* The CPU reference's answers for a shape: one batch's gradient and the
 * parameters after the steps, on the parity problem. */
typedef struct reference {
    bench_shape shape; /* the shape at PARITY_BATCH windows at most */
    bench_problem problem;
    double *grads, *params, *got; /* (P) each */
    size_t n_params;
} reference;

static clrnn_status train_steps(clrnn_backend *b, const reference *r, size_t steps, double *grads,
                                double *params, clrnn_error *err)
{
    const clrnn_optimizer sgd = {.kind = CLRNN_SGD, .lr = 0.01, .momentum = 0.9};
    const bench_shape *s = &r->shape;
    clrnn_status st = clrnn_backend_stage(b, r->problem.x, r->problem.y, r->problem.rows, err);
    for (size_t i = 0; st == CLRNN_OK && i < steps; i++) {
        st = clrnn_backend_gradients(b, r->problem.starts + (i % N_BATCHES) * s->batch, s->batch,
                                     err);
        if (st == CLRNN_OK && i == 0)
            st = clrnn_backend_get_grads(b, grads, err);
        if (st == CLRNN_OK)
            st = clrnn_backend_update(b, &sgd, err);
    }
    return st == CLRNN_OK ? clrnn_backend_get_params(b, params, err) : st;
}

static clrnn_status make_reference(reference *r, const bench_shape *s, size_t steps,
                                   clrnn_error *err)
{
    memset(r, 0, sizeof *r);
    r->shape = *s;
    if (r->shape.batch > PARITY_BATCH)
        r->shape.batch = PARITY_BATCH;
    clrnn_status st = bench_make_problem(&r->problem, &r->shape, err);
    if (st != CLRNN_OK)
        return st;
    r->n_params = clrnn_model_n_params(r->problem.model);
    r->grads = malloc(r->n_params * sizeof *r->grads);
    r->params = malloc(r->n_params * sizeof *r->params);
    r->got = malloc(2 * r->n_params * sizeof *r->got);
    if (!r->grads || !r->params || !r->got)
        return CLRNN_E_NOMEM;
    clrnn_backend_config cfg = {.device = "cpu",
                                .precision = CLRNN_FP64,
                                .seq_len = s->seq_len,
                                .max_batch = r->shape.batch};
    clrnn_backend *cpu = NULL;
    st = clrnn_backend_create(&cpu, r->problem.model, &cfg, err);
    if (st == CLRNN_OK)
        st = train_steps(cpu, r, steps, r->grads, r->params, err);
    clrnn_backend_free(cpu);
    return st;
}

static void free_reference(reference *r)
{
    bench_free_problem(&r->problem);
    free(r->grads);
    free(r->params);
    free(r->got);
}

/* The worst of every tensor's max |got - want| / max |want|. */
static double worst_error(const clrnn_model *model, const double *got, const double *want)
{
    double worst = 0;
    for (size_t l = 0; l < clrnn_model_n_layers(model); l++)
        for (int w = 0; w < CLRNN_N_PARAMS_PER_LAYER; w++) {
            size_t at = clrnn_model_param_offset(model, l, (clrnn_param)w);
            size_t n = clrnn_model_param_count(model, l, (clrnn_param)w);
            double diff = 0, scale = 0;
            for (size_t i = 0; i < n; i++) {
                if (!isfinite(got[at + i]))
                    return INFINITY;
                diff = fmax(diff, fabs(got[at + i] - want[at + i]));
                scale = fmax(scale, fabs(want[at + i]));
            }
            worst = fmax(worst, diff / fmax(scale, 1e-30));
        }
    return worst;
}

/* Whether text holds the assignment fault ("NAME=V") as a whole word. */
static int has_assignment(const char *text, const char *fault)
{
    size_t n = strlen(fault);
    for (const char *p = text; n && (p = strstr(p, fault)) != NULL; p += n)
        if ((p == text || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' '))
            return 1;
    return 0;
}

typedef enum { CANDIDATE_OK, CANDIDATE_MISFIT, CANDIDATE_FAILED } candidate_result;

typedef struct tune_job {
    const tune_options *o;
    const bench_shape *shape;
    clrnn_precision precision;
    clrnn_kernels kernels;
    reference *ref;
    bench_problem *problem; /* the shape's own, for timing */
    const char *fault;
} tune_job;

static clrnn_backend_config job_config(const tune_job *j, const char *tuning, size_t max_batch)
{
    clrnn_backend_config cfg = {.device = j->o->device,
                                .precision = j->precision,
                                .seq_len = j->shape->seq_len,
                                .max_batch = max_batch,
                                .kernels = j->kernels,
                                .tuning = tuning && tuning[0] ? tuning : NULL,
                                .no_tune_cache = 1};
    return cfg;
}

/* The candidate's parity check, then its timing backend, staged and warmed
 * up (*timer). */
static candidate_result try_candidate(const tune_job *j, const char *tuning, clrnn_backend **timer,
                                      double *error, char *why, size_t why_size)
{
    clrnn_error err;
    clrnn_backend *b = NULL;
    clrnn_backend_config cfg = job_config(j, tuning, j->ref->shape.batch);
    clrnn_status st = clrnn_backend_create(&b, j->ref->problem.model, &cfg, &err);
    if (st == CLRNN_E_INPUT) {
        snprintf(why, why_size, "%s", err.message);
        return CANDIDATE_MISFIT;
    }
    double *grads = j->ref->got, *params = j->ref->got + j->ref->n_params;
    if (st == CLRNN_OK)
        st = train_steps(b, j->ref, j->o->steps, grads, params, &err);
    clrnn_backend_free(b);
    if (st != CLRNN_OK) {
        snprintf(why, why_size, "%s", err.message);
        return CANDIDATE_FAILED;
    }
    if (j->fault && has_assignment(tuning, j->fault))
        params[0] += 1e-3 * (1 + fabs(params[0])); /* CLRNN_TUNE_FAULT */
    const clrnn_model *m = j->ref->problem.model;
    *error = fmax(worst_error(m, grads, j->ref->grads), worst_error(m, params, j->ref->params));
    const double tolerance = j->precision == CLRNN_FP64 ? 1e-12 : 1e-5;
    if (!(*error <= tolerance)) {
        snprintf(why, why_size, "parity: relative error %.3e, past %.0e", *error, tolerance);
        return CANDIDATE_FAILED;
    }

    const bench_shape *s = j->shape;
    cfg = job_config(j, tuning, s->batch);
    b = NULL;
    st = clrnn_backend_create(&b, j->problem->model, &cfg, &err);
    if (st == CLRNN_OK)
        st = clrnn_backend_stage(b, j->problem->x, j->problem->y, j->problem->rows, &err);
    if (st == CLRNN_OK)
        st = clrnn_backend_stage_order(b, j->problem->starts, N_BATCHES * s->batch, &err);
    if (st == CLRNN_OK)
        st = bench_run_steps(b, j->problem, s, 0, 2, &err);
    if (st != CLRNN_OK) {
        clrnn_backend_free(b);
        snprintf(why, why_size, "%s", err.message);
        return CANDIDATE_FAILED;
    }
    *timer = b;
    return CANDIDATE_OK;
}

/* TIMING_ROUNDS runs each of the candidate and, where there is one, of the
 * best so far, taking turns (bench_take_turns), each one's fastest run its
 * rate (window-steps per second). */
#define TIMING_ROUNDS 4
static clrnn_status time_against(const tune_job *j, clrnn_backend *cand, size_t *cand_done,
                                 clrnn_backend *best, size_t *best_done, double *cand_rate,
                                 double *best_rate, clrnn_error *err)
{
    clrnn_backend *const b[2] = {cand, best};
    size_t done[2] = {*cand_done, *best_done};
    double fastest[2];
    clrnn_status st = bench_take_turns(b, 2, j->problem, j->shape, 2, TIMING_ROUNDS, j->o->seconds,
                                       done, fastest, err);
    *cand_done = done[0];
    *best_done = done[1];
    const double windows = (double)(j->shape->batch * j->shape->seq_len);
    *cand_rate = windows / fastest[0];
    if (best)
        *best_rate = windows / fastest[1];
    return st;
}

/* values (n) as "NAME=V ..." */
static void format_values(char *out, size_t size, const backend_tunable *t, size_t n,
                          const int *values)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && len < size; i++)
        len +=
            (size_t)snprintf(out + len, size - len, "%s%s=%d", i ? " " : "", t[i].name, values[i]);
}

/* "NAME=V ..." (all of t's, as backend_opencl_tuning_text writes them) into values. */
static int read_values(const char *text, const backend_tunable *t, size_t n, int *values)
{
    const char *p = text;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(t[i].name);
        while (*p == ' ')
            p++;
        if (strncmp(p, t[i].name, len) != 0 || p[len] != '=')
            return 0;
        values[i] = (int)strtol(p + len + 1, (char **)&p, 10);
    }
    return 1;
}

/* The search for one family: its winner's values into best and rate. */
static int tune_family(const tune_job *j, char *best, size_t best_size, double *best_rate)
{
    backend_tunable t[MAX_TUNABLES];
    const size_t n = backend_opencl_tunables(j->kernels, t, MAX_TUNABLES);
    const char *name = clrnn_kernels_name(j->kernels);
    char(*seen)[256] = malloc(MAX_SEEN * sizeof *seen);
    if (!seen)
        return 0;
    if (j->o->verbose)
        for (size_t i = 0; i < n; i++) {
            printf("    %-6s %-9s %s:", name, t[i].name, t[i].about);
            for (size_t v = 0; v < t[i].n_values; v++)
                printf(" %d", t[i].values[v]);
            printf("\n");
        }
    size_t n_seen = 0, timed = 0, failed = 0;
    int values[MAX_TUNABLES], found = 0;
    /* The start: the device-derived values (no tuning given, no cache). */
    {
        clrnn_error err;
        clrnn_backend *b = NULL;
        clrnn_backend_config cfg = job_config(j, NULL, j->shape->batch);
        if (clrnn_backend_create(&b, j->problem->model, &cfg, &err) != CLRNN_OK) {
            printf("  %-5s %-6s cannot run: %s\n", j->precision ? "fp64" : "fp32", name,
                   err.message);
            free(seen);
            return 0;
        }
        char text[256];
        int ok =
            backend_opencl_tuning_text(b, text, sizeof text) && read_values(text, t, n, values);
        clrnn_backend_free(b);
        if (!ok) {
            free(seen);
            return 0;
        }
    }
    double default_rate = NAN;
    clrnn_backend *best_timer = NULL; /* the best so far, timed again beside each candidate */
    size_t best_done = 0;
    for (size_t k = 0; k <= n && timed < j->o->budget; k++) {
        const size_t n_values = k == 0 ? 1 : t[k - 1].n_values;
        for (size_t v = 0; v < n_values && timed < j->o->budget; v++) {
            int cand[MAX_TUNABLES];
            memcpy(cand, values, sizeof cand);
            if (k > 0)
                cand[k - 1] = t[k - 1].values[v];
            char text[256], why[512];
            format_values(text, sizeof text, t, n, cand);
            size_t i = 0;
            while (i < n_seen && strcmp(seen[i], text) != 0)
                i++;
            if (i < n_seen)
                continue;
            if (n_seen < MAX_SEEN)
                snprintf(seen[n_seen++], sizeof seen[0], "%s", text);
            double rate = 0, error = 0;
            clrnn_backend *timer = NULL;
            candidate_result r = try_candidate(j, text, &timer, &error, why, sizeof why);
            if (r == CANDIDATE_MISFIT) {
                if (j->o->verbose)
                    printf("    %-6s %s: skipped: %s\n", name, text, why);
                continue;
            }
            timed++;
            clrnn_error err;
            size_t timer_done = 0;
            if (r == CANDIDATE_OK && time_against(j, timer, &timer_done, best_timer, &best_done,
                                                  &rate, best_rate, &err) != CLRNN_OK) {
                snprintf(why, sizeof why, "%s", err.message);
                r = CANDIDATE_FAILED;
            }
            if (r == CANDIDATE_FAILED) {
                clrnn_backend_free(timer);
                failed++;
                printf("    %-6s %s: rejected: %s\n", name, text, why);
                continue;
            }
            if (j->o->verbose && found)
                printf("    %-6s %s: %.4g window-steps/s against %.4g (parity %.1e)\n", name, text,
                       rate, *best_rate, error);
            else if (j->o->verbose)
                printf("    %-6s %s: %.4g window-steps/s (parity %.1e)\n", name, text, rate, error);
            if (k == 0)
                default_rate = rate;
            if (!found || rate > *best_rate) {
                found = 1;
                *best_rate = rate;
                memcpy(values, cand, sizeof values);
                snprintf(best, best_size, "%s", text);
                clrnn_backend_free(best_timer);
                best_timer = timer;
                best_done = timer_done;
            } else
                clrnn_backend_free(timer);
        }
    }
    clrnn_backend_free(best_timer);
    free(seen);
    if (found)
        printf("  %-5s %-6s %s: %.4g window-steps/s (derived values %.4g, %+.0f%%); %zu "
               "candidates, %zu rejected\n",
               j->precision ? "fp64" : "fp32", name, best, *best_rate, default_rate,
               100.0 * (*best_rate / default_rate - 1.0), timed, failed);
    else
        printf("  %-5s %-6s no candidate passed its parity check\n", j->precision ? "fp64" : "fp32",
               name);
    return found;
}

/* Writes one entry through a backend of the shape (its device, class). */
static int store(const tune_job *j, clrnn_kernels kernels, const char *family, const char *tuning,
                 const char *values, char *path, size_t path_size)
{
    clrnn_error err;
    clrnn_backend *b = NULL;
    tune_job copy = *j;
    copy.kernels = kernels;
    clrnn_backend_config cfg = job_config(&copy, tuning, j->shape->batch);
    clrnn_status st = clrnn_backend_create(&b, j->problem->model, &cfg, &err);
    if (st == CLRNN_OK)
        st = backend_opencl_store_tuning(b, family, values, &err);
    if (st == CLRNN_OK)
        backend_opencl_tune_cache_path(b, path, path_size);
    clrnn_backend_free(b);
    if (st != CLRNN_OK)
        fprintf(stderr, "clrnn tune: %s\n", err.message);
    return st == CLRNN_OK;
}

int cli_tune(int argc, char **argv)
{
    tune_options o;
    int code = parse(&o, argc, argv);
    if (code != CLI_OK)
        return code;
    if (strcmp(o.device, "opencl") != 0 && strncmp(o.device, "opencl:", 7) != 0) {
        fprintf(stderr, "clrnn tune: --device '%s': expected opencl or opencl:P.D\n", o.device);
        return CLI_BAD_INPUT;
    }
    const char *fault = getenv("CLRNN_TUNE_FAULT");
    setvbuf(stdout, NULL, _IOLBF, 0); /* a long search shows its progress, even in a file */
    int failed = 0;
    char path[4096] = "";
    for (size_t i = 0; i < o.n_shapes; i++) {
        const bench_shape *s = &o.shapes[i];
        printf("%s: n_in %zu, n_hidden %zu, n_out %zu, seq-len %zu, batch %zu\n", s->name,
               s->layer.n_in, s->layer.n_hidden, s->layer.n_out, s->seq_len, s->batch);
        bench_problem problem;
        reference ref;
        clrnn_error err = {0};
        if (bench_make_problem(&problem, s, &err) != CLRNN_OK ||
            make_reference(&ref, s, o.steps, &err) != CLRNN_OK) {
            fprintf(stderr, "clrnn tune: %s: %s\n", s->name,
                    err.message[0] ? err.message : "out of memory");
            bench_free_problem(&problem);
            free_reference(&ref);
            failed = 1;
            continue;
        }
        for (int prec = 0; prec < 2; prec++) {
            if (!o.precisions[prec])
                continue;
            tune_job j = {&o,   s,        (clrnn_precision)prec,           o.kernels,
                          &ref, &problem, fault && fault[0] ? fault : NULL};
            char fastest[32] = "";
            double fastest_rate = 0;
            clrnn_kernels fastest_k = CLRNN_KERNELS_AUTO;
            char fastest_values[256] = "";
            for (size_t k = 1; k < clrnn_kernels_count(); k++) {
                if (o.kernels != CLRNN_KERNELS_AUTO && (clrnn_kernels)k != o.kernels)
                    continue;
                j.kernels = (clrnn_kernels)k;
                char best[256];
                double rate = 0;
                if (!tune_family(&j, best, sizeof best, &rate))
                    continue;
                if (!o.no_tune_cache && !store(&j, j.kernels, clrnn_kernels_name(j.kernels), best,
                                               best, path, sizeof path))
                    failed = 1;
                if (rate > fastest_rate) {
                    fastest_rate = rate;
                    fastest_k = j.kernels;
                    snprintf(fastest, sizeof fastest, "%s", clrnn_kernels_name(j.kernels));
                    snprintf(fastest_values, sizeof fastest_values, "%s", best);
                }
            }
            /* --kernels auto (all families searched): the fastest is auto's */
            if (fastest[0] && o.kernels == CLRNN_KERNELS_AUTO) {
                char choice[64];
                snprintf(choice, sizeof choice, "FAMILY=%s", fastest);
                printf("  %-5s auto   %s\n", prec ? "fp64" : "fp32", fastest);
                if (!o.no_tune_cache &&
                    !store(&j, fastest_k, "auto", fastest_values, choice, path, sizeof path))
                    failed = 1;
            }
        }
        bench_free_problem(&problem);
        free_reference(&ref);
    }
    if (path[0])
        printf("tuning cache: %s\n", path);
    return failed ? CLI_BAD_INPUT : CLI_OK;
}
