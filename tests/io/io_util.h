/* What the model-file tests share (test_checkpoint, test_npz, test_resume):
 * a temporary folder, whole-file reads and writes, the little-endian and
 * CRC helpers that check the format independently of the library, and a
 * checkpoint of awkward values. */
#ifndef CLRNN_TEST_IO_UTIL_H
#define CLRNN_TEST_IO_UTIL_H

#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* mkdtemp, opendir */
#endif
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "clrnn.h"
#include "io/checkpoint.h" /* the fields, to build checkpoints and compare them */

#define SMALL_CSV CLRNN_FIXTURE_DIR "/cli_small.csv"

static char test_dir[64];

static inline void path_in(char *out, size_t size, const char *name)
{
    snprintf(out, size, "%s/%s", test_dir, name);
}

/* ------------------------------------------------------------- files */

static inline unsigned char *read_bytes(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    unsigned char *data = NULL;
    *size = 0;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long n = ftell(f);
        rewind(f);
        data = n >= 0 ? malloc((size_t)n + 1) : NULL;
        if (data && fread(data, 1, (size_t)n, f) == (size_t)n)
            *size = (size_t)n;
    }
    fclose(f);
    return data;
}

static inline int write_bytes(const char *path, const unsigned char *data, size_t size)
{
    /* A new file each time: ext4 flushes a file truncated and rewritten on
     * close, which made thousands of rewrites take seconds. */
    unlink(path);
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    int ok = fwrite(data, 1, size, f) == size;
    return fclose(f) == 0 && ok;
}

