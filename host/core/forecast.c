/*
 * clrnn_forecast: the model's outputs for the rows after the end of the
 * data, from the data's last window (start R - T), in the targets' units
 * and, for a differenced model, in levels. One forward pass of one window;
 * the targets of that window (beyond the data) are never read.
 *
 * Output k at horizon h predicts row p = R - 1 + h. A differenced model
 * predicts the change from the target column's last known value at row
 * p - max(h, 1) (carried forward over empty cells): the column at the
 * window's last row for h >= 1, the row before it for a pre-shifted target
 * (h = 0), as clrnn_dataset_y_base defines it for the rows of the data.
 *
 * A stateful model (clrnn_backend_is_stateful) warms up instead: one
 * stateful pass over the series' rows (stateful.h), its output at the last.
 *
 * T = seq_len, K = outputs (target columns times horizons), R = rows.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "clrnn.h"
#include "core/error.h"
#include "core/stateful.h"

/* The last value of column v at or before row `row`, and not before row
 * `first`, that is not NaN. */
static double last_known(const double *v, size_t row, size_t first)
{
    for (size_t r = row + 1; v && r-- > first;)
        if (!isnan(v[r]))
            return v[r];
    return NAN;
}

/* The forecast from the window that ends on the last row of rows
 * [first, R) (one series, or the whole table). */
static clrnn_status forecast_rows(clrnn_backend *backend, const clrnn_dataset *data, size_t first,
                                  size_t R, double *forecast, clrnn_error *err)
{
    size_t T = clrnn_dataset_seq_len(data), K = clrnn_dataset_n_targets(data);
    if (R - first < T || R - T > UINT32_MAX)
        return clrnn__fail(err, CLRNN_E_INPUT,
                           "the data has %zu rows, fewer than one window of `seq_len` %zu",
                           R - first, T);
    uint32_t start = (uint32_t)(R - T);
    double *y = malloc(T * K * sizeof *y); /* (1, T, K) */
    if (!y)
        return clrnn__fail(err, CLRNN_E_NOMEM, "out of memory for a forecast of %zu outputs", K);
    clrnn_status st = CLRNN_OK;
    if (backend->stateful) { /* warmed up over all the rows before: one pass */
        double *out = malloc((R - first) * K * sizeof *out);
        st = out ? stateful_pass(backend, data, first, R, out, err)
                 : clrnn__fail(err, CLRNN_E_NOMEM, "out of memory for a stateful pass");
        if (st == CLRNN_OK)
            memcpy(y + (T - 1) * K, out + (R - 1 - first) * K, K * sizeof *y);
        free(out);
    } else {
        st = clrnn_backend_forward(backend, &start, 1, err);
        if (st == CLRNN_OK)
            st = clrnn_backend_get_outputs(backend, clrnn_backend_n_layers(backend) - 1, y, err);
    }
    int differenced = clrnn_dataset_differenced(data);
    for (size_t k = 0; st == CLRNN_OK && k < K; k++) {
        double value = y[(T - 1) * K + k] * clrnn_dataset_row_target_std(data, R - 1, k) +
                       clrnn_dataset_row_target_mean(data, R - 1, k);
        size_t h = clrnn_dataset_target_horizon(data, k), back = h > 1 ? h : 1;
        if (differenced) /* the base row R - 1 + h - max(h, 1); none before row first */
            value += R - 1 + h >= first + back
                         ? last_known(clrnn_dataset_target_column(data, k), R - 1 + h - back, first)
                         : NAN;
        forecast[k] = value;
    }
    free(y);
    return st;
}

clrnn_status clrnn_forecast(clrnn_backend *backend, const clrnn_dataset *data, double *forecast,
                            clrnn_error *err)
{
    return forecast_rows(backend, data, 0, clrnn_dataset_n_rows(data), forecast, err);
}

clrnn_status clrnn_forecast_series(clrnn_backend *backend, const clrnn_dataset *data, size_t series,
                                   double *forecast, clrnn_error *err)
{
    size_t first, end;
    if (series >= clrnn_dataset_n_series(data))
        return clrnn__fail(err, CLRNN_E_INPUT, "series %zu of %zu: no such series", series,
                           clrnn_dataset_n_series(data));
    clrnn_dataset_series_rows(data, series, &first, &end);
    return forecast_rows(backend, data, first, end, forecast, err);
}
