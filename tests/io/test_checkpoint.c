/*
 * The model file (docs/checkpoint-format.md).
 *
 * - A checkpoint with awkward values (-0, subnormals, 1e300, long names)
 *   survives save and load bit for bit, and saving what was loaded gives the
 *   same bytes.
 * - Every truncation of a file and a flipped byte at every offset are
 *   refused with CLRNN_E_INPUT and a message naming the file; so are a wrong
 *   magic, a wrong version, CRC-valid files whose fields disagree, sizes the
 *   file cannot hold and an endless stream.
 * - Saving refuses an inconsistent checkpoint and leaves no file behind.
 * - Version 2's framing and data settings are refused when out of range; a
 *   version 1 file made by an earlier clrnn still loads, and saves as
 *   version 4 with the same model.
 * - Capture records the data settings and the data path it is given, and
 *   clrnn_checkpoint_data_config gives them back.
 * - In memory (how a checkpoint crosses between ranks under mpirun): the
 *   encoded bytes are the saved file's, decoding them gives the checkpoint
 *   bit for bit, and flipped or truncated bytes are refused by name.
 */
#include "io_util.h"

static void test_crc(void)
{
    /* The CRC-32 check value of the ZIP/zlib variant. */
    check_true(crc32_bitwise((const unsigned char *)"123456789", 9) == 0xCBF43926u,
               "CRC-32 of \"123456789\" is 0xCBF43926");
}

static void test_round_trip(void)
{
    char path[128], again[128];
    clrnn_checkpoint *saved, *loaded = NULL, *reloaded = NULL;
    clrnn_error err;
    path_in(path, sizeof path, "round.clrnn");
    path_in(again, sizeof again, "again.clrnn");
    if (!check_true(make_checkpoint(&saved, CLRNN_ADAM), "build a checkpoint")) {
        clrnn_checkpoint_free(saved);
        return;
    }
    check_true(clrnn_checkpoint_save(saved, path, &err) == CLRNN_OK, "save");
    check_true(clrnn_checkpoint_load(&loaded, path, &err) == CLRNN_OK, "load what was saved");
    if (loaded)
        check_same_checkpoint("round trip", saved, loaded);
    check_true(loaded && clrnn_checkpoint_save(loaded, again, &err) == CLRNN_OK,
               "save what was loaded");
    size_t n1, n2;
    unsigned char *b1 = read_bytes(path, &n1), *b2 = read_bytes(again, &n2);
    check_true(b1 && b2 && n1 == n2 && memcmp(b1, b2, n1) == 0,
               "saving the loaded checkpoint gives the same bytes");
    free(b1);
    free(b2);
    /* NULL optimizer state means zeros, and loads as zero arrays. */
    free(saved->opt_m);
    free(saved->opt_v);
    saved->opt_m = saved->opt_v = NULL;
    saved->optimizer.kind = CLRNN_SGD;
    check_true(clrnn_checkpoint_save(saved, path, &err) == CLRNN_OK &&
                   clrnn_checkpoint_load(&reloaded, path, &err) == CLRNN_OK,
               "save and load with no optimizer state");
    if (reloaded)
        check_same_checkpoint("no optimizer state", saved, reloaded);
    check_true(no_temporaries(), "no temporary files left behind");
    clrnn_checkpoint_free(saved);
    clrnn_checkpoint_free(loaded);
    clrnn_checkpoint_free(reloaded);
    clrnn_checkpoint_free(NULL);
}

/* Loading bytes must fail with CLRNN_E_INPUT, a message naming the file and
 * containing `words` (any of them, '|'-separated), and leave *c NULL. */
static int refused(const unsigned char *bytes, size_t size, const char *words)
{
    char path[128], word[64];
    clrnn_checkpoint *c;
    clrnn_error err = {CLRNN_OK, ""};
    path_in(path, sizeof path, "bad.clrnn");
    if (!write_bytes(path, bytes, size))
        return 0;
    memset(&c, 0xAB, sizeof c); /* load must not trust what was there */
    clrnn_status st = clrnn_checkpoint_load(&c, path, &err);
    int ok = st == CLRNN_E_INPUT && err.status == CLRNN_E_INPUT && strstr(err.message, path) &&
             c == NULL;
    int found = 0;
    for (const char *w = words; ok && *w;) {
        size_t n = strcspn(w, "|");
        snprintf(word, sizeof word, "%.*s", (int)n, w);
        found |= strstr(err.message, word) != NULL;
        w += n + (w[n] == '|');
    }
    if (ok && !found)
        printf("  unexpected message: %s\n", err.message);
    if (st == CLRNN_OK)
        clrnn_checkpoint_free(c);
    return ok && found;
}