/* CRC-32 bit by bit, independent of the library's table version. */
static inline uint32_t crc32_bitwise(const unsigned char *p, size_t n)
{
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

static inline uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint16_t le16(const unsigned char *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static inline void put_le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* Recomputes a model file's trailing CRC after an edit. */
static inline void reseal(unsigned char *data, size_t size)
{
    put_le32(data + size - 4, crc32_bitwise(data, size - 4));
}

/* No "<name>.tmp.*" left in the test folder by the atomic writer. */
static inline int no_temporaries(void)
{
    DIR *d = opendir(test_dir);
    struct dirent *e;
    int clean = d != NULL;
    while (d && (e = readdir(d)))
        if (strstr(e->d_name, ".tmp."))
            clean = 0;
    if (d)
        closedir(d);
    return clean;
}

/* ------------------------------------------------------- checkpoints */

static inline char *copy(const char *s)
{
    char *c = malloc(strlen(s) + 1);
    if (c)
        strcpy(c, s);
    return c;
}

/* Values whose bits an encoder could get wrong: signs, zero's sign,
 * subnormals, extremes. */
static inline double awkward(size_t i)
{
    static const double values[] = {-0.0,
                                    4.9406564584124654e-324,
                                    1e300,
                                    -1e-300,
                                    0.1,
                                    -2.5,
                                    3.141592653589793,
                                    2.2250738585072014e-308};
    return values[i % 8] * (double)(1 + i / 8);
}

/* Two layers 3:4:2 and 2:5:1, three features, one target, every field set
 * to something other than its default, into *out (release it with
 * clrnn_checkpoint_free, also when this returns 0). */
static inline int make_checkpoint(clrnn_checkpoint **out, clrnn_optimizer_kind kind)
{
    static const clrnn_layer_shape layers[2] = {{3, 4, 2}, {2, 5, 1}};
    static const char *const features[3] = {"tmax", "tmin", "a much longer column name, é"};
    clrnn_checkpoint *c = *out = calloc(1, sizeof *c);
    if (!c || clrnn_model_create(&c->model, layers, 2, NULL) != CLRNN_OK)
        return 0;
    size_t P = clrnn_model_n_params(c->model);
    c->precision = CLRNN_FP64;
    c->seq_len = 9;
    c->loss_steps = CLRNN_LOSS_LAST;
    c->n_features = 3;
    c->n_targets = 1;
    c->feature_names = calloc(3, sizeof *c->feature_names);
    c->target_names = calloc(1, sizeof *c->target_names);
    c->feature_mean = malloc(3 * sizeof(double));
    c->feature_std = malloc(3 * sizeof(double));
    c->target_mean = malloc(sizeof(double));
    c->target_std = malloc(sizeof(double));
    c->opt_m = malloc(P * sizeof(double));
    c->opt_v = malloc(P * sizeof(double));
    if (!c->feature_names || !c->target_names || !c->feature_mean || !c->feature_std ||
        !c->target_mean || !c->target_std || !c->opt_m || !c->opt_v)
        return 0;
    for (size_t f = 0; f < 3; f++) {
        c->feature_names[f] = copy(features[f]);
        c->feature_mean[f] = awkward(f + 1);
        c->feature_std[f] = 0.5 + (double)f / 3.0;
    }
    c->target_names[0] = copy("tmax_tomorrow");
    c->target_mean[0] = -66.05223;
    c->target_std[0] = 8.32146119;
    c->optimizer = (clrnn_optimizer){kind, 3e-3, 0.85, 0.8, 0.95, 1e-7, 0.01, 2.5};
    for (size_t i = 0; i < P; i++) {
        clrnn_model_params(c->model)[i] = awkward(i);
        c->opt_m[i] = awkward(i + 3) / 7.0;
        c->opt_v[i] = fabs(awkward(i + 5));
    }
    c->step = 123456789012L;
    c->epoch = 77;
    c->seed = 4000000000u;
    /* version 2: the framing and the data settings, none at its default */
    c->version = 2;
    c->n_horizons = 1;
    if (!(c->horizons = malloc(sizeof *c->horizons)))
        return 0;
    c->horizons[0] = 7;
    c->difference = 1;
    c->season = 52;
    c->data_path = copy("data/weather é.csv");
    c->data_path_abs = copy("/srv/clrnn/data/weather é.csv");
    c->date_column = copy("timestamp");
    c->train_fraction = 0.6;
    c->val_fraction = 0.25;
    c->missing = CLRNN_MISSING_DROP;
    c->scaler_fit = CLRNN_SCALER_FIT_ALL;
    c->scale_targets = 0;
    c->data_rows = 13509;
    c->train_rows = 8105;
    c->val_rows = 11482;
    return c->feature_names[0] && c->feature_names[1] && c->feature_names[2] &&
           c->target_names[0] && c->data_path && c->data_path_abs && c->date_column;
}

static inline int same_doubles(const double *a, const double *b, size_t n)
{
    return a && b && memcmp(a, b, n * sizeof *a) == 0;
}

static inline int same_optimizer(const clrnn_optimizer *a, const clrnn_optimizer *b)
{
    const double x[7] = {a->lr,  a->momentum,     a->beta1,    a->beta2,
                         a->eps, a->weight_decay, a->clip_norm};
    const double y[7] = {b->lr,  b->momentum,     b->beta1,    b->beta2,
                         b->eps, b->weight_decay, b->clip_norm};
    return a->kind == b->kind && same_doubles(x, y, 7);
}

static inline int same_shapes(const clrnn_model *a, const clrnn_model *b)
{
    if (clrnn_model_n_layers(a) != clrnn_model_n_layers(b))
        return 0;
    for (size_t l = 0; l < clrnn_model_n_layers(a); l++) {
        clrnn_layer_shape x = clrnn_model_layer(a, l), y = clrnn_model_layer(b, l);
        if (x.n_in != y.n_in || x.n_hidden != y.n_hidden || x.n_out != y.n_out)
            return 0;
    }
    return 1;
}

/* Every field of b equals a's, doubles compared as bits; zeros stand for
 * a's NULL optimizer state. */
static inline void check_same_checkpoint(const char *what, const clrnn_checkpoint *a,
                                         const clrnn_checkpoint *b)
{
    char line[160];
    size_t P = clrnn_model_n_params(a->model), F = a->n_features, K = a->n_targets;
    double *zeros = calloc(P, sizeof *zeros);
    int names = b->n_features == F && b->n_targets == K;
    for (size_t f = 0; names && f < F; f++)
        names = strcmp(a->feature_names[f], b->feature_names[f]) == 0;
    for (size_t k = 0; names && k < K; k++)
        names = strcmp(a->target_names[k], b->target_names[k]) == 0;
    int scalars = a->precision == b->precision && a->seq_len == b->seq_len &&
                  a->loss_steps == b->loss_steps && a->step == b->step && a->epoch == b->epoch &&
                  a->seed == b->seed;
    /* the framing and data settings (a's NULL horizons stand for {0}) */
    int framing = a->date_features == b->date_features && a->n_horizons == b->n_horizons &&
                  a->difference == b->difference && a->season == b->season && b->horizons;
    for (size_t j = 0; framing && j < a->n_horizons; j++)
        framing = (a->horizons ? a->horizons[j] : 0) == b->horizons[j];
    const char *texts[3][2] = {{a->data_path, b->data_path},
                               {a->data_path_abs, b->data_path_abs},
                               {a->date_column, b->date_column}};
    for (int i = 0; i < 3; i++)
        framing = framing && (texts[i][0] ? texts[i][1] && strcmp(texts[i][0], texts[i][1]) == 0
                                          : !texts[i][1]);
    if (a->data_path)
        framing = framing && a->train_fraction == b->train_fraction &&
                  a->val_fraction == b->val_fraction && a->missing == b->missing &&
                  a->scaler_fit == b->scaler_fit && a->scale_targets == b->scale_targets &&
                  a->data_rows == b->data_rows && a->train_rows == b->train_rows &&
                  a->val_rows == b->val_rows;
    snprintf(line, sizeof line, "%s: shapes and parameters, bit for bit", what);
    check_true(
        b->model && same_shapes(a->model, b->model) &&
            same_doubles(clrnn_model_params_const(a->model), clrnn_model_params_const(b->model), P),
        line);
    snprintf(line, sizeof line, "%s: names, sizes, enums, step, epoch, seed", what);
    check_true(names && scalars, line);
    snprintf(line, sizeof line, "%s: horizons, differencing, season, data path and split", what);
    check_true(framing, line);
    snprintf(line, sizeof line, "%s: scaler statistics and optimizer, bit for bit", what);
    check_true(b->n_features == F && b->n_targets == K &&
                   same_doubles(a->feature_mean, b->feature_mean, F) &&
                   same_doubles(a->feature_std, b->feature_std, F) &&
                   same_doubles(a->target_mean, b->target_mean, K) &&
                   same_doubles(a->target_std, b->target_std, K) &&
                   same_optimizer(&a->optimizer, &b->optimizer),
               line);
    snprintf(line, sizeof line, "%s: optimizer state, bit for bit", what);
    check_true(same_doubles(a->opt_m ? a->opt_m : zeros, b->opt_m, P) &&
                   same_doubles(a->opt_v ? a->opt_v : zeros, b->opt_v, P),
               line);
    free(zeros);
}

/* Makes the test's temporary folder, /tmp/<name>_XXXXXX. */
static inline int make_test_dir(const char *name)
{
    snprintf(test_dir, sizeof test_dir, "/tmp/%s_XXXXXX", name);
    if (mkdtemp(test_dir))
        return 1;
    printf("NOT OK: cannot make a temporary folder\n");
    return 0;
}

/* Removes the named files of the folder, then the folder. */
static inline void remove_test_dir(const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char path[128];
        path_in(path, sizeof path, names[i]);
        unlink(path);
    }
    rmdir(test_dir);
}

#endif
