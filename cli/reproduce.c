/*
 * The notebook's runs. Per-window SGD is a batch of one window, so both runs
 * go through the ordinary backend API with max_batch 1; only the notebook's
 * loss quirk (weather) is computed here, on the host, from the outputs.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "reproduce.h"

static void defaults(reproduce_options *o)
{
    memset(o, 0, sizeof *o);
    o->device = "cpu";
    o->precision = CLRNN_FP64;
    o->seed = 0;
    o->momentum = 0.0;
    o->out = stdout;
}

void reproduce_toy_defaults(reproduce_options *o)
{
    defaults(o);
    o->hidden[0] = 5; /* rec11 (1,5,1) -> rec21 (1,7,1) */
    o->hidden[1] = 7;
    o->n_layers = 2;
    o->lr = 5e-3;
    o->seq_len = 3;
    o->epochs = 500;
}

void reproduce_weather_defaults(reproduce_options *o)
{
    defaults(o);
    o->hidden[0] = 4; /* rec1 (3,4,1) */
    o->n_layers = 1;
    o->lr = 1e-3;
    o->seq_len = 7;
    o->epochs = 51;
    o->train_fraction = 0.05;
}

/* A stack of n_layers layers, n_in inputs into the first, 1 output each
 * (the notebook's layers all have n_out 1). */
static clrnn_status make_model(clrnn_model **model, const reproduce_options *o, size_t n_in,
                               clrnn_rng *rng, clrnn_error *err)
{
    clrnn_layer_shape layers[REPRODUCE_MAX_LAYERS];
    for (size_t l = 0; l < o->n_layers; l++)
        layers[l] = (clrnn_layer_shape){l == 0 ? n_in : 1, o->hidden[l], 1};
    clrnn_status st = clrnn_model_create(model, layers, o->n_layers, err);
    if (st == CLRNN_OK)
        clrnn_model_init_uniform(*model, rng);
    return st;
}

static clrnn_status make_backend(clrnn_backend **b, const clrnn_model *model,
                                 const reproduce_options *o, size_t seq_len, clrnn_error *err)
{
    clrnn_backend_config cfg = {.device = o->device,
                                .precision = o->precision,
                                .seq_len = seq_len,
                                .max_batch = 1,
                                .loss_steps = CLRNN_LOSS_ALL,
                                .log = o->log};
    return clrnn_backend_create(b, model, &cfg, err);
}

static double norm2(const double *v, size_t n)
{
    double acc = 0.0;
    for (size_t i = 0; i < n; i++)
        acc += v[i] * v[i];
    return sqrt(acc);
}

/* The norms of dW_i, dW_h, dW_o of the first layer, as the notebook prints. */
static void layer0_grad_norms(const clrnn_model *model, const double *grads, double norms[3])
{
    for (int p = 0; p < 3; p++)
        norms[p] = norm2(grads + clrnn_model_param_offset(model, 0, (clrnn_param)p),
                         clrnn_model_param_count(model, 0, (clrnn_param)p));
}

static void print_trace(FILE *out, size_t epoch, double loss, double loss_per_step,
                        const double norms[3])
{
    fprintf(out, "epoch %zu loss %.17g loss_per_step %.17g dWi %.17g dWh %.17g dWo %.17g\n", epoch,
            loss, loss_per_step, norms[0], norms[1], norms[2]);
}

/* ------------------------------------------------------------------ toy */

enum { TOY_ROWS = 10, TOY_STACKS = 2 };

/* The final cell: both stacks run over the whole sequence as one window. */
static clrnn_status toy_final_outputs(clrnn_backend *trained, const clrnn_model *shape,
                                      const double *x, const double *y, const reproduce_options *o,
                                      clrnn_error *err)
{
    clrnn_model *model = NULL;
    clrnn_backend *whole = NULL;
    double out[TOY_ROWS];
    uint32_t start = 0;
    clrnn_status st = clrnn_model_clone(&model, shape, err);
    if (st == CLRNN_OK)
        st = clrnn_backend_get_params(trained, clrnn_model_params(model), err);
    if (st == CLRNN_OK)
        st = make_backend(&whole, model, o, TOY_ROWS, err);
    if (st == CLRNN_OK)
        st = clrnn_backend_stage(whole, x, y, TOY_ROWS, err);
    if (st == CLRNN_OK)
        st = clrnn_backend_forward(whole, &start, 1, err);
    if (st == CLRNN_OK)
        st = clrnn_backend_get_outputs(whole, o->n_layers - 1, out, err);
    if (st == CLRNN_OK) {
        fprintf(o->out, "[");
        for (size_t i = 0; i < TOY_ROWS; i++)
            fprintf(o->out, "%s%.17g", i ? " " : "", out[i]);
        fprintf(o->out, "]\n[");
        for (size_t i = 0; i < TOY_ROWS; i++)
            fprintf(o->out, "%s%.17g", i ? " " : "", y[i]);
        fprintf(o->out, "]\n");
    }
    clrnn_backend_free(whole);
    clrnn_model_free(model);
    return st;
}