static unsigned char *saved_bytes(size_t *size)
{
    char path[128];
    clrnn_checkpoint *c;
    unsigned char *bytes = NULL;
    path_in(path, sizeof path, "small.clrnn");
    if (make_checkpoint(&c, CLRNN_ADAM) && clrnn_checkpoint_save(c, path, NULL) == CLRNN_OK)
        bytes = read_bytes(path, size);
    clrnn_checkpoint_free(c);
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
             * wrong size (a flip to another version this clrnn reads, 3 to
             * 2, by the CRC); everything after it must be caught by the CRC. */
            const char *words = at < 8    ? "not a clrnn model file"
                                : at < 12 ? "version|checksum"
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
    clrnn_checkpoint *c = NULL;
    path_in(path, sizeof path, "intact.clrnn");
    check_true(write_bytes(path, bytes, size) && clrnn_checkpoint_load(&c, path, NULL) == CLRNN_OK,
               "(the bytes flipped back load again)");
    clrnn_checkpoint_free(c);
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
    put_le32(bytes + 8, 5);
    reseal(bytes, size);
    check_true(refused(bytes, size, "version 5; this clrnn reads versions 1 to 4"),
               "version 5 (with a valid CRC) is refused by its version");
    put_le32(bytes + 8, 0);
    reseal(bytes, size);
    check_true(refused(bytes, size, "version 0; this clrnn reads versions 1 to 4"),
               "version 0 (with a valid CRC) is refused by its version");
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
    clrnn_checkpoint *c;
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
    /* version 2's framing and data settings lie between the seed and P,
     * then version 3's series column (none: 4 bytes) and two flags, then
     * version 4's stateful flag */
    size_t framing = 4 + 4 + 4 + 4 + 4 + 4 + (4 + strlen("data/weather é.csv")) +
                     (4 + strlen("/srv/clrnn/data/weather é.csv")) + (4 + strlen("timestamp")) +
                     2 * 8 + 3 * 4 + 3 * 8 + 4 + 2 * 4;
    size_t at_p = size - 4 - 3 * P * 8 - 8, at_stateful = at_p - 4,
           at_framing = at_stateful - framing;
    size_t at_kind = at_framing - 4 - 8 - 8 - 7 * 8 - 4;
    free(bytes);
    refused_with_u32("a parameter count the layers do not give is refused", (size_t)at_p,
                     (uint32_t)P + 1, "parameter count");
    refused_with_u32("optimizer 9 is refused", at_kind, 9, "unknown optimizer");
    /* The first feature std is the f64 after the names and the means. */
    size_t at_std = AT_NAMES + 4 + (4 + 4) + (4 + 4) +
                    (4 + strlen("a much longer column name, é")) + 4 + (4 + 13) + 3 * 8;
    refused_with_u32("a negative scaler std is refused", at_std + 4, 0xBFF00000u,
                     "standard deviation");
    /* Version 2's block: date features, horizons, difference, season, the
     * data flag, three texts, the fractions, the enums, the rows. */
    size_t at_texts = at_framing + 6 * 4;
    size_t at_fractions = at_texts + (4 + strlen("data/weather é.csv")) +
                          (4 + strlen("/srv/clrnn/data/weather é.csv")) + (4 + strlen("timestamp"));
    refused_with_u32("date features 16 are refused", at_framing, 16, "unknown date features");
    refused_with_u32("date features for a layer without their inputs are refused", at_framing,
                     CLRNN_DATE_DOW, "date features");
    refused_with_u32("0 horizons are refused", at_framing + 4, 0, "number of horizons");
    refused_with_u32("difference 2 is refused", at_framing + 12, 2, "differencing");
    refused_with_u32("a data flag of 2 is refused", at_framing + 20, 2, "flag");
    refused_with_u32("a data path longer than the file is refused", at_texts, 1000000,
                     "runs past the end");
    refused_with_u32("a train fraction of 2 is refused", at_fractions + 4, 0x40000000u,
                     "fractions");
    refused_with_u32("missing-value policy 3 is refused", at_fractions + 16, 3,
                     "missing-value policy");
    refused_with_u32("a training split past the data's rows is refused", at_fractions + 16 + 12 + 8,
                     20000, "rows");
    size_t at_series = at_fractions + 16 + 12 + 24; /* version 3: the series column, flags */
    refused_with_u32("split-by-series 2 is refused", at_series + 4, 2, "series split");
    refused_with_u32("per-series scaling without a series column is refused", at_series + 8, 1,
                     "without a series column");
    refused_with_u32("a stateful flag of 2 is refused", at_stateful, 2, "stateful flag");
}

