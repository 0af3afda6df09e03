/* The public backend API: argument checks, then the implementation's ops. */
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "backend/exchange.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/model.h"

static clrnn_status choose_and_init(clrnn_backend *b, const clrnn_backend_config *config,
                                    clrnn_error *err)
{
    const char *device = config->device ? config->device : "auto";
    if (strcmp(device, "cpu") == 0)
        return backend_cpu_init(b, err);
    if (strcmp(device, "opencl") == 0)
        return backend_opencl_init(b, NULL, err);
    if (strncmp(device, "opencl:", 7) == 0)
        return backend_opencl_init(b, device + 7, err);
    if (strcmp(device, "auto") != 0)
        return clrnn__fail(err, CLRNN_E_INPUT,
                           "`device` '%s': expected auto, cpu, opencl or opencl:P.D "
                           "(see `clrnn_list_devices`)",
                           device);
    clrnn_error why;
    clrnn_status st = backend_opencl_init(b, NULL, &why);
    if (st == CLRNN_E_UNSUPPORTED) {
        if (config->log)
            fprintf(config->log, "device auto: no OpenCL device (%s); using the CPU reference\n",
                    why.message);
        return backend_cpu_init(b, err);
    }
    if (st != CLRNN_OK && err)
        *err = why;
    return st;
}

/* The families' names come from the OpenCL backend's table of families. */
int clrnn_parse_kernels(const char *text, clrnn_kernels *out)
{
    for (size_t i = 0; i < clrnn_kernels_count(); i++) {
        const char *name = clrnn_kernels_name((clrnn_kernels)i);
        if (name && strcmp(text, name) == 0) {
            *out = (clrnn_kernels)i;
            return 1;
        }
    }
    return 0;
}

const char *clrnn_kernels_name(clrnn_kernels kernels)
{
    return kernels == CLRNN_KERNELS_AUTO ? "auto" : backend_opencl_family_name(kernels);
}

size_t clrnn_kernels_count(void)
{
    return backend_opencl_family_slots();
}

clrnn_status clrnn_backend_create(clrnn_backend **out, const clrnn_model *model,
                                  const clrnn_backend_config *config, clrnn_error *err)
{
    *out = NULL;
    if (config->seq_len == 0)
        return clrnn__fail(err, CLRNN_E_INPUT, "seq_len must be at least 1");
    if (config->max_batch == 0)
        return clrnn__fail(err, CLRNN_E_INPUT, "batch must be at least 1");
    if (config->max_batch > UINT32_MAX || config->seq_len > UINT32_MAX)
        return clrnn__fail(err, CLRNN_E_INPUT, "batch or seq_len too large");
    clrnn_backend *b = calloc(1, sizeof *b);
    if (!b)
        return clrnn__fail(err, CLRNN_E_NOMEM, "out of memory creating a backend");
    b->n_layers = clrnn_model_n_layers(model);
    b->layers = malloc(b->n_layers * sizeof *b->layers);
    b->layer_offset = malloc(b->n_layers * sizeof *b->layer_offset);
    if (!b->layers || !b->layer_offset) {
        clrnn_backend_free(b);
        return clrnn__fail(err, CLRNN_E_NOMEM, "out of memory creating a backend");
    }
    for (size_t l = 0; l < b->n_layers; l++) {
        b->layers[l] = clrnn_model_layer(model, l);
        b->layer_offset[l] = clrnn_model_param_offset(model, l, CLRNN_W_I);
    }
    b->n_params = clrnn_model_n_params(model);
    b->seq_len = config->seq_len;
    b->max_batch = config->max_batch;
    b->loss_steps = config->loss_steps;
    b->precision = config->precision;
    b->kernels = config->kernels;
    b->log = config->log;
    b->verbose = config->verbose;
    b->tuning = config->tuning;
    b->no_tune_cache = config->no_tune_cache;
    b->tune_log = config->tune_log;
    b->tune_verbose = config->tune_verbose;
    b->n_models = config->n_models ? config->n_models : 1;
    if (!(b->n_updates = calloc(b->n_models, sizeof *b->n_updates))) {
        clrnn_backend_free(b);
        return clrnn__fail(err, CLRNN_E_NOMEM, "out of memory for a group of %zu models",
                           b->n_models);
    }
    clrnn_status st = choose_and_init(b, config, err);
    if (st == CLRNN_OK && b->n_models > 1 && !b->group_native)
        st = clrnn__fail(err, CLRNN_E_UNSUPPORTED, "%s cannot hold a group of models",
                         b->description);
    for (size_t k = 0; st == CLRNN_OK && k < b->n_models; k++) {
        b->model = k;
        st = b->ops->set_params(b, clrnn_model_params_const(model), err);
    }
    b->model = 0;
    if (st == CLRNN_OK && config->stateful)
        st = clrnn_backend_set_stateful(b, 1, err);
    if (st != CLRNN_OK) {
        clrnn_backend_free(b);
        return st;
    }
    if (config->log && (!config->device || strcmp(config->device, "auto") == 0))
        fprintf(config->log, "device auto: %s\n", b->description);
    *out = b;
    return CLRNN_OK;
}

