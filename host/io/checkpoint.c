/*
 * The model file (docs/checkpoint-format.md): everything needed to use a
 * trained model on new data (shapes, column names, scaler statistics,
 * seq_len) and to continue training it bit for bit (optimizer, its state,
 * step and epoch counts, seed).
 *
 * Saving encodes the checkpoint into memory, field by field in little-endian
 * order, appends a CRC32 and writes the whole at once, atomically. Loading
 * checks, in this order, what can be told apart: the magic (not a model
 * file), the version, the declared size (truncated), the CRC (corrupted);
 * then it decodes and checks that the fields agree with each other, with the
 * same checks a checkpoint must pass to be saved.
 *
 * Version 2 added the forecast framing (date features, horizons,
 * differencing, season) and how the data was read and split (its path,
 * date column, fractions, missing-value policy, scaler fit); version 1
 * files still load, with none of it. Version 3 added, at the end of the
 * data settings, the series column, how series are split and scaled;
 * version 2 files load as one series. Version 4 added, before P, whether
 * the model carries its hidden state (stateful); older files load as not.
 *
 * P = number of parameters, F = feature columns, K = target columns,
 * I = the first layer's inputs, O = the last layer's outputs, L = layers.
 */
#define _XOPEN_SOURCE 700 /* realpath */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/backend.h"
#include "core/error.h"
#include "io/bytes.h"
#include "io/checkpoint.h"
#include "io/crc32.h"
#include "io/files.h"

/* PNG's trick: a byte above 127 and a CR LF pair, so a file mangled by a
 * 7-bit or text-mode transfer is told apart from "not a model" at once. */
static const unsigned char MAGIC[8] = {0x89, 'C', 'L', 'R', 'N', 'N', '\r', '\n'};
enum {
    FORMAT_VERSION = 4, /* what this code writes */
    OLDEST_VERSION = 1, /* the oldest it reads */
    HEADER_SIZE = 20,   /* magic (8), version (4), file size (8) */
    CRC_SIZE = 4,
    MAX_NAME = 4096,     /* bytes of a column name */
    MAX_COLUMNS = 65536, /* features or targets */
    MAX_TEXT = 4096,     /* bytes of a path or the date column's name */
    MAX_HORIZONS = 4096,
    ALL_DATE_FEATURES = CLRNN_DATE_DOY | CLRNN_DATE_DOW | CLRNN_DATE_MONTH | CLRNN_DATE_HOUR

};

/* ---------------------------------------------------------- consistency */

static int finite_array(const double *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        if (!isfinite(v[i]))
            return 0;
    return 1;
}

static const char *bad_names(char *const *names, size_t n)
{
    if (!names)
        return "column names missing";
    for (size_t i = 0; i < n; i++)
        if (!names[i] || names[i][0] == '\0' || strlen(names[i]) > MAX_NAME)
            return "a column name is empty, holds a NUL byte or is longer than 4096 bytes";
    return NULL;
}

/* Inputs (I) and outputs (O) of the model. */
static size_t n_inputs(const clrnn_checkpoint *c)
{
    return clrnn_model_layer(c->model, 0).n_in;
}

static size_t n_outputs(const clrnn_checkpoint *c)
{
    return clrnn_model_layer(c->model, clrnn_model_n_layers(c->model) - 1).n_out;
}

static size_t count_bits(unsigned v)
{
    size_t n = 0;
    for (; v; v &= v - 1)
        n++;
    return n;
}

static const char *bad_statistics(const clrnn_checkpoint *c)
{
    const double *values[4] = {c->feature_mean, c->feature_std, c->target_mean, c->target_std};
    size_t counts[4] = {n_inputs(c), n_inputs(c), n_outputs(c), n_outputs(c)};
    for (int s = 0; s < 4; s++) {
        if (!values[s] || !finite_array(values[s], counts[s]))
            return "scaler statistics missing or not finite";
        for (size_t i = 0; s % 2 == 1 && i < counts[s]; i++)
            if (!(values[s][i] > 0))
                return "a scaler standard deviation is not positive";
    }
    return NULL;
}

static const char *bad_optimizer(const clrnn_optimizer *o)
{
    if (o->kind != CLRNN_SGD && o->kind != CLRNN_ADAM)
        return "unknown optimizer";
    if (!(o->lr > 0) || !isfinite(o->lr))
        return "learning rate not positive";
    if (!(o->momentum >= 0 && o->momentum < 1) || !(o->beta1 >= 0 && o->beta1 < 1) ||
        !(o->beta2 >= 0 && o->beta2 < 1))
        return "momentum or Adam beta outside [0, 1)";
    if (!(o->eps > 0) || !isfinite(o->eps) || !(o->weight_decay >= 0) ||
        !isfinite(o->weight_decay) || !(o->clip_norm >= 0) || !isfinite(o->clip_norm))
        return "Adam eps, weight decay or clip norm out of range";
    return NULL;
}

static int bad_text(const char *text)
{
    return text && strlen(text) > MAX_TEXT;
}

