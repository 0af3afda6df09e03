/*
 * clrnn parity: runs the same batch (and optionally N training steps) on an
 * OpenCL device and on the CPU reference and compares every number: per
 * layer the hidden states and outputs, the window losses and the loss sum,
 * per layer and parameter tensor the gradients, and after the steps the
 * parameters. Exits 1 when any comparison is past its tolerance. With
 * --stateful the windows start from random nonzero initial states, the
 * state each carries to the next batch is compared, and every training
 * step starts from the last one's carried state (some windows reset).
 *
 * A tensor's error is max_i |ocl_i - ref_i| / max(max_i |ref_i|, floor):
 * relative to the tensor's scale, so that an element that is the small
 * difference of large terms (summed in another order on the device) is
 * judged against the terms, not against itself. The largest elementwise
 * relative error is printed beside it for information.
 */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_args.h"
#include "clrnn.h"
#include "core/error.h"

#define MAX_LAYERS 8

typedef struct parity_options {
    cli_layers layers;
    size_t batch, seq_len, rows, steps;
    uint32_t seed;
    const char *device;
    clrnn_precision precision;
    clrnn_optimizer optimizer;
    clrnn_loss_steps loss_steps;
    clrnn_kernels kernels;
    const char *tuning; /* --tuning: the family's tunables, NAME=V ... */
    double tolerance, step_tolerance, floor;
    double masked; /* the share of target cells made NaN (masked) */
    int quiet;
    int stateful; /* random initial states, carried between the batches */
} parity_options;

static const char *const precisions[] = {"fp32", "fp64", NULL};
static const char *const optimizers[] = {"sgd", "adam", NULL};
static const char *const loss_on[] = {"all", "last", NULL};

#define AT(field) offsetof(parity_options, field)

static const cli_option options[] = {
    {"--layers", "I:H:O[,...]", CLI_LAYERS, AT(layers), 0, MAX_LAYERS,
     .help = "the stack (default 3:16:1)"},
    {"--batch", "B", CLI_SIZE, AT(batch), 1, 1 << 20, .help = "windows in the batch (64)"},
    {"--seq-len", "T", CLI_SIZE, AT(seq_len), 1, 100000, .help = "steps per window (7)"},
    {"--rows", "R", CLI_SIZE, AT(rows), 1, (double)((size_t)1 << 28),
     .help = "rows of the random table (B + T + 16)"},
    {"--precision", "P", CLI_CHOICE, AT(precision), .choices = precisions,
     .help = "fp32 (default) or fp64"},
    {"--device", "D", CLI_STRING, AT(device),
     .help = "opencl (the automatic choice) or opencl:P.D"},
    CLI_OPTION_KERNELS(parity_options, kernels),
    {"--tuning", "TEXT", CLI_STRING, AT(tuning),
     .help = "the kernel family's tunables, e.g. 'WB=2 RP=1' (clrnn tune\n"
             "--verbose lists them), the rest derived from the device"},
    {"--steps", "N", CLI_SIZE, AT(steps), 0, 1000000,
     .help = "training steps to compare after the batch (0)"},
    {"--optimizer", "O", CLI_CHOICE, AT(optimizer.kind), .choices = optimizers,
     .help = "sgd (default) or adam"},
    {"--lr", "X", CLI_DOUBLE, AT(optimizer.lr), 1e-300, 1e3, .help = "learning rate (0.01)"},
    {"--momentum", "X", CLI_DOUBLE, AT(optimizer.momentum), 0.0, 0.999999,
     .help = "SGD momentum (0.9)"},
    {"--clip-norm", "X", CLI_DOUBLE, AT(optimizer.clip_norm), 1e-300, 1e300,
     .help = "clip the gradient's global norm (off)"},
    {"--loss-on", "S", CLI_CHOICE, AT(loss_steps), .choices = loss_on,
     .help = "all (default) or last: the steps the loss covers"},
    {"--seed", "S", CLI_U32, AT(seed), .help = "generator seed for weights, data and windows (1)"},
    {"--tolerance", "X", CLI_DOUBLE, AT(tolerance), 0.0, 1.0,
     .help = "relative tolerance of one batch (fp64 1e-12, fp32 1e-5)"},
    {"--step-tolerance", "X", CLI_DOUBLE, AT(step_tolerance), 0.0, 1.0,
     .help = "of the parameters after the steps (fp64 1e-10, fp32 1e-4)"},
    {"--masked", "X", CLI_DOUBLE, AT(masked), 0.0, 1.0,
     .help = "share of target cells left missing (NaN: masked out of the loss) (0)"},
    {"--quiet", NULL, CLI_FLAG, AT(quiet), .help = "print only the summary line"},
    {"--stateful", NULL, CLI_FLAG, AT(stateful),
     .help = "windows start from random initial states, carried (some reset) from batch to "
             "batch"},
    {0},
};

