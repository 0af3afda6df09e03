/*
 * Carried hidden state (truncated BPTT; issue 16, item 2), on the CPU
 * reference or, with arguments "opencl FAMILY PRECISION", on a kernel
 * family:
 *   - the training plan: back-to-back windows of one series each, dealt
 *     into contiguous streams, a reset exactly at a stream's or a series'
 *     first window, every window one of the split's (two series);
 *   - one stream over a series in windows of T, the state carried (the
 *     prediction pass, a tail shorter than T included), gives the outputs
 *     of one window over the whole series: bitwise, as the same products
 *     and sums in the same order (h0 is the h the long window holds); and
 *     so do many series side by side, a stream each;
 *   - with one stream and a window of the whole series, stateful training
 *     equals full BPTT (default training of that one window): bitwise
 *     equal parameters after the epochs, as h0 = 0 adds exact zeros;
 *   - predictions of a stateful model warm up: they are the pass's;
 *   - a stateful model file says so and makes a stateful backend;
 *   - too few windows for the streams is refused in one line.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* mkstemp, unlink */
#endif
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "clrnn.h"
#include "core/stateful.h"
#include "table_util.h"

static const char *device = "cpu";
static clrnn_kernels kernels = CLRNN_KERNELS_AUTO;
static clrnn_precision precision = CLRNN_FP64;
static char label[64] = "cpu";

/* n_series series of the given lengths (rows), columns date,id,a,b,y. */
static char *make_table(const size_t *lengths, size_t n_series)
{
    size_t rows = 0;
    for (size_t s = 0; s < n_series; s++)
        rows += lengths[s];
    size_t size = 64 + rows * 80, at = 0;
    char *text = malloc(size);
    if (!text)
        return NULL;
    at += (size_t)snprintf(text, size, "date,id,a,b,y\n");
    for (size_t s = 0; s < n_series; s++)
        for (size_t i = 0; i < lengths[s]; i++)
            at += (size_t)snprintf(text + at, size - at, "%zu,s%zu,%.6f,%.6f,%.6f\n", i + 1, s,
                                   sin(0.3 * (double)i + (double)s), cos(0.17 * (double)(i * i)),
                                   sin(0.3 * (double)(i + 1) + (double)s) + 0.1 * (double)s);
    return text;
}

static const char *const features_ab[] = {"a", "b"}, *const target_y[] = {"y"};

static clrnn_data_config config(size_t seq_len, int series)
{
    clrnn_data_config cfg = clrnn_data_config_default();
    cfg.features = features_ab;
    cfg.n_features = 2;
    cfg.targets = target_y;
    cfg.n_targets = 1;
    cfg.seq_len = seq_len;
    cfg.series_column = series ? "id" : NULL;
    return cfg;
}

static clrnn_backend *make_backend(const clrnn_model *model, const clrnn_dataset *data,
                                   size_t seq_len, size_t batch, int stateful)
{
    clrnn_backend_config cfg = {.device = device,
                                .precision = precision,
                                .seq_len = seq_len,
                                .max_batch = batch,
                                .kernels = kernels,
                                .stateful = stateful};
    clrnn_backend *b = NULL;
    clrnn_error err;
    if (clrnn_backend_create(&b, model, &cfg, &err) != CLRNN_OK ||
        clrnn_backend_stage_dataset(b, data, &err) != CLRNN_OK) {
        printf("  creating a backend: %s\n", err.message);
        clrnn_backend_free(b);
        return NULL;
    }
    return b;
}

/* ---------------------------------------------------------------- plan */