/* The version 1 file committed in tests/fixtures, written by the clrnn of
 * before version 2 (train --data cli_small.csv --features a,b --target y
 * --seq-len 5 --hidden 4 --epochs 3 --batch 8 --seed 3). */
static void test_version_1(void)
{
    clrnn_checkpoint *c = NULL, *again = NULL;
    clrnn_error err;
    char path[128];
    if (!check_true(clrnn_checkpoint_load(&c, CLRNN_FIXTURE_DIR "/model_v1.clrnn", &err) ==
                        CLRNN_OK,
                    "the version 1 fixture loads"))
        return;
    check_true(clrnn_checkpoint_format_version(c) == 1 && clrnn_checkpoint_seq_len(c) == 5 &&
                   clrnn_checkpoint_n_features(c) == 2 && clrnn_checkpoint_n_targets(c) == 1 &&
                   strcmp(clrnn_checkpoint_feature_name(c, 1), "b") == 0 &&
                   clrnn_checkpoint_epoch(c) == 3 && clrnn_checkpoint_seed(c) == 3,
               "version 1: its columns, window, epoch and seed");
    check_true(!clrnn_checkpoint_data_path(c, 0) && !clrnn_checkpoint_data_path(c, 1),
               "version 1: no data path recorded");
    clrnn_data_config cfg = clrnn_data_config_default();
    cfg.train_fraction = 0.5;
    cfg.missing = CLRNN_MISSING_DROP;
    clrnn_checkpoint_data_config(c, &cfg);
    check_true(cfg.train_fraction == 0.5 && cfg.missing == CLRNN_MISSING_DROP &&
                   cfg.n_horizons == 0 && !cfg.horizons && !cfg.difference && !cfg.date_features &&
                   cfg.seq_len == 5 && cfg.n_features == 2,
               "version 1: the data config leaves the split and missing values alone");
    path_in(path, sizeof path, "upgraded.clrnn");
    check_true(clrnn_checkpoint_save(c, path, &err) == CLRNN_OK &&
                   clrnn_checkpoint_load(&again, path, &err) == CLRNN_OK &&
                   clrnn_checkpoint_format_version(again) == 4 && !clrnn_checkpoint_stateful(c) &&
                   !clrnn_checkpoint_stateful(again),
               "version 1 saved again is version 4, not stateful");
    if (again)
        check_same_checkpoint("version 1 -> 4", c, again);
    clrnn_checkpoint_free(c);
    clrnn_checkpoint_free(again);
}