/* The forecast framing and the data settings (NULL when they agree). */
static const char *bad_framing(const clrnn_checkpoint *c)
{
    if (c->date_features & ~(unsigned)ALL_DATE_FEATURES)
        return "unknown date features";
    if (c->n_features + 2 * count_bits(c->date_features) != n_inputs(c))
        return "the number of features (and date features) is not the first layer's input size";
    if (c->n_horizons < 1 || c->n_horizons > MAX_HORIZONS || (c->n_horizons > 1 && !c->horizons))
        return "the number of horizons is out of range";
    for (size_t j = 0; c->horizons && j < c->n_horizons; j++)
        if (c->horizons[j] > UINT32_MAX)
            return "a horizon is out of range";
    if (c->n_targets * c->n_horizons != n_outputs(c))
        return "the number of targets (times the horizons) is not the last layer's output size";
    if ((c->difference != 0 && c->difference != 1) || c->season > UINT32_MAX)
        return "differencing or season out of range";
    if (!c->data_path)
        return NULL;
    if (!c->data_path_abs || bad_text(c->data_path) || bad_text(c->data_path_abs) ||
        bad_text(c->date_column) || bad_text(c->series_column) || c->data_path[0] == '\0' ||
        c->data_path_abs[0] != '/')
        return "the data path is empty, not absolute or longer than 4096 bytes";
    if (!(c->train_fraction > 0.0 && c->train_fraction <= 1.0) ||
        !(c->val_fraction >= 0.0 && c->val_fraction < 1.0) ||
        !(c->train_fraction + c->val_fraction <= 1.0 + 1e-12))
        return "the train and validation fractions are out of range";
    if ((unsigned)c->missing > CLRNN_MISSING_ERROR ||
        (unsigned)c->scaler_fit > CLRNN_SCALER_FIT_ALL ||
        (c->scale_targets != 0 && c->scale_targets != 1))
        return "unknown missing-value policy, scaler fit or target scaling";
    if (c->train_rows > c->val_rows || c->val_rows > c->data_rows)
        return "the split's rows are out of order";
    if ((unsigned)c->split_by_series > 1 || (unsigned)c->scale_per_series > 1 ||
        ((c->split_by_series || c->scale_per_series) && !c->series_column))
        return "series split or scaling without a series column";
    return NULL;
}

/* NULL when the fields agree with each other, else what is wrong. */
static const char *inconsistency(const clrnn_checkpoint *c)
{
    if (!c || !c->model)
        return "no model";
    size_t L = clrnn_model_n_layers(c->model), P = clrnn_model_n_params(c->model);
    if (c->precision != CLRNN_FP32 && c->precision != CLRNN_FP64)
        return "unknown precision";
    if (c->loss_steps != CLRNN_LOSS_ALL && c->loss_steps != CLRNN_LOSS_LAST)
        return "unknown loss steps";
    if (c->seq_len == 0 || c->seq_len > UINT32_MAX)
        return "seq_len out of range";
    (void)L;
    if (c->n_features > MAX_COLUMNS || c->n_targets > MAX_COLUMNS)
        return "too many columns";
    const char *why = bad_framing(c);
    if (!why)
        why = bad_names(c->feature_names, c->n_features);
    if (!why)
        why = bad_names(c->target_names, c->n_targets);
    if (!why)
        why = bad_statistics(c);
    if (!why)
        why = bad_optimizer(&c->optimizer);
    if (why)
        return why;
    if (c->step < 0)
        return "negative step count";
    if (!finite_array(clrnn_model_params_const(c->model), P))
        return "a parameter is not finite";
    if (!finite_array(c->opt_m, P) || !finite_array(c->opt_v, P))
        return "an optimizer state value is not finite";
    return NULL;
}

/* ------------------------------------------------------------- encoding */

static void put_names(byte_writer *w, char *const *names, size_t n)
{
    put_u32(w, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(names[i]);
        put_u32(w, (uint32_t)len);
        put_bytes(w, names[i], len);
    }
}

/* A text that may be empty (NULL is empty): u32 bytes, then the bytes. */
/* Version 2's forecast framing and data settings. */
static void put_framing(byte_writer *w, const clrnn_checkpoint *c)
{
    put_u32(w, c->date_features);
    put_u32(w, (uint32_t)c->n_horizons);
    for (size_t j = 0; j < c->n_horizons; j++)
        put_u32(w, c->horizons ? (uint32_t)c->horizons[j] : 0);
    put_u32(w, (uint32_t)c->difference);
    put_u32(w, (uint32_t)c->season);
    put_u32(w, c->data_path != NULL);
    if (!c->data_path)
        return;
    put_text(w, c->data_path);
    put_text(w, c->data_path_abs);
    put_text(w, c->date_column);
    put_f64(w, c->train_fraction);
    put_f64(w, c->val_fraction);
    put_u32(w, (uint32_t)c->missing);
    put_u32(w, (uint32_t)c->scaler_fit);
    put_u32(w, (uint32_t)c->scale_targets);
    put_u64(w, (uint64_t)c->data_rows);
    put_u64(w, (uint64_t)c->train_rows);
    put_u64(w, (uint64_t)c->val_rows);
    put_text(w, c->series_column); /* version 3 */
    put_u32(w, (uint32_t)c->split_by_series);
    put_u32(w, (uint32_t)c->scale_per_series);
}

static void put_optimizer(byte_writer *w, const clrnn_optimizer *o)
{
    put_u32(w, (uint32_t)o->kind);
    put_f64(w, o->lr);
    put_f64(w, o->momentum);
    put_f64(w, o->beta1);
    put_f64(w, o->beta2);
    put_f64(w, o->eps);
    put_f64(w, o->weight_decay);
    put_f64(w, o->clip_norm);
}