static void test_plan(void)
{
    static const size_t lengths[3] = {40, 23, 31};
    char *text = make_table(lengths, 3);
    clrnn_data_config cfg = config(4, 1);
    clrnn_dataset *d = NULL;
    clrnn_error err;
    if (!check_true(text && dataset_from_text(&d, text, &cfg, &err) == CLRNN_OK,
                    "plan: a table of 3 series reads")) {
        free(text);
        return;
    }
    const size_t T = 4, n_split = clrnn_dataset_n_windows(d, CLRNN_SPLIT_TRAIN);
    for (size_t streams = 1; streams <= 5; streams += 2) {
        stateful_plan plan;
        if (!check_true(stateful_plan_make(&plan, d, CLRNN_SPLIT_TRAIN, streams, &err) == CLRNN_OK,
                        "plan: made"))
            continue;
        const size_t W = plan.n_windows, B = plan.streams, q = W / B, r = W % B;
        int in_split = 1, one_series = 1, back_to_back = 1, resets_right = 1;
        for (size_t j = 0; j < B; j++)
            for (size_t k = 0; k < q + (j < r); k++) {
                size_t at = k * B + j, start = plan.order[at];
                int found = 0;
                for (size_t i = 0; i < n_split && !found; i++)
                    found = clrnn_dataset_window_start(d, CLRNN_SPLIT_TRAIN, i) == start;
                in_split &= found;
                size_t s = clrnn_dataset_row_series(d, start), first, end;
                clrnn_dataset_series_rows(d, s, &first, &end);
                one_series &= start + T <= end;
                /* a window that carries follows its stream's last back to back */
                int series_start = (start - first) % T == 0 && start - first < T;
                if (k > 0 && !plan.reset[at])
                    back_to_back &= plan.order[at - B] + T == start;
                resets_right &= plan.reset[at] == (k == 0 || series_start);
            }
        /* every training window of a series back to back: ceil-free count */
        size_t expected = 0;
        for (size_t s = 0; s < 3; s++) {
            size_t runs = 0, prev = 0, run_first = 0;
            for (size_t i = 0; i < n_split; i++) {
                size_t start = clrnn_dataset_window_start(d, CLRNN_SPLIT_TRAIN, i);
                if (clrnn_dataset_row_series(d, start) != s)
                    continue;
                if (runs == 0 || start != prev + 1)
                    run_first = start, runs++;
                expected += (start - run_first) % T == 0;
                prev = start;
            }
        }
        char what[256];
        snprintf(what, sizeof what,
                 "plan, %zu streams: %zu windows, all of the split, each in one series", B, W);
        check_true(W == expected && in_split && one_series, what);
        snprintf(what, sizeof what,
                 "plan, %zu streams: back to back in each stream, reset exactly at a stream's or "
                 "a series' first window",
                 B);
        check_true(back_to_back && resets_right, what);
        stateful_plan_free(&plan);
    }
    stateful_plan plan;
    clrnn_status st = stateful_plan_make(&plan, d, CLRNN_SPLIT_TRAIN, 1000, &err);
    check_true(st == CLRNN_E_INPUT && strstr(err.message, "`batch`") && !strchr(err.message, '\n'),
               "plan: more streams than windows is refused in one line naming `batch`");
    if (st == CLRNN_E_INPUT)
        printf("    (%s)\n", err.message);
    clrnn_dataset_free(d);
    free(text);
}

/* ----------------------------------------------- one stream == one window */

