/*
 * The OpenCL backend beyond per-tensor parity (which `clrnn parity` and the
 * parity grid check): two runs give identical bits, the device choice and
 * its errors, the loss accumulator, optimizer state in and out, and the
 * fused family's deferred finishing step under every order of calls.
 * Skips (77) without an OpenCL device, except in CI.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "clrnn.h"

enum { ROWS = 300, SEQ_LEN = 9, BATCH = 37, STEPS = 20 };
static const clrnn_layer_shape layers[2] = {{3, 19, 2}, {2, 6, 1}};
/* The fused family runs one small layer. */
static const clrnn_layer_shape single_layer = {3, 13, 1};
/* The kernel family under test, and its name for the check lines. */
static clrnn_kernels kernels = CLRNN_KERNELS_AUTO;
static const char *family = "auto";

typedef struct fixture {
    clrnn_model *model; /* the one under test: stack or single */
    clrnn_model *stack, *single;
    double x[ROWS * 3], y[ROWS * 1];
    uint32_t starts[STEPS][BATCH];
} fixture;

static void make_fixture(fixture *f)
{
    clrnn_rng rng;
    clrnn_rng_seed(&rng, 7);
    clrnn_error err;
    if (clrnn_model_create(&f->stack, layers, 2, &err) != CLRNN_OK ||
        clrnn_model_create(&f->single, &single_layer, 1, &err) != CLRNN_OK) {
        printf("%s\n", err.message);
        exit(1);
    }
    clrnn_model_init_uniform(f->stack, &rng);
    clrnn_model_init_uniform(f->single, &rng);
    f->model = f->stack;
    for (size_t i = 0; i < ROWS * 3; i++)
        f->x[i] = 2 * clrnn_rng_uniform(&rng) - 1;
    for (size_t i = 0; i < ROWS; i++)
        f->y[i] = clrnn_rng_uniform(&rng);
    for (size_t s = 0; s < STEPS; s++)
        for (size_t b = 0; b < BATCH; b++)
            f->starts[s][b] = clrnn_rng_below(&rng, ROWS - SEQ_LEN + 1);
}

static clrnn_backend *make_backend(const fixture *f, const char *device, clrnn_precision p)
{
    clrnn_backend_config cfg = {.device = device,
                                .precision = p,
                                .seq_len = SEQ_LEN,
                                .max_batch = BATCH,
                                .kernels = kernels};
    clrnn_backend *b = NULL;
    clrnn_error err;
    if (clrnn_backend_create(&b, f->model, &cfg, &err) != CLRNN_OK ||
        clrnn_backend_stage(b, f->x, f->y, ROWS, &err) != CLRNN_OK) {
        printf("creating a %s backend: %s\n", device, err.message);
        clrnn_backend_free(b);
        return NULL;
    }
    return b;
}

/* Trains `steps` steps (batches steps first.. of the fixture); returns the
 * loss sum over them, or NaN on failure. */
static double train(clrnn_backend *b, const fixture *f, const clrnn_optimizer *opt, size_t first,
                    size_t steps)
{
    clrnn_error err;
    for (size_t s = first; s < first + steps; s++)
        if (clrnn_backend_gradients(b, f->starts[s], BATCH, &err) != CLRNN_OK ||
            clrnn_backend_update(b, opt, &err) != CLRNN_OK) {
            printf("training: %s\n", err.message);
            return NAN;
        }
    double sum = NAN;
    if (clrnn_backend_take_loss_sum(b, &sum, &err) != CLRNN_OK)
        printf("loss sum: %s\n", err.message);
    return sum;
}

static double max_rel(const double *a, const double *r, size_t n)
{
    double diff = 0, scale = 1e-300;
    for (size_t i = 0; i < n; i++) {
        diff = fmax(diff, fabs(a[i] - r[i]));
        scale = fmax(scale, fabs(r[i]));
    }
    return diff / scale;
}

