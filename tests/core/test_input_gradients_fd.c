/*
 * The CPU reference's input attributions (clrnn_backend_input_gradients)
 * against central differences of the model's own predictions: for every
 * window, output, step and input feature, perturb that cell of the staged
 * table by +-h, run the window forward, and difference the output at the
 * window's last step. Random stacks of 1 to 3 layers (one of a single
 * hidden unit), both loss modes (the prediction is the last step's
 * whatever the loss covers). Per output: ||numeric - analytic|| /
 * ||analytic|| < 1e-6, and the analytic gradient is not all zeros.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "clrnn.h"

enum { ROWS = 30 };

/* The top layer's output o at the last step of the window at start. */
static double prediction(clrnn_backend *b, const double *x, const double *y, uint32_t start,
                         size_t T, size_t O, size_t top, size_t o, double *out)
{
    clrnn_backend_stage(b, x, y, ROWS, NULL);
    clrnn_backend_forward(b, &start, 1, NULL);
    clrnn_backend_get_outputs(b, top, out, NULL);
    return out[(T - 1) * O + o];
}

static void fdcheck(const clrnn_layer_shape *layers, size_t n_layers, size_t T, size_t B,
                    clrnn_loss_steps loss_steps, uint32_t seed)
{
    clrnn_rng rng;
    clrnn_rng_seed(&rng, seed);
    clrnn_model *model = NULL;
    clrnn_backend *b = NULL;
    clrnn_error err;
    size_t F = layers[0].n_in, O = layers[n_layers - 1].n_out, top = n_layers - 1;
    if (clrnn_model_create(&model, layers, n_layers, &err) != CLRNN_OK) {
        check_true(0, err.message);
        return;
    }
    clrnn_model_init_uniform(model, &rng);
    double *x = malloc(ROWS * F * sizeof *x), *y = malloc(ROWS * O * sizeof *y);
    double *dx = malloc(B * T * F * sizeof *dx), *out = malloc(T * O * sizeof *out);
    uint32_t starts[8];
    for (size_t i = 0; i < ROWS * F; i++)
        x[i] = 2 * clrnn_rng_uniform(&rng) - 1;
    for (size_t i = 0; i < ROWS * O; i++)
        y[i] = 2 * clrnn_rng_uniform(&rng) - 1;
    for (size_t i = 0; i < B; i++)
        starts[i] = clrnn_rng_below(&rng, (uint32_t)(ROWS - T + 1));
    clrnn_backend_config cfg = {.device = "cpu",
                                .precision = CLRNN_FP64,
                                .seq_len = T,
                                .max_batch = B,
                                .loss_steps = loss_steps};
    if (clrnn_backend_create(&b, model, &cfg, &err) != CLRNN_OK ||
        clrnn_backend_stage(b, x, y, ROWS, &err) != CLRNN_OK) {
        check_true(0, err.message);
        goto done;
    }
    for (size_t o = 0; o < O; o++) {
        if (clrnn_backend_input_gradients(b, starts, B, o, dx, &err) != CLRNN_OK) {
            check_true(0, err.message);
            goto done;
        }
        double diff = 0.0, norm = 0.0;
        for (size_t w = 0; w < B; w++)
            for (size_t t = 0; t < T; t++)
                for (size_t f = 0; f < F; f++) {
                    double *cell = &x[((size_t)starts[w] + t) * F + f], saved = *cell;
                    double h = 1e-5 * fmax(1.0, fabs(saved));
                    *cell = saved + h;
                    double up = prediction(b, x, y, starts[w], T, O, top, o, out);
                    *cell = saved - h;
                    double down = prediction(b, x, y, starts[w], T, O, top, o, out);
                    *cell = saved;
                    double numeric = (up - down) / (2 * h), analytic = dx[(w * T + t) * F + f];
                    diff += (numeric - analytic) * (numeric - analytic);
                    norm += analytic * analytic;
                }
        clrnn_backend_stage(b, x, y, ROWS, NULL); /* the table as it was */
        double rel = norm > 0 ? sqrt(diff) / sqrt(norm) : NAN;
        char what[128];
        snprintf(what, sizeof what, "L%zu H0 %zu T%zu B%zu %s output %zu: dx vs central diff",
                 n_layers, layers[0].n_hidden, T, B, loss_steps == CLRNN_LOSS_LAST ? "last" : "all",
                 o);
        check(rel < 1e-6, what, rel, 1e-6);
    }
done:
    clrnn_backend_free(b);
    clrnn_model_free(model);
    free(x);
    free(y);
    free(dx);
    free(out);
}

int main(void)
{
    static const clrnn_layer_shape one_unit[] = {{3, 1, 2}};
    fdcheck(one_unit, 1, 4, 2, CLRNN_LOSS_ALL, 7);
    static const clrnn_layer_shape one_step[] = {{2, 5, 1}};
    fdcheck(one_step, 1, 1, 3, CLRNN_LOSS_ALL, 8);
    clrnn_rng shapes;
    clrnn_rng_seed(&shapes, 4321);
    for (size_t n_layers = 1; n_layers <= 3; n_layers++)
        for (int mode = 0; mode < 2; mode++) {
            clrnn_layer_shape layers[3];
            size_t n_in = 1 + clrnn_rng_below(&shapes, 4);
            for (size_t l = 0; l < n_layers; l++) {
                layers[l].n_in = n_in;
                layers[l].n_hidden = 1 + clrnn_rng_below(&shapes, 6);
                layers[l].n_out = 1 + clrnn_rng_below(&shapes, 3);
                n_in = layers[l].n_out;
            }
            size_t T = 2 + clrnn_rng_below(&shapes, 6);
            size_t B = 1 + clrnn_rng_below(&shapes, 4);
            fdcheck(layers, n_layers, T, B, (clrnn_loss_steps)mode, 200 + (uint32_t)n_layers);
        }
    return check_summary();
}