/* A captured checkpoint records the data's settings and path. */
static void test_capture_data(void)
{
    static const char *const features[] = {"a", "b"}, *const targets[] = {"y"};
    clrnn_data_config cfg = clrnn_data_config_default();
    cfg.features = features;
    cfg.n_features = 2;
    cfg.targets = targets;
    cfg.n_targets = 1;
    cfg.seq_len = 4;
    cfg.train_fraction = 0.6;
    cfg.val_fraction = 0.2;
    cfg.missing = CLRNN_MISSING_DROP;
    cfg.scaler_fit = CLRNN_SCALER_FIT_ALL;
    clrnn_table *table = NULL;
    clrnn_dataset *data = NULL;
    clrnn_model *model = NULL;
    clrnn_backend *backend = NULL;
    clrnn_checkpoint *c = NULL, *plain = NULL, *loaded = NULL;
    clrnn_layer_shape shape = {2, 3, 1};
    clrnn_backend_config bcfg = {.device = "cpu", .seq_len = 4, .max_batch = 8};
    clrnn_train_config train;
    clrnn_train_config_default(&train);
    clrnn_error err;
    char path[128];
    path_in(path, sizeof path, "captured.clrnn");
    int ok = clrnn_table_read_csv(&table, SMALL_CSV, &err) == CLRNN_OK &&
             clrnn_dataset_create(&data, table, &cfg, &err) == CLRNN_OK &&
             clrnn_model_create(&model, &shape, 1, &err) == CLRNN_OK &&
             clrnn_backend_create(&backend, model, &bcfg, &err) == CLRNN_OK &&
             clrnn_checkpoint_capture_data(&c, backend, data, &cfg, SMALL_CSV, &train, 2, &err) ==
                 CLRNN_OK &&
             clrnn_checkpoint_capture(&plain, backend, data, &train, 2, &err) == CLRNN_OK &&
             clrnn_checkpoint_save(c, path, &err) == CLRNN_OK &&
             clrnn_checkpoint_load(&loaded, path, &err) == CLRNN_OK;
    if (check_true(ok, "capture with the data's settings, save, load")) {
        size_t rows, train_end, val_end;
        clrnn_checkpoint_data_rows(loaded, &rows, &train_end, &val_end);
        check_true(strcmp(clrnn_checkpoint_data_path(loaded, 0), SMALL_CSV) == 0 &&
                       clrnn_checkpoint_data_path(loaded, 1)[0] == '/' && rows == 120 &&
                       train_end == 72 && val_end == 96,
                   "the data path (as given and absolute) and the split's rows are recorded");
        clrnn_data_config back = clrnn_data_config_default();
        clrnn_checkpoint_data_config(loaded, &back);
        check_true(back.train_fraction == 0.6 && back.val_fraction == 0.2 &&
                       back.missing == CLRNN_MISSING_DROP &&
                       back.scaler_fit == CLRNN_SCALER_FIT_ALL && back.scale_targets == 1 &&
                       back.seq_len == 4 && back.n_features == 2 &&
                       strcmp(back.features[1], "b") == 0 && strcmp(back.targets[0], "y") == 0 &&
                       back.feature_mean[0] == clrnn_dataset_feature_mean(data, 0) &&
                       back.target_std[0] == clrnn_dataset_target_std(data, 0),
                   "clrnn_checkpoint_data_config gives the settings back");
        check_true(!clrnn_checkpoint_data_path(plain, 0),
                   "clrnn_checkpoint_capture records no data path");
    }
    clrnn_checkpoint *refused = NULL;
    check_true(backend &&
                   clrnn_checkpoint_capture_data(&refused, backend, data, NULL, SMALL_CSV, &train,
                                                 2, &err) == CLRNN_E_INPUT &&
                   !refused && strstr(err.message, "`config`"),
               "a data path without the config is refused");
    clrnn_checkpoint_free(c);
    clrnn_checkpoint_free(plain);
    clrnn_checkpoint_free(loaded);
    clrnn_backend_free(backend);
    clrnn_model_free(model);
    clrnn_dataset_free(data);
    clrnn_table_free(table);
}

