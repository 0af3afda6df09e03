/* libFuzzer harness: a CSV table and the dataset made of it. Any input must
 * give a table or one clean error, never a crash, a leak or undefined
 * behaviour; a dataset of it (features: every column but the last, target:
 * the last, seq_len 1 to 4) likewise, and its windows lie inside its rows. */
#include <math.h>
#include <stdint.h>

#include "clrnn.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[256];
    fuzz_write(path, "table.csv", data, size);
    clrnn_table *table = NULL;
    clrnn_error err;
    if (clrnn_table_read_csv(&table, path, &err) != CLRNN_OK) {
        if (table || !memchr(err.message, '\0', sizeof err.message) || strchr(err.message, '\n'))
            abort(); /* a failed read leaves nothing and says one line */
        return 0;
    }
    size_t C = clrnn_table_n_cols(table);
    const char *names[64];
    for (size_t c = 0; c < C && c < 64; c++)
        names[c] = clrnn_table_col_name(table, c);
    if (C >= 2 && C <= 64) {
        clrnn_data_config cfg = clrnn_data_config_default();
        cfg.features = names;
        cfg.n_features = C - 1;
        cfg.targets = names + C - 1;
        cfg.n_targets = 1;
        cfg.seq_len = 1 + (size ? data[0] % 4 : 0);
        cfg.missing = (clrnn_missing)(size > 1 ? data[1] % 3 : 0);
        clrnn_dataset *ds = NULL;
        if (clrnn_dataset_create(&ds, table, &cfg, &err) == CLRNN_OK) {
            size_t R = clrnn_dataset_n_rows(ds), T = clrnn_dataset_seq_len(ds);
            for (int s = 0; s < CLRNN_N_SPLITS; s++)
                for (size_t w = 0; w < clrnn_dataset_n_windows(ds, (clrnn_split)s); w++)
                    if (clrnn_dataset_window_start(ds, (clrnn_split)s, w) + T > R)
                        abort();
            for (size_t f = 0; f < C - 1; f++)
                if (!(clrnn_dataset_feature_std(ds, f) > 0) ||
                    !(clrnn_dataset_feature_std(ds, f) < INFINITY))
                    abort(); /* finite input gives finite statistics */
        }
        clrnn_dataset_free(ds);
    }
    clrnn_table_free(table);
    return 0;
}