void clrnn_backend_free(clrnn_backend *backend)
{
    if (!backend)
        return;
    if (backend->ops)
        backend->ops->destroy(backend);
    free(backend->n_updates);
    free(backend->layers);
    free(backend->layer_offset);
    free(backend->order);
    free(backend->share_buffer);
    free(backend);
}

const char *clrnn_backend_describe(const clrnn_backend *backend)
{
    return backend->description;
}

int clrnn_backend_is_opencl(const clrnn_backend *backend)
{
    return backend->kind == CLRNN_BACKEND_OPENCL;
}

clrnn_backend_kind clrnn_backend_get_kind(const clrnn_backend *backend)
{
    return backend->kind;
}

const char *clrnn_backend_device_name(const clrnn_backend *backend)
{
    return backend->device_name;
}

clrnn_kernels clrnn_backend_family(const clrnn_backend *backend)
{
    return backend->family;
}

size_t clrnn_backend_n_layers(const clrnn_backend *backend)
{
    return backend->n_layers;
}

size_t clrnn_backend_n_params(const clrnn_backend *backend)
{
    return backend->n_params;
}

clrnn_status clrnn_backend_stage(clrnn_backend *backend, const double *x, const double *y,
                                 size_t n_rows, clrnn_error *err)
{
    if (n_rows < backend->seq_len)
        return clrnn__fail(err, CLRNN_E_INPUT, "%zu rows staged, fewer than one window of %zu",
                           n_rows, backend->seq_len);
    if (n_rows > UINT32_MAX)
        return clrnn__fail(err, CLRNN_E_INPUT, "%zu rows: too many for one table", n_rows);
    clrnn_status st = backend->ops->stage(backend, x, y, n_rows, err);
    backend->n_rows = st == CLRNN_OK ? n_rows : 0;
    backend->n_order = 0; /* its windows were checked against the old rows */
    return st;
}

clrnn_status clrnn_backend_set_params(clrnn_backend *backend, const double *params,
                                      clrnn_error *err)
{
    backend->n_updates[backend->model] = 0;
    return backend->ops->set_params(backend, params, err);
}

clrnn_status clrnn_backend_get_params(clrnn_backend *backend, double *params, clrnn_error *err)
{
    return backend->ops->get_params(backend, params, err);
}

/* Every window of starts (n) inside the staged rows. */
static clrnn_status check_starts(const clrnn_backend *b, const uint32_t *starts, size_t n,
                                 clrnn_error *err)
{
    for (size_t i = 0; i < n; i++)
        if ((size_t)starts[i] + b->seq_len > b->n_rows)
            return clrnn__fail(err, CLRNN_E_INPUT,
                               "window %zu starts at row %u: past the end of %zu rows", i,
                               (unsigned)starts[i], b->n_rows);
    return CLRNN_OK;
}

static clrnn_status check_batch_size(const clrnn_backend *b, size_t n, clrnn_error *err)
{
    if (b->n_rows == 0)
        return clrnn__fail(err, CLRNN_E_INPUT, "no data staged before running a batch");
    if (n == 0 || n > b->max_batch)
        return clrnn__fail(err, CLRNN_E_INPUT, "a batch of %zu windows (allowed: 1 to %zu)", n,
                           b->max_batch);
    return CLRNN_OK;
}