static void test_save_refuses(void)
{
    char path[128], folder_path[128];
    clrnn_checkpoint *c;
    clrnn_error err;
    if (!check_true(make_checkpoint(&c, CLRNN_SGD), "a checkpoint to spoil")) {
        clrnn_checkpoint_free(c);
        return;
    }
    path_in(path, sizeof path, "never.clrnn");
    c->n_features = 2; /* the model takes 3 */
    check_true(clrnn_checkpoint_save(c, path, &err) == CLRNN_E_INPUT &&
                   strstr(err.message, "input size") && access(path, F_OK) != 0,
               "saving features that disagree with the model: refused, no file");
    c->n_features = 3;
    c->feature_std[1] = 0.0;
    check_true(clrnn_checkpoint_save(c, path, &err) == CLRNN_E_INPUT && access(path, F_OK) != 0,
               "saving a zero scaler std: refused, no file");
    c->feature_std[1] = 1.0;
    clrnn_model_params(c->model)[5] = NAN;
    check_true(clrnn_checkpoint_save(c, path, &err) == CLRNN_E_INPUT && access(path, F_OK) != 0,
               "saving a NaN parameter: refused, no file");
    clrnn_model_params(c->model)[5] = 0.0;
    c->data_path_abs[0] = 's'; /* not absolute */
    check_true(clrnn_checkpoint_save(c, path, &err) == CLRNN_E_INPUT &&
                   strstr(err.message, "absolute") && access(path, F_OK) != 0,
               "saving a relative absolute data path: refused, no file");
    c->data_path_abs[0] = '/';
    size_t *two = realloc(c->horizons, 2 * sizeof *two);
    if (two) {
        c->horizons = two;
        two[1] = 14;
    }
    c->n_horizons = two ? 2 : 1; /* the model has one output a target */
    check_true(clrnn_checkpoint_save(c, path, &err) == CLRNN_E_INPUT &&
                   strstr(err.message, "horizons") && access(path, F_OK) != 0,
               "saving horizons the last layer has no outputs for: refused, no file");
    c->n_horizons = 1;
    check_true(clrnn_checkpoint_save(c, "/nonexistent-dir/m.clrnn", &err) == CLRNN_E_IO &&
                   strstr(err.message, "/nonexistent-dir/m.clrnn"),
               "saving into a missing folder: CLRNN_E_IO naming the path");
    path_in(folder_path, sizeof folder_path, "a-folder");
    mkdir(folder_path, 0700);
    check_true(clrnn_checkpoint_save(c, folder_path, &err) == CLRNN_E_IO,
               "saving over a folder: CLRNN_E_IO");
    rmdir(folder_path);
    check_true(no_temporaries(), "failed saves leave no temporary file");
    clrnn_checkpoint_free(c);
}

static void test_in_memory(void)
{
    clrnn_checkpoint *c = NULL, *back = NULL;
    clrnn_error err;
    unsigned char *bytes = NULL;
    size_t size = 0, file_size = 0;
    if (!check_true(make_checkpoint(&c, CLRNN_ADAM), "build a checkpoint")) {
        clrnn_checkpoint_free(c);
        return;
    }
    unsigned char *file = saved_bytes(&file_size);
    check_true(clrnn__checkpoint_encode(c, &bytes, &size, &err) == CLRNN_OK, "encode");
    check_true(file && bytes && size == file_size && memcmp(bytes, file, size) == 0,
               "the encoded bytes are the saved file's");
    check_true(bytes && clrnn__checkpoint_decode(&back, bytes, size, "model 3", &err) == CLRNN_OK,
               "decode");
    if (back)
        check_same_checkpoint("in memory", c, back);
    clrnn_checkpoint_free(back);
    back = NULL;
    if (bytes && size > 40) {
        bytes[size / 2] ^= 0x10;
        check_true(clrnn__checkpoint_decode(&back, bytes, size, "model 3", &err) == CLRNN_E_INPUT &&
                       !back && strstr(err.message, "'model 3'"),
                   "a flipped byte is refused, naming the bytes");
        bytes[size / 2] ^= 0x10;
        check_true(clrnn__checkpoint_decode(&back, bytes, size - 1, "model 3", &err) ==
                           CLRNN_E_INPUT &&
                       !back,
                   "truncated bytes are refused");
    }
    clrnn_checkpoint_free(back);
    clrnn_checkpoint_free(c);
    free(bytes);
    free(file);
}

int main(void)
{
    if (!make_test_dir("clrnn_test_checkpoint"))
        return 1;
    test_crc();
    test_round_trip();
    test_truncated();
    test_flipped();
    test_magic_version();
    test_inconsistent();
    test_endless();
    test_save_refuses();
    test_version_1();
    test_capture_data();
    test_in_memory();
    static const char *const names[] = {"round.clrnn",   "again.clrnn",  "bad.clrnn",
                                        "small.clrnn",   "intact.clrnn", "upgraded.clrnn",
                                        "captured.clrnn"};
    remove_test_dir(names, sizeof names / sizeof *names);
    return check_summary();
}