static void test_pass_equals_long_window(void)
{
    static const size_t length[1] = {47}; /* 47 = 6 windows of 7 and a tail of 5 */
    char *text = make_table(length, 1);
    /* every row trains, so that both scale alike and one window holds all */
    clrnn_data_config cfg_short = config(7, 0), cfg_long = config(47, 0);
    cfg_short.train_fraction = cfg_long.train_fraction = 1.0;
    cfg_short.val_fraction = cfg_long.val_fraction = 0.0;
    clrnn_dataset *d_short = NULL, *d_long = NULL;
    clrnn_error err;
    /* a stack, or one layer for the fused family */
    clrnn_layer_shape layers[2] = {{2, 5, 3}, {3, 4, 1}}, one = {2, 5, 1};
    const int fused = kernels == CLRNN_KERNELS_FUSED;
    clrnn_model *model = NULL;
    clrnn_rng rng;
    clrnn_rng_seed(&rng, 5);
    if (!check_true(text && dataset_from_text(&d_short, text, &cfg_short, &err) == CLRNN_OK &&
                        dataset_from_text(&d_long, text, &cfg_long, &err) == CLRNN_OK &&
                        clrnn_model_create(&model, fused ? &one : layers, fused ? 1 : 2, &err) ==
                            CLRNN_OK,
                    "pass: the table and the model")) {
        printf("  %s\n", err.message);
        goto done;
    }
    clrnn_model_init_uniform(model, &rng);
    clrnn_backend *pass = make_backend(model, d_short, 7, 4, 1);
    clrnn_backend *whole = make_backend(model, d_long, 47, 1, 0);
    double got[47], want[47];
    uint32_t zero = 0;
    int ok = pass && whole && stateful_pass(pass, d_short, 0, 47, got, &err) == CLRNN_OK &&
             clrnn_backend_forward(whole, &zero, 1, &err) == CLRNN_OK &&
             clrnn_backend_get_outputs(whole, fused ? 0 : 1, want, &err) == CLRNN_OK;
    if (!ok)
        printf("  %s\n", err.message);
    char what[256];
    snprintf(what, sizeof what,
             "%s: 47 rows in windows of 7, the state carried (and a tail of 5) == one window "
             "of 47 (bitwise)",
             label);
    check_true(ok && memcmp(got, want, sizeof got) == 0, what);
    if (ok && memcmp(got, want, sizeof got) != 0) {
        double worst = 0;
        for (int i = 0; i < 47; i++)
            worst = fmax(worst, fabs(got[i] - want[i]));
        printf("    max |difference| %.3e\n", worst);
    }
    /* The predictions of the stateful backend are the pass's, in units. */
    size_t n = clrnn_dataset_n_windows(d_short, CLRNN_SPLIT_TRAIN);
    double *pred = malloc((n ? n : 1) * sizeof *pred), worst = 0;
    ok = ok && pred && clrnn_predict(pass, d_short, CLRNN_SPLIT_TRAIN, 4, pred, &err) == CLRNN_OK;
    for (size_t i = 0; ok && i < n; i++) {
        size_t row = clrnn_dataset_window_start(d_short, CLRNN_SPLIT_TRAIN, i) + 6;
        double v = want[row] * clrnn_dataset_target_std(d_short, 0) +
                   clrnn_dataset_target_mean(d_short, 0);
        worst = fmax(worst, fabs(pred[i] - v) / fmax(fabs(v), 1e-300));
    }
    snprintf(
        what, sizeof what,
        "%s: a stateful model's predictions (41 windows) are the outputs warmed up over every row "
        "before",
        label);
    check(ok && n > 0 && worst <= 1e-15, what, worst, 1e-15);
    free(pred);
    clrnn_backend_free(pass);
    clrnn_backend_free(whole);
done:
    clrnn_model_free(model);
    clrnn_dataset_free(d_short);
    clrnn_dataset_free(d_long);
    free(text);
}

/* Many series side by side (stateful_outputs: a stream each, in groups of
 * a batch, the tails last) == each series in one window of its own. */