clrnn_status reproduce_toy(const reproduce_options *o, clrnn_error *err)
{
    static const double targets[TOY_ROWS] = {60, 52, 52, 53, 52, 50, 52, 56, 54, 57};
    if (o->seq_len == 0 || o->seq_len >= TOY_ROWS)
        return clrnn__fail(err, CLRNN_E_INPUT,
                           "--seq-len %zu: the toy sequence has %d values; use 1 to %d", o->seq_len,
                           TOY_ROWS, TOY_ROWS - 1);
    /* 1..10 standardised with the population std, as StandardScaler does. */
    double x[TOY_ROWS], mean = 0.0, var = 0.0;
    for (int i = 0; i < TOY_ROWS; i++)
        mean += (double)(i + 1);
    mean /= TOY_ROWS;
    for (int i = 0; i < TOY_ROWS; i++)
        var += ((i + 1) - mean) * ((i + 1) - mean);
    double scale = sqrt(var / TOY_ROWS);
    for (int i = 0; i < TOY_ROWS; i++)
        x[i] = ((i + 1) - mean) / scale;

    clrnn_model *models[TOY_STACKS] = {0};
    clrnn_backend *backends[TOY_STACKS] = {0};
    double *grads = NULL;
    clrnn_rng rng;
    clrnn_rng_seed(&rng, o->seed);
    clrnn_status st = CLRNN_OK;
    /* Stack 1 (rec11, rec21) is built before stack 2 (rec12, rec22). */
    for (int m = 0; m < TOY_STACKS && st == CLRNN_OK; m++)
        st = make_model(&models[m], o, 1, &rng, err);
    for (int m = 0; m < TOY_STACKS && st == CLRNN_OK; m++) {
        st = make_backend(&backends[m], models[m], o, o->seq_len, err);
        if (st == CLRNN_OK)
            st = clrnn_backend_stage(backends[m], x, targets, TOY_ROWS, err);
    }
    if (st == CLRNN_OK && !(grads = malloc(clrnn_model_n_params(models[0]) * sizeof *grads)))
        st = clrnn__fail(err, CLRNN_E_NOMEM, "out of memory");
    if (st != CLRNN_OK)
        goto done;

    clrnn_optimizer sgd = {.kind = CLRNN_SGD, .lr = o->lr, .momentum = o->momentum};
    uint32_t n_windows = (uint32_t)(TOY_ROWS - o->seq_len); /* the notebook's count */
    for (size_t epoch = 0; epoch < o->epochs; epoch++) {
        for (uint32_t j = 0; j < n_windows; j++) {
            for (int m = 0; m < TOY_STACKS && st == CLRNN_OK; m++) {
                st = clrnn_backend_gradients(backends[m], &j, 1, err);
                if (st == CLRNN_OK)
                    st = clrnn_backend_update(backends[m], &sgd, err);
            }
            if (st != CLRNN_OK)
                goto done;
        }
        double last_loss[TOY_STACKS], loss_sum[TOY_STACKS];
        for (int m = 0; m < TOY_STACKS && st == CLRNN_OK; m++) {
            st = clrnn_backend_get_window_losses(backends[m], &last_loss[m], err);
            if (st == CLRNN_OK)
                st = clrnn_backend_take_loss_sum(backends[m], &loss_sum[m], err);
        }
        if (st != CLRNN_OK)
            goto done;
        if (!isfinite(last_loss[0]) || !isfinite(last_loss[1])) {
            st = clrnn__fail(err, CLRNN_E_NUMERIC, "the loss is not finite at epoch %zu", epoch);
            goto done;
        }
        if (o->trace) {
            double norms[3];
            st = clrnn_backend_get_grads(backends[0], grads, err);
            if (st != CLRNN_OK)
                goto done;
            layer0_grad_norms(models[0], grads, norms);
            /* Same shapes of output and target here: no broadcasting quirk. */
            print_trace(o->out, epoch, loss_sum[0] / TOY_ROWS, loss_sum[0] / TOY_ROWS, norms);
        }
        if (epoch % 100 == 0) {
            fprintf(o->out, "Loss 1: %.17g\n", last_loss[0]);
            fprintf(o->out, "Loss 2: %.17g\n", last_loss[1]);
        }
    }
    for (int m = 0; m < TOY_STACKS && st == CLRNN_OK; m++)
        st = toy_final_outputs(backends[m], models[m], x, targets, o, err);
done:
    free(grads);
    for (int m = 0; m < TOY_STACKS; m++) {
        clrnn_backend_free(backends[m]);
        clrnn_model_free(models[m]);
    }
    return st;
}

/* -------------------------------------------------------------- weather */

/* The notebook's window loss mse_loss(output (T,1), target (T,)): numpy
 * broadcasts to a T x T matrix, so it is the mean over all pairs (i, j) of
 * 0.5 (y_i - target_j)^2. */
