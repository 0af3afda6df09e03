/*
 * The model file and the .npz export (docs/checkpoint-format.md).
 *
 * - A checkpoint with awkward values (-0, subnormals, 1e300, long names)
 *   survives save and load bit for bit, and saving what was loaded gives the
 *   same bytes.
 * - Every truncation of a file and a flipped byte at every offset are
 *   refused with CLRNN_E_INPUT and a message naming the file; so are a wrong
 *   magic, a wrong version and CRC-valid files whose fields disagree.
 * - Saving refuses an inconsistent checkpoint and leaves no file behind.
 * - The .npz is parsed here independently: ZIP local headers, central
 *   directory and end record agree with each other, each entry's CRC32
 *   (computed bit by bit here) is right, each .npy header is the exact dict
 *   numpy writes, and the values are the parameters' bits.
 * - Training interrupted after epoch 2 of 4 by a callback, saved, loaded
 *   and resumed ends with the same bits as 4 epochs straight, for SGD with
 *   momentum and Adam, shuffled, with a cosine schedule (which depends on
 *   the total, unlike what the CLI test can interrupt).
 * - An early stop leaves the backend, and so a saved model, exactly at the
 *   best epoch's weights and optimizer state.
 */
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
#include "core/error.h" /* clrnn_fail, to stop a run from a callback */

#define SMALL_CSV CLRNN_FIXTURE_DIR "/cli_small.csv"

static char test_dir[64];

static void path_in(char *out, size_t size, const char *name)
{
    snprintf(out, size, "%s/%s", test_dir, name);
}

/* ------------------------------------------------------------- files */

static unsigned char *read_bytes(const char *path, size_t *size)
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