/* The layout, field by field, is the table in docs/checkpoint-format.md. */
static void encode(byte_writer *w, const clrnn_checkpoint *c)
{
    const clrnn_model *m = c->model;
    size_t L = clrnn_model_n_layers(m), P = clrnn_model_n_params(m);
    put_bytes(w, MAGIC, sizeof MAGIC);
    put_u32(w, FORMAT_VERSION);
    put_u64(w, 0); /* the file size, patched below */
    put_u32(w, (uint32_t)L);
    for (size_t l = 0; l < L; l++) {
        clrnn_layer_shape s = clrnn_model_layer(m, l);
        put_u32(w, (uint32_t)s.n_in);
        put_u32(w, (uint32_t)s.n_hidden);
        put_u32(w, (uint32_t)s.n_out);
    }
    put_u32(w, (uint32_t)c->precision);
    put_u32(w, (uint32_t)c->seq_len);
    put_u32(w, (uint32_t)c->loss_steps);
    put_names(w, c->feature_names, c->n_features);
    put_names(w, c->target_names, c->n_targets);
    put_f64_array(w, c->feature_mean, n_inputs(c));
    put_f64_array(w, c->feature_std, n_inputs(c));
    put_f64_array(w, c->target_mean, n_outputs(c));
    put_f64_array(w, c->target_std, n_outputs(c));
    put_optimizer(w, &c->optimizer);
    put_u64(w, (uint64_t)c->step);
    put_u64(w, (uint64_t)c->epoch);
    put_u32(w, c->seed);
    put_framing(w, c);
    put_u32(w, (uint32_t)c->stateful); /* version 4 */
    put_u64(w, (uint64_t)P);
    put_f64_array(w, clrnn_model_params_const(m), P);
    put_f64_array(w, c->opt_m, P); /* NULL: zeros */
    put_f64_array(w, c->opt_v, P);
    patch_u64(w, 12, (uint64_t)(w->size + CRC_SIZE));
    put_u32(w, crc32_update(0, w->data, w->size));
}

clrnn_status clrnn_checkpoint_save(const clrnn_checkpoint *ckpt, const char *path, clrnn_error *err)
{
    const char *why = inconsistency(ckpt);
    if (why)
        return clrnn__fail(err, CLRNN_E_INPUT, "cannot save '%s': %s", path, why);
    byte_writer w = {0};
    encode(&w, ckpt);
    clrnn_status st = w.failed ? clrnn__fail(err, CLRNN_E_NOMEM, "out of memory saving '%s'", path)
                               : atomic_write_file(path, w.data, w.size, err);
    byte_writer_free(&w);
    return st;
}

clrnn_status clrnn__checkpoint_encode(const clrnn_checkpoint *ckpt, unsigned char **bytes,
                                      size_t *size, clrnn_error *err)
{
    *bytes = NULL;
    *size = 0;
    const char *why = inconsistency(ckpt);
    if (why)
        return clrnn__fail(err, CLRNN_E_INPUT, "cannot encode a checkpoint: %s", why);
    byte_writer w = {0};
    encode(&w, ckpt);
    if (w.failed) {
        byte_writer_free(&w);
        return clrnn__fail(err, CLRNN_E_NOMEM, "out of memory encoding a checkpoint");
    }
    *bytes = w.data; /* the writer's buffer, handed over */
    *size = w.size;
    return CLRNN_OK;
}

/* ------------------------------------------------------------- decoding */

/* Magic, version, declared size and CRC: whether the bytes are an intact
 * model file of a version this code reads, before any field is trusted. */
static clrnn_status check_envelope(const unsigned char *data, size_t size, const char *path,
                                   clrnn_error *err)
{
    size_t magic_seen = size < sizeof MAGIC ? size : sizeof MAGIC;
    if (size == 0) /* data may be NULL then */
        return clrnn__fail(err, CLRNN_E_INPUT, "'%s' is empty, not a clrnn model file", path);
    if (memcmp(data, MAGIC, magic_seen) != 0)
        return clrnn__fail(err, CLRNN_E_INPUT, "'%s' is not a clrnn model file (no clrnn magic)",
                           path);
    if (size < HEADER_SIZE)
        return clrnn__fail(err, CLRNN_E_INPUT,
                           "'%s' is truncated: %zu bytes, fewer than the %d of the header", path,
                           size, HEADER_SIZE);
    uint32_t version = load_u32(data + 8);
    if (version < OLDEST_VERSION || version > FORMAT_VERSION)
        return clrnn__fail(err, CLRNN_E_INPUT,
                           "'%s' is model format version %u; this clrnn reads versions %d to %d "
                           "(a newer clrnn wrote it, or it is corrupted)",
                           path, (unsigned)version, OLDEST_VERSION, FORMAT_VERSION);
    uint64_t declared = (uint64_t)load_u32(data + 12) | (uint64_t)load_u32(data + 16) << 32;
    if (declared != size)
        return clrnn__fail(err, CLRNN_E_INPUT,
                           "'%s' is %s: %zu bytes, its header says %llu (an interrupted copy?)",
                           path, declared > size ? "truncated" : "corrupted (bytes appended)", size,
                           (unsigned long long)declared);
    if (size < HEADER_SIZE + CRC_SIZE)
        return clrnn__fail(err, CLRNN_E_INPUT, "'%s' is corrupted: too short for its checksum",
                           path);
    uint32_t stored = load_u32(data + size - CRC_SIZE);
    uint32_t computed = crc32_update(0, data, size - CRC_SIZE);
    if (stored != computed)
        return clrnn__fail(
            err, CLRNN_E_INPUT,
            "'%s' is corrupted: checksum mismatch (CRC32 stored %08x, computed %08x)", path,
            (unsigned)stored, (unsigned)computed);
    return CLRNN_OK;
}

