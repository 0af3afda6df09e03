/*
 * Input attributions (clrnn_backend_input_gradients) on the OpenCL backend
 * against the CPU reference, for one kernel family (argv[1]) in fp32 and
 * fp64, on awkward shapes: one window, one step, one hidden unit, stacks
 * of two and three layers, batches that are not multiples of any tile or
 * work-group, every output. Then inference only: the parameters, the
 * optimizer state, the loss sum and the next training batch's gradient are
 * bitwise what they were without the call. argv[2] "small": the first
 * shapes only (for Oclgrind, which interprets). Skips (77) without an
 * OpenCL device, except in CI.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "clrnn.h"

enum { ROWS = 300, MAX_LAYERS = 3 };

typedef struct shape {
    const char *name;
    size_t n_layers;
    clrnn_layer_shape layers[MAX_LAYERS];
    size_t batch, seq_len;
} shape;

/* The first three are small enough for Oclgrind. */
static const shape stack_shapes[] = {
    {"tiny 1:1:1 B1 T1", 1, {{1, 1, 1}}, 1, 1},
    {"one unit, 2 outputs", 1, {{3, 1, 2}}, 3, 5},
    {"stack 2:3:2,2:7:1", 2, {{2, 3, 2}, {2, 7, 1}}, 5, 3},
    {"5:17:2 B64 T7", 1, {{5, 17, 2}}, 64, 7},
    {"three layers", 3, {{5, 4, 2}, {2, 64, 3}, {3, 1, 1}}, 3, 33},
    {"wide 3:129:1", 1, {{3, 129, 1}}, 5, 4},
    {"stack 3:17:3,3:4:1 B257", 2, {{3, 17, 3}, {3, 4, 1}}, 257, 2},
    {"vector rows 4:48:3,3:32:1", 2, {{4, 48, 3}, {3, 32, 1}}, 70, 5},
};
/* The fused family runs one layer of at most 16 hidden units. */
static const shape fused_shapes[] = {
    {"tiny 1:1:1 B1 T1", 1, {{1, 1, 1}}, 1, 1},
    {"one unit, 2 outputs", 1, {{3, 1, 2}}, 3, 5},
    {"2:5:2 B40 T3", 1, {{2, 5, 2}}, 40, 3},
    {"widest 5:16:3 T33", 1, {{5, 16, 3}}, 64, 33},
    {"notebook 3:4:1 B257", 1, {{3, 4, 1}}, 257, 7},
    {"13 units, 17 windows", 1, {{2, 13, 2}}, 17, 7},
};

static double x_table[ROWS * 8], y_table[ROWS * 8];
static clrnn_kernels kernels;
static const char *family;

static clrnn_backend *make_backend(const clrnn_model *model, const shape *sh, const char *device,
                                   clrnn_precision p)
{
    clrnn_backend_config cfg = {.device = device,
                                .precision = p,
                                .seq_len = sh->seq_len,
                                .max_batch = sh->batch,
                                .kernels = kernels};
    clrnn_backend *b = NULL;
    clrnn_error err;
    if (clrnn_backend_create(&b, model, &cfg, &err) != CLRNN_OK ||
        clrnn_backend_stage(b, x_table, y_table, ROWS, &err) != CLRNN_OK) {
        printf("creating a %s backend: %s\n", device, err.message);
        clrnn_backend_free(b);
        return NULL;
    }
    return b;
}

/* max |a - r| / max |r|: the parity checks' measure. */
static double rel_to_scale(const double *a, const double *r, size_t n)
{
    double diff = 0, scale = 1e-300;
    for (size_t i = 0; i < n; i++) {
        diff = fmax(diff, fabs(a[i] - r[i]));
        scale = fmax(scale, fabs(r[i]));
    }
    return diff / scale;
}