static int write_bytes(const char *path, const unsigned char *data, size_t size)
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
static uint32_t crc32_bitwise(const unsigned char *p, size_t n)
{
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t le16(const unsigned char *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static void put_le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* Recomputes a model file's trailing CRC after an edit. */
static void reseal(unsigned char *data, size_t size)
{
    put_le32(data + size - 4, crc32_bitwise(data, size - 4));
}

/* No "<name>.tmp.*" left in the test folder by the atomic writer. */
static int no_temporaries(void)
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

static char *copy(const char *s)
{
    char *c = malloc(strlen(s) + 1);
    if (c)
        strcpy(c, s);
    return c;
}

/* Values whose bits an encoder could get wrong: signs, zero's sign,
 * subnormals, extremes. */
static double awkward(size_t i)
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
 * to something other than its default. */
static int make_checkpoint(clrnn_checkpoint *c, clrnn_optimizer_kind kind)
{
    static const clrnn_layer_shape layers[2] = {{3, 4, 2}, {2, 5, 1}};
    static const char *const features[3] = {"tmax", "tmin", "a much longer column name, é"};
    memset(c, 0, sizeof *c);
    if (clrnn_model_create(&c->model, layers, 2, NULL) != CLRNN_OK)
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
    c->opt_state_a = malloc(P * sizeof(double));
    c->opt_state_b = malloc(P * sizeof(double));
    if (!c->feature_names || !c->target_names || !c->feature_mean || !c->feature_std ||
        !c->target_mean || !c->target_std || !c->opt_state_a || !c->opt_state_b)
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
        c->opt_state_a[i] = awkward(i + 3) / 7.0;
        c->opt_state_b[i] = fabs(awkward(i + 5));
    }
    c->step = 123456789012L;
    c->epoch = 77;
    c->seed = 4000000000u;
    return c->feature_names[0] && c->feature_names[1] && c->feature_names[2] && c->target_names[0];
}

static int same_doubles(const double *a, const double *b, size_t n)
{
    return a && b && memcmp(a, b, n * sizeof *a) == 0;
}

static int same_optimizer(const clrnn_optimizer *a, const clrnn_optimizer *b)
{
    const double x[7] = {a->lr,  a->momentum,     a->beta1,    a->beta2,
                         a->eps, a->weight_decay, a->clip_norm};
    const double y[7] = {b->lr,  b->momentum,     b->beta1,    b->beta2,
                         b->eps, b->weight_decay, b->clip_norm};
    return a->kind == b->kind && same_doubles(x, y, 7);
}

static int same_shapes(const clrnn_model *a, const clrnn_model *b)
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
static void check_same_checkpoint(const char *what, const clrnn_checkpoint *a,
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
    snprintf(line, sizeof line, "%s: shapes and parameters, bit for bit", what);
    check_true(
        b->model && same_shapes(a->model, b->model) &&
            same_doubles(clrnn_model_params_const(a->model), clrnn_model_params_const(b->model), P),
        line);
    snprintf(line, sizeof line, "%s: names, sizes, enums, step, epoch, seed", what);
    check_true(names && scalars, line);
    snprintf(line, sizeof line, "%s: scaler statistics and optimizer, bit for bit", what);
    check_true(b->n_features == F && b->n_targets == K &&
                   same_doubles(a->feature_mean, b->feature_mean, F) &&
                   same_doubles(a->feature_std, b->feature_std, F) &&
                   same_doubles(a->target_mean, b->target_mean, K) &&
                   same_doubles(a->target_std, b->target_std, K) &&
                   same_optimizer(&a->optimizer, &b->optimizer),
               line);
    snprintf(line, sizeof line, "%s: optimizer state, bit for bit", what);
    check_true(same_doubles(a->opt_state_a ? a->opt_state_a : zeros, b->opt_state_a, P) &&
                   same_doubles(a->opt_state_b ? a->opt_state_b : zeros, b->opt_state_b, P),
               line);
    free(zeros);
}

static void test_crc(void)
{
    /* The CRC-32 check value of the ZIP/zlib variant. */
    check_true(crc32_bitwise((const unsigned char *)"123456789", 9) == 0xCBF43926u,
               "CRC-32 of \"123456789\" is 0xCBF43926");
}

static void test_round_trip(void)
{
    char path[128], again[128];
    clrnn_checkpoint saved, loaded = {0}, reloaded = {0};
    clrnn_error err;
    path_in(path, sizeof path, "round.clrnn");
    path_in(again, sizeof again, "again.clrnn");
    if (!check_true(make_checkpoint(&saved, CLRNN_ADAM), "build a checkpoint"))
        return;
    check_true(clrnn_checkpoint_save(&saved, path, &err) == CLRNN_OK, "save");
    check_true(clrnn_checkpoint_load(&loaded, path, &err) == CLRNN_OK, "load what was saved");
    if (loaded.model)
        check_same_checkpoint("round trip", &saved, &loaded);
    check_true(loaded.model && clrnn_checkpoint_save(&loaded, again, &err) == CLRNN_OK,
               "save what was loaded");
    size_t n1, n2;
    unsigned char *b1 = read_bytes(path, &n1), *b2 = read_bytes(again, &n2);
    check_true(b1 && b2 && n1 == n2 && memcmp(b1, b2, n1) == 0,
               "saving the loaded checkpoint gives the same bytes");
    free(b1);
    free(b2);
    /* NULL optimizer state means zeros, and loads as zero arrays. */
    free(saved.opt_state_a);
    free(saved.opt_state_b);
    saved.opt_state_a = saved.opt_state_b = NULL;
    saved.optimizer.kind = CLRNN_SGD;
    check_true(clrnn_checkpoint_save(&saved, path, &err) == CLRNN_OK &&
                   clrnn_checkpoint_load(&reloaded, path, &err) == CLRNN_OK,
               "save and load with no optimizer state");
    if (reloaded.model)
        check_same_checkpoint("no optimizer state", &saved, &reloaded);
    check_true(no_temporaries(), "no temporary files left behind");
    clrnn_checkpoint_clear(&saved);
    clrnn_checkpoint_clear(&loaded);
    clrnn_checkpoint_clear(&reloaded);
    clrnn_checkpoint_clear(NULL);
}

/* Loading bytes must fail with CLRNN_E_INPUT, a message naming the file and
 * containing `words` (any of them, '|'-separated), and leave *c empty. */
static int refused(const unsigned char *bytes, size_t size, const char *words)
{
    char path[128], word[64];
    clrnn_checkpoint c;
    clrnn_error err = {CLRNN_OK, ""};
    path_in(path, sizeof path, "bad.clrnn");
    if (!write_bytes(path, bytes, size))
        return 0;
    memset(&c, 0xAB, sizeof c); /* load must not trust what was there */
    int ok = clrnn_checkpoint_load(&c, path, &err) == CLRNN_E_INPUT &&
             err.status == CLRNN_E_INPUT && strstr(err.message, path) && c.model == NULL &&
             c.feature_names == NULL;
    int found = 0;
    for (const char *w = words; ok && *w;) {
        size_t n = strcspn(w, "|");
        snprintf(word, sizeof word, "%.*s", (int)n, w);
        found |= strstr(err.message, word) != NULL;
        w += n + (w[n] == '|');
    }
    if (ok && !found)
        printf("  unexpected message: %s\n", err.message);
    clrnn_checkpoint_clear(&c);
    return ok && found;
}

static unsigned char *saved_bytes(size_t *size)
{
    char path[128];
    clrnn_checkpoint c;
    unsigned char *bytes = NULL;
    path_in(path, sizeof path, "small.clrnn");
    if (make_checkpoint(&c, CLRNN_ADAM) && clrnn_checkpoint_save(&c, path, NULL) == CLRNN_OK)
        bytes = read_bytes(path, size);
    clrnn_checkpoint_clear(&c);
    return bytes;
}

static void test_truncated(void)
{
    size_t size, bad = 0;
    unsigned char *bytes = saved_bytes(&size);
    if (!check_true(bytes != NULL, "a file to truncate"))
        return;
    for (size_t len = 0; len < size; len++)
        if (!refused(bytes, len, len == 0 ? "not a clrnn model file" : "truncated")) {
            if (bad++ == 0)
                printf("  first accepted or misreported truncation: %zu bytes\n", len);
        }
    char what[96];
    snprintf(what, sizeof what, "all %zu truncations refused as truncated", size);
    check(bad == 0, what, (double)bad, 0);
    /* A byte appended is refused too. */
    unsigned char *longer = malloc(size + 1);
    if (longer) {
        memcpy(longer, bytes, size);
        longer[size] = 0;
        check_true(refused(longer, size + 1, "bytes appended"), "a byte appended is refused");
    }
    free(longer);
    free(bytes);
}

static void test_flipped(void)
{
    size_t size, bad = 0;
    unsigned char *bytes = saved_bytes(&size);
    if (!check_true(bytes != NULL, "a file to corrupt"))
        return;
    static const unsigned char masks[3] = {0x01, 0x80, 0xFF};
    for (size_t at = 0; at < size; at++) {
        for (int m = 0; m < 3; m++) {
            bytes[at] ^= masks[m];
            /* Header damage reads as not-a-model, another version or a
             * wrong size; everything after it must be caught by the CRC. */
            const char *words = at < 8    ? "not a clrnn model file"
                                : at < 12 ? "version"
                                : at < 20 ? "truncated|appended"
                                          : "checksum";
            if (!refused(bytes, size, words) && bad++ == 0)
                printf("  first accepted or misreported flip: byte %zu ^ 0x%02x\n", at, masks[m]);
            bytes[at] ^= masks[m];
        }
    }
    char what[96];
    snprintf(what, sizeof what, "each of %zu bytes flipped 3 ways: refused, said why", size);
    check(bad == 0, what, (double)bad, 0);
    char path[128];
    clrnn_checkpoint c;
    path_in(path, sizeof path, "intact.clrnn");
    check_true(write_bytes(path, bytes, size) && clrnn_checkpoint_load(&c, path, NULL) == CLRNN_OK,
               "(the bytes flipped back load again)");
    clrnn_checkpoint_clear(&c);
    free(bytes);
}

static void test_magic_version(void)
{
    size_t size;
    unsigned char *bytes = saved_bytes(&size);
    if (!check_true(bytes != NULL, "a file to edit"))
        return;
    bytes[1] = 'X';
    check_true(refused(bytes, size, "not a clrnn model file"), "wrong magic is refused");
    bytes[1] = 'C';
    put_le32(bytes + 8, 2);
    reseal(bytes, size);
    check_true(refused(bytes, size, "version 2; this clrnn reads version 1"),
               "version 2 (with a valid CRC) is refused by its version");
    free(bytes);
    const unsigned char csv[] = ",tmax,tmin\n1970-01-01,60,35\n";
    check_true(refused(csv, sizeof csv - 1, "not a clrnn model file"), "a CSV is refused");
}

/* Offsets in the file of make_checkpoint's two-layer model (the layout
 * table of docs/checkpoint-format.md). */
enum { AT_LAYERS = 20, AT_PRECISION = 24 + 2 * 12, AT_NAMES = AT_PRECISION + 12 };

/* Edits a u32 at `at`, reseals, expects refusal with `words`. */
static int refused_with_u32(const char *what, size_t at, uint32_t v, const char *words)
{
    size_t size;
    unsigned char *bytes = saved_bytes(&size);
    int ok = bytes != NULL;
    if (ok) {
        put_le32(bytes + at, v);
        reseal(bytes, size);
        ok = refused(bytes, size, words);
    }
    free(bytes);
    return check_true(ok, what);
}

/* An endless stream of zeros is not read to its end. */
static void test_endless(void)
{
    clrnn_checkpoint c;
    clrnn_error err;
    check_true(clrnn_checkpoint_load(&c, "/dev/zero", &err) == CLRNN_E_INPUT &&
                   strstr(err.message, "not a clrnn model file"),
               "/dev/zero: not a model file, at once (the read stops after the header)");
}

static void test_inconsistent(void)
{
    /* Every file here has a valid CRC: only the field checks can catch it. */
    refused_with_u32("precision 7 is refused", AT_PRECISION, 7, "unknown precision");
    refused_with_u32("loss steps 2 is refused", AT_PRECISION + 8, 2, "loss steps");
    refused_with_u32("seq_len 0 is refused", AT_PRECISION + 4, 0, "seq_len");
    refused_with_u32("a layer of 0 hidden units is refused", AT_LAYERS + 4 + 4, 0, "size of 0");
    refused_with_u32("layers that do not chain are refused", AT_LAYERS + 4 + 12, 3,
                     "takes 3 inputs");
    /* 3:1048576:2 in a file of a few hundred bytes: refused from the sizes,
     * before 8 TB of parameters are asked for. */
    refused_with_u32("a layer larger than the file can hold is refused before allocating",
                     AT_LAYERS + 4 + 4, 1048576, "more than its");
    refused_with_u32("1 feature for a 3-input layer is refused", AT_NAMES, 1,
                     "not a valid model file");
    refused_with_u32("a name longer than the file is refused", AT_NAMES + 4, 1000000,
                     "runs past the end");
    size_t size;
    unsigned char *bytes = saved_bytes(&size);
    if (!bytes)
        return;
    clrnn_layer_shape layers[2] = {{3, 4, 2}, {2, 5, 1}};
    size_t P = 0;
    for (int l = 0; l < 2; l++)
        P += layers[l].n_in * layers[l].n_hidden + layers[l].n_hidden * layers[l].n_hidden +
             layers[l].n_hidden * layers[l].n_out + layers[l].n_out + layers[l].n_hidden;
    size_t at_p = size - 4 - 3 * P * 8 - 8, at_kind = at_p - 4 - 8 - 8 - 7 * 8 - 4;
    free(bytes);
    refused_with_u32("a parameter count the layers do not give is refused", (size_t)at_p,
                     (uint32_t)P + 1, "parameter count");
    refused_with_u32("optimizer 9 is refused", at_kind, 9, "unknown optimizer");
    /* The first feature std is the f64 after the names and the means. */
    size_t at_std = AT_NAMES + 4 + (4 + 4) + (4 + 4) +
                    (4 + strlen("a much longer column name, é")) + 4 + (4 + 13) + 3 * 8;
    refused_with_u32("a negative scaler std is refused", at_std + 4, 0xBFF00000u,
                     "standard deviation");
}

static void test_save_refuses(void)
{
    char path[128], folder_path[128];
    clrnn_checkpoint c;
    clrnn_error err;
    if (!check_true(make_checkpoint(&c, CLRNN_SGD), "a checkpoint to spoil"))
        return;
    path_in(path, sizeof path, "never.clrnn");
    c.n_features = 2; /* the model takes 3 */
    check_true(clrnn_checkpoint_save(&c, path, &err) == CLRNN_E_INPUT &&
                   strstr(err.message, "input size") && access(path, F_OK) != 0,
               "saving features that disagree with the model: refused, no file");
    c.n_features = 3;
    c.feature_std[1] = 0.0;
    check_true(clrnn_checkpoint_save(&c, path, &err) == CLRNN_E_INPUT && access(path, F_OK) != 0,
               "saving a zero scaler std: refused, no file");
    c.feature_std[1] = 1.0;
    clrnn_model_params(c.model)[5] = NAN;
    check_true(clrnn_checkpoint_save(&c, path, &err) == CLRNN_E_INPUT && access(path, F_OK) != 0,
               "saving a NaN parameter: refused, no file");
    clrnn_model_params(c.model)[5] = 0.0;
    check_true(clrnn_checkpoint_save(&c, "/nonexistent-dir/m.clrnn", &err) == CLRNN_E_IO &&
                   strstr(err.message, "/nonexistent-dir/m.clrnn"),
               "saving into a missing folder: CLRNN_E_IO naming the path");
    path_in(folder_path, sizeof folder_path, "a-folder");
    mkdir(folder_path, 0700);
    check_true(clrnn_checkpoint_save(&c, folder_path, &err) == CLRNN_E_IO,
               "saving over a folder: CLRNN_E_IO");
    rmdir(folder_path);
    check_true(no_temporaries(), "failed saves leave no temporary file");
    clrnn_checkpoint_clear(&c);
}

/* ---------------------------------------------------------------- npz */

typedef struct zip_entry {
    char name[64];
    uint32_t crc, size, local_offset;
} zip_entry;

/* The exact header dict np.save writes for a C-ordered float64 array. */
static void npy_dict(char *out, size_t size, size_t rows, size_t cols, int is_2d)
{
    if (is_2d)
        snprintf(out, size, "{'descr': '<f8', 'fortran_order': False, 'shape': (%zu, %zu), }", rows,
                 cols);
    else
        snprintf(out, size, "{'descr': '<f8', 'fortran_order': False, 'shape': (%zu,), }", rows);
}

/* One .npy file: magic, version 1.0, a space-padded dict ending in '\n'
 * with data aligned to 64 bytes, then the values' bits. */
static int npy_matches(const unsigned char *p, size_t size, const char *dict, const double *values,
                       size_t n)
{
    if (size < 10 || memcmp(p, "\x93NUMPY\x01\x00", 8) != 0)
        return 0;
    size_t header_len = le16(p + 8), dict_len = strlen(dict);
    if ((10 + header_len) % 64 != 0 || 10 + header_len + n * 8 != size ||
        header_len < dict_len + 1 || memcmp(p + 10, dict, dict_len) != 0 ||
        p[10 + header_len - 1] != '\n')
        return 0;
    for (size_t i = dict_len; i + 1 < header_len; i++)
        if (p[10 + i] != ' ')
            return 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t bits = 0, want;
        for (int b = 0; b < 8; b++)
            bits |= (uint64_t)p[10 + header_len + i * 8 + (size_t)b] << (8 * b);
        memcpy(&want, &values[i], 8);
        if (bits != want)
            return 0;
    }
    return 1;
}

