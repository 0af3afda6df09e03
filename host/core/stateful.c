/* Carried hidden state over a dataset: the training plan and the
 * prediction pass (stateful.h). T = seq_len, K = outputs, W = windows,
 * B = streams. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "core/error.h"
#include "core/stateful.h"

void stateful_plan_free(stateful_plan *plan)
{
    free(plan->order);
    free(plan->reset);
    memset(plan, 0, sizeof *plan);
}

clrnn_status stateful_plan_make(stateful_plan *plan, const clrnn_dataset *data, clrnn_split split,
                                size_t streams, clrnn_error *err)
{
    memset(plan, 0, sizeof *plan);
    const size_t T = clrnn_dataset_seq_len(data), n = clrnn_dataset_n_windows(data, split);
    uint32_t *kept = malloc((n ? n : 1) * sizeof *kept);     /* (W) in series order */
    unsigned char *first = malloc(n ? n : 1);                /* (W) a series' first */
    plan->order = malloc((n ? n : 1) * sizeof *plan->order); /* W <= n */
    plan->reset = malloc(n ? n : 1);
    if (!kept || !first || !plan->order || !plan->reset) {
        free(kept);
        free(first);
        stateful_plan_free(plan);
        return clrnn__fail(err, CLRNN_E_NOMEM, "out of memory for %zu stateful windows", n);
    }
    /* The split's windows are every start of a run of consecutive starts
     * within one series; keep every T-th from the run's first. */
    size_t W = 0, run_first = 0, prev = 0;
    for (size_t i = 0; i < n; i++) {
        size_t start = clrnn_dataset_window_start(data, split, i);
        int new_run = i == 0 || start != prev + 1 ||
                      clrnn_dataset_row_series(data, start) != clrnn_dataset_row_series(data, prev);
        if (new_run)
            run_first = start;
        if ((start - run_first) % T == 0) {
            kept[W] = (uint32_t)start;
            first[W++] = (unsigned char)new_run;
        }
        prev = start;
    }
    if (W < streams || streams == 0) {
        free(kept);
        free(first);
        stateful_plan_free(plan);
        return clrnn__fail(err, CLRNN_E_INPUT,
                           "`stateful`: the training rows cut into %zu back-to-back windows of "
                           "`seq_len` %zu, fewer than the %zu streams of a batch (one window "
                           "each): use a smaller `batch` or `seq_len`",
                           W, T, streams);
    }
    const size_t q = W / streams, r = W % streams;
    for (size_t j = 0; j < streams; j++) {
        const size_t offset = j * q + (j < r ? j : r), length = q + (j < r);
        for (size_t k = 0; k < length; k++) {
            plan->order[k * streams + j] = kept[offset + k];
            plan->reset[k * streams + j] = k == 0 || first[offset + k];
        }
    }
    plan->n_windows = W;
    plan->streams = streams;
    free(kept);
    free(first);
    return CLRNN_OK;
}

/* The largest n_hidden of the backend's layers. */
static size_t widest_hidden(const clrnn_backend *b)
{
    size_t H = 0;
    for (size_t l = 0; l < b->n_layers; l++)
        if (b->layers[l].n_hidden > H)
            H = b->layers[l].n_hidden;
    return H;
}

clrnn_status stateful_pass(clrnn_backend *backend, const clrnn_dataset *data, size_t first,
                           size_t end, double *out, clrnn_error *err)
{
    const size_t T = clrnn_dataset_seq_len(data), K = clrnn_dataset_n_targets(data);
    const size_t L = backend->n_layers, n = end - first, full = n / T, tail = n % T;
    if (!backend->stateful)
        return clrnn__fail(
            err, CLRNN_E_INPUT,
            "a stateful pass needs a stateful backend (`clrnn_backend_set_stateful`)");
    if (n < T)
        return clrnn__fail(err, CLRNN_E_INPUT,
                           "a series of %zu rows, fewer than one window of `seq_len` %zu", n, T);
    double *y = malloc(T * K * sizeof *y);                      /* (1,T,K) */
    double *h = malloc(T * widest_hidden(backend) * sizeof *h); /* (1,T,H) */
    double **h_tail = tail ? calloc(L, sizeof *h_tail) : NULL;  /* per layer (H_l) */
    clrnn_status st = y && h && (!tail || h_tail)
                          ? CLRNN_OK
                          : clrnn__fail(err, CLRNN_E_NOMEM, "out of memory for a stateful pass");
    for (size_t l = 0; st == CLRNN_OK && tail && l < L; l++)
        if (!(h_tail[l] = malloc(backend->layers[l].n_hidden * sizeof **h_tail)))
            st = clrnn__fail(err, CLRNN_E_NOMEM, "out of memory for a stateful pass");
    for (size_t l = 0; st == CLRNN_OK && l < L; l++) /* the series starts from 0 */
        st = clrnn_backend_set_initial_state(backend, l, NULL, 1, err);
    for (size_t w = 0; st == CLRNN_OK && w < full; w++) {
        uint32_t start = (uint32_t)(first + w * T);
        if (w > 0)
            st = clrnn_backend_carry_state(backend, NULL, 1, err);
        if (st == CLRNN_OK)
            st = clrnn_backend_forward(backend, &start, 1, err);
        if (st == CLRNN_OK)
            st = clrnn_backend_get_outputs(backend, L - 1, y, err);
        if (st == CLRNN_OK)
            memcpy(out + w * T * K, y, T * K * sizeof *y);
        /* The tail window starts on row end - T, after row end - T - 1:
         * step tail - 1 of the last full window. */
        for (size_t l = 0; st == CLRNN_OK && tail && w + 1 == full && l < L; l++) {
            const size_t H = backend->layers[l].n_hidden;
            st = clrnn_backend_get_hidden(backend, l, h, err);
            if (st == CLRNN_OK)
                memcpy(h_tail[l], h + (tail - 1) * H, H * sizeof *h);
        }
    }
    if (st == CLRNN_OK && tail) {
        uint32_t start = (uint32_t)(end - T);
        for (size_t l = 0; st == CLRNN_OK && l < L; l++)
            st = clrnn_backend_set_initial_state(backend, l, h_tail[l], 1, err);
        if (st == CLRNN_OK)
            st = clrnn_backend_forward(backend, &start, 1, err);
        if (st == CLRNN_OK)
            st = clrnn_backend_get_outputs(backend, L - 1, y, err);
        if (st == CLRNN_OK)
            memcpy(out + full * T * K, y + (T - tail) * K, tail * K * sizeof *y);
    }
    for (size_t l = 0; h_tail && l < L; l++)
        free(h_tail[l]);
    free(h_tail);
    free(h);
    free(y);
    return st;
}

clrnn_status stateful_outputs(clrnn_backend *backend, const clrnn_dataset *data, double *out,
                              clrnn_error *err)
{
    const size_t R = clrnn_dataset_n_rows(data), K = clrnn_dataset_n_targets(data);
    const size_t T = clrnn_dataset_seq_len(data);
    for (size_t i = 0; i < R * K; i++)
        out[i] = NAN;
    clrnn_status st = CLRNN_OK;
    for (size_t s = 0; st == CLRNN_OK && s < clrnn_dataset_n_series(data); s++) {
        size_t first, end;
        clrnn_dataset_series_rows(data, s, &first, &end);
        if (end - first >= T) /* a shorter series has no window */
            st = stateful_pass(backend, data, first, end, out + first * K, err);
    }
    return st;
}