const cli_command cli_parity_command = {
    .name = "clrnn parity",
    .about = "usage: clrnn parity [options]\n"
             "\n"
             "Runs one batch of random windows over a random table on an OpenCL device and on\n"
             "the CPU reference (fp64), compares every tensor (hidden states, outputs, window\n"
             "losses, loss sum, gradients), then trains --steps steps on both and compares the\n"
             "parameters. Prints each tensor's max difference; exits 1 past tolerance.\n"
             "\n"
             "options:\n",
    .options = options,
    .width = 21,
};

/* The options, checked, with the defaults that depend on others. */
static cli_status parse(parity_options *o, int argc, char **argv)
{
    memset(o, 0, sizeof *o);
    o->layers.shape[0] = (clrnn_layer_shape){3, 16, 1};
    o->layers.n = 1;
    o->batch = 64;
    o->seq_len = 7;
    o->seed = 1;
    o->device = "opencl";
    o->optimizer = (clrnn_optimizer){CLRNN_SGD, 0.01, 0.9, 0.9, 0.999, 1e-8, 0.0, 0.0};
    o->tolerance = o->step_tolerance = -1;
    cli_args a;
    cli_status st = cli_parse(&a, &cli_parity_command, argc, argv, o);
    if (st != CLI_OK)
        return st;
    if (strcmp(o->device, "opencl") != 0 && strncmp(o->device, "opencl:", 7) != 0) {
        fprintf(stderr, "clrnn parity: --device '%s': expected opencl or opencl:P.D\n", o->device);
        return CLI_BAD_INPUT;
    }
    if (o->rows == 0)
        o->rows = o->batch + o->seq_len + 16;
    if (o->rows < o->seq_len) {
        fprintf(stderr, "clrnn parity: --rows %zu is fewer than one window of %zu\n", o->rows,
                o->seq_len);
        return CLI_BAD_INPUT;
    }
    int fp64 = o->precision == CLRNN_FP64;
    if (o->tolerance < 0)
        o->tolerance = fp64 ? 1e-12 : 1e-5;
    if (o->step_tolerance < 0)
        o->step_tolerance = fp64 ? 1e-10 : 1e-4;
    o->floor = fp64 ? 1e-14 : 1e-7;
    return CLI_OK;
}

typedef struct tally {
    const parity_options *o;
    int compared, failed;
    double worst;
} tally;