/* Walks the local entries from offset 0; fills entries (max 16). Returns
 * the offset after the last entry, or 0 on a structural error. */
static size_t walk_local_entries(const unsigned char *z, size_t size, const clrnn_model *m,
                                 zip_entry *entries, size_t *n)
{
    size_t at = 0;
    *n = 0;
    for (size_t l = 0; l < clrnn_model_n_layers(m); l++) {
        clrnn_layer_shape s = clrnn_model_layer(m, l);
        size_t rows[5] = {s.n_in, s.n_hidden, s.n_hidden, s.n_out, s.n_hidden};
        size_t cols[5] = {s.n_hidden, s.n_hidden, s.n_out, 1, 1};
        for (int p = 0; p < 5; p++) {
            zip_entry *e = &entries[(*n)++];
            char dict[128];
            snprintf(e->name, sizeof e->name, "layer%zu.%s.npy", l,
                     clrnn_param_name((clrnn_param)p));
            size_t name_len = strlen(e->name);
            if (at + 30 > size || le32(z + at) != 0x04034b50u || le16(z + at + 4) != 20 ||
                le16(z + at + 6) != 0 || le16(z + at + 8) != 0 || le16(z + at + 26) != name_len ||
                le16(z + at + 28) != 0 || le32(z + at + 18) != le32(z + at + 22) ||
                at + 30 + name_len > size || memcmp(z + at + 30, e->name, name_len) != 0)
                return 0;
            e->crc = le32(z + at + 14);
            e->size = le32(z + at + 18);
            e->local_offset = (uint32_t)at;
            const unsigned char *data = z + at + 30 + name_len;
            if (at + 30 + name_len + e->size > size || crc32_bitwise(data, e->size) != e->crc)
                return 0;
            npy_dict(dict, sizeof dict, rows[p], cols[p], p < 3);
            const double *values =
                clrnn_model_params_const(m) + clrnn_model_param_offset(m, l, (clrnn_param)p);
            if (!npy_matches(data, e->size, dict, values, rows[p] * cols[p]))
                return 0;
            at += 30 + name_len + e->size;
        }
    }
    return at;
}