/* A u32 count that must fit in the bytes left, each item taking at least
 * item_size bytes: so no field can make the reader allocate more than the
 * file could fill. */
static size_t get_count(byte_reader *r, size_t item_size)
{
    size_t n = get_u32(r);
    if (n > bytes_left(r) / item_size)
        r->failed = 1;
    return r->failed ? 0 : n;
}

static char **get_names(byte_reader *r, size_t *n)
{
    *n = get_count(r, 4);
    char **names = calloc(*n ? *n : 1, sizeof *names);
    for (size_t i = 0; names && i < *n && !r->failed; i++) {
        size_t len = get_count(r, 1);
        const unsigned char *text = get_bytes(r, len);
        if (!text || !(names[i] = malloc(len + 1)))
            break;
        /* A NUL inside a name becomes an empty name, which is refused. */
        memcpy(names[i], text, len);
        names[i][memchr(text, '\0', len) ? 0 : len] = '\0';
    }
    return names;
}

static double *get_array(byte_reader *r, size_t n)
{
    double *v = malloc((n ? n : 1) * sizeof *v);
    if (v)
        get_f64_array(r, v, n);
    return v;
}

/* The optimizer's hyper-parameters after its kind (read by the caller). */
static void get_optimizer(byte_reader *r, clrnn_optimizer *o)
{
    o->lr = get_f64(r);
    o->momentum = get_f64(r);
    o->beta1 = get_f64(r);
    o->beta2 = get_f64(r);
    o->eps = get_f64(r);
    o->weight_decay = get_f64(r);
    o->clip_norm = get_f64(r);
}

/* The layer list and the model it makes (all parameters zero). */
static clrnn_status get_model(byte_reader *r, clrnn_checkpoint *c, clrnn_error *why)
{
    size_t L = get_count(r, 12);
    clrnn_layer_shape *layers = malloc((L ? L : 1) * sizeof *layers);
    if (!layers)
        return clrnn__fail(why, CLRNN_E_NOMEM, "out of memory");
    for (size_t l = 0; l < L; l++) {
        layers[l].n_in = get_u32(r);
        layers[l].n_hidden = get_u32(r);
        layers[l].n_out = get_u32(r);
    }
    /* The parameters, and the optimizer's two states, come after the
     * layers: sizes that the rest of the file cannot hold are refused
     * before anything of that size is allocated. */
    double n_params = 0.0;
    for (size_t l = 0; l < L; l++) {
        double I = layers[l].n_in, H = layers[l].n_hidden, O = layers[l].n_out;
        n_params += I * H + H * H + H * O + O + H;
    }
    clrnn_status st =
        r->failed ? clrnn__fail(why, CLRNN_E_INPUT, "the layer list runs past the end")
        : n_params * 3.0 * 8.0 > (double)bytes_left(r)
            ? clrnn__fail(why, CLRNN_E_INPUT,
                          "its layers declare %.0f parameters, more than its %zu bytes can hold",
                          n_params, bytes_left(r))
            : clrnn_model_create(&c->model, layers, L, why);
    free(layers);
    return st;
}

/* Columns, statistics, optimizer and counters; enums are checked as raw
 * numbers before they become enums. NULL when nothing was out of range. */
static const char *get_settings(byte_reader *r, clrnn_checkpoint *c)
{
    uint32_t precision = get_u32(r);
    c->seq_len = get_u32(r);
    uint32_t loss_steps = get_u32(r);
    if (precision > CLRNN_FP64 || loss_steps > CLRNN_LOSS_LAST)
        return "unknown precision or loss steps";
    c->precision = (clrnn_precision)precision;
    c->loss_steps = (clrnn_loss_steps)loss_steps;
    c->feature_names = get_names(r, &c->n_features);
    c->target_names = get_names(r, &c->n_targets);
    /* Version 1 has a statistic a column; version 2 one an input and an
     * output (date features and horizons make more of them than columns). */
    size_t I = c->version == 1 ? c->n_features : n_inputs(c);
    size_t O = c->version == 1 ? c->n_targets : n_outputs(c);
    if (!r->failed && (I > bytes_left(r) / 16 || O > bytes_left(r) / 16))
        return "the scaler statistics run past the end";
    c->feature_mean = get_array(r, I);
    c->feature_std = get_array(r, I);
    c->target_mean = get_array(r, O);
    c->target_std = get_array(r, O);
    uint32_t kind = get_u32(r);
    if (kind > CLRNN_ADAM)
        return "unknown optimizer";
    c->optimizer.kind = (clrnn_optimizer_kind)kind;
    get_optimizer(r, &c->optimizer);
    uint64_t step = get_u64(r), epoch = get_u64(r);
    if (step > LONG_MAX || (uint64_t)(size_t)epoch != epoch)
        return "step or epoch count out of range";
    c->step = (long)step;
    c->epoch = (size_t)epoch;
    c->seed = get_u32(r);
    return NULL;
}

/* A text of at most MAX_TEXT bytes, no NUL (an empty one is NULL when
 * empty_is_null); *bad set when it is refused. */
static char *get_text(byte_reader *r, int empty_is_null, int *bad)
{
    size_t len = get_count(r, 1);
    const unsigned char *text = get_bytes(r, len);
    if (r->failed) /* said as a field past the end */
        return NULL;
    if (len > MAX_TEXT || memchr(text, '\0', len)) {
        *bad = 1;
        return NULL;
    }
    if (len == 0 && empty_is_null)
        return NULL;
    char *s = malloc(len + 1);
    if (!s) {
        *bad = 2;
        return NULL;
    }
    memcpy(s, text, len);
    s[len] = '\0';
    return s;
}

