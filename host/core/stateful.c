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

/* Buffers of a group's pass: n series at most (the batch), T steps. */
typedef struct pass_buffers {
    uint32_t *starts; /* (n) */
    double *y;        /* (n,T,K) the top layer's outputs of a batch */
    double *h;        /* (n,T,max H) a layer's hidden states of a batch */
    double **h_tail;  /* per layer (n,H_l): the state before each tail window */
    size_t *tail_at;  /* (n) the series (position in the group) of each tail window */
} pass_buffers;

static void pass_buffers_free(pass_buffers *p, size_t L)
{
    for (size_t l = 0; p->h_tail && l < L; l++)
        free(p->h_tail[l]);
    free(p->h_tail);
    free(p->starts);
    free(p->y);
    free(p->h);
    free(p->tail_at);
}

static int pass_buffers_make(pass_buffers *p, const clrnn_backend *b, size_t n, size_t T, size_t K)
{
    memset(p, 0, sizeof *p);
    p->starts = malloc(n * sizeof *p->starts);
    p->y = malloc(n * T * K * sizeof *p->y);
    p->h = malloc(n * T * widest_hidden(b) * sizeof *p->h);
    p->h_tail = calloc(b->n_layers, sizeof *p->h_tail);
    p->tail_at = malloc(n * sizeof *p->tail_at);
    int ok = p->starts && p->y && p->h && p->h_tail && p->tail_at;
    for (size_t l = 0; ok && l < b->n_layers; l++)
        ok = (p->h_tail[l] = malloc(n * b->layers[l].n_hidden * sizeof **p->h_tail)) != NULL;
    return ok;
}

/*
 * One stateful pass over n series at once, rows [first[i], end[i]) each,
 * the series in order of their full windows, most first (so that the
 * series still running are always a prefix of the batch, which keeps each
 * one's window position, and carry_state's copy, its own): batch k holds
 * window k of every series that has one. A series' tail of fewer than T
 * rows runs last, as the window on its last T rows from the state at the
 * row before that window (step tail - 1 of its last full window, read back
 * when that window runs). out: row r's K outputs at (r - base) K.
 */
static clrnn_status pass_group(clrnn_backend *backend, const clrnn_dataset *data,
                               const size_t *first, const size_t *end, size_t n, size_t base,
                               double *out, clrnn_error *err)
{
    const size_t T = clrnn_dataset_seq_len(data), K = clrnn_dataset_n_targets(data);
    const size_t L = backend->n_layers, top = L - 1, rounds = (end[0] - first[0]) / T;
    pass_buffers p;
    clrnn_status st = pass_buffers_make(&p, backend, n, T, K)
                          ? CLRNN_OK
                          : clrnn__fail(err, CLRNN_E_NOMEM, "out of memory for a stateful pass");
    for (size_t l = 0; st == CLRNN_OK && l < L; l++) /* every series starts from 0 */
        st = clrnn_backend_set_initial_state(backend, l, NULL, n, err);
    for (size_t k = 0; st == CLRNN_OK && k < rounds; k++) {
        size_t m = 0, last_of_some = 0;
        while (m < n && (end[m] - first[m]) / T > k) {
            p.starts[m] = (uint32_t)(first[m] + k * T);
            last_of_some |= (end[m] - first[m]) / T == k + 1 && (end[m] - first[m]) % T;
            m++;
        }
        if (k > 0)
            st = clrnn_backend_carry_state(backend, NULL, m, err);
        if (st == CLRNN_OK)
            st = clrnn_backend_forward(backend, p.starts, m, err);
        if (st == CLRNN_OK)
            st = clrnn_backend_get_outputs(backend, top, p.y, err);
        for (size_t b = 0; st == CLRNN_OK && b < m; b++)
            memcpy(out + (p.starts[b] - base) * K, p.y + b * T * K, T * K * sizeof *p.y);
        for (size_t l = 0; st == CLRNN_OK && last_of_some && l < L; l++) {
            const size_t H = backend->layers[l].n_hidden;
            st = clrnn_backend_get_hidden(backend, l, p.h, err);
            for (size_t b = 0; st == CLRNN_OK && b < m; b++) {
                const size_t rows = end[b] - first[b], tail = rows % T;
                if (rows / T == k + 1 && tail)
                    memcpy(p.h_tail[l] + b * H, p.h + (b * T + tail - 1) * H, H * sizeof *p.h);
            }
        }
    }
    size_t n_tails = 0; /* the tail windows, compacted in group order */
    for (size_t b = 0; st == CLRNN_OK && b < n; b++) {
        if ((end[b] - first[b]) % T == 0)
            continue;
        for (size_t l = 0; l < L; l++) {
            const size_t H = backend->layers[l].n_hidden;
            memmove(p.h_tail[l] + n_tails * H, p.h_tail[l] + b * H, H * sizeof *p.h);
        }
        p.starts[n_tails] = (uint32_t)(end[b] - T);
        p.tail_at[n_tails++] = b;
    }
    for (size_t l = 0; st == CLRNN_OK && n_tails && l < L; l++)
        st = clrnn_backend_set_initial_state(backend, l, p.h_tail[l], n_tails, err);
    if (st == CLRNN_OK && n_tails)
        st = clrnn_backend_forward(backend, p.starts, n_tails, err);
    if (st == CLRNN_OK && n_tails)
        st = clrnn_backend_get_outputs(backend, top, p.y, err);
    for (size_t j = 0; st == CLRNN_OK && j < n_tails; j++) {
        const size_t b = p.tail_at[j], tail = (end[b] - first[b]) % T;
        memcpy(out + (end[b] - tail - base) * K, p.y + (j * T + T - tail) * K,
               tail * K * sizeof *p.y);
    }
    pass_buffers_free(&p, L);
    return st;
}