/* The central directory repeats each local entry; the end record points
 * at it and closes the file. */
static int directory_matches(const unsigned char *z, size_t size, size_t at,
                             const zip_entry *entries, size_t n)
{
    size_t central_start = at;
    for (size_t i = 0; i < n; i++) {
        const zip_entry *e = &entries[i];
        size_t name_len = strlen(e->name);
        if (at + 46 + name_len > size || le32(z + at) != 0x02014b50u || le16(z + at + 6) != 20 ||
            le16(z + at + 10) != 0 || le32(z + at + 16) != e->crc || le32(z + at + 20) != e->size ||
            le32(z + at + 24) != e->size || le16(z + at + 28) != name_len ||
            le16(z + at + 30) != 0 || le16(z + at + 32) != 0 ||
            le32(z + at + 42) != e->local_offset || memcmp(z + at + 46, e->name, name_len) != 0)
            return 0;
        at += 46 + name_len;
    }
    return at + 22 == size && le32(z + at) == 0x06054b50u && le16(z + at + 4) == 0 &&
           le16(z + at + 6) == 0 && le16(z + at + 8) == n && le16(z + at + 10) == n &&
           le32(z + at + 12) == at - central_start && le32(z + at + 16) == central_start &&
           le16(z + at + 20) == 0;
}