/* Compares one tensor, prints its line, counts a failure. */
static void compare(tally *t, const char *name, const double *ocl, const double *ref, size_t n,
                    double tolerance)
{
    double max_diff = 0, max_ref = 0, max_elem_rel = 0;
    int finite = 1;
    for (size_t i = 0; i < n; i++) {
        double d = fabs(ocl[i] - ref[i]);
        if (!isfinite(ocl[i]) || !isfinite(ref[i]))
            finite = 0;
        if (d > max_diff)
            max_diff = d;
        if (fabs(ref[i]) > max_ref)
            max_ref = fabs(ref[i]);
        if (d > 0 && d / fmax(fabs(ref[i]), t->o->floor) > max_elem_rel)
            max_elem_rel = d / fmax(fabs(ref[i]), t->o->floor);
    }
    double rel = max_diff / fmax(max_ref, t->o->floor);
    int ok = finite && rel <= tolerance;
    t->compared++;
    t->failed += !ok;
    if (finite && rel > t->worst)
        t->worst = rel;
    if (!t->o->quiet || !ok)
        printf("  %-28s %8zu  %10.3e  %10.3e  %10.3e  %10.3e  %-8.1e %s\n", name, n, max_diff,
               max_ref, rel, max_elem_rel, tolerance, ok ? "OK" : "NOT OK");
}

static void header(const tally *t, const char *title)
{
    if (t->o->quiet)
        return;
    printf("%s\n  %-28s %8s  %10s  %10s  %10s  %10s  %-8s\n", title, "tensor", "values",
           "max|diff|", "max|ref|", "rel", "elem rel", "limit");
}

/* The random problem: a table of R rows and the batch's window starts. */
typedef struct problem {
    double *x, *y;    /* (R,F), (R,K) */
    uint32_t *starts; /* (B) */
} problem;

static int make_problem(problem *p, const parity_options *o, clrnn_rng *rng)
{
    size_t F = o->layers.shape[0].n_in, K = o->layers.shape[o->layers.n - 1].n_out;
    p->x = malloc(o->rows * F * sizeof *p->x);
    p->y = malloc(o->rows * K * sizeof *p->y);
    p->starts = malloc(o->batch * sizeof *p->starts);
    if (!p->x || !p->y || !p->starts)
        return 0;
    for (size_t i = 0; i < o->rows * F; i++)
        p->x[i] = 2 * clrnn_rng_uniform(rng) - 1;
    for (size_t i = 0; i < o->rows * K; i++)
        p->y[i] = 2 * clrnn_rng_uniform(rng) - 1;
    /* Masked cells, drawn only when asked for: the other problems stay as they were. */
    for (size_t i = 0; o->masked > 0 && i < o->rows * K; i++)
        if (clrnn_rng_uniform(rng) < o->masked)
            p->y[i] = NAN;
    /* Windows in a scrambled order, so that the device really follows starts. */
    uint32_t n_starts = (uint32_t)(o->rows - o->seq_len + 1);
    for (size_t b = 0; b < o->batch; b++)
        p->starts[b] = clrnn_rng_below(rng, n_starts);
    return 1;
}

static clrnn_status make_backends(clrnn_backend **ocl, clrnn_backend **cpu,
                                  const clrnn_model *model, const parity_options *o,
                                  const problem *p, clrnn_error *err)
{
    clrnn_backend_config cfg = {.device = o->device,
                                .precision = o->precision,
                                .seq_len = o->seq_len,
                                .max_batch = o->batch,
                                .loss_steps = o->loss_steps,
                                .kernels = o->kernels,
                                .tuning = o->tuning};
    clrnn_status st = clrnn_backend_create(ocl, model, &cfg, err);
    cfg.device = "cpu";
    cfg.tuning = NULL;
    cfg.precision = CLRNN_FP64;
    if (st == CLRNN_OK)
        st = clrnn_backend_create(cpu, model, &cfg, err);
    if (st == CLRNN_OK)
        st = clrnn_backend_stage(*ocl, p->x, p->y, o->rows, err);
    if (st == CLRNN_OK)
        st = clrnn_backend_stage(*cpu, p->x, p->y, o->rows, err);
    return st;
}

/* Compares every parameter tensor of every layer of two flat buffers:
 * "layer L <prefix><name>". */