/* first: the batch's place in the staged order, or BACKEND_NOT_STAGED
 * (and then its windows are checked here). */
static clrnn_status run_batch(clrnn_backend *b, const uint32_t *starts, size_t first, size_t n,
                              int grads, clrnn_error *err)
{
    clrnn_status st = check_batch_size(b, n, err);
    if (st == CLRNN_OK && first == BACKEND_NOT_STAGED)
        st = check_starts(b, starts, n, err);
    if (st != CLRNN_OK)
        return st;
    b->batch_first = first;
    st = b->ops->run_batch(b, starts, n, grads, err);
    b->last_batch = st == CLRNN_OK ? n : 0;
    b->have_gradients = st == CLRNN_OK && grads;
    b->group_ran = 0;
    return st;
}

clrnn_status clrnn_backend_forward(clrnn_backend *backend, const uint32_t *starts, size_t n_windows,
                                   clrnn_error *err)
{
    return run_batch(backend, starts, BACKEND_NOT_STAGED, n_windows, 0, err);
}

clrnn_status clrnn_backend_gradients(clrnn_backend *backend, const uint32_t *starts,
                                     size_t n_windows, clrnn_error *err)
{
    return run_batch(backend, starts, BACKEND_NOT_STAGED, n_windows, 1, err);
}

clrnn_status clrnn_backend_input_gradients(clrnn_backend *backend, const uint32_t *starts, size_t n,
                                           size_t output, double *dx, clrnn_error *err)
{
    clrnn_status st = check_batch_size(backend, n, err);
    if (st == CLRNN_OK)
        st = check_starts(backend, starts, n, err);
    size_t n_out = backend->layers[backend->n_layers - 1].n_out;
    if (st == CLRNN_OK && output >= n_out)
        st = clrnn__fail(err, CLRNN_E_INPUT, "`output` %zu of a model of %zu outputs", output,
                         n_out);
    /* A stateful model's prediction depends on the state carried over its
     * series' history, which a window's attribution does not follow. */
    if (st == CLRNN_OK && backend->stateful)
        st = clrnn__fail(err, CLRNN_E_UNSUPPORTED,
                         "input gradients of a stateful backend (`stateful`): its predictions "
                         "depend on the state carried over each series, not on one window alone");
    if (st == CLRNN_OK && !backend->ops->input_gradients)
        st = clrnn__fail(err, CLRNN_E_UNSUPPORTED, "%s has no input gradients",
                         backend->description);
    if (st != CLRNN_OK)
        return st;
    backend->batch_first = BACKEND_NOT_STAGED;
    st = backend->ops->input_gradients(backend, starts, n, output, dx, err);
    backend->last_batch = st == CLRNN_OK ? n : 0;
    backend->have_gradients = 0; /* no weight gradient of these windows */
    return st;
}

/* orders: (n_models, n) where `each` is set, else one order for every model. */
static clrnn_status stage_orders(clrnn_backend *backend, const uint32_t *order, size_t n, int each,
                                 clrnn_error *err)
{
    size_t M = backend->n_models;
    backend->n_order = 0;
    if (backend->n_rows == 0)
        return clrnn__fail(err, CLRNN_E_INPUT, "no data staged before the window order");
    if (n == 0 || n > UINT32_MAX)
        return clrnn__fail(err, CLRNN_E_INPUT, "an order of %zu windows (allowed: 1 to %u)", n,
                           (unsigned)UINT32_MAX);
    if (M > SIZE_MAX / sizeof(uint32_t) / n)
        return clrnn__fail(err, CLRNN_E_NOMEM, "out of memory for %zu orders of %zu windows", M, n);
    clrnn_status st = check_starts(backend, order, each ? M * n : n, err);
    if (st != CLRNN_OK)
        return st;
    uint32_t *copy = realloc(backend->order, M * n * sizeof *copy);
    if (!copy)
        return clrnn__fail(err, CLRNN_E_NOMEM, "out of memory for an order of %zu windows", n);
    backend->order = copy;
    for (size_t k = 0; k < M; k++)
        memcpy(copy + k * n, order + (each ? k * n : 0), n * sizeof *copy);
    if (backend->ops->stage_order)
        st = backend->ops->stage_order(backend, copy, n, err);
    backend->n_order = st == CLRNN_OK ? n : 0;
    return st;
}