static void test_npz(void)
{
    char path[128], again[128];
    clrnn_checkpoint c;
    clrnn_error err;
    zip_entry entries[16];
    size_t n_entries, size, size2;
    path_in(path, sizeof path, "w.npz");
    path_in(again, sizeof again, "w2.npz");
    if (!check_true(make_checkpoint(&c, CLRNN_SGD), "a model to export"))
        return;
    check_true(clrnn_export_npz(c.model, path, &err) == CLRNN_OK &&
                   clrnn_export_npz(c.model, again, &err) == CLRNN_OK,
               "export twice");
    unsigned char *z = read_bytes(path, &size), *z2 = read_bytes(again, &size2);
    size_t end = z ? walk_local_entries(z, size, c.model, entries, &n_entries) : 0;
    check_true(end > 0 && n_entries == 10,
               "npz: 10 stored entries, local headers, CRC32s, exact .npy dicts, values' bits");
    check_true(end > 0 && directory_matches(z, size, end, entries, n_entries),
               "npz: central directory and end record agree with the entries");
    check_true(z && z2 && size == size2 && memcmp(z, z2, size) == 0,
               "two exports of one model are the same bytes");
    check_true(clrnn_export_npz(c.model, "/nonexistent-dir/w.npz", &err) == CLRNN_E_IO &&
                   no_temporaries(),
               "export into a missing folder: CLRNN_E_IO, nothing left");
    free(z);
    free(z2);
    clrnn_checkpoint_clear(&c);
}

/* ------------------------------------------------------------ training */

static clrnn_dataset *small_dataset(void)
{
    static const char *const features[] = {"a", "b"};
    static const char *const targets[] = {"y"};
    clrnn_table *table = NULL;
    clrnn_dataset *data = NULL;
    clrnn_data_config cfg = clrnn_data_config_default();
    cfg.features = features;
    cfg.n_features = 2;
    cfg.targets = targets;
    cfg.n_targets = 1;
    cfg.seq_len = 5;
    if (clrnn_table_read_csv(&table, SMALL_CSV, NULL) == CLRNN_OK)
        clrnn_dataset_create(&data, table, &cfg, NULL);
    clrnn_table_free(table);
    return data;
}

/* What a training run leaves in the backend, read back. */
typedef struct trained_state {
    double *params, *a, *b; /* (P) */
    long step;
} trained_state;

static int read_state(trained_state *s, clrnn_backend *backend)
{
    size_t P = clrnn_backend_n_params(backend);
    s->params = malloc(P * sizeof(double));
    s->a = malloc(P * sizeof(double));
    s->b = malloc(P * sizeof(double));
    return s->params && s->a && s->b &&
           clrnn_backend_get_params(backend, s->params, NULL) == CLRNN_OK &&
           clrnn_backend_get_optimizer_state(backend, s->a, s->b, &s->step, NULL) == CLRNN_OK;
}

static void free_state(trained_state *s)
{
    free(s->params);
    free(s->a);
    free(s->b);
}

static int same_state(const trained_state *x, const trained_state *y, size_t P)
{
    return x->step == y->step && same_doubles(x->params, y->params, P) &&
           same_doubles(x->a, y->a, P) && same_doubles(x->b, y->b, P);
}

/* The interrupting callback: captures and saves the checkpoint after
 * `stop_after` epochs, as clrnn train --save does, then stops the run. */
typedef struct interrupt {
    const clrnn_dataset *data;
    const clrnn_train_config *cfg;
    const char *path;
    size_t stop_after;
} interrupt;

static clrnn_status save_and_stop(void *context, const clrnn_epoch_stats *stats,
                                  clrnn_backend *backend, clrnn_error *err)
{
    interrupt *in = context;
    if (stats->epoch < in->stop_after)
        return CLRNN_OK;
    clrnn_checkpoint c;
    clrnn_status st = clrnn_checkpoint_capture(&c, backend, in->data, in->cfg, stats->epoch, err);
    if (st == CLRNN_OK)
        st = clrnn_checkpoint_save(&c, in->path, err);
    clrnn_checkpoint_clear(&c);
    return st != CLRNN_OK
               ? st
               : clrnn_fail(err, CLRNN_E_INPUT, "interrupted after epoch %zu", stats->epoch);
}