static void compare_tensors(tally *t, const clrnn_model *model, const double *a, const double *r,
                            const char *prefix, double tolerance)
{
    char name[64];
    for (size_t l = 0; l < t->o->layers.n; l++)
        for (int w = 0; w < CLRNN_N_PARAMS_PER_LAYER; w++) {
            size_t at = clrnn_model_param_offset(model, l, (clrnn_param)w);
            snprintf(name, sizeof name, "layer %zu %s%s", l, prefix,
                     clrnn_param_name((clrnn_param)w));
            compare(t, name, a + at, r + at, clrnn_model_param_count(model, l, (clrnn_param)w),
                    tolerance);
        }
}

/* Reads layer l's tensor of n values with `get` from both backends and
 * compares them. */
typedef clrnn_status (*layer_reader)(clrnn_backend *, size_t, double *, clrnn_error *);
static clrnn_status compare_read(tally *t, const char *name, layer_reader get, clrnn_backend *ocl,
                                 clrnn_backend *cpu, size_t l, size_t n, double *a, double *r,
                                 clrnn_error *err)
{
    clrnn_status st = get(ocl, l, a, err);
    if (st == CLRNN_OK)
        st = get(cpu, l, r, err);
    if (st == CLRNN_OK)
        compare(t, name, a, r, n, t->o->tolerance);
    return st;
}

/* Stateful: random initial states in (-0.9, 0.9) for every layer, the same
 * on both backends. */
static clrnn_status random_initial_states(clrnn_backend *ocl, clrnn_backend *cpu,
                                          const parity_options *o, clrnn_rng *rng, double *h0,
                                          clrnn_error *err)
{
    clrnn_status st = clrnn_backend_set_stateful(ocl, 1, err);
    if (st == CLRNN_OK)
        st = clrnn_backend_set_stateful(cpu, 1, err);
    for (size_t l = 0; st == CLRNN_OK && l < o->layers.n; l++) {
        const size_t n = o->batch * o->layers.shape[l].n_hidden;
        for (size_t i = 0; i < n; i++)
            h0[i] = 1.8 * clrnn_rng_uniform(rng) - 0.9;
        st = clrnn_backend_set_initial_state(ocl, l, h0, o->batch, err);
        if (st == CLRNN_OK)
            st = clrnn_backend_set_initial_state(cpu, l, h0, o->batch, err);
    }
    return st;
}

/* Stateful: both carry the last batch's state on (a random quarter of the
 * windows reset to 0), the same resets on both. */
static clrnn_status carry_both(clrnn_backend *ocl, clrnn_backend *cpu, const parity_options *o,
                               clrnn_rng *rng, clrnn_error *err)
{
    unsigned char *reset = malloc(o->batch);
    if (!reset)
        return clrnn__fail(err, CLRNN_E_NOMEM, "out of memory");
    for (size_t b = 0; b < o->batch; b++)
        reset[b] = clrnn_rng_uniform(rng) < 0.25;
    clrnn_status st = clrnn_backend_carry_state(ocl, reset, o->batch, err);
    if (st == CLRNN_OK)
        st = clrnn_backend_carry_state(cpu, reset, o->batch, err);
    free(reset);
    return st;
}

/* Stateful: the carried initial states of every layer, compared. */
static clrnn_status compare_carried(tally *t, clrnn_backend *ocl, clrnn_backend *cpu, double *a,
                                    double *r, clrnn_error *err)
{
    const parity_options *o = t->o;
    clrnn_status st = CLRNN_OK;
    char name[64];
    for (size_t l = 0; st == CLRNN_OK && l < o->layers.n; l++) {
        st = clrnn_backend_get_initial_state(ocl, l, a, o->batch, err);
        if (st == CLRNN_OK)
            st = clrnn_backend_get_initial_state(cpu, l, r, o->batch, err);
        snprintf(name, sizeof name, "layer %zu carried h0 (B,H)", l);
        if (st == CLRNN_OK)
            compare(t, name, a, r, o->batch * o->layers.shape[l].n_hidden, o->tolerance);
    }
    return st;
}

