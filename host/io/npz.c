/*
 * clrnn_export_npz: the parameters as numpy's .npz, which is a ZIP archive
 * of .npy files. We write what np.savez writes, minus what numpy does not
 * need: ZIP entries stored (no compression), each with its CRC32; entry
 * "layer<l>.<name>.npy" (np.load lists it as "layer<l>.<name>"), an .npy
 * version 1.0 file holding a little-endian float64 array shaped as in
 * docs/model.md. No ZIP64, so each entry and the archive stay below 4 GiB.
 *
 * From a checkpoint the archive also holds its settings: float64 scaler
 * statistics, int64 counts and flags, and the column names and paths as
 * numpy unicode arrays ('<U', UTF-32 little-endian, zero-padded), which
 * np.load reads without pickle.
 *
 * ZIP layout (PKWARE APPNOTE 4.3): for each entry a local file header, its
 * name and its data; then one central directory header per entry; then the
 * end of central directory record. All fields little-endian.
 */
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "io/bytes.h"
#include "io/checkpoint.h"
#include "io/crc32.h"
#include "io/files.h"

enum {
    ZIP_LOCAL_SIGNATURE = 0x04034b50,
    ZIP_CENTRAL_SIGNATURE = 0x02014b50,
    ZIP_END_SIGNATURE = 0x06054b50,
    ZIP_VERSION = 20,    /* 2.0: stored entries, no ZIP64 */
    ZIP_DOS_DATE = 0x21, /* 1980-01-01, 00:00: a fixed time keeps exports reproducible */
    NPY_ALIGN = 64       /* numpy pads the header so the data starts aligned */
};

/* One .npy file's preamble: magic, version 1.0, header length (u16), the
 * header dict padded with spaces and ended by '\n' so that the data starts
 * aligned. shape is numpy's text for it: "(3, 4)", "(3,)" or "()". */
static void npy_header(byte_writer *w, const char *descr, const char *shape)
{
    char dict[160];
    int len = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
                       descr, shape);
    size_t unpadded = 10 + (size_t)len + 1; /* preamble, dict, '\n' */
    size_t header_len = (size_t)len + 1 + (NPY_ALIGN - unpadded % NPY_ALIGN) % NPY_ALIGN;
    put_bytes(w, "\x93NUMPY\x01\x00", 8);
    put_u16(w, (uint16_t)header_len);
    put_bytes(w, dict, (size_t)len);
    for (size_t i = (size_t)len + 1; i < header_len; i++)
        put_bytes(w, " ", 1);
    put_bytes(w, "\n", 1);
}

/* A float64 array, row-major: (rows, cols) when is_2d, else (rows). */
static void npy_encode(byte_writer *w, const double *values, size_t rows, size_t cols, int is_2d)
{
    char shape[64];
    if (is_2d)
        snprintf(shape, sizeof shape, "(%zu, %zu)", rows, cols);
    else
        snprintf(shape, sizeof shape, "(%zu,)", rows);
    npy_header(w, "<f8", shape);
    put_f64_array(w, values, rows * cols);
}

/* The code points of UTF-8 text into cp (at most max), U+FFFD for a byte
 * that does not start a well-formed sequence; returns how many. */
static size_t utf8_decode(const char *text, uint32_t *cp, size_t max)
{
    const unsigned char *p = (const unsigned char *)text;
    size_t n = 0;
    while (*p) {
        uint32_t c = *p++;
        int extra = c >= 0xF0 && c < 0xF5 ? 3 : c >= 0xE0 ? 2 : c >= 0xC2 && c < 0xE0 ? 1 : 0;
        if (c >= 0x80 && extra == 0)
            c = 0xFFFD;
        else if (extra) {
            c &= 0x3Fu >> extra;
            for (int i = 0; i < extra; i++) {
                if ((p[0] & 0xC0) != 0x80) {
                    c = 0xFFFD;
                    break;
                }
                c = c << 6 | (*p++ & 0x3Fu);
            }
        }
        if (cp && n < max)
            cp[n] = c;
        n++;
    }
    return n;
}

/* n strings as a unicode array: shape (n), or () for one when scalar. */
static void npy_strings(byte_writer *w, const char *const *texts, size_t n, int scalar)
{
    size_t width = 1;
    for (size_t i = 0; i < n; i++) {
        size_t len = utf8_decode(texts[i], NULL, 0);
        width = len > width ? len : width;
    }
    char descr[32], shape[32];
    snprintf(descr, sizeof descr, "<U%zu", width);
    if (scalar)
        snprintf(shape, sizeof shape, "()");
    else
        snprintf(shape, sizeof shape, "(%zu,)", n);
    npy_header(w, descr, shape);
    uint32_t cp[4096];
    for (size_t i = 0; i < n; i++) {
        size_t len = utf8_decode(texts[i], cp, sizeof cp / sizeof *cp);
        for (size_t j = 0; j < width; j++)
            put_u32(w, j < len && j < sizeof cp / sizeof *cp ? cp[j] : 0);
    }
}

