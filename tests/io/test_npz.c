/*
 * The .npz export, parsed here independently: ZIP local headers, central
 * directory and end record agree with each other, each entry's CRC32
 * (computed bit by bit here) is right, each .npy header is the exact dict
 * numpy writes, and the values are the parameters' bits.
 */
#include "io_util.h"

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
    clrnn_checkpoint *c;
    clrnn_error err;
    zip_entry entries[16];
    size_t n_entries, size, size2;
    path_in(path, sizeof path, "w.npz");
    path_in(again, sizeof again, "w2.npz");
    if (!check_true(make_checkpoint(&c, CLRNN_SGD), "a model to export")) {
        clrnn_checkpoint_free(c);
        return;
    }
    const clrnn_model *model = clrnn_checkpoint_model(c);
    check_true(clrnn_export_npz(model, path, &err) == CLRNN_OK &&
                   clrnn_export_npz(model, again, &err) == CLRNN_OK,
               "export twice");
    unsigned char *z = read_bytes(path, &size), *z2 = read_bytes(again, &size2);
    size_t end = z ? walk_local_entries(z, size, model, entries, &n_entries) : 0;
    check_true(end > 0 && n_entries == 10,
               "npz: 10 stored entries, local headers, CRC32s, exact .npy dicts, values' bits");
    check_true(end > 0 && directory_matches(z, size, end, entries, n_entries),
               "npz: central directory and end record agree with the entries");
    check_true(z && z2 && size == size2 && memcmp(z, z2, size) == 0,
               "two exports of one model are the same bytes");
    check_true(clrnn_export_npz(model, "/nonexistent-dir/w.npz", &err) == CLRNN_E_IO &&
                   no_temporaries(),
               "export into a missing folder: CLRNN_E_IO, nothing left");
    free(z);
    free(z2);
    clrnn_checkpoint_free(c);
}

int main(void)
{
    if (!make_test_dir("clrnn_test_npz"))
        return 1;
    test_npz();
    static const char *const names[] = {"w.npz", "w2.npz"};
    remove_test_dir(names, sizeof names / sizeof *names);
    return check_summary();
}