/* Compares one batch: activations, losses, gradients. */
static clrnn_status compare_batch(tally *t, clrnn_backend *ocl, clrnn_backend *cpu,
                                  const clrnn_model *model, double *a, double *r, clrnn_error *err)
{
    const parity_options *o = t->o;
    size_t B = o->batch, T = o->seq_len;
    char name[64];
    clrnn_status st = CLRNN_OK;
    header(t, "one batch: forward, loss, backward");
    for (size_t l = 0; st == CLRNN_OK && l < o->layers.n; l++) {
        snprintf(name, sizeof name, "layer %zu h (B,T,H)", l);
        st = compare_read(t, name, clrnn_backend_get_hidden, ocl, cpu, l,
                          B * T * o->layers.shape[l].n_hidden, a, r, err);
        snprintf(name, sizeof name, "layer %zu y (B,T,O)", l);
        if (st == CLRNN_OK)
            st = compare_read(t, name, clrnn_backend_get_outputs, ocl, cpu, l,
                              B * T * o->layers.shape[l].n_out, a, r, err);
    }
    if (st == CLRNN_OK)
        st = clrnn_backend_get_window_losses(ocl, a, err);
    if (st == CLRNN_OK)
        st = clrnn_backend_get_window_losses(cpu, r, err);
    if (st == CLRNN_OK)
        compare(t, "window losses (B)", a, r, B, o->tolerance);
    if (st == CLRNN_OK)
        st = clrnn_backend_take_loss_sum(ocl, a, err);
    if (st == CLRNN_OK)
        st = clrnn_backend_take_loss_sum(cpu, r, err);
    if (st == CLRNN_OK)
        compare(t, "loss sum", a, r, 1, o->tolerance);
    if (st == CLRNN_OK)
        st = clrnn_backend_get_grads(ocl, a, err);
    if (st == CLRNN_OK)
        st = clrnn_backend_get_grads(cpu, r, err);
    if (st == CLRNN_OK)
        compare_tensors(t, model, a, r, "d", o->tolerance);
    return st;
}

/* Trains o->steps steps on both (each on a new random batch) and compares
 * the parameters. */
static clrnn_status compare_steps(tally *t, clrnn_backend *ocl, clrnn_backend *cpu,
                                  const clrnn_model *model, const problem *p, clrnn_rng *rng,
                                  double *a, double *r, clrnn_error *err)
{
    const parity_options *o = t->o;
    clrnn_status st = CLRNN_OK;
    uint32_t n_starts = (uint32_t)(o->rows - o->seq_len + 1);
    for (size_t step = 0; st == CLRNN_OK && step < o->steps; step++) {
        if (step > 0) {
            for (size_t b = 0; b < o->batch; b++)
                p->starts[b] = clrnn_rng_below(rng, n_starts);
            if (o->stateful && step > 1) /* step 1 starts from the state compare_batch carried */
                st = carry_both(ocl, cpu, o, rng, err);
            if (st == CLRNN_OK)
                st = clrnn_backend_gradients(ocl, p->starts, o->batch, err);
            if (st == CLRNN_OK)
                st = clrnn_backend_gradients(cpu, p->starts, o->batch, err);
        }
        if (st == CLRNN_OK)
            st = clrnn_backend_update(ocl, &o->optimizer, err);
        if (st == CLRNN_OK)
            st = clrnn_backend_update(cpu, &o->optimizer, err);
    }
    if (st != CLRNN_OK || o->steps == 0)
        return st;
    char title[128];
    snprintf(title, sizeof title, "parameters after %zu %s steps", o->steps,
             o->optimizer.kind == CLRNN_ADAM ? "Adam" : "SGD");
    header(t, title);
    st = clrnn_backend_get_params(ocl, a, err);
    if (st == CLRNN_OK)
        st = clrnn_backend_get_params(cpu, r, err);
    if (st == CLRNN_OK)
        compare_tensors(t, model, a, r, "", o->step_tolerance);
    return st;
}