static void determinism(const fixture *f, clrnn_precision p, const clrnn_optimizer *opt,
                        const char *label)
{
    size_t P = clrnn_model_n_params(f->model);
    double *params[2] = {calloc(P, sizeof(double)), calloc(P, sizeof(double))};
    double loss[2] = {NAN, NAN};
    int ok = params[0] && params[1];
    for (int run = 0; ok && run < 2; run++) {
        clrnn_backend *b = make_backend(f, "opencl", p);
        clrnn_error err;
        ok = b && isfinite(loss[run] = train(b, f, opt, 0, STEPS)) &&
             clrnn_backend_get_params(b, params[run], &err) == CLRNN_OK;
        clrnn_backend_free(b);
    }
    char what[128];
    snprintf(what, sizeof what, "%s %s %s: two runs of %d steps, bitwise equal parameters", family,
             p == CLRNN_FP64 ? "fp64" : "fp32", label, STEPS);
    check_true(ok && memcmp(params[0], params[1], P * sizeof(double)) == 0, what);
    snprintf(what, sizeof what, "%s %s %s: ... and bitwise equal loss sums", family,
             p == CLRNN_FP64 ? "fp64" : "fp32", label);
    check_true(ok && memcmp(&loss[0], &loss[1], sizeof(double)) == 0, what);
    free(params[0]);
    free(params[1]);
}

/* Optimizer state read from the CPU reference mid-run and written into an
 * OpenCL backend continues the run as the reference does. */
static void optimizer_state(const fixture *f, const clrnn_optimizer *opt)
{
    size_t P = clrnn_model_n_params(f->model);
    double *params = calloc(P, sizeof(double)), *m = calloc(P, sizeof(double)),
           *v = calloc(P, sizeof(double)), *got = calloc(P, sizeof(double)),
           *want = calloc(P, sizeof(double));
    clrnn_backend *cpu = make_backend(f, "cpu", CLRNN_FP64);
    clrnn_backend *ocl = make_backend(f, "opencl", CLRNN_FP64);
    clrnn_error err;
    long step = 0;
    int ok = params && m && v && got && want && cpu && ocl && isfinite(train(cpu, f, opt, 0, 10)) &&
             clrnn_backend_get_params(cpu, params, &err) == CLRNN_OK &&
             clrnn_backend_get_optimizer_state(cpu, m, v, &step, &err) == CLRNN_OK &&
             clrnn_backend_set_params(ocl, params, &err) == CLRNN_OK &&
             clrnn_backend_set_optimizer_state(ocl, m, v, step, &err) == CLRNN_OK &&
             isfinite(train(cpu, f, opt, 10, 10)) && isfinite(train(ocl, f, opt, 10, 10)) &&
             clrnn_backend_get_params(cpu, want, &err) == CLRNN_OK &&
             clrnn_backend_get_params(ocl, got, &err) == CLRNN_OK;
    double rel = ok ? max_rel(got, want, P) : NAN;
    char what[128];
    snprintf(what, sizeof what, "%s fp64 %s: state moved CPU -> OpenCL at step %ld, 10 more steps",
             family, opt->kind == CLRNN_ADAM ? "Adam" : "SGD", step);
    check(ok && rel <= 1e-10, what, rel, 1e-10);
    clrnn_backend_free(cpu);
    clrnn_backend_free(ocl);
    free(params);
    free(m);
    free(v);
    free(got);
    free(want);
}

/* Batches taken by position from a staged order (one upload an epoch) give
 * the same bits as the same batches passed one by one; misuse is refused. */