/* Trains a fresh model (seed 3, 2:8:1) on data with cfg; the backend is
 * returned for reading back. */
static clrnn_backend *train_fresh(const clrnn_dataset *data, clrnn_train_config *cfg,
                                  clrnn_model **model, clrnn_status *st, clrnn_error *err)
{
    static const clrnn_layer_shape shape = {2, 8, 1};
    clrnn_backend *backend = NULL;
    clrnn_backend_config bc = {.device = "cpu", .precision = CLRNN_FP64, .seq_len = 5,
                               .max_batch = cfg->batch, .loss_steps = CLRNN_LOSS_ALL};
    clrnn_train_report report;
    clrnn_rng rng;
    *st = clrnn_model_create(model, &shape, 1, err);
    if (*st != CLRNN_OK)
        return NULL;
    clrnn_rng_seed(&rng, 3);
    clrnn_model_init_uniform(*model, &rng);
    *st = clrnn_backend_create(&backend, *model, &bc, err);
    if (*st == CLRNN_OK)
        *st = clrnn_backend_stage_dataset(backend, data, err);
    if (*st == CLRNN_OK)
        *st = clrnn_train(backend, data, cfg, &report, err);
    return backend;
}

/* Continues from the file: a backend for its model, its optimizer state
 * and step, start_epoch its epoch count, up to cfg->epochs. */
static clrnn_backend *resume_from(const char *path, const clrnn_dataset *data,
                                  clrnn_train_config cfg, clrnn_status *st, clrnn_error *err)
{
    clrnn_checkpoint c;
    clrnn_backend *backend = NULL;
    clrnn_train_report report;
    *st = clrnn_checkpoint_load(&c, path, err);
    if (*st != CLRNN_OK)
        return NULL;
    clrnn_backend_config bc = {.device = "cpu", .max_batch = cfg.batch};
    clrnn_checkpoint_backend_config(&c, &bc);
    *st = clrnn_backend_create(&backend, c.model, &bc, err);
    if (*st == CLRNN_OK)
        *st = clrnn_backend_stage_dataset(backend, data, err);
    if (*st == CLRNN_OK)
        *st = clrnn_checkpoint_restore(&c, backend, &cfg, err);
    if (*st == CLRNN_OK)
        *st = clrnn_train(backend, data, &cfg, &report, err);
    clrnn_checkpoint_clear(&c);
    return backend;
}

static void resume_case(const char *what, const clrnn_dataset *data, clrnn_train_config cfg)
{
    char path[128], line[160];
    clrnn_model *model_a = NULL, *model_b = NULL;
    trained_state straight = {0}, resumed = {0}, half = {0};
    clrnn_status st_a, st_b, st_c = CLRNN_E_INPUT;
    clrnn_error err;
    path_in(path, sizeof path, "interrupted.clrnn");
    cfg.epochs = 4;
    clrnn_backend *a = train_fresh(data, &cfg, &model_a, &st_a, &err);
    int ok = st_a == CLRNN_OK && read_state(&straight, a);
    interrupt in = {data, &cfg, path, 2};
    clrnn_train_config stopping = cfg;
    stopping.on_epoch = save_and_stop;
    stopping.context = &in;
    clrnn_backend *b = ok ? train_fresh(data, &stopping, &model_b, &st_b, &err) : NULL;
    ok = ok && st_b == CLRNN_E_INPUT && strstr(err.message, "interrupted after epoch 2");
    ok = ok && read_state(&half, b);
    clrnn_backend *c = ok ? resume_from(path, data, cfg, &st_c, &err) : NULL;
    ok = ok && st_c == CLRNN_OK && read_state(&resumed, c);
    size_t P = ok ? clrnn_backend_n_params(c) : 0;
    snprintf(line, sizeof line, "%s: 2 of 4 epochs, save, load, resume == 4 straight (bits)", what);
    check_true(ok && same_state(&straight, &resumed, P) && straight.step == 4 * 12, line);
    snprintf(line, sizeof line, "%s: (the interrupted run had not reached the end)", what);
    check_true(ok && !same_doubles(half.params, straight.params, P), line);
    if (!ok && err.message[0])
        printf("  %s\n", err.message);
    free_state(&straight);
    free_state(&resumed);
    free_state(&half);
    clrnn_backend_free(a);
    clrnn_backend_free(b);
    clrnn_backend_free(c);
    clrnn_model_free(model_a);
    clrnn_model_free(model_b);
}

/* capture takes what a run needs from the backend, the data and the
 * config; restore puts it back, and refuses a backend of other shapes. */
