/*
 * The OpenCL backend beyond per-tensor parity (which `clrnn parity` and the
 * parity grid check): two runs give identical bits, the device choice and
 * its errors, the loss accumulator, optimizer state in and out.
 * Skips (77) without an OpenCL device, except in CI.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "clrnn.h"

enum { ROWS = 300, SEQ_LEN = 9, BATCH = 37, STEPS = 20 };
static const clrnn_layer_shape layers[2] = {{3, 19, 2}, {2, 6, 1}};
/* The kernel family under test, and its name for the check lines. */
static clrnn_kernels kernels = CLRNN_KERNELS_AUTO;
static const char *family = "auto";

typedef struct fixture {
    clrnn_model *model;
    double x[ROWS * 3], y[ROWS * 1];
    uint32_t starts[STEPS][BATCH];
} fixture;

static void make_fixture(fixture *f)
{
    clrnn_rng rng;
    clrnn_rng_seed(&rng, 7);
    clrnn_error err;
    if (clrnn_model_create(&f->model, layers, 2, &err) != CLRNN_OK) {
        printf("%s\n", err.message);
        exit(1);
    }
    clrnn_model_init_uniform(f->model, &rng);
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
    double *params = calloc(P, sizeof(double)), *a = calloc(P, sizeof(double)),
           *b_state = calloc(P, sizeof(double)), *got = calloc(P, sizeof(double)),
           *want = calloc(P, sizeof(double));
    clrnn_backend *cpu = make_backend(f, "cpu", CLRNN_FP64);
    clrnn_backend *ocl = make_backend(f, "opencl", CLRNN_FP64);
    clrnn_error err;
    long step = 0;
    int ok = params && a && b_state && got && want && cpu && ocl &&
             isfinite(train(cpu, f, opt, 0, 10)) &&
             clrnn_backend_get_params(cpu, params, &err) == CLRNN_OK &&
             clrnn_backend_get_optimizer_state(cpu, a, b_state, &step, &err) == CLRNN_OK &&
             clrnn_backend_set_params(ocl, params, &err) == CLRNN_OK &&
             clrnn_backend_set_optimizer_state(ocl, a, b_state, step, &err) == CLRNN_OK &&
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
    free(a);
    free(b_state);
    free(got);
    free(want);
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
                   strstr(err.message, "try a smaller --batch"),
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
        clrnn_model_free(f.model);
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
    static const char *const names[] = {"group", "tile"};
    for (int k = 0; k < 2; k++) {
        kernels = k ? CLRNN_KERNELS_TILE : CLRNN_KERNELS_GROUP;
        family = names[k];
        determinism(&f, CLRNN_FP32, &sgd, "SGD+momentum, clipped");
        determinism(&f, CLRNN_FP32, &adam, "AdamW");
        determinism(&f, CLRNN_FP64, &sgd, "SGD+momentum, clipped");
        optimizer_state(&f, &sgd);
        optimizer_state(&f, &adam);
        loss_accumulator(&f);
    }
    kernels = CLRNN_KERNELS_AUTO;
    device_errors(&f);
    clrnn_model_free(f.model);
    return check_summary();
}