static void staged_order(const fixture *f, const char *device)
{
    size_t P = clrnn_model_n_params(f->model);
    double *params[2] = {calloc(P, sizeof(double)), calloc(P, sizeof(double))};
    double loss[2] = {NAN, NAN};
    clrnn_optimizer sgd = {.kind = CLRNN_SGD, .lr = 0.05, .momentum = 0.9};
    clrnn_error err;
    int ok = params[0] && params[1];
    for (int staged = 0; ok && staged < 2; staged++) {
        clrnn_backend *b = make_backend(f, device, CLRNN_FP32);
        ok = b && (!staged ||
                   clrnn_backend_stage_order(b, &f->starts[0][0], STEPS * BATCH, &err) == CLRNN_OK);
        for (size_t k = 0; ok && k < STEPS; k++) /* a short last batch too */
            ok = (staged ? clrnn_backend_gradients_staged(b, k * BATCH, BATCH - (k == 3), &err)
                         : clrnn_backend_gradients(b, f->starts[k], BATCH - (k == 3), &err)) ==
                     CLRNN_OK &&
                 clrnn_backend_update(b, &sgd, &err) == CLRNN_OK;
        ok = ok && clrnn_backend_take_loss_sum(b, &loss[staged], &err) == CLRNN_OK &&
             clrnn_backend_get_params(b, params[staged], &err) == CLRNN_OK;
        if (!ok)
            printf("staged order: %s\n", err.message);
        clrnn_backend_free(b);
    }
    char what[128];
    snprintf(what, sizeof what,
             "%s %s: batches from a staged order == batches one by one "
             "(parameters and loss, bitwise)",
             device, family);
    check_true(ok && memcmp(params[0], params[1], P * sizeof(double)) == 0 &&
                   memcmp(&loss[0], &loss[1], sizeof loss[0]) == 0,
               what);
    free(params[0]);
    free(params[1]);

    clrnn_backend *b = make_backend(f, device, CLRNN_FP32);
    uint32_t past_end[2] = {0, ROWS - SEQ_LEN + 1};
    clrnn_status st[4] = {b ? clrnn_backend_gradients_staged(b, 0, 1, &err) : CLRNN_OK,
                          b ? clrnn_backend_stage_order(b, past_end, 2, &err) : CLRNN_OK,
                          b ? clrnn_backend_stage_order(b, &f->starts[0][0], BATCH, &err)
                            : CLRNN_E_INPUT,
                          b ? clrnn_backend_gradients_staged(b, 1, BATCH, &err) : CLRNN_OK};
    snprintf(what, sizeof what,
             "%s %s: staged batches before any order, past its end, and an "
             "order with a window past the data: refused",
             device, family);
    check_true(st[0] == CLRNN_E_INPUT && st[1] == CLRNN_E_INPUT && st[2] == CLRNN_OK &&
                   st[3] == CLRNN_E_INPUT,
               what);
    clrnn_backend_free(b);
}

static void loss_accumulator(const fixture *f)
{
    clrnn_backend *cpu = make_backend(f, "cpu", CLRNN_FP64);
    clrnn_backend *ocl = make_backend(f, "opencl", CLRNN_FP32);
    clrnn_error err;
    double sums[2][2] = {{NAN, NAN}, {NAN, NAN}};
    int ok = cpu && ocl;
    for (int k = 0; ok && k < 2; k++) {
        clrnn_backend *b = k ? ocl : cpu;
        for (size_t s = 0; ok && s < STEPS; s++)
            ok = clrnn_backend_forward(b, f->starts[s], BATCH, &err) == CLRNN_OK;
        ok = ok && clrnn_backend_take_loss_sum(b, &sums[k][0], &err) == CLRNN_OK &&
             clrnn_backend_take_loss_sum(b, &sums[k][1], &err) == CLRNN_OK;
    }
    double rel = ok ? rel_diff(sums[1][0], sums[0][0]) : NAN;
    char what[128];
    snprintf(what, sizeof what, "%s fp32: loss sum of 20 forward batches vs the CPU reference",
             family);
    check(ok && rel <= 1e-5, what, rel, 1e-5);
    snprintf(what, sizeof what, "%s: the loss sum is zeroed once taken", family);
    check_true(ok && sums[1][1] == 0.0, what);
    clrnn_backend_free(cpu);
    clrnn_backend_free(ocl);
}

/* The fused family defers fused_finish (the gradient, the loss sum and
 * the optimizer step in one launch) until the update or whatever needs
 * them. Every order of calls must still see what the CPU reference sees:
 * two gradient batches in a row (both losses counted, the second's
 * gradient kept), the gradient read before the update, clipping (which
 * needs the finished gradient first), forward-only batches in between. */