/* n int64 values, shape (n), or () for one when scalar. */
static void npy_ints(byte_writer *w, const int64_t *values, size_t n, int scalar)
{
    char shape[32];
    if (scalar)
        snprintf(shape, sizeof shape, "()");
    else
        snprintf(shape, sizeof shape, "(%zu,)", n);
    npy_header(w, "<i8", shape);
    for (size_t i = 0; i < n; i++)
        put_u64(w, (uint64_t)values[i]);
}

/* The fields local and central headers share, from "version needed" to
 * the extra field length. */
static void zip_entry_fields(byte_writer *w, uint32_t crc, size_t size, size_t name_len)
{
    put_u16(w, ZIP_VERSION); /* version needed to extract */
    put_u16(w, 0);           /* flags */
    put_u16(w, 0);           /* compression: stored */
    put_u16(w, 0);           /* modification time */
    put_u16(w, ZIP_DOS_DATE);
    put_u32(w, crc);
    put_u32(w, (uint32_t)size); /* compressed size */
    put_u32(w, (uint32_t)size); /* uncompressed size */
    put_u16(w, (uint16_t)name_len);
    put_u16(w, 0); /* extra field length */
}

static void zip_central_header(byte_writer *w, const char *name, uint32_t crc, size_t size,
                               size_t local_offset)
{
    put_u32(w, ZIP_CENTRAL_SIGNATURE);
    put_u16(w, ZIP_VERSION); /* version made by: MS-DOS attributes, 2.0 */
    zip_entry_fields(w, crc, size, strlen(name));
    put_u16(w, 0); /* comment length */
    put_u16(w, 0); /* disk number */
    put_u16(w, 0); /* internal attributes */
    put_u32(w, 0); /* external attributes */
    put_u32(w, (uint32_t)local_offset);
    put_bytes(w, name, strlen(name));
}

static void zip_end_record(byte_writer *w, size_t n_entries, size_t central_size,
                           size_t central_offset)
{
    put_u32(w, ZIP_END_SIGNATURE);
    put_u16(w, 0); /* this disk */
    put_u16(w, 0); /* disk of the central directory */
    put_u16(w, (uint16_t)n_entries);
    put_u16(w, (uint16_t)n_entries);
    put_u32(w, (uint32_t)central_size);
    put_u32(w, (uint32_t)central_offset);
    put_u16(w, 0); /* comment length */
}

/* Rows and columns of a tensor as docs/model.md shapes it; biases are 1-D. */
static void tensor_shape(clrnn_layer_shape s, clrnn_param which, size_t *rows, size_t *cols,
                         int *is_2d)
{
    static const int two_d[CLRNN_N_PARAMS_PER_LAYER] = {1, 1, 1, 0, 0};
    size_t r[CLRNN_N_PARAMS_PER_LAYER] = {s.n_in, s.n_hidden, s.n_hidden, s.n_out, s.n_hidden};
    size_t c[CLRNN_N_PARAMS_PER_LAYER] = {s.n_hidden, s.n_hidden, s.n_out, 1, 1};
    *rows = r[which];
    *cols = c[which];
    *is_2d = two_d[which];
}

/* One entry, "<name>.npy" holding npy, appended to zip and its header to
 * central. Returns 0 when it would need ZIP64. */
static int zip_add(byte_writer *zip, byte_writer *central, const char *name, byte_writer *npy,
                   size_t *n_entries)
{
    const size_t limit = 0xFFFFFFFFu;
    char file[128];
    snprintf(file, sizeof file, "%s.npy", name);
    size_t offset = zip->size;
    uint32_t crc = crc32_update(0, npy->data, npy->size);
    int fits = npy->size <= limit && offset <= limit;
    zip->failed |= npy->failed;
    put_u32(zip, ZIP_LOCAL_SIGNATURE);
    zip_entry_fields(zip, crc, npy->size, strlen(file));
    put_bytes(zip, file, strlen(file));
    put_bytes(zip, npy->data, npy->size);
    zip_central_header(central, file, crc, npy->size, offset);
    byte_writer_free(npy);
    (*n_entries)++;
    return fits;
}