clrnn_status clrnn_backend_stage_order(clrnn_backend *backend, const uint32_t *order, size_t n,
                                       clrnn_error *err)
{
    return stage_orders(backend, order, n, 0, err);
}

clrnn_status clrnn_backend_stage_orders(clrnn_backend *backend, const uint32_t *orders, size_t n,
                                        clrnn_error *err)
{
    return stage_orders(backend, orders, n, 1, err);
}

/* ---------------------------------------------------- data parallel */

void clrnn__backend_set_exchange(clrnn_backend *backend, clrnn_exchange *exchange)
{
    backend->exchange = exchange;
}

void clrnn__share_range(size_t B, int rank, int size, size_t *first, size_t *n)
{
    size_t chunks = (B + CLRNN_SHARE_CHUNK - 1) / CLRNN_SHARE_CHUNK;
    size_t c0 = chunks * (size_t)rank / (size_t)size;
    size_t c1 = chunks * (size_t)(rank + 1) / (size_t)size;
    size_t w0 = c0 * CLRNN_SHARE_CHUNK, w1 = c1 * CLRNN_SHARE_CHUNK;
    *first = w0 < B ? w0 : B;
    *n = (w1 < B ? w1 : B) - *first;
}

/* What crosses: a header (the first failure's status and rank, -1 for
 * none) and the P + 1 running sums. */
typedef struct share_header {
    int32_t status, rank;
} share_header;

/* The ranks around `rank` that have windows of a batch of B: the one before
 * (-1: none, it starts the fold from zeros), the one after (-1: none) and
 * the last (it holds the total and broadcasts it). */
static void share_neighbours(size_t B, const clrnn_exchange *x, int *prev, int *next, int *last)
{
    *prev = *next = *last = -1;
    for (int q = 0; q < x->size; q++) {
        size_t first, n;
        clrnn__share_range(B, q, x->size, &first, &n);
        if (n == 0)
            continue;
        if (q < x->rank)
            *prev = q;
        if (q > x->rank && *next < 0)
            *next = q;
        *last = q;
    }
}

static clrnn_status transport_failed(clrnn_error *err, const char *what)
{
    return clrnn__fail(err, CLRNN_E_DEVICE, "data parallel: %s between the ranks failed", what);
}

/*
 * A training batch shared out over the exchange's ranks. Rank r runs its
 * run of whole chunks (share_run, all ranks at once), then the fold goes
 * along the ranks that have windows, in rank order: r receives the running
 * sums of the ranks before it, adds its own windows' terms in the order one
 * process adds them (share_fold), and sends the sums on; the last one
 * broadcasts the total, from which every rank finishes the batch
 * (share_finish) as one process does. A left fold in the one process's
 * order is the only grouping of floating-point sums that keeps its bits
 * (docs/scaling.md), which is why the sums travel along a chain and not
 * through a reduction tree. A rank that fails says so in the header and
 * still passes the message on: every rank reaches the broadcast, learns
 * which rank failed first, and returns that rank's error.
 */