/* Every output's dx on OpenCL against the CPU reference. */
static void parity(const clrnn_model *model, const shape *sh, const uint32_t *starts,
                   clrnn_precision p)
{
    const size_t B = sh->batch, T = sh->seq_len, F = sh->layers[0].n_in;
    const size_t O = sh->layers[sh->n_layers - 1].n_out, n = B * T * F;
    const double limit = p == CLRNN_FP64 ? 1e-12 : 1e-5;
    double *got = calloc(n, sizeof *got), *want = calloc(n, sizeof *want);
    clrnn_backend *cpu = make_backend(model, sh, "cpu", CLRNN_FP64);
    clrnn_backend *ocl = make_backend(model, sh, "opencl", p);
    clrnn_error err;
    for (size_t o = 0; o < O; o++) {
        int ok = got && want && cpu && ocl &&
                 clrnn_backend_input_gradients(cpu, starts, B, o, want, &err) == CLRNN_OK &&
                 clrnn_backend_input_gradients(ocl, starts, B, o, got, &err) == CLRNN_OK;
        if (!ok && cpu && ocl)
            printf("input gradients: %s\n", err.message);
        double scale = 0;
        for (size_t i = 0; ok && i < n; i++)
            scale = fmax(scale, fabs(want[i]));
        char what[160];
        snprintf(what, sizeof what, "%s %s %s: dx of output %zu (B,T,F) vs CPU", family,
                 p == CLRNN_FP64 ? "fp64" : "fp32", sh->name, o);
        /* a gradient of all zeros would pass vacuously */
        check(ok && scale > 0, what, ok ? rel_to_scale(got, want, n) : NAN, limit);
    }
    clrnn_backend_free(cpu);
    clrnn_backend_free(ocl);
    free(got);
    free(want);
}

/* A backend after two training steps, then input gradients between a
 * batch's gradients and the next: everything it trains with is untouched. */