static void test_series_side_by_side(void)
{
    /* full windows of 5: 5 and a tail, 2 and none, none (3 rows: no
     * window), 7 and a tail, 1 and a tail */
    static const size_t lengths[5] = {27, 10, 3, 38, 9};
    char *text = make_table(lengths, 5);
    clrnn_data_config cfg = config(5, 1);
    cfg.train_fraction = 1.0;
    cfg.val_fraction = 0.0;
    clrnn_dataset *d = NULL;
    clrnn_error err;
    clrnn_layer_shape layers[2] = {{2, 6, 2}, {2, 3, 1}}, one = {2, 6, 1};
    const int fused = kernels == CLRNN_KERNELS_FUSED;
    clrnn_model *model = NULL;
    clrnn_rng rng;
    clrnn_rng_seed(&rng, 21);
    if (!check_true(text && dataset_from_text(&d, text, &cfg, &err) == CLRNN_OK &&
                        clrnn_model_create(&model, fused ? &one : layers, fused ? 1 : 2, &err) ==
                            CLRNN_OK,
                    "series: the table and the model")) {
        printf("  %s\n", err.message);
        goto done;
    }
    clrnn_model_init_uniform(model, &rng);
    const size_t R = clrnn_dataset_n_rows(d);
    double *got = malloc(R * sizeof *got), *want = malloc(R * sizeof *want);
    clrnn_backend *b = make_backend(model, d, 5, 2, 1); /* 4 series with windows: 2 groups */
    int ok = got && want && b && stateful_outputs(b, d, got, &err) == CLRNN_OK;
    for (size_t s = 0, first = 0; ok && s < 5; first += lengths[s++]) {
        if (lengths[s] < 5) {
            for (size_t r = first; r < first + lengths[s]; r++)
                ok &= isnan(got[r]);
            continue;
        }
        clrnn_backend *whole = make_backend(model, d, lengths[s], 1, 0);
        uint32_t start = (uint32_t)first;
        ok = whole && clrnn_backend_forward(whole, &start, 1, &err) == CLRNN_OK &&
             clrnn_backend_get_outputs(whole, fused ? 0 : 1, want + first, &err) == CLRNN_OK &&
             memcmp(got + first, want + first, lengths[s] * sizeof *got) == 0;
        clrnn_backend_free(whole);
    }
    char what[256];
    snprintf(what, sizeof what,
             "%s: 5 series side by side in streams (2 a batch, tails last) == each in one window "
             "of its own (bitwise; NaN in the one shorter than a window)",
             label);
    check_true(ok, what);
    clrnn_backend_free(b);
    free(got);
    free(want);
done:
    clrnn_model_free(model);
    clrnn_dataset_free(d);
    free(text);
}

/* --------------------------------------- one stream, whole series == BPTT */

static void test_training_equals_full_bptt(void)
{
    static const size_t length[1] = {60};
    char *text = make_table(length, 1);
    /* train fraction 0.7: 42 training rows, so T = 42 is one training window */
    clrnn_data_config cfg = config(42, 0);
    clrnn_dataset *d = NULL;
    clrnn_error err;
    clrnn_layer_shape layer = {2, 6, 1};
    clrnn_model *model = NULL;
    clrnn_rng rng;
    clrnn_rng_seed(&rng, 9);
    if (!check_true(text && dataset_from_text(&d, text, &cfg, &err) == CLRNN_OK &&
                        clrnn_model_create(&model, &layer, 1, &err) == CLRNN_OK,
                    "BPTT: the table and the model"))
        goto done;
    clrnn_model_init_uniform(model, &rng);
    const size_t P = clrnn_model_n_params(model);
    double *params[2] = {calloc(P, sizeof(double)), calloc(P, sizeof(double))};
    size_t epochs[2] = {0, 0};
    int ok = params[0] && params[1];
    for (int stateful = 0; ok && stateful < 2; stateful++) {
        clrnn_backend *b = make_backend(model, d, 42, 1, 0);
        clrnn_train_config train;
        clrnn_train_config_default(&train);
        train.epochs = 6;
        train.batch = 1;
        train.stateful = stateful;
        clrnn_train_report report;
        ok = b && clrnn_train(b, d, &train, &report, &err) == CLRNN_OK &&
             clrnn_backend_get_params(b, params[stateful], &err) == CLRNN_OK;
        if (!ok)
            printf("  %s\n", err.message);
        epochs[stateful] = report.epochs_run;
        clrnn_backend_free(b);
    }
    char what[256];
    snprintf(what, sizeof what,
             "%s: one stream, one window of the whole training series: stateful training == "
             "full BPTT (parameters after 6 epochs, bitwise)",
             label);
    check_true(ok && epochs[0] == 6 && epochs[1] == 6 &&
                   memcmp(params[0], params[1], P * sizeof(double)) == 0,
               what);
    free(params[0]);
    free(params[1]);
done:
    clrnn_model_free(model);
    clrnn_dataset_free(d);
    free(text);
}

/* ------------------------------------------------------- the model file */