static clrnn_status run_shared(clrnn_backend *b, size_t first, size_t B, clrnn_error *err)
{
    clrnn_exchange *x = b->exchange;
    const size_t bytes = sizeof(share_header) + (b->n_params + 1) * b->share_real;
    if (!b->share_buffer && !(b->share_buffer = malloc(bytes)))
        return clrnn__fail(err, CLRNN_E_NOMEM, "out of memory for the data parallel sums");
    unsigned char *buf = b->share_buffer, *sums = buf + sizeof(share_header);
    size_t w0, n;
    int prev, next, last;
    clrnn__share_range(B, x->rank, x->size, &w0, &n);
    share_neighbours(B, x, &prev, &next, &last);
    clrnn_error mine = {CLRNN_OK, ""};
    clrnn_status local = CLRNN_OK;
    share_header h = {CLRNN_OK, -1};
    double t0 = clock_seconds(), t1 = t0;
    if (n) {
        b->batch_first = first + w0;
        local = b->ops->share_run(b, b->order + first + w0, n, &mine);
        if (local == CLRNN_OK && x->batches == x->fail_batch)
            local = clrnn__fail(&mine, CLRNN_E_DEVICE, "batch %ld failed (the test hook)",
                                x->batches + 1);
        const double ran = clock_seconds();
        if (prev < 0) {
            memset(buf, 0, bytes); /* +0 in every real: the fold starts from 0 */
            memcpy(buf, &h, sizeof h);
        } else if (!x->recv(x->context, buf, bytes, prev)) {
            return transport_failed(err, "receiving the running sums");
        } else {
            x->bytes_moved += bytes;
        }
        const double received = clock_seconds();
        memcpy(&h, buf, sizeof h);
        if (h.status == CLRNN_OK && local == CLRNN_OK)
            local = b->ops->share_fold(b, sums, &mine);
        if (h.status == CLRNN_OK && local != CLRNN_OK) {
            h = (share_header){local, x->rank};
            memcpy(buf, &h, sizeof h);
        }
        const double folded = clock_seconds();
        x->seconds_recv += received - ran;
        x->seconds_compute += (ran - t0) + (folded - received);
        if (next >= 0) {
            if (!x->send(x->context, buf, bytes, next))
                return transport_failed(err, "sending the running sums");
            x->bytes_moved += bytes;
        }
        t1 = clock_seconds();
        x->seconds_send += t1 - folded;
    }
    if (!x->bcast(x->context, buf, bytes, last))
        return transport_failed(err, "broadcasting the gradient sums");
    x->bytes_moved += bytes;
    x->seconds_bcast += clock_seconds() - t1;
    x->batches++;
    memcpy(&h, buf, sizeof h);
    if (h.status != CLRNN_OK) {
        char message[sizeof mine.message];
        memcpy(message, mine.message, sizeof message);
        if (!x->bcast(x->context, message, sizeof message, h.rank))
            return transport_failed(err, "broadcasting an error");
        message[sizeof message - 1] = '\0';
        return clrnn__fail(err, (clrnn_status)h.status, "rank %d: %s", (int)h.rank, message);
    }
    double t3 = clock_seconds();
    clrnn_status st = b->ops->share_finish(b, sums, B, err);
    x->seconds_compute += clock_seconds() - t3;
    return st;
}

clrnn_status clrnn_backend_gradients_staged(clrnn_backend *backend, size_t first, size_t n_windows,
                                            clrnn_error *err)
{
    if (first > backend->n_order || n_windows > backend->n_order - first)
        return clrnn__fail(err, CLRNN_E_INPUT,
                           "windows %zu to %zu of a staged order of %zu (stage the order first)",
                           first, first + n_windows, backend->n_order);
    clrnn_exchange *x = backend->exchange;
    if (!x || x->size <= 1)
        return run_batch(backend, backend->order + backend->model * backend->n_order + first, first,
                         n_windows, 1, err);
    clrnn_status st = check_batch_size(backend, n_windows, err);
    if (st == CLRNN_OK && backend->n_models > 1)
        st = clrnn__fail(err, CLRNN_E_UNSUPPORTED,
                         "a group of models cannot share batches between "
                         "ranks");
    if (st == CLRNN_OK && backend->stateful)
        st = clrnn__fail(err, CLRNN_E_UNSUPPORTED,
                         "a stateful backend cannot share a batch between ranks");
    if (st == CLRNN_OK && !backend->ops->share_run)
        st = clrnn__fail(err, CLRNN_E_UNSUPPORTED, "%s cannot share a batch between ranks",
                         backend->description);
    if (st == CLRNN_OK)
        st = run_shared(backend, first, n_windows, err);
    backend->last_batch = st == CLRNN_OK ? n_windows : 0;
    backend->have_gradients = st == CLRNN_OK;
    return st;
}

