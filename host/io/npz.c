/*
 * clrnn_export_npz: the parameters as numpy's .npz, which is a ZIP archive
 * of .npy files. We write what np.savez writes, minus what numpy does not
 * need: ZIP entries stored (no compression), each with its CRC32; entry
 * "layer<l>.<name>.npy" (np.load lists it as "layer<l>.<name>"), an .npy
 * version 1.0 file holding a little-endian float64 array shaped as in
 * docs/model.md. No ZIP64, so each entry and the archive stay below 4 GiB.
 *
 * ZIP layout (PKWARE APPNOTE 4.3): for each entry a local file header, its
 * name and its data; then one central directory header per entry; then the
 * end of central directory record. All fields little-endian.
 */
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "io/bytes.h"
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

/* One .npy file: magic, version 1.0, header length (u16), the header dict
 * padded with spaces and ended by '\n', then the values row-major. */
static void npy_encode(byte_writer *w, const double *values, size_t rows, size_t cols, int is_2d)
{
    char dict[128];
    int len = is_2d ? snprintf(dict, sizeof dict,
                               "{'descr': '<f8', 'fortran_order': False, 'shape': (%zu, %zu), }",
                               rows, cols)
                    : snprintf(dict, sizeof dict,
                               "{'descr': '<f8', 'fortran_order': False, 'shape': (%zu,), }", rows);
    size_t unpadded = 10 + (size_t)len + 1; /* preamble, dict, '\n' */
    size_t header_len = (size_t)len + 1 + (NPY_ALIGN - unpadded % NPY_ALIGN) % NPY_ALIGN;
    put_bytes(w, "\x93NUMPY\x01\x00", 8);
    put_u16(w, (uint16_t)header_len);
    put_bytes(w, dict, (size_t)len);
    for (size_t i = (size_t)len + 1; i < header_len; i++)
        put_bytes(w, " ", 1);
    put_bytes(w, "\n", 1);
    put_f64_array(w, values, rows * cols);
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

/* The archive's bytes into zip; central (scratch) collects the directory.
 * Returns 0 when it would need ZIP64; zip->failed tells of memory. */
static int zip_encode(byte_writer *zip, byte_writer *central, const clrnn_model *model)
{
    const size_t limit = 0xFFFFFFFFu;
    size_t n_entries = 0;
    for (size_t l = 0; l < clrnn_model_n_layers(model); l++) {
        for (int p = 0; p < CLRNN_N_PARAMS_PER_LAYER; p++) {
            size_t rows, cols, offset = zip->size;
            int is_2d;
            char name[64];
            snprintf(name, sizeof name, "layer%zu.%s.npy", l, clrnn_param_name((clrnn_param)p));
            tensor_shape(clrnn_model_layer(model, l), (clrnn_param)p, &rows, &cols, &is_2d);
            byte_writer npy = {0};
            const double *values = clrnn_model_params_const(model) +
                                   clrnn_model_param_offset(model, l, (clrnn_param)p);
            npy_encode(&npy, values, rows, cols, is_2d);
            uint32_t crc = crc32_update(0, npy.data, npy.size);
            int fits = npy.size <= limit && offset <= limit;
            zip->failed |= npy.failed;
            put_u32(zip, ZIP_LOCAL_SIGNATURE);
            zip_entry_fields(zip, crc, npy.size, strlen(name));
            put_bytes(zip, name, strlen(name));
            put_bytes(zip, npy.data, npy.size);
            zip_central_header(central, name, crc, npy.size, offset);
            byte_writer_free(&npy);
            if (!fits)
                return 0;
            n_entries++;
        }
    }
    size_t central_offset = zip->size;
    put_bytes(zip, central->data, central->size);
    zip_end_record(zip, n_entries, central->size, central_offset);
    return n_entries <= 0xFFFF && central_offset <= limit && central->size <= limit;
}

clrnn_status clrnn_export_npz(const clrnn_model *model, const char *path, clrnn_error *err)
{
    byte_writer zip = {0}, central = {0};
    clrnn_status st;
    if (!zip_encode(&zip, &central, model))
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