static void fused_orders(const fixture *f)
{
    size_t P = clrnn_model_n_params(f->model);
    size_t n_h = BATCH * SEQ_LEN * single_layer.n_hidden, n_y = BATCH * SEQ_LEN;
    size_t n = n_h + n_y > 2 * P ? n_h + n_y : 2 * P;
    double *got = calloc(n, sizeof(double)), *want = calloc(n, sizeof(double));
    clrnn_backend *cpu = make_backend(f, "cpu", CLRNN_FP64);
    clrnn_backend *ocl = make_backend(f, "opencl", CLRNN_FP64);
    clrnn_optimizer sgd = {.kind = CLRNN_SGD, .lr = 0.1, .momentum = 0.9};
    clrnn_optimizer clipped = sgd;
    clipped.clip_norm = 1e-3;
    clrnn_error err;
    int ok = got && want && cpu && ocl;
    double worst[5] = {0};
    for (int k = 0; ok && k < 2; k++) {
        clrnn_backend *b = k ? ocl : cpu;
        double *out = k ? got : want;
        double loss[2] = {NAN, NAN};
        ok = clrnn_backend_gradients(b, f->starts[0], BATCH, &err) == CLRNN_OK &&
             clrnn_backend_gradients(b, f->starts[1], BATCH - 5, &err) == CLRNN_OK &&
             clrnn_backend_get_grads(b, out, &err) == CLRNN_OK &&
             clrnn_backend_update(b, &sgd, &err) == CLRNN_OK &&
             clrnn_backend_take_loss_sum(b, &loss[0], &err) == CLRNN_OK &&
             clrnn_backend_gradients(b, f->starts[2], BATCH, &err) == CLRNN_OK &&
             clrnn_backend_update(b, &clipped, &err) == CLRNN_OK &&
             clrnn_backend_forward(b, f->starts[3], 1, &err) == CLRNN_OK &&
             clrnn_backend_gradients(b, f->starts[4], BATCH, &err) == CLRNN_OK &&
             clrnn_backend_update(b, &sgd, &err) == CLRNN_OK &&
             clrnn_backend_take_loss_sum(b, &loss[1], &err) == CLRNN_OK &&
             clrnn_backend_get_params(b, out + P, &err) == CLRNN_OK;
        if (!ok)
            printf("fused orders: %s\n", err.message);
        if (k == 0) {
            worst[0] = loss[0], worst[1] = loss[1];
            continue;
        }
        worst[0] = rel_diff(loss[0], worst[0]);
        worst[1] = rel_diff(loss[1], worst[1]);
        worst[2] = max_rel(got, want, P);
        worst[3] = max_rel(got + P, want + P, P);
    }
    /* h and y of a last gradient batch, read back from the lane-major
     * layout, and of a forward-only batch after it. */
    for (int pass = 0; ok && pass < 2; pass++) {
        for (int k = 0; ok && k < 2; k++) {
            clrnn_backend *b = k ? ocl : cpu;
            double *out = k ? got : want;
            ok = (pass ? clrnn_backend_forward(b, f->starts[6], 9, &err)
                       : clrnn_backend_gradients(b, f->starts[5], BATCH, &err)) == CLRNN_OK &&
                 clrnn_backend_get_hidden(b, 0, out, &err) == CLRNN_OK &&
                 clrnn_backend_get_outputs(b, 0, out + n_h, &err) == CLRNN_OK;
        }
        size_t B = pass ? 9 : BATCH;
        n_h = B * SEQ_LEN * single_layer.n_hidden;
        n_y = B * SEQ_LEN;
        if (ok)
            worst[4] =
                fmax(worst[4], fmax(max_rel(got, want, n_h), max_rel(got + n_h, want + n_h, n_y)));
    }
    static const char *const what[] = {
        "fused fp64: loss sum of two gradient batches in a row, no update between",
        "fused fp64: loss sum after a clipped step and a forward-only batch",
        "fused fp64: gradient of the second of two batches, read before the update",
        "fused fp64: parameters after SGD, clipped SGD, SGD",
        "fused fp64: h and y of a gradient batch (lane-major) and of a forward batch"};
    for (int i = 0; i < 5; i++)
        check(ok && worst[i] <= 1e-12, what[i], ok ? worst[i] : NAN, 1e-12);
    /* Asked for where it cannot run: refused, saying why. */
    clrnn_backend_config cfg = {
        .device = "opencl", .seq_len = SEQ_LEN, .max_batch = BATCH, .kernels = CLRNN_KERNELS_FUSED};
    clrnn_backend *stack = NULL;
    clrnn_status st = clrnn_backend_create(&stack, f->stack, &cfg, &err);
    printf("  fused kernels for two layers -> %s\n", err.message);
    check_true(st == CLRNN_E_INPUT && !stack && strstr(err.message, "it runs one layer"),
               "--kernels fused on a stack of two layers: refused, saying why");
    clrnn_backend_free(cpu);
    clrnn_backend_free(ocl);
    free(got);
    free(want);
}

