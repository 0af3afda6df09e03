/*
 * Central-difference gradient check of the CPU reference on random stacks of
 * 1 to 3 layers, both loss modes. The backend's gradient is the mean over
 * windows of each window's gradient of sum 0.5 (y - target)^2, so the
 * objective differentiated numerically is J = (terms / B) * sum of window
 * losses, terms being the number of (step, output) pairs a window's loss
 * averages over. Per tensor: ||numeric - analytic|| / ||analytic|| < 1e-6.
 * The same stacks again from random nonzero initial states (a stateful
 * backend: h_{-1} = h0, held constant, so dW_h has the step-0 term).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "clrnn.h"

enum { ROWS = 40 };

static double objective(clrnn_backend *b, const double *params, const uint32_t *starts, size_t B,
                        double terms)
{
    double sum = 0.0;
    clrnn_backend_set_params(b, params, NULL);
    clrnn_backend_forward(b, starts, B, NULL);
    clrnn_backend_take_loss_sum(b, &sum, NULL);
    return sum * terms / (double)B;
}

static void gradcheck(const clrnn_layer_shape *layers, size_t n_layers, size_t T, size_t B,
                      clrnn_loss_steps loss_steps, uint32_t seed, int stateful)
{
    clrnn_rng rng;
    clrnn_rng_seed(&rng, seed);
    clrnn_model *model = NULL;
    clrnn_backend *b = NULL;
    clrnn_error err;
    size_t F = layers[0].n_in, K = layers[n_layers - 1].n_out;
    if (clrnn_model_create(&model, layers, n_layers, &err) != CLRNN_OK) {
        check_true(0, err.message);
        return;
    }
    clrnn_model_init_uniform(model, &rng);
    size_t P = clrnn_model_n_params(model);
    double *x = malloc(ROWS * F * sizeof *x), *y = malloc(ROWS * K * sizeof *y);
    double *grads = malloc(P * sizeof *grads), *numeric = malloc(P * sizeof *numeric);
    double *w = malloc(P * sizeof *w);
    for (size_t i = 0; i < ROWS * F; i++)
        x[i] = 2 * clrnn_rng_uniform(&rng) - 1;
    for (size_t i = 0; i < ROWS * K; i++)
        y[i] = 2 * clrnn_rng_uniform(&rng) - 1;
    uint32_t starts[8];
    for (size_t i = 0; i < B; i++)
        starts[i] = clrnn_rng_below(&rng, (uint32_t)(ROWS - T + 1));
    clrnn_backend_config cfg = {.device = "cpu",
                                .precision = CLRNN_FP64,
                                .seq_len = T,
                                .max_batch = B,
                                .loss_steps = loss_steps};
    if (clrnn_backend_create(&b, model, &cfg, &err) != CLRNN_OK ||
        clrnn_backend_stage(b, x, y, ROWS, &err) != CLRNN_OK ||
        (stateful && clrnn_backend_set_stateful(b, 1, &err) != CLRNN_OK)) {
        check_true(0, err.message);
        goto done;
    }
    for (size_t l = 0; stateful && l < n_layers; l++) {
        double h0[8 * 6]; /* (B,H): B <= 8, H <= 6 */
        for (size_t i = 0; i < B * layers[l].n_hidden; i++)
            h0[i] = 1.6 * clrnn_rng_uniform(&rng) - 0.8;
        if (clrnn_backend_set_initial_state(b, l, h0, B, &err) != CLRNN_OK) {
            check_true(0, err.message);
            goto done;
        }
    }
    if (clrnn_backend_gradients(b, starts, B, &err) != CLRNN_OK ||
        clrnn_backend_get_grads(b, grads, &err) != CLRNN_OK) {
        check_true(0, err.message);
        goto done;
    }
    double leftover; /* the gradient pass's loss: not part of the first probe */
    clrnn_backend_take_loss_sum(b, &leftover, NULL);
    double terms = (double)((loss_steps == CLRNN_LOSS_LAST ? 1 : T) * K);
    memcpy(w, clrnn_model_params(model), P * sizeof *w);
    for (size_t i = 0; i < P; i++) {
        double h = 1e-5 * fmax(1.0, fabs(w[i])), saved = w[i];
        w[i] = saved + h;
        double up = objective(b, w, starts, B, terms);
        w[i] = saved - h;
        double down = objective(b, w, starts, B, terms);
        w[i] = saved;
        numeric[i] = (up - down) / (2 * h);
    }
    for (size_t l = 0; l < n_layers; l++) {
        for (int p = 0; p < CLRNN_N_PARAMS_PER_LAYER; p++) {
            size_t off = clrnn_model_param_offset(model, l, (clrnn_param)p);
            size_t n = clrnn_model_param_count(model, l, (clrnn_param)p);
            double diff = 0.0, norm = 0.0;
            for (size_t i = off; i < off + n; i++) {
                diff += (numeric[i] - grads[i]) * (numeric[i] - grads[i]);
                norm += grads[i] * grads[i];
            }
            double rel = sqrt(diff) / fmax(sqrt(norm), 1e-12);
            char what[128];
            snprintf(what, sizeof what, "L%zu T%zu B%zu %s%s layer %zu %s rel err", n_layers, T, B,
                     loss_steps == CLRNN_LOSS_LAST ? "last" : "all", stateful ? " from h0" : "", l,
                     clrnn_param_name((clrnn_param)p));
            check(rel < 1e-6, what, rel, 1e-6);
        }
    }
done:
    clrnn_backend_free(b);
    clrnn_model_free(model);
    free(x);
    free(y);
    free(grads);
    free(numeric);
    free(w);
}

int main(void)
{
    for (int stateful = 0; stateful < 2; stateful++) {
        clrnn_rng shapes;
        clrnn_rng_seed(&shapes, 1234);
        for (size_t n_layers = 1; n_layers <= 3; n_layers++) {
            for (int mode = 0; mode < 2; mode++) {
                clrnn_layer_shape layers[3];
                size_t n_in = 1 + clrnn_rng_below(&shapes, 4);
                for (size_t l = 0; l < n_layers; l++) {
                    layers[l].n_in = n_in;
                    layers[l].n_hidden = 1 + clrnn_rng_below(&shapes, 6);
                    layers[l].n_out = 1 + clrnn_rng_below(&shapes, 3);
                    n_in = layers[l].n_out;
                }
                size_t T = 1 + clrnn_rng_below(&shapes, 6);
                size_t B = 1 + clrnn_rng_below(&shapes, 4);
                gradcheck(layers, n_layers, T, B, (clrnn_loss_steps)mode, 100 + (uint32_t)n_layers,
                          stateful);
            }
        }
    }
    return check_summary();
}