/* Version 2's framing and data settings; enums are checked as raw numbers
 * before they become enums. NULL when nothing was out of range; "" for out
 * of memory. */
static const char *get_framing(byte_reader *r, clrnn_checkpoint *c)
{
    c->date_features = get_u32(r);
    c->n_horizons = get_count(r, 4);
    if (r->failed || c->n_horizons < 1 || c->n_horizons > MAX_HORIZONS)
        return "the number of horizons is out of range";
    if (!(c->horizons = malloc(c->n_horizons * sizeof *c->horizons)))
        return "";
    for (size_t j = 0; j < c->n_horizons; j++)
        c->horizons[j] = get_u32(r);
    c->difference = (int)get_u32(r);
    c->season = get_u32(r);
    uint32_t has_data = get_u32(r);
    if (has_data > 1 || c->difference > 1)
        return "differencing or the data settings' flag out of range";
    if (!has_data)
        return NULL;
    int bad = 0;
    c->data_path = get_text(r, 0, &bad);
    c->data_path_abs = get_text(r, 0, &bad);
    c->date_column = get_text(r, 1, &bad);
    if (bad)
        return bad == 2 ? "" : "the data path or date column is too long or holds a NUL byte";
    c->train_fraction = get_f64(r);
    c->val_fraction = get_f64(r);
    uint32_t missing = get_u32(r), fit = get_u32(r), scale = get_u32(r);
    if (missing > CLRNN_MISSING_ERROR || fit > CLRNN_SCALER_FIT_ALL || scale > 1)
        return "unknown missing-value policy, scaler fit or target scaling";
    c->missing = (clrnn_missing)missing;
    c->scaler_fit = (clrnn_scaler_fit)fit;
    c->scale_targets = (int)scale;
    uint64_t rows = get_u64(r), train = get_u64(r), val = get_u64(r);
    if (rows > SIZE_MAX || train > rows || val > rows)
        return "the split's rows are out of range";
    c->data_rows = (size_t)rows;
    c->train_rows = (size_t)train;
    c->val_rows = (size_t)val;
    if (c->version < 3)
        return NULL;
    c->series_column = get_text(r, 1, &bad);
    if (bad)
        return bad == 2 ? "" : "the series column is too long or holds a NUL byte";
    uint32_t by = get_u32(r), per = get_u32(r);
    if (by > 1 || per > 1)
        return "series split or scaling out of range";
    c->split_by_series = (int)by;
    c->scale_per_series = (int)per;
    return NULL;
}

/* Parameters and optimizer state: P doubles each, P as the layers say. */
static const char *get_tensors(byte_reader *r, clrnn_checkpoint *c)
{
    size_t P = clrnn_model_n_params(c->model);
    uint64_t stored = get_u64(r);
    if (!r->failed && stored != P)
        return "the parameter count does not match the layer sizes";
    if (bytes_left(r) / 8 < 3 * P) /* checked before allocating */
        return "the tensors run past the end";
    get_f64_array(r, clrnn_model_params(c->model), P);
    c->opt_m = get_array(r, P);
    c->opt_v = get_array(r, P);
    return NULL;
}

static int fully_allocated(const clrnn_checkpoint *c)
{
    for (size_t i = 0; c->feature_names && i < c->n_features; i++)
        if (!c->feature_names[i])
            return 0;
    for (size_t i = 0; c->target_names && i < c->n_targets; i++)
        if (!c->target_names[i])
            return 0;
    return c->feature_names && c->target_names && c->feature_mean && c->feature_std &&
           c->target_mean && c->target_std && c->opt_m && c->opt_v;
}

/* The body (after the header, before the CRC) into c. */
static clrnn_status decode(byte_reader *r, clrnn_checkpoint *c, const char *path, clrnn_error *err)
{
    clrnn_error why;
    clrnn_status st = get_model(r, c, &why);
    if (st == CLRNN_E_NOMEM)
        return clrnn__fail(err, st, "out of memory reading '%s'", path);
    const char *problem = st != CLRNN_OK ? why.message : get_settings(r, c);
    if (!problem && !r->failed && c->version >= 2)
        problem = get_framing(r, c);
    if (problem && problem[0] == '\0')
        return clrnn__fail(err, CLRNN_E_NOMEM, "out of memory reading '%s'", path);
    if (!problem && !r->failed && c->version == 1)
        c->n_horizons = 1; /* version 1: the target columns as they are */
    if (!problem && !r->failed && c->version >= 4) {
        uint32_t stateful = get_u32(r);
        if (stateful > 1)
            problem = "the stateful flag is out of range";
        c->stateful = (int)stateful;
    }
    if (!problem && !r->failed)
        problem = get_tensors(r, c);
    if (!problem && r->failed)
        problem = "a field runs past the end";
    if (!problem && bytes_left(r) != 0)
        problem = "bytes left over after the last field";
    if (!problem && !fully_allocated(c))
        return clrnn__fail(err, CLRNN_E_NOMEM, "out of memory reading '%s'", path);
    if (!problem)
        problem = inconsistency(c);
    if (problem)
        return clrnn__fail(err, CLRNN_E_INPUT, "'%s' is not a valid model file: %s", path, problem);
    return CLRNN_OK;
}