/* The fused family takes a step either inside the next batch's launch
 * (each work-item recomputing the new parameters) or in its own launch
 * (when the gradient is read before the step): the same bits either way. */
static void fused_step_paths(const fixture *f, const clrnn_optimizer *opt)
{
    size_t P = clrnn_model_n_params(f->model);
    double *params[2] = {calloc(P, sizeof(double)), calloc(P, sizeof(double))};
    double *grads = calloc(P, sizeof(double));
    double loss[2] = {NAN, NAN};
    clrnn_error err;
    int ok = params[0] && params[1] && grads;
    for (int read_grads = 0; ok && read_grads < 2; read_grads++) {
        clrnn_backend *b = make_backend(f, "opencl", CLRNN_FP32);
        ok = b != NULL;
        for (size_t k = 0; ok && k < STEPS; k++)
            ok = clrnn_backend_gradients(b, f->starts[k], BATCH, &err) == CLRNN_OK &&
                 (!read_grads || clrnn_backend_get_grads(b, grads, &err) == CLRNN_OK) &&
                 clrnn_backend_update(b, opt, &err) == CLRNN_OK;
        ok = ok && clrnn_backend_take_loss_sum(b, &loss[read_grads], &err) == CLRNN_OK &&
             clrnn_backend_get_params(b, params[read_grads], &err) == CLRNN_OK;
        if (!ok)
            printf("fused step paths: %s\n", err.message);
        clrnn_backend_free(b);
    }
    char what[128];
    snprintf(what, sizeof what,
             "fused fp32 %s: step inside the next launch == step on its own (bitwise)",
             opt->kind == CLRNN_ADAM ? "AdamW" : "SGD+momentum");
    check_true(ok && memcmp(params[0], params[1], P * sizeof(double)) == 0 &&
                   memcmp(&loss[0], &loss[1], sizeof loss[0]) == 0,
               what);
    free(params[0]);
    free(params[1]);
    free(grads);
}