clrnn_status clrnn_backend_update(clrnn_backend *backend, const clrnn_optimizer *optimizer,
                                  clrnn_error *err)
{
    if (!backend->have_gradients)
        return clrnn__fail(err, CLRNN_E_INPUT, "an update needs gradients first");
    if (!(optimizer->lr > 0))
        return clrnn__fail(err, CLRNN_E_INPUT, "the learning rate must be positive");
    return backend->ops->update(backend, optimizer, ++backend->n_updates[backend->model], err);
}

clrnn_status clrnn_backend_get_grads(clrnn_backend *backend, double *grads, clrnn_error *err)
{
    if (!backend->have_gradients)
        return clrnn__fail(err, CLRNN_E_INPUT, "no gradients computed yet");
    return backend->ops->get_grads(backend, grads, err);
}

static clrnn_status check_layer_read(const clrnn_backend *b, size_t layer, clrnn_error *err)
{
    if (b->group_ran)
        return clrnn__fail(err, CLRNN_E_INPUT,
                           "a group's batch keeps no activations: run the selected model's batch "
                           "first");
    if (b->last_batch == 0)
        return clrnn__fail(err, CLRNN_E_INPUT, "no batch has run yet");
    if (layer >= b->n_layers)
        return clrnn__fail(err, CLRNN_E_INPUT, "layer %zu of %zu", layer, b->n_layers);
    return CLRNN_OK;
}

clrnn_status clrnn_backend_get_outputs(clrnn_backend *backend, size_t layer, double *y,
                                       clrnn_error *err)
{
    clrnn_status st = check_layer_read(backend, layer, err);
    return st != CLRNN_OK ? st : backend->ops->get_outputs(backend, layer, y, err);
}

clrnn_status clrnn_backend_get_hidden(clrnn_backend *backend, size_t layer, double *h,
                                      clrnn_error *err)
{
    clrnn_status st = check_layer_read(backend, layer, err);
    return st != CLRNN_OK ? st : backend->ops->get_hidden(backend, layer, h, err);
}

clrnn_status clrnn_backend_get_window_losses(clrnn_backend *backend, double *losses,
                                             clrnn_error *err)
{
    clrnn_status st = check_layer_read(backend, 0, err);
    return st != CLRNN_OK ? st : backend->ops->get_window_losses(backend, losses, err);
}

clrnn_status clrnn_backend_finish(clrnn_backend *backend, clrnn_error *err)
{
    return backend->ops->finish ? backend->ops->finish(backend, err) : CLRNN_OK;
}

clrnn_status clrnn_backend_take_loss_sum(clrnn_backend *backend, double *sum, clrnn_error *err)
{
    return backend->ops->take_loss_sum(backend, sum, err);
}

clrnn_status clrnn_backend_get_optimizer_state(clrnn_backend *backend, double *m, double *v,
                                               long *step, clrnn_error *err)
{
    if (!backend->ops->get_opt_state)
        return clrnn__fail(err, CLRNN_E_UNSUPPORTED, "this backend cannot save optimizer state");
    *step = backend->n_updates[backend->model];
    return backend->ops->get_opt_state(backend, m, v, err);
}

clrnn_status clrnn_backend_set_optimizer_state(clrnn_backend *backend, const double *m,
                                               const double *v, long step, clrnn_error *err)
{
    if (!backend->ops->set_opt_state)
        return clrnn__fail(err, CLRNN_E_UNSUPPORTED, "this backend cannot load optimizer state");
    if (step < 0)
        return clrnn__fail(err, CLRNN_E_INPUT, "a negative step count");
    clrnn_status st = backend->ops->set_opt_state(backend, m, v, err);
    if (st == CLRNN_OK)
        backend->n_updates[backend->model] = step;
    return st;
}

clrnn_status clrnn_backend_set_profiling(clrnn_backend *backend, int on, clrnn_error *err)
{
    if (!backend->ops->set_profiling)
        return clrnn__fail(err, CLRNN_E_UNSUPPORTED, "%s has no kernels to profile",
                           backend->description);
    return backend->ops->set_profiling(backend, on, err);
}