/* How much of a file is worth reading, given its first n bytes: the
 * header, and then, for a model file of this version, what its header
 * declares (the reader takes a byte or two more, so appended bytes are
 * seen); for anything else the header is enough to say what it is not.
 * /dev/zero stops here. */
static size_t model_file_limit(const unsigned char *data, size_t n)
{
    if (n < HEADER_SIZE)
        return HEADER_SIZE;
    if (memcmp(data, MAGIC, sizeof MAGIC) != 0 || load_u32(data + 8) < OLDEST_VERSION ||
        load_u32(data + 8) > FORMAT_VERSION)
        return HEADER_SIZE;
    uint64_t declared = (uint64_t)load_u32(data + 12) | (uint64_t)load_u32(data + 16) << 32;
    return declared < SIZE_MAX - 2 ? (size_t)declared : SIZE_MAX - 2;
}

clrnn_status clrnn_checkpoint_load(clrnn_checkpoint **out, const char *path, clrnn_error *err)
{
    unsigned char *data = NULL;
    size_t size = 0;
    *out = NULL;
    clrnn_checkpoint *ckpt = calloc(1, sizeof *ckpt);
    if (!ckpt)
        return clrnn__fail(err, CLRNN_E_NOMEM, "out of memory reading '%s'", path);
    clrnn_status st = read_file_limited(path, model_file_limit, &data, &size, err);
    if (st == CLRNN_OK)
        st = check_envelope(data, size, path, err);
    if (st == CLRNN_OK) {
        byte_reader r = {data + HEADER_SIZE, size - HEADER_SIZE - CRC_SIZE, 0, 0};
        ckpt->version = load_u32(data + 8);
        st = decode(&r, ckpt, path, err);
    }
    free(data);
    if (st != CLRNN_OK)
        clrnn_checkpoint_free(ckpt);
    else
        *out = ckpt;
    return st;
}

clrnn_status clrnn__checkpoint_decode(clrnn_checkpoint **out, const unsigned char *bytes,
                                      size_t size, const char *name, clrnn_error *err)
{
    *out = NULL;
    clrnn_checkpoint *ckpt = calloc(1, sizeof *ckpt);
    if (!ckpt)
        return clrnn__fail(err, CLRNN_E_NOMEM, "out of memory reading '%s'", name);
    clrnn_status st = check_envelope(bytes, size, name, err);
    if (st == CLRNN_OK) {
        byte_reader r = {bytes + HEADER_SIZE, size - HEADER_SIZE - CRC_SIZE, 0, 0};
        ckpt->version = load_u32(bytes + 8);
        st = decode(&r, ckpt, name, err);
    }
    if (st != CLRNN_OK)
        clrnn_checkpoint_free(ckpt);
    else
        *out = ckpt;
    return st;
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; names && i < n; i++)
        free(names[i]);
    free(names);
}

void clrnn_checkpoint_free(clrnn_checkpoint *ckpt)
{
    if (!ckpt)
        return;
    clrnn_model_free(ckpt->model);
    free_names(ckpt->feature_names, ckpt->n_features);
    free_names(ckpt->target_names, ckpt->n_targets);
    free(ckpt->feature_mean);
    free(ckpt->feature_std);
    free(ckpt->target_mean);
    free(ckpt->target_std);
    free(ckpt->opt_m);
    free(ckpt->opt_v);
    free(ckpt->horizons);
    free(ckpt->data_path);
    free(ckpt->data_path_abs);
    free(ckpt->date_column);
    free(ckpt->series_column);
    free(ckpt);
}

/* ---------------------------------------------- capture and restore */

static char *copy_text(const char *text)
{
    char *s = text ? malloc(strlen(text) + 1) : NULL;
    if (s)
        strcpy(s, text);
    return s;
}

static char **copy_names(const clrnn_dataset *data, size_t n,
                         const char *(*name)(const clrnn_dataset *, size_t))
{
    char **names = calloc(n ? n : 1, sizeof *names);
    for (size_t i = 0; names && i < n; i++) {
        if (!(names[i] = copy_text(name(data, i) ? name(data, i) : ""))) {
            free_names(names, i);
            return NULL;
        }
    }
    return names;
}

static double *copy_stats(const clrnn_dataset *data, size_t n,
                          double (*stat)(const clrnn_dataset *, size_t))
{
    double *v = malloc((n ? n : 1) * sizeof *v);
    for (size_t i = 0; v && i < n; i++)
        v[i] = stat(data, i);
    return v;
}

/* path made absolute with links resolved; where it cannot be resolved
 * (gone since it was read), joined to the working folder. */
static char *absolute_path(const char *path)
{
    char resolved[PATH_MAX], cwd[PATH_MAX];
    if (realpath(path, resolved))
        return copy_text(resolved);
    if (path[0] == '/')
        return copy_text(path);
    if (!getcwd(cwd, sizeof cwd))
        return copy_text("/");
    char *s = malloc(strlen(cwd) + strlen(path) + 2);
    if (s)
        sprintf(s, "%s/%s", cwd, path);
    return s;
}

/* The framing as the dataset applied it, and the data settings of config
 * (may be NULL: not recorded). 0 when out of memory. */