static double broadcast_quirk_loss(const double *y, const double *target, size_t T)
{
    double acc = 0.0;
    for (size_t i = 0; i < T; i++)
        for (size_t j = 0; j < T; j++)
            acc += 0.5 * (y[i] - target[j]) * (y[i] - target[j]);
    return acc / (double)(T * T);
}

static clrnn_status load_weather(clrnn_dataset **data, const reproduce_options *o, clrnn_error *err)
{
    static const char *const features[] = {"tmax", "tmin", "rain"};
    static const char *const target[] = {"tmax_tomorrow"};
    clrnn_table *table = NULL;
    clrnn_status st = clrnn_table_read_csv(&table, o->data, err);
    if (st != CLRNN_OK)
        return st;
    clrnn_data_config cfg = clrnn_data_config_default();
    cfg.features = features;
    cfg.n_features = 3;
    cfg.targets = target;
    cfg.n_targets = 1;
    cfg.seq_len = o->seq_len;
    cfg.train_fraction = o->train_fraction;
    cfg.val_fraction = 0.0;
    cfg.scaler_fit = CLRNN_SCALER_FIT_ALL; /* the notebook fits before splitting */
    cfg.scale_targets = 0;                 /* it predicts degrees directly */
    st = clrnn_dataset_create(data, table, &cfg, err);
    clrnn_table_free(table);
    return st;
}

clrnn_status reproduce_weather(const reproduce_options *o, clrnn_error *err)
{
    clrnn_dataset *data = NULL;
    clrnn_model *model = NULL;
    clrnn_backend *backend = NULL;
    double *grads = NULL, *y = NULL;
    clrnn_status st = load_weather(&data, o, err);
    if (st != CLRNN_OK)
        return st;
    size_t T = o->seq_len, n_train, train_end;
    clrnn_dataset_split_rows(data, CLRNN_SPLIT_TRAIN, &n_train, &train_end);
    n_train = train_end; /* the split starts at row 0 */
    if (n_train <= T) {
        st = clrnn__fail(err, CLRNN_E_INPUT, "%zu training rows leave no window of seq_len %zu",
                         n_train, T);
        goto done;
    }
    clrnn_rng rng;
    clrnn_rng_seed(&rng, o->seed);
    st = make_model(&model, o, 3, &rng, err);
    if (st == CLRNN_OK)
        st = make_backend(&backend, model, o, T, err);
    if (st == CLRNN_OK)
        st = clrnn_backend_stage(backend, clrnn_dataset_x(data), clrnn_dataset_y(data),
                                 clrnn_dataset_n_rows(data), err);
    if (st == CLRNN_OK && (!(grads = malloc(clrnn_model_n_params(model) * sizeof *grads)) ||
                           !(y = malloc(T * sizeof *y))))
        st = clrnn__fail(err, CLRNN_E_NOMEM, "out of memory");
    if (st != CLRNN_OK)
        goto done;

    const double *targets = clrnn_dataset_y(data);
    clrnn_optimizer sgd = {.kind = CLRNN_SGD, .lr = o->lr, .momentum = o->momentum};
    uint32_t n_windows = (uint32_t)(n_train - T); /* range(len(X_train) - seq_len) */
    for (size_t epoch = 0; epoch < o->epochs; epoch++) {
        double epoch_loss = 0.0, per_step_sum = 0.0;
        for (uint32_t j = 0; j < n_windows; j++) {
            st = clrnn_backend_gradients(backend, &j, 1, err);
            if (st == CLRNN_OK)
                st = clrnn_backend_get_outputs(backend, o->n_layers - 1, y, err);
            if (st == CLRNN_OK)
                st = clrnn_backend_update(backend, &sgd, err);
            if (st != CLRNN_OK)
                goto done;
            epoch_loss += broadcast_quirk_loss(y, targets + j, T);
        }
        st = clrnn_backend_take_loss_sum(backend, &per_step_sum, err);
        if (st == CLRNN_OK)
            st = clrnn_backend_get_grads(backend, grads, err);
        if (st != CLRNN_OK)
            goto done;
        double norms[3];
        layer0_grad_norms(model, grads, norms);
        if (o->trace)
            print_trace(o->out, epoch, epoch_loss / (double)n_train, per_step_sum / (double)n_train,
                        norms);
        if (epoch % 10 == 0)
            fprintf(o->out, "Epoch loss %zu: %.17g\n", epoch, epoch_loss / (double)n_train);
        fprintf(o->out, "dInput weights: %.17g, dhidden weights: %.17g, doutput weights: %.17g\n",
                norms[0], norms[1], norms[2]);
        if (!isfinite(epoch_loss)) {
            st = clrnn__fail(err, CLRNN_E_NUMERIC,
                             "the loss is not finite at epoch %zu (try a lower --lr)", epoch);
            goto done;
        }
    }
done:
    free(grads);
    free(y);
    clrnn_backend_free(backend);
    clrnn_model_free(model);
    clrnn_dataset_free(data);
    return st;
}