clrnn_status clrnn_backend_peak(clrnn_backend *backend, clrnn_peak *peak, clrnn_error *err)
{
    if (!backend->ops->peak)
        return clrnn__fail(err, CLRNN_E_UNSUPPORTED, "%s has no device peak to measure",
                           backend->description);
    return backend->ops->peak(backend, peak, err);
}

clrnn_status clrnn_backend_kernel_times(clrnn_backend *backend, clrnn_kernel_time *times, size_t *n,
                                        clrnn_error *err)
{
    if (!backend->ops->kernel_times)
        return clrnn__fail(err, CLRNN_E_UNSUPPORTED, "%s has no kernels to profile",
                           backend->description);
    return backend->ops->kernel_times(backend, times, n, err);
}

/* ------------------------------------------------------ model groups */

size_t clrnn_backend_n_models(const clrnn_backend *backend)
{
    return backend->n_models;
}

int clrnn_backend_group_native(const clrnn_backend *backend)
{
    return backend->group_native;
}

clrnn_status clrnn_backend_select_model(clrnn_backend *backend, size_t model, clrnn_error *err)
{
    if (model >= backend->n_models)
        return clrnn__fail(err, CLRNN_E_INPUT, "model %zu of a group of %zu", model,
                           backend->n_models);
    backend->model = model;
    return CLRNN_OK;
}

size_t clrnn_backend_selected_model(const clrnn_backend *backend)
{
    return backend->model;
}

static int is_active(const unsigned char *active, size_t k)
{
    return !active || active[k];
}

clrnn_status clrnn_backend_gradients_group(clrnn_backend *backend, size_t first, size_t n_windows,
                                           const unsigned char *active, clrnn_error *err)
{
    clrnn_backend *b = backend;
    if (first > b->n_order || n_windows > b->n_order - first)
        return clrnn__fail(err, CLRNN_E_INPUT,
                           "windows %zu to %zu of a staged order of %zu (stage the orders first)",
                           first, first + n_windows, b->n_order);
    if (b->exchange && b->exchange->size > 1)
        return clrnn__fail(err, CLRNN_E_UNSUPPORTED,
                           "a group of models cannot share batches between ranks");
    clrnn_status st = check_batch_size(b, n_windows, err);
    if (st != CLRNN_OK)
        return st;
    b->batch_first = first;
    if (b->n_models == 1 || !b->ops->run_group) {
        size_t keep = b->model;
        for (size_t k = 0; st == CLRNN_OK && k < b->n_models; k++)
            if (is_active(active, k)) {
                b->model = k;
                st = b->ops->run_batch(b, b->order + k * b->n_order + first, n_windows, 1, err);
            }
        b->model = keep;
    } else {
        st = b->ops->run_group(b, first, n_windows, active, err);
    }
    b->last_batch = st == CLRNN_OK ? n_windows : 0;
    b->have_gradients = st == CLRNN_OK;
    b->group_ran = b->n_models > 1;
    return st;
}

clrnn_status clrnn_backend_forward_group(clrnn_backend *backend, const uint32_t *starts,
                                         size_t n_windows, const unsigned char *active,
                                         clrnn_error *err)
{
    clrnn_backend *b = backend;
    clrnn_status st = check_batch_size(b, n_windows, err);
    if (st == CLRNN_OK)
        st = check_starts(b, starts, n_windows, err);
    if (st != CLRNN_OK)
        return st;
    b->batch_first = BACKEND_NOT_STAGED;
    if (b->n_models == 1 || !b->ops->forward_group) {
        size_t keep = b->model;
        for (size_t k = 0; st == CLRNN_OK && k < b->n_models; k++)
            if (is_active(active, k)) {
                b->model = k;
                st = b->ops->run_batch(b, starts, n_windows, 0, err);
            }
        b->model = keep;
    } else {
        st = b->ops->forward_group(b, starts, n_windows, active, err);
    }
    b->last_batch = st == CLRNN_OK ? n_windows : 0;
    b->have_gradients = 0;
    b->group_ran = b->n_models > 1;
    return st;
}