static int capture_framing(clrnn_checkpoint *c, const clrnn_dataset *data,
                           const clrnn_data_config *config, const char *data_path)
{
    size_t K = clrnn_dataset_n_target_columns(data);
    c->n_horizons = K ? clrnn_dataset_n_targets(data) / K : 1;
    if (!(c->horizons = malloc((c->n_horizons ? c->n_horizons : 1) * sizeof *c->horizons)))
        return 0;
    for (size_t j = 0; j < c->n_horizons; j++)
        c->horizons[j] = clrnn_dataset_target_horizon(data, j * K);
    c->difference = clrnn_dataset_differenced(data) != 0;
    c->season = clrnn_dataset_season(data);
    if (!config)
        return 1;
    c->date_features = config->date_features;
    c->train_fraction = config->train_fraction;
    c->val_fraction = config->val_fraction;
    c->missing = config->missing;
    c->scaler_fit = config->scaler_fit;
    c->scale_targets = config->scale_targets != 0;
    c->data_rows = clrnn_dataset_n_rows(data);
    clrnn_dataset_split_rows(data, CLRNN_SPLIT_TRAIN, NULL, &c->train_rows);
    clrnn_dataset_split_rows(data, CLRNN_SPLIT_VAL, NULL, &c->val_rows);
    if (config->date_column && !(c->date_column = copy_text(config->date_column)))
        return 0;
    c->split_by_series = config->split_by_series != 0;
    c->scale_per_series = config->scale_per_series != 0;
    if (config->series_column && !(c->series_column = copy_text(config->series_column)))
        return 0;
    if (!data_path)
        return 1;
    return (c->data_path = copy_text(data_path)) && (c->data_path_abs = absolute_path(data_path));
}

clrnn_status clrnn_checkpoint_capture_data(clrnn_checkpoint **out, clrnn_backend *backend,
                                           const clrnn_dataset *data,
                                           const clrnn_data_config *config, const char *data_path,
                                           const clrnn_train_config *train, size_t epoch,
                                           clrnn_error *err)
{
    size_t I = clrnn_dataset_n_features(data), O = clrnn_dataset_n_targets(data);
    *out = NULL;
    if (data_path && !config)
        return clrnn__fail(err, CLRNN_E_INPUT,
                           "a `data_path` without the data's `config` cannot be recorded");
    clrnn_checkpoint *ckpt = calloc(1, sizeof *ckpt);
    if (!ckpt)
        return clrnn__fail(err, CLRNN_E_NOMEM, "out of memory capturing a checkpoint");
    clrnn_status st = clrnn_model_create(&ckpt->model, backend->layers, backend->n_layers, err);
    if (st != CLRNN_OK) {
        free(ckpt);
        return st;
    }
    size_t P = clrnn_model_n_params(ckpt->model);
    size_t n_date = config ? 2 * count_bits(config->date_features) : 0;
    ckpt->version = FORMAT_VERSION;
    ckpt->stateful = backend->stateful;
    ckpt->precision = backend->precision;
    ckpt->seq_len = clrnn_dataset_seq_len(data);
    ckpt->loss_steps = backend->loss_steps;
    ckpt->n_features = I >= n_date ? I - n_date : 0;
    ckpt->n_targets = clrnn_dataset_n_target_columns(data);
    ckpt->optimizer = train->optimizer;
    ckpt->seed = train->seed;
    ckpt->epoch = epoch;
    ckpt->feature_names = copy_names(data, ckpt->n_features, clrnn_dataset_feature_name);
    ckpt->target_names = copy_names(data, ckpt->n_targets, clrnn_dataset_target_name);
    ckpt->feature_mean = copy_stats(data, I, clrnn_dataset_feature_mean);
    ckpt->feature_std = copy_stats(data, I, clrnn_dataset_feature_std);
    ckpt->target_mean = copy_stats(data, O, clrnn_dataset_target_mean);
    ckpt->target_std = copy_stats(data, O, clrnn_dataset_target_std);
    ckpt->opt_m = malloc(P * sizeof *ckpt->opt_m);
    ckpt->opt_v = malloc(P * sizeof *ckpt->opt_v);
    if (!ckpt->feature_names || !ckpt->target_names || !ckpt->feature_mean || !ckpt->feature_std ||
        !ckpt->target_mean || !ckpt->target_std || !ckpt->opt_m || !ckpt->opt_v ||
        !capture_framing(ckpt, data, config, data_path))
        st = clrnn__fail(err, CLRNN_E_NOMEM, "out of memory capturing a checkpoint");
    if (st == CLRNN_OK)
        st = clrnn_backend_get_params(backend, clrnn_model_params(ckpt->model), err);
    if (st == CLRNN_OK)
        st = clrnn_backend_get_optimizer_state(backend, ckpt->opt_m, ckpt->opt_v, &ckpt->step, err);
    if (st != CLRNN_OK) {
        /* names are freed by count: keep the counts only where the arrays exist */
        if (!ckpt->feature_names)
            ckpt->n_features = 0;
        if (!ckpt->target_names)
            ckpt->n_targets = 0;
        clrnn_checkpoint_free(ckpt);
    } else {
        *out = ckpt;
    }
    return st;
}

clrnn_status clrnn_checkpoint_capture(clrnn_checkpoint **out, clrnn_backend *backend,
                                      const clrnn_dataset *data, const clrnn_train_config *train,
                                      size_t epoch, clrnn_error *err)
{
    return clrnn_checkpoint_capture_data(out, backend, data, NULL, NULL, train, epoch, err);
}

