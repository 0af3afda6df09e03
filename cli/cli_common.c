/* Loading data and models for the clrnn subcommands. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli_args.h"
#include "cli_common.h"

static int make_dataset(const char *command, const char *path, clrnn_data_config config,
                        clrnn_dataset **out)
{
    clrnn_error err;
    clrnn_table *table = NULL;
    if (clrnn_table_read_csv(&table, path, &err) != CLRNN_OK)
        return cli_error(command, &err), 0;
    clrnn_status st = clrnn_dataset_create(out, table, &config, &err);
    clrnn_table_free(table);
    if (st != CLRNN_OK)
        return cli_error(command, &err), 0;
    return 1;
}

int cli_load_dataset(const char *command, const char *path, const char *features,
                     const char *targets, clrnn_data_config config, clrnn_dataset **out)
{
    char feat_buf[2048], targ_buf[2048];
    const char *feature_names[CLI_MAX_COLUMNS], *target_names[CLI_MAX_COLUMNS];
    if (!cli_split_flag_list(command, "--features", features, feat_buf, sizeof feat_buf,
                             feature_names, CLI_MAX_COLUMNS, &config.n_features) ||
        !cli_split_flag_list(command, "--target", targets, targ_buf, sizeof targ_buf,
                             target_names, CLI_MAX_COLUMNS, &config.n_targets))
        return 0;
    config.features = feature_names;
    config.targets = target_names;
    return make_dataset(command, path, config, out);
}

int cli_load_dataset_for_model(const char *command, const char *path, const clrnn_checkpoint *model,
                               clrnn_data_config config, clrnn_dataset **out)
{
    config.features = (const char *const *)model->feature_names;
    config.n_features = model->n_features;
    config.targets = (const char *const *)model->target_names;
    config.n_targets = model->n_targets;
    config.seq_len = model->seq_len;
    config.feature_mean = model->feature_mean;
    config.feature_std = model->feature_std;
    config.target_mean = model->target_mean;
    config.target_std = model->target_std;
    config.scale_targets = 1;
    return make_dataset(command, path, config, out);
}

const char *cli_join(char *buf, size_t size, char *const *names, size_t n)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? "," : "", names[i]);
    return buf;
}

/* Index of the feature X of a target named X_tomorrow, or -1. */
static long today_feature(const char *target, const char *const *features, size_t F)
{
    const char *suffix = strstr(target, "_tomorrow");
    if (!suffix || suffix[9] != '\0')
        return -1;
    size_t stem = (size_t)(suffix - target);
    for (size_t f = 0; f < F; f++)
        if (strlen(features[f]) == stem && strncmp(features[f], target, stem) == 0)
            return (long)f;
    return -1;
}

int cli_naive_baseline(const clrnn_dataset *data, clrnn_split split, const char *const *features,
                       const char *const *targets, const double *predictions, cli_baseline *out)
{
    size_t F = clrnn_dataset_n_features(data), K = clrnn_dataset_n_targets(data);
    size_t T = clrnn_dataset_seq_len(data), n = clrnn_dataset_n_windows(data, split);
    const double *x = clrnn_dataset_x(data), *y = clrnn_dataset_y_raw(data);
    double naive_sq = 0.0, naive_abs = 0.0, model_sq = 0.0, model_abs = 0.0;
    size_t count = 0;
    memset(out, 0, sizeof *out);
    for (size_t k = 0; k < K; k++) {
        long f = today_feature(targets[k], features, F);
        if (f < 0)
            continue;
        size_t used = strlen(out->names);
        snprintf(out->names + used, sizeof out->names - used, "%s%s", used ? "," : "", targets[k]);
        out->n_targets++;
        double mean = clrnn_dataset_feature_mean(data, (size_t)f);
        double std = clrnn_dataset_feature_std(data, (size_t)f);
        for (size_t i = 0; i < n; i++) {
            size_t row = clrnn_dataset_window_start(data, split, i) + T - 1;
            double today = x[row * F + (size_t)f] * std + mean; /* back in units */
            double naive = today - y[row * K + k], model = predictions[i * K + k] - y[row * K + k];
            naive_sq += naive * naive;
            naive_abs += fabs(naive);
            model_sq += model * model;
            model_abs += fabs(model);
            count++;
        }
    }
    if (count == 0)
        return 0;
    out->naive_rmse = sqrt(naive_sq / (double)count);
    out->naive_mae = naive_abs / (double)count;
    out->model_rmse = sqrt(model_sq / (double)count);
    out->model_mae = model_abs / (double)count;
    return 1;
}