clrnn_status clrnn_backend_update_group(clrnn_backend *backend, const clrnn_optimizer *optimizers,
                                        const unsigned char *active, clrnn_error *err)
{
    clrnn_backend *b = backend;
    for (size_t k = 0; k < b->n_models; k++)
        if (is_active(active, k) && !(optimizers[k].lr > 0))
            return clrnn__fail(err, CLRNN_E_INPUT, "model %zu: the learning rate must be positive",
                               k);
    clrnn_status st = CLRNN_OK;
    if (!b->have_gradients)
        return clrnn__fail(err, CLRNN_E_INPUT, "an update needs gradients first");
    for (size_t k = 0; k < b->n_models; k++)
        if (is_active(active, k))
            b->n_updates[k]++;
    if (b->n_models > 1 && b->ops->update_group)
        return b->ops->update_group(b, optimizers, b->n_updates, active, err);
    size_t keep = b->model;
    for (size_t k = 0; st == CLRNN_OK && k < b->n_models; k++)
        if (is_active(active, k)) {
            b->model = k;
            st = b->ops->update(b, &optimizers[k], b->n_updates[k], err);
        }
    b->model = keep;
    return st;
}

/* ------------------------------------------------ carried hidden state */

clrnn_status clrnn_backend_set_stateful(clrnn_backend *backend, int on, clrnn_error *err)
{
    if (!backend->ops->set_stateful)
        return clrnn__fail(err, CLRNN_E_UNSUPPORTED, "%s cannot carry hidden state",
                           backend->description);
    if (on && backend->n_models > 1)
        return clrnn__fail(err, CLRNN_E_UNSUPPORTED,
                           "a group of models (`n_models` %zu) cannot carry hidden state "
                           "(`stateful`): train stateful models one at a time",
                           backend->n_models);
    clrnn_status st = backend->ops->set_stateful(backend, on, err);
    backend->stateful = on && st == CLRNN_OK;
    return st;
}

int clrnn_backend_is_stateful(const clrnn_backend *backend)
{
    return backend->stateful;
}

static clrnn_status check_state_access(const clrnn_backend *b, size_t layer, size_t n,
                                       clrnn_error *err)
{
    if (!b->stateful)
        return clrnn__fail(err, CLRNN_E_INPUT,
                           "initial states need a stateful backend (`clrnn_backend_set_stateful`)");
    if (layer >= b->n_layers)
        return clrnn__fail(err, CLRNN_E_INPUT, "layer %zu of %zu", layer, b->n_layers);
    if (n > b->max_batch)
        return clrnn__fail(err, CLRNN_E_INPUT, "initial states of %zu windows (allowed: 0 to %zu)",
                           n, b->max_batch);
    return CLRNN_OK;
}

clrnn_status clrnn_backend_set_initial_state(clrnn_backend *backend, size_t layer, const double *h0,
                                             size_t n_windows, clrnn_error *err)
{
    clrnn_status st = check_state_access(backend, layer, n_windows, err);
    if (st != CLRNN_OK || n_windows == 0)
        return st;
    return backend->ops->set_initial_state(backend, layer, h0, n_windows, err);
}

clrnn_status clrnn_backend_get_initial_state(clrnn_backend *backend, size_t layer, double *h0,
                                             size_t n_windows, clrnn_error *err)
{
    clrnn_status st = check_state_access(backend, layer, n_windows, err);
    if (st != CLRNN_OK || n_windows == 0)
        return st;
    return backend->ops->get_initial_state(backend, layer, h0, n_windows, err);
}

clrnn_status clrnn_backend_carry_state(clrnn_backend *backend, const unsigned char *reset,
                                       size_t n_windows, clrnn_error *err)
{
    clrnn_status st = check_state_access(backend, 0, n_windows, err);
    if (st != CLRNN_OK)
        return st;
    if (n_windows > backend->last_batch)
        return clrnn__fail(err, CLRNN_E_INPUT,
                           "carrying the state of %zu windows from a batch of %zu", n_windows,
                           backend->last_batch);
    return n_windows ? backend->ops->carry_state(backend, reset, n_windows, err) : CLRNN_OK;
}