static void test_capture_restore(const clrnn_dataset *data)
{
    static const clrnn_layer_shape shape = {2, 8, 1}, other = {2, 4, 1};
    clrnn_model *model = NULL, *small = NULL;
    clrnn_backend *backend = NULL, *wrong = NULL;
    clrnn_backend_config bc = {.device = "cpu", .precision = CLRNN_FP64, .seq_len = 5,
                               .max_batch = 8, .loss_steps = CLRNN_LOSS_LAST};
    clrnn_train_config cfg;
    clrnn_train_config_default(&cfg);
    cfg.seed = 11;
    cfg.optimizer.kind = CLRNN_ADAM;
    clrnn_checkpoint c = {0};
    clrnn_rng rng;
    clrnn_error err;
    clrnn_rng_seed(&rng, 5);
    int ok = clrnn_model_create(&model, &shape, 1, &err) == CLRNN_OK &&
             clrnn_model_create(&small, &other, 1, &err) == CLRNN_OK;
    if (ok)
        clrnn_model_init_uniform(model, &rng);
    ok = ok && clrnn_backend_create(&backend, model, &bc, &err) == CLRNN_OK &&
         clrnn_backend_create(&wrong, small, &bc, &err) == CLRNN_OK &&
         clrnn_checkpoint_capture(&c, backend, data, &cfg, 3, &err) == CLRNN_OK;
    size_t P = ok ? clrnn_model_n_params(model) : 0;
    check_true(ok && c.epoch == 3 && c.seed == 11 && c.optimizer.kind == CLRNN_ADAM &&
                   c.loss_steps == CLRNN_LOSS_LAST && c.seq_len == 5 && c.n_features == 2 &&
                   c.n_targets == 1 && strcmp(c.feature_names[1], "b") == 0 &&
                   strcmp(c.target_names[0], "y") == 0 &&
                   c.feature_std[1] == clrnn_dataset_feature_std(data, 1) &&
                   c.target_mean[0] == clrnn_dataset_target_mean(data, 0) &&
                   same_doubles(clrnn_model_params_const(c.model), clrnn_model_params_const(model),
                                P),
               "capture: epoch, seed, optimizer, loss steps, names, scaler, parameters");
    clrnn_data_config dc = clrnn_data_config_default();
    clrnn_checkpoint_data_config(&c, &dc);
    check_true(ok && dc.n_features == 2 && strcmp(dc.features[0], "a") == 0 && dc.seq_len == 5 &&
                   dc.feature_mean == c.feature_mean && dc.train_fraction == 0.7,
               "data settings from a checkpoint: names, seq_len, statistics; the rest kept");
    clrnn_train_config resumed;
    clrnn_train_config_default(&resumed);
    check_true(ok && clrnn_checkpoint_restore(&c, wrong, &resumed, &err) == CLRNN_E_INPUT &&
                   resumed.start_epoch == 0,
               "restore onto a backend of other layers: CLRNN_E_INPUT, the config untouched");
    check_true(ok && clrnn_checkpoint_restore(&c, backend, &resumed, &err) == CLRNN_OK &&
                   resumed.start_epoch == 3 && resumed.seed == 11 &&
                   resumed.optimizer.kind == CLRNN_ADAM,
               "restore: start epoch, seed and optimizer into the config");
    clrnn_checkpoint_clear(&c);
    clrnn_backend_free(backend);
    clrnn_backend_free(wrong);
    clrnn_model_free(model);
    clrnn_model_free(small);
}

static void test_resume(const clrnn_dataset *data)
{
    clrnn_train_config cfg;
    clrnn_train_config_default(&cfg);
    cfg.batch = 7; /* 80 training windows: 12 steps an epoch, the last one short */
    cfg.seed = 11;
    cfg.schedule = CLRNN_LR_COSINE;
    cfg.warmup_steps = 5;
    cfg.optimizer.clip_norm = 1.0;
    resume_case("SGD momentum 0.9, cosine, warm-up, clipping, shuffled", data, cfg);
    cfg.optimizer.kind = CLRNN_ADAM;
    cfg.optimizer.lr = 3e-3;
    cfg.optimizer.weight_decay = 1e-2;
    resume_case("Adam, weight decay, cosine, warm-up, clipping, shuffled", data, cfg);
}

/* on_epoch for early stopping: the state after each epoch, by epoch. */
typedef struct epoch_states {
    trained_state by_epoch[64];
} epoch_states;

static clrnn_status remember(void *context, const clrnn_epoch_stats *stats, clrnn_backend *backend,
                             clrnn_error *err)
{
    epoch_states *s = context;
    return stats->epoch < 64 && read_state(&s->by_epoch[stats->epoch], backend)
               ? CLRNN_OK
               : clrnn_fail(err, CLRNN_E_NOMEM, "cannot read the state back");
}

static void test_early_stop(const clrnn_dataset *data)
{
    static const clrnn_layer_shape shape = {2, 8, 1};
    clrnn_model *model = NULL;
    clrnn_backend *backend = NULL;
    clrnn_train_config cfg;
    clrnn_train_report report = {0};
    epoch_states states;
    trained_state end = {0};
    clrnn_rng rng;
    clrnn_error err;
    memset(&states, 0, sizeof states);
    clrnn_train_config_default(&cfg);
    cfg.batch = 4;
    cfg.epochs = 60;
    cfg.patience = 3;
    cfg.optimizer.kind = CLRNN_ADAM;
    cfg.optimizer.lr = 0.02; /* large enough for the validation loss to wander */
    cfg.on_epoch = remember;
    cfg.context = &states;
    clrnn_backend_config bc = {.device = "cpu", .precision = CLRNN_FP64, .seq_len = 5,
                               .max_batch = cfg.batch, .loss_steps = CLRNN_LOSS_ALL};
    int ok = clrnn_model_create(&model, &shape, 1, &err) == CLRNN_OK;
    if (ok) {
        clrnn_rng_seed(&rng, 5);
        clrnn_model_init_uniform(model, &rng);
    }
    ok = ok && clrnn_backend_create(&backend, model, &bc, &err) == CLRNN_OK &&
         clrnn_backend_stage_dataset(backend, data, &err) == CLRNN_OK &&
         clrnn_train(backend, data, &cfg, &report, &err) == CLRNN_OK;
    ok = ok && read_state(&end, backend);
    printf("  early stop: ran %zu epochs, best epoch %zu, best validation loss %.6g\n",
           report.epochs_run, report.best_epoch, report.best_val_loss);
    check_true(ok && report.stopped_early && report.best_epoch + cfg.patience == report.epochs_run,
               "patience 3: stops 3 epochs after the best one");
    size_t P = ok ? clrnn_model_n_params(model) : 0;
    check_true(ok && report.best_epoch < 64 &&
                   same_state(&end, &states.by_epoch[report.best_epoch], P),
               "after the stop: the best epoch's weights, optimizer state and step (bits)");
    for (size_t e = 0; e < 64; e++)
        free_state(&states.by_epoch[e]);
    free_state(&end);
    clrnn_backend_free(backend);
    clrnn_model_free(model);
}