clrnn_status clrnn_checkpoint_restore(const clrnn_checkpoint *ckpt, clrnn_backend *backend,
                                      clrnn_train_config *train, clrnn_error *err)
{
    if (!ckpt || !ckpt->model)
        return clrnn__fail(err, CLRNN_E_INPUT, "an empty checkpoint cannot be restored");
    size_t L = clrnn_model_n_layers(ckpt->model);
    int same = L == backend->n_layers;
    for (size_t l = 0; same && l < L; l++) {
        clrnn_layer_shape a = clrnn_model_layer(ckpt->model, l), b = backend->layers[l];
        same = a.n_in == b.n_in && a.n_hidden == b.n_hidden && a.n_out == b.n_out;
    }
    if (!same)
        return clrnn__fail(err, CLRNN_E_INPUT,
                           "the checkpoint's layers are not the backend's: it cannot be restored "
                           "there");
    clrnn_status st = clrnn_backend_set_params(backend, clrnn_model_params_const(ckpt->model), err);
    if (st == CLRNN_OK)
        st = clrnn_backend_set_optimizer_state(backend, ckpt->opt_m, ckpt->opt_v, ckpt->step, err);
    if (st == CLRNN_OK && ckpt->stateful)
        st = clrnn_backend_set_stateful(backend, 1, err);
    if (st == CLRNN_OK && train) {
        train->start_epoch = ckpt->epoch;
        train->optimizer = ckpt->optimizer;
        train->seed = ckpt->seed;
        train->stateful = train->stateful || ckpt->stateful;
    }
    return st;
}

void clrnn_checkpoint_data_config(const clrnn_checkpoint *ckpt, clrnn_data_config *config)
{
    config->horizons = ckpt->horizons;
    config->n_horizons = ckpt->horizons ? ckpt->n_horizons : 0;
    config->difference = ckpt->difference;
    config->date_features = ckpt->date_features;
    config->season = ckpt->season;
    if (ckpt->data_path) {
        config->date_column = ckpt->date_column;
        config->train_fraction = ckpt->train_fraction;
        config->val_fraction = ckpt->val_fraction;
        config->missing = ckpt->missing;
        config->scaler_fit = ckpt->scaler_fit;
        config->scale_targets = ckpt->scale_targets;
        config->series_column = ckpt->series_column;
        config->split_by_series = ckpt->split_by_series;
        config->scale_per_series = ckpt->scale_per_series;
    }
    config->features = (const char *const *)ckpt->feature_names;
    config->n_features = ckpt->n_features;
    config->targets = (const char *const *)ckpt->target_names;
    config->n_targets = ckpt->n_targets;
    config->seq_len = ckpt->seq_len;
    config->feature_mean = ckpt->feature_mean;
    config->feature_std = ckpt->feature_std;
    config->target_mean = ckpt->target_mean;
    config->target_std = ckpt->target_std;
}

void clrnn_checkpoint_backend_config(const clrnn_checkpoint *ckpt, clrnn_backend_config *config)
{
    config->precision = ckpt->precision;
    config->seq_len = ckpt->seq_len;
    config->loss_steps = ckpt->loss_steps;
    config->stateful = ckpt->stateful;
}

/* ------------------------------------------------------------ accessors */

const clrnn_model *clrnn_checkpoint_model(const clrnn_checkpoint *ckpt)
{
    return ckpt->model;
}

clrnn_precision clrnn_checkpoint_precision(const clrnn_checkpoint *ckpt)
{
    return ckpt->precision;
}

size_t clrnn_checkpoint_seq_len(const clrnn_checkpoint *ckpt)
{
    return ckpt->seq_len;
}

clrnn_loss_steps clrnn_checkpoint_loss_steps(const clrnn_checkpoint *ckpt)
{
    return ckpt->loss_steps;
}

clrnn_optimizer clrnn_checkpoint_optimizer(const clrnn_checkpoint *ckpt)
{
    return ckpt->optimizer;
}

long clrnn_checkpoint_step(const clrnn_checkpoint *ckpt)
{
    return ckpt->step;
}

size_t clrnn_checkpoint_epoch(const clrnn_checkpoint *ckpt)
{
    return ckpt->epoch;
}

uint32_t clrnn_checkpoint_seed(const clrnn_checkpoint *ckpt)
{
    return ckpt->seed;
}

size_t clrnn_checkpoint_n_features(const clrnn_checkpoint *ckpt)
{
    return ckpt->n_features;
}

size_t clrnn_checkpoint_n_targets(const clrnn_checkpoint *ckpt)
{
    return ckpt->n_targets;
}

const char *clrnn_checkpoint_feature_name(const clrnn_checkpoint *ckpt, size_t f)
{
    return f < ckpt->n_features ? ckpt->feature_names[f] : NULL;
}

const char *clrnn_checkpoint_target_name(const clrnn_checkpoint *ckpt, size_t k)
{
    return k < ckpt->n_targets ? ckpt->target_names[k] : NULL;
}

int clrnn_checkpoint_stateful(const clrnn_checkpoint *ckpt)
{
    return ckpt->stateful;
}

uint32_t clrnn_checkpoint_format_version(const clrnn_checkpoint *ckpt)
{
    return ckpt->version;
}

const char *clrnn_checkpoint_data_path(const clrnn_checkpoint *ckpt, int absolute)
{
    return absolute ? ckpt->data_path_abs : ckpt->data_path;
}

void clrnn_checkpoint_data_rows(const clrnn_checkpoint *ckpt, size_t *rows, size_t *train_end,
                                size_t *val_end)
{
    if (rows)
        *rows = ckpt->data_rows;
    if (train_end)
        *train_end = ckpt->train_rows;
    if (val_end)
        *val_end = ckpt->val_rows;
}