static void device_errors(const fixture *f)
{
    clrnn_backend_config cfg = {
        .device = "opencl:99.0", .precision = CLRNN_FP32, .seq_len = SEQ_LEN, .max_batch = BATCH};
    clrnn_backend *b = NULL;
    clrnn_error err = {0};
    clrnn_status st = clrnn_backend_create(&b, f->model, &cfg, &err);
    printf("  opencl:99.0 -> %s\n", err.message);
    check_true(st == CLRNN_E_INPUT && !b && strstr(err.message, "no platform 99"),
               "--device opencl:99.0: bad input naming the platform");
    cfg.device = "opencl:0.99";
    st = clrnn_backend_create(&b, f->model, &cfg, &err);
    printf("  opencl:0.99 -> %s\n", err.message);
    check_true(st == CLRNN_E_INPUT && !b && strstr(err.message, "no device 99"),
               "--device opencl:0.99: bad input naming the device");
    cfg.device = "opencl:zero";
    st = clrnn_backend_create(&b, f->model, &cfg, &err);
    check_true(st == CLRNN_E_INPUT && strstr(err.message, "expected opencl:P.D"),
               "--device opencl:zero: bad input");
    /* h of one layer of 256 for 2^20 windows of 1000 steps: 1 TiB. */
    clrnn_layer_shape wide = {3, 256, 1};
    clrnn_model *big = NULL;
    cfg.device = "opencl";
    cfg.seq_len = 1000;
    cfg.max_batch = (size_t)1 << 20;
    st = clrnn_model_create(&big, &wide, 1, &err);
    if (st == CLRNN_OK)
        st = clrnn_backend_create(&b, big, &cfg, &err);
    printf("  a batch of 2^20 windows of 1000 steps -> %s\n", err.message);
    check_true(st == CLRNN_E_DEVICE && !b && strstr(err.message, "device buffer") &&
                   strstr(err.message, "try a smaller `max_batch`"),
               "a buffer too large for the device: named, with a hint");
    clrnn_model_free(big);
    cfg.seq_len = SEQ_LEN;
    cfg.max_batch = BATCH;
    cfg.device = "auto";
    st = clrnn_backend_create(&b, f->model, &cfg, &err);
    check_true(st == CLRNN_OK && clrnn_backend_is_opencl(b),
               "--device auto takes the OpenCL device when there is one");
    if (b)
        printf("  auto -> %s\n", clrnn_backend_describe(b));
    clrnn_backend_free(b);
}

int main(void)
{
    fixture f;
    make_fixture(&f);
    clrnn_backend *probe = make_backend(&f, "opencl", CLRNN_FP32);
    if (!probe) {
        clrnn_model_free(f.stack);
        clrnn_model_free(f.single);
        printf("no OpenCL device%s\n", getenv("CI") ? " (CI: failing)" : ": skipped");
        return getenv("CI") ? 1 : 77;
    }
    printf("device: %s\n", clrnn_backend_describe(probe));
    clrnn_backend_free(probe);

    clrnn_optimizer sgd = {.kind = CLRNN_SGD, .lr = 0.05, .momentum = 0.9, .clip_norm = 0.5};
    clrnn_optimizer adam = {.kind = CLRNN_ADAM,
                            .lr = 0.01,
                            .beta1 = 0.9,
                            .beta2 = 0.999,
                            .eps = 1e-8,
                            .weight_decay = 0.01};
    static const char *const names[] = {"group", "tile", "fused", "gpu"};
    static const clrnn_kernels families[] = {CLRNN_KERNELS_GROUP, CLRNN_KERNELS_TILE,
                                             CLRNN_KERNELS_FUSED, CLRNN_KERNELS_GPU};
    for (int k = 0; k < 4; k++) {
        kernels = families[k];
        family = names[k];
        f.model = kernels == CLRNN_KERNELS_FUSED ? f.single : f.stack;
        determinism(&f, CLRNN_FP32, &sgd, "SGD+momentum, clipped");
        determinism(&f, CLRNN_FP32, &adam, "AdamW");
        determinism(&f, CLRNN_FP64, &sgd, "SGD+momentum, clipped");
        optimizer_state(&f, &sgd);
        optimizer_state(&f, &adam);
        loss_accumulator(&f);
        staged_order(&f, "opencl");
    }
    kernels = CLRNN_KERNELS_FUSED;
    f.model = f.single;
    fused_orders(&f);
    sgd.clip_norm = 0; /* clipping takes the step on its own */
    fused_step_paths(&f, &sgd);
    fused_step_paths(&f, &adam);
    kernels = CLRNN_KERNELS_AUTO;
    f.model = f.stack;
    family = "reference";
    staged_order(&f, "cpu");
    device_errors(&f);
    clrnn_model_free(f.stack);
    clrnn_model_free(f.single);
    return check_summary();
}