/* A checkpoint's settings, one entry each (after the parameters). */
static int zip_settings(byte_writer *zip, byte_writer *central, const clrnn_checkpoint *c,
                        size_t *n)
{
    size_t I = clrnn_model_layer(c->model, 0).n_in;
    size_t O = clrnn_model_layer(c->model, clrnn_model_n_layers(c->model) - 1).n_out;
    const double *stats[4] = {c->feature_mean, c->feature_std, c->target_mean, c->target_std};
    static const char *const stat_names[4] = {"feature_mean", "feature_std", "target_mean",
                                              "target_std"};
    int fits = 1;
    for (int i = 0; i < 4; i++) {
        byte_writer npy = {0};
        npy_encode(&npy, stats[i], i < 2 ? I : O, 1, 0);
        fits &= zip_add(zip, central, stat_names[i], &npy, n);
    }
    byte_writer npy = {0};
    npy_strings(&npy, (const char *const *)c->feature_names, c->n_features, 0);
    fits &= zip_add(zip, central, "features", &npy, n);
    npy_strings(&npy, (const char *const *)c->target_names, c->n_targets, 0);
    fits &= zip_add(zip, central, "targets", &npy, n);
    int64_t horizons[4096];
    for (size_t j = 0; j < c->n_horizons && j < 4096; j++)
        horizons[j] = c->horizons ? (int64_t)c->horizons[j] : 0;
    npy_ints(&npy, horizons, c->n_horizons, 0);
    fits &= zip_add(zip, central, "horizons", &npy, n);
    const int64_t scalars[6] = {(int64_t)c->seq_len,       (int64_t)c->difference,
                                (int64_t)c->date_features, (int64_t)c->season,
                                (int64_t)c->loss_steps,    (int64_t)c->version};
    static const char *const scalar_names[6] = {"seq_len", "difference", "date_features",
                                                "season",  "loss_steps", "format_version"};
    for (int i = 0; i < 6; i++) {
        npy_ints(&npy, &scalars[i], 1, 1);
        fits &= zip_add(zip, central, scalar_names[i], &npy, n);
    }
    const char *texts[4] = {c->data_path, c->data_path_abs, c->date_column, c->series_column};
    static const char *const text_names[4] = {"data_path", "data_path_absolute", "date_column",
                                              "series_column"};
    for (int i = 0; i < 4; i++) {
        if (!texts[i])
            continue;
        npy_strings(&npy, &texts[i], 1, 1);
        fits &= zip_add(zip, central, text_names[i], &npy, n);
    }
    return fits;
}

/* The archive's bytes into zip; central (scratch) collects the directory.
 * Returns 0 when it would need ZIP64; zip->failed tells of memory. */
static int zip_encode(byte_writer *zip, byte_writer *central, const clrnn_model *model,
                      const clrnn_checkpoint *ckpt)
{
    const size_t limit = 0xFFFFFFFFu;
    size_t n_entries = 0;
    for (size_t l = 0; l < clrnn_model_n_layers(model); l++) {
        for (int p = 0; p < CLRNN_N_PARAMS_PER_LAYER; p++) {
            size_t rows, cols;
            int is_2d;
            char name[64];
            snprintf(name, sizeof name, "layer%zu.%s", l, clrnn_param_name((clrnn_param)p));
            tensor_shape(clrnn_model_layer(model, l), (clrnn_param)p, &rows, &cols, &is_2d);
            byte_writer npy = {0};
            const double *values = clrnn_model_params_const(model) +
                                   clrnn_model_param_offset(model, l, (clrnn_param)p);
            npy_encode(&npy, values, rows, cols, is_2d);
            if (!zip_add(zip, central, name, &npy, &n_entries))
                return 0;
        }
    }
    if (ckpt && !zip_settings(zip, central, ckpt, &n_entries))
        return 0;
    size_t central_offset = zip->size;
    put_bytes(zip, central->data, central->size);
    zip_end_record(zip, n_entries, central->size, central_offset);
    return n_entries <= 0xFFFF && central_offset <= limit && central->size <= limit;
}

static clrnn_status export_npz(const clrnn_model *model, const clrnn_checkpoint *ckpt,
                               const char *path, clrnn_error *err)
{
    byte_writer zip = {0}, central = {0};
    clrnn_status st;
    if (!zip_encode(&zip, &central, model, ckpt))
        st = clrnn__fail(err, CLRNN_E_UNSUPPORTED,
                         "cannot export to '%s': the model is too large for a .npz without ZIP64",
                         path);
    else if (zip.failed || central.failed)
        st = clrnn__fail(err, CLRNN_E_NOMEM, "out of memory exporting '%s'", path);
    else
        st = atomic_write_file(path, zip.data, zip.size, err);
    byte_writer_free(&zip);
    byte_writer_free(&central);
    return st;
}

clrnn_status clrnn_export_npz(const clrnn_model *model, const char *path, clrnn_error *err)
{
    return export_npz(model, NULL, path, err);
}

clrnn_status clrnn_checkpoint_export_npz(const clrnn_checkpoint *ckpt, const char *path,
                                         clrnn_error *err)
{
    return export_npz(ckpt->model, ckpt, path, err);
}