clrnn_status stateful_pass(clrnn_backend *backend, const clrnn_dataset *data, size_t first,
                           size_t end, double *out, clrnn_error *err)
{
    const size_t T = clrnn_dataset_seq_len(data);
    if (!backend->stateful)
        return clrnn__fail(
            err, CLRNN_E_INPUT,
            "a stateful pass needs a stateful backend (`clrnn_backend_set_stateful`)");
    if (end - first < T)
        return clrnn__fail(err, CLRNN_E_INPUT,
                           "a series of %zu rows, fewer than one window of `seq_len` %zu",
                           end - first, T);
    return pass_group(backend, data, &first, &end, 1, first, out, err);
}

/* Series of qsort: by full windows, most first, then in table order. */
typedef struct series_span {
    size_t first, end, windows;
} series_span;

static int most_windows_first(const void *a, const void *b)
{
    const series_span *x = a, *y = b;
    if (x->windows != y->windows)
        return x->windows > y->windows ? -1 : 1;
    return x->first < y->first ? -1 : x->first > y->first;
}

clrnn_status stateful_outputs(clrnn_backend *backend, const clrnn_dataset *data, double *out,
                              clrnn_error *err)
{
    const size_t R = clrnn_dataset_n_rows(data), K = clrnn_dataset_n_targets(data);
    const size_t T = clrnn_dataset_seq_len(data), S = clrnn_dataset_n_series(data);
    const size_t B = backend->max_batch;
    for (size_t i = 0; i < R * K; i++)
        out[i] = NAN;
    if (!backend->stateful)
        return clrnn__fail(
            err, CLRNN_E_INPUT,
            "a stateful pass needs a stateful backend (`clrnn_backend_set_stateful`)");
    series_span *spans = malloc((S ? S : 1) * sizeof *spans);
    size_t *first = malloc((B < S ? B : S ? S : 1) * sizeof *first);
    size_t *end = malloc((B < S ? B : S ? S : 1) * sizeof *end);
    clrnn_status st = spans && first && end
                          ? CLRNN_OK
                          : clrnn__fail(err, CLRNN_E_NOMEM, "out of memory for %zu series", S);
    size_t n = 0;
    for (size_t s = 0; st == CLRNN_OK && s < S; s++) {
        clrnn_dataset_series_rows(data, s, &spans[n].first, &spans[n].end);
        spans[n].windows = (spans[n].end - spans[n].first) / T;
        n += spans[n].windows > 0; /* a shorter series has no window */
    }
    if (st == CLRNN_OK)
        qsort(spans, n, sizeof *spans, most_windows_first);
    /* The series in groups of a batch, every group's series side by side. */
    for (size_t g = 0; st == CLRNN_OK && g < n; g += B) {
        const size_t m = n - g < B ? n - g : B;
        for (size_t i = 0; i < m; i++) {
            first[i] = spans[g + i].first;
            end[i] = spans[g + i].end;
        }
        st = pass_group(backend, data, first, end, m, 0, out, err);
    }
    free(spans);
    free(first);
    free(end);
    return st;
}