static void describe(const parity_options *o, char *out, size_t size)
{
    size_t n = 0;
    for (size_t l = 0; l < o->layers.n && n < size; l++) {
        const clrnn_layer_shape *s = &o->layers.shape[l];
        n += (size_t)snprintf(out + n, size - n, "%s%zu:%zu:%zu", l ? "," : "", s->n_in,
                              s->n_hidden, s->n_out);
    }
}

int cli_parity(int argc, char **argv)
{
    parity_options o;
    int code = parse(&o, argc, argv);
    if (code != CLI_OK)
        return code;
    clrnn_error err;
    clrnn_model *model = NULL;
    clrnn_backend *ocl = NULL, *cpu = NULL;
    problem p = {0};
    double *a = NULL, *r = NULL;
    clrnn_rng rng;
    clrnn_rng_seed(&rng, o.seed);
    clrnn_status st = clrnn_model_create(&model, o.layers.shape, o.layers.n, &err);
    size_t biggest = 1;
    if (st == CLRNN_OK) {
        clrnn_model_init_uniform(model, &rng);
        biggest = clrnn_model_n_params(model);
        for (size_t l = 0; l < o.layers.n; l++) {
            const clrnn_layer_shape *s = &o.layers.shape[l];
            size_t widest = s->n_hidden > s->n_out ? s->n_hidden : s->n_out;
            if (o.batch * o.seq_len * widest > biggest)
                biggest = o.batch * o.seq_len * widest;
        }
        a = malloc(biggest * sizeof *a);
        r = malloc(biggest * sizeof *r);
        if (!a || !r || !make_problem(&p, &o, &rng))
            st = clrnn__fail(&err, CLRNN_E_NOMEM, "out of memory");
    }
    if (st == CLRNN_OK)
        st = make_backends(&ocl, &cpu, model, &o, &p, &err);
    if (st == CLRNN_OK && o.stateful)
        st = random_initial_states(ocl, cpu, &o, &rng, a, &err);
    if (st == CLRNN_OK)
        st = clrnn_backend_gradients(ocl, p.starts, o.batch, &err);
    if (st == CLRNN_OK)
        st = clrnn_backend_gradients(cpu, p.starts, o.batch, &err);
    tally t = {&o, 0, 0, 0.0};
    char shape[256];
    describe(&o, shape, sizeof shape);
    if (st == CLRNN_OK && !o.quiet)
        printf("parity: %s vs %s; layers %s, batch %zu, seq-len %zu, loss on %s steps%s\n",
               clrnn_backend_describe(ocl), clrnn_backend_describe(cpu), shape, o.batch, o.seq_len,
               o.loss_steps == CLRNN_LOSS_LAST ? "last" : "all",
               o.stateful ? ", from random initial states (stateful)" : "");
    if (st == CLRNN_OK)
        st = compare_batch(&t, ocl, cpu, model, a, r, &err);
    if (st == CLRNN_OK && o.stateful)
        st = carry_both(ocl, cpu, &o, &rng, &err);
    if (st == CLRNN_OK && o.stateful)
        st = compare_carried(&t, ocl, cpu, a, r, &err);
    if (st == CLRNN_OK)
        st = compare_steps(&t, ocl, cpu, model, &p, &rng, a, r, &err);
    if (st != CLRNN_OK)
        code = cli_error("clrnn parity", &err);
    else {
        printf("parity %s: %s %s B=%zu T=%zu steps=%zu%s: %d tensors compared, %d past "
               "tolerance, worst relative error %.3e\n",
               t.failed ? "FAILED" : "OK", o.precision == CLRNN_FP64 ? "fp64" : "fp32", shape,
               o.batch, o.seq_len, o.steps, o.stateful ? " stateful" : "", t.compared, t.failed,
               t.worst);
        code = t.failed ? CLI_CHECK_FAILED : CLI_OK;
    }
    clrnn_backend_free(ocl);
    clrnn_backend_free(cpu);
    clrnn_model_free(model);
    free(p.x);
    free(p.y);
    free(p.starts);
    free(a);
    free(r);
    return code;
}