static void test_model_file(void)
{
    static const size_t lengths[2] = {50, 44};
    char *text = make_table(lengths, 2);
    clrnn_data_config cfg = config(5, 1);
    clrnn_dataset *d = NULL;
    clrnn_error err;
    clrnn_layer_shape layer = {2, 4, 1};
    clrnn_model *model = NULL;
    clrnn_checkpoint *saved = NULL, *loaded = NULL;
    clrnn_backend *b = NULL, *again = NULL;
    char path[64] = "/tmp/clrnn_test_stateful_model_XXXXXX";
    int fd = mkstemp(path);
    if (fd >= 0)
        close(fd);
    clrnn_rng rng;
    clrnn_rng_seed(&rng, 2);
    int ok = text && fd >= 0 && dataset_from_text(&d, text, &cfg, &err) == CLRNN_OK &&
             clrnn_model_create(&model, &layer, 1, &err) == CLRNN_OK;
    if (ok) {
        clrnn_model_init_uniform(model, &rng);
        b = make_backend(model, d, 5, 3, 0);
        clrnn_train_config train;
        clrnn_train_config_default(&train);
        train.epochs = 2;
        train.batch = 3;
        train.stateful = 1;
        clrnn_train_report report;
        ok = b && clrnn_train(b, d, &train, &report, &err) == CLRNN_OK &&
             clrnn_backend_is_stateful(b) &&
             clrnn_checkpoint_capture(&saved, b, d, &train, 2, &err) == CLRNN_OK &&
             clrnn_checkpoint_save(saved, path, &err) == CLRNN_OK &&
             clrnn_checkpoint_load(&loaded, path, &err) == CLRNN_OK;
    }
    clrnn_backend_config bcfg = {
        .device = device, .precision = precision, .max_batch = 3, .kernels = kernels};
    if (ok)
        clrnn_checkpoint_backend_config(loaded, &bcfg);
    ok = ok && clrnn_checkpoint_stateful(loaded) && clrnn_checkpoint_format_version(loaded) == 4 &&
         bcfg.stateful &&
         clrnn_backend_create(&again, clrnn_checkpoint_model(loaded), &bcfg, &err) == CLRNN_OK &&
         clrnn_backend_is_stateful(again);
    if (!ok)
        printf("  %s\n", err.message);
    char what[256];
    snprintf(what, sizeof what,
             "%s: a stateful model's file says so (version 4), and makes a stateful backend",
             label);
    check_true(ok, what);
    unlink(path);
    clrnn_backend_free(b);
    clrnn_backend_free(again);
    clrnn_checkpoint_free(saved);
    clrnn_checkpoint_free(loaded);
    clrnn_model_free(model);
    clrnn_dataset_free(d);
    free(text);
}

int main(int argc, char **argv)
{
    if (argc >= 4) { /* opencl FAMILY PRECISION */
        device = argv[1];
        if (!clrnn_parse_kernels(argv[2], &kernels)) {
            printf("unknown family '%s'\n", argv[2]);
            return 2;
        }
        precision = strcmp(argv[3], "fp64") == 0 ? CLRNN_FP64 : CLRNN_FP32;
        snprintf(label, sizeof label, "%s %s %s", argv[1], argv[2], argv[3]);
        clrnn_layer_shape probe = {1, 1, 1};
        clrnn_model *m = NULL;
        clrnn_backend *b = NULL;
        clrnn_backend_config cfg = {.device = device,
                                    .seq_len = 1,
                                    .max_batch = 1,
                                    .kernels = kernels,
                                    .precision = precision};
        clrnn_error err;
        int have = clrnn_model_create(&m, &probe, 1, &err) == CLRNN_OK &&
                   clrnn_backend_create(&b, m, &cfg, &err) == CLRNN_OK;
        clrnn_backend_free(b);
        clrnn_model_free(m);
        if (!have) {
            printf("no OpenCL device: %s\n", err.message);
            return getenv("CI") ? 1 : 77;
        }
    } else {
        test_plan();
    }
    test_pass_equals_long_window();
    test_series_side_by_side();
    test_training_equals_full_bptt();
    test_model_file();
    return check_summary();
}