static void inference_only(const clrnn_model *model, const shape *sh, const uint32_t *starts,
                           const char *device, clrnn_precision p)
{
    const size_t B = sh->batch, T = sh->seq_len, F = sh->layers[0].n_in;
    const size_t P = clrnn_model_n_params(model);
    clrnn_optimizer adam = {
        .kind = CLRNN_ADAM, .lr = 0.01, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
    double *buf = calloc(9 * P + B * T * F, sizeof *buf);
    double *params[2] = {buf, buf + P}, *m[2] = {buf + 2 * P, buf + 3 * P};
    double *v[2] = {buf + 4 * P, buf + 5 * P}, *grads[2] = {buf + 6 * P, buf + 7 * P};
    double *dx = buf + 9 * P, loss[2] = {NAN, NAN}, untouched = NAN;
    long step[2] = {0, 0};
    clrnn_error err;
    int ok = buf != NULL;
    for (int call = 0; ok && call < 2; call++) {
        clrnn_backend *b = make_backend(model, sh, device, p);
        ok = b != NULL;
        for (int s = 0; ok && s < 2; s++)
            ok = clrnn_backend_gradients(b, starts, B, &err) == CLRNN_OK &&
                 clrnn_backend_update(b, &adam, &err) == CLRNN_OK;
        ok = ok && clrnn_backend_take_loss_sum(b, &loss[call], &err) == CLRNN_OK;
        if (ok && call) /* the call under test, between the step and the reads */
            ok = clrnn_backend_input_gradients(b, starts, B, 0, dx, &err) == CLRNN_OK &&
                 clrnn_backend_take_loss_sum(b, &untouched, &err) == CLRNN_OK;
        ok =
            ok && clrnn_backend_get_params(b, params[call], &err) == CLRNN_OK &&
            clrnn_backend_get_optimizer_state(b, m[call], v[call], &step[call], &err) == CLRNN_OK &&
            clrnn_backend_gradients(b, starts, B, &err) == CLRNN_OK &&
            clrnn_backend_get_grads(b, grads[call], &err) == CLRNN_OK &&
            clrnn_backend_take_loss_sum(b, &loss[call], &err) == CLRNN_OK;
        if (!ok && b)
            printf("%s: %s\n", device, err.message);
        clrnn_backend_free(b);
    }
    char what[160];
    snprintf(what, sizeof what,
             "%s %s %s %s: parameters, optimizer state, next gradient and loss bitwise "
             "unchanged",
             device, strcmp(device, "cpu") == 0 ? "reference" : family,
             p == CLRNN_FP64 ? "fp64" : "fp32", sh->name);
    check_true(ok && memcmp(params[0], params[1], P * sizeof(double)) == 0 &&
                   memcmp(m[0], m[1], P * sizeof(double)) == 0 &&
                   memcmp(v[0], v[1], P * sizeof(double)) == 0 && step[0] == step[1] &&
                   memcmp(grads[0], grads[1], P * sizeof(double)) == 0 &&
                   memcmp(&loss[0], &loss[1], sizeof loss[0]) == 0,
               what);
    snprintf(what, sizeof what, "%s %s %s %s: ... and no loss added by the call", device,
             strcmp(device, "cpu") == 0 ? "reference" : family, p == CLRNN_FP64 ? "fp64" : "fp32",
             sh->name);
    check_true(ok && untouched == 0.0, what);
    free(buf);
}

int main(int argc, char **argv)
{
    if (argc < 2 || !clrnn_parse_kernels(argv[1], &kernels) || kernels == CLRNN_KERNELS_AUTO) {
        printf("usage: opencl_input_gradients group|tile|fused|gpu [small]\n");
        return 2;
    }
    family = argv[1];
    const int small = argc > 2 && strcmp(argv[2], "small") == 0;
    clrnn_error err;
    clrnn_model *probe_model = NULL;
    clrnn_backend *probe = NULL;
    const shape *first = kernels == CLRNN_KERNELS_FUSED ? &fused_shapes[0] : &stack_shapes[0];
    if (clrnn_model_create(&probe_model, first->layers, first->n_layers, &err) == CLRNN_OK)
        probe = make_backend(probe_model, first, "opencl", CLRNN_FP32);
    clrnn_model_free(probe_model);
    if (!probe) {
        printf("no OpenCL device%s\n", getenv("CI") ? " (CI: failing)" : ": skipped");
        return getenv("CI") ? 1 : 77;
    }
    printf("device: %s\n", clrnn_backend_describe(probe));
    clrnn_backend_free(probe);
    clrnn_rng rng;
    clrnn_rng_seed(&rng, 11);
    for (size_t i = 0; i < sizeof x_table / sizeof x_table[0]; i++)
        x_table[i] = 2 * clrnn_rng_uniform(&rng) - 1;
    for (size_t i = 0; i < sizeof y_table / sizeof y_table[0]; i++)
        y_table[i] = clrnn_rng_uniform(&rng);
    const shape *shapes = kernels == CLRNN_KERNELS_FUSED ? fused_shapes : stack_shapes;
    size_t n_shapes = kernels == CLRNN_KERNELS_FUSED ? sizeof fused_shapes / sizeof fused_shapes[0]
                                                     : sizeof stack_shapes / sizeof stack_shapes[0];
    if (small)
        n_shapes = 3;
    for (size_t k = 0; k < n_shapes; k++) {
        const shape *sh = &shapes[k];
        clrnn_model *model = NULL;
        uint32_t *starts = malloc(sh->batch * sizeof *starts);
        if (!starts || clrnn_model_create(&model, sh->layers, sh->n_layers, &err) != CLRNN_OK) {
            printf("%s\n", starts ? err.message : "out of memory");
            return 1;
        }
        clrnn_model_init_uniform(model, &rng);
        for (size_t b = 0; b < sh->batch; b++)
            starts[b] = clrnn_rng_below(&rng, (uint32_t)(ROWS - sh->seq_len + 1));
        parity(model, sh, starts, CLRNN_FP64);
        parity(model, sh, starts, CLRNN_FP32);
        if (k < 3) {
            inference_only(model, sh, starts, "opencl", CLRNN_FP32);
            inference_only(model, sh, starts, "opencl", CLRNN_FP64);
        }
        if (k == 0)
            inference_only(model, sh, starts, "cpu", CLRNN_FP64);
        clrnn_model_free(model);
        free(starts);
    }
    return check_summary();
}