/* on_epoch that remembers each epoch, then, after epoch 3, blows the
 * weights up so that epoch 4's loss is infinite: a diverging run. */
static clrnn_status remember_then_diverge(void *context, const clrnn_epoch_stats *stats,
                                          clrnn_backend *backend, clrnn_error *err)
{
    clrnn_status st = remember(context, stats, backend, err);
    if (st != CLRNN_OK || stats->epoch != 3)
        return st;
    size_t P = clrnn_backend_n_params(backend);
    double *huge = malloc(P * sizeof *huge);
    for (size_t i = 0; huge && i < P; i++)
        huge[i] = 1e300;
    st = huge ? clrnn_backend_set_params(backend, huge, err)
              : clrnn_fail(err, CLRNN_E_NOMEM, "out of memory");
    free(huge);
    return st;
}

/* With patience, a run that diverges keeps its best epoch by validation
 * loss, not its last finite one (issue 11, item 5). */
static void test_diverged_keeps_best(const clrnn_dataset *data)
{
    static const clrnn_layer_shape shape = {2, 8, 1};
    clrnn_model *model = NULL;
    clrnn_backend *backend = NULL;
    clrnn_train_config cfg;
    clrnn_train_report report = {0};
    epoch_states states;
    trained_state end = {0};
    clrnn_rng rng;
    clrnn_error err;
    memset(&states, 0, sizeof states);
    clrnn_train_config_default(&cfg);
    cfg.batch = 4;
    cfg.epochs = 10;
    cfg.patience = 5;
    cfg.on_epoch = remember_then_diverge;
    cfg.context = &states;
    clrnn_backend_config bc = {.device = "cpu", .precision = CLRNN_FP64, .seq_len = 5,
                               .max_batch = cfg.batch, .loss_steps = CLRNN_LOSS_ALL};
    int ok = clrnn_model_create(&model, &shape, 1, &err) == CLRNN_OK;
    if (ok) {
        clrnn_rng_seed(&rng, 5);
        clrnn_model_init_uniform(model, &rng);
    }
    ok = ok && clrnn_backend_create(&backend, model, &bc, &err) == CLRNN_OK &&
         clrnn_backend_stage_dataset(backend, data, &err) == CLRNN_OK;
    clrnn_status st = ok ? clrnn_train(backend, data, &cfg, &report, &err) : CLRNN_E_INPUT;
    printf("  status %s: %s\n", clrnn_status_string(st), err.message);
    ok = ok && st == CLRNN_E_NUMERIC && read_state(&end, backend);
    printf("  diverged at epoch 4: best epoch %zu, best validation loss %.6g\n", report.best_epoch,
           report.best_val_loss);
    size_t P = ok ? clrnn_model_n_params(model) : 0;
    check_true(ok && report.best_epoch >= 1 && report.best_epoch <= 3 &&
                   same_state(&end, &states.by_epoch[report.best_epoch], P),
               "a diverged run under patience: the error, and the best epoch's state (bits)");
    for (size_t e = 0; e < 64; e++)
        free_state(&states.by_epoch[e]);
    free_state(&end);
    clrnn_backend_free(backend);
    clrnn_model_free(model);
}

int main(void)
{
    strcpy(test_dir, "/tmp/clrnn_test_checkpoint_XXXXXX");
    if (!mkdtemp(test_dir)) {
        printf("NOT OK: cannot make a temporary folder\n");
        return 1;
    }
    test_crc();
    test_round_trip();
    test_truncated();
    test_flipped();
    test_magic_version();
    test_inconsistent();
    test_endless();
    test_save_refuses();
    test_npz();
    clrnn_dataset *data = small_dataset();
    if (check_true(data != NULL, "read " SMALL_CSV)) {
        test_resume(data);
        test_capture_restore(data);
        test_diverged_keeps_best(data);
        test_early_stop(data);
    }
    clrnn_dataset_free(data);
    /* The folder's files: fixed names, removed one by one. */
    static const char *const names[] = {"round.clrnn", "again.clrnn",      "bad.clrnn",
                                        "small.clrnn", "intact.clrnn",     "w.npz",
                                        "w2.npz",      "interrupted.clrnn"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char path[128];
        path_in(path, sizeof path, names[i]);
        unlink(path);
    }
    rmdir(test_dir);
    return check_summary();
}
