/* Loading data and models for the clrnn subcommands. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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
        !cli_split_flag_list(command, "--target", targets, targ_buf, sizeof targ_buf, target_names,
                             CLI_MAX_COLUMNS, &config.n_targets))
        return 0;
    config.features = feature_names;
    config.targets = target_names;
    return make_dataset(command, path, config, out);
}

int cli_load_dataset_for_model(const char *command, const char *path, const clrnn_checkpoint *model,
                               clrnn_data_config config, clrnn_dataset **out)
{
    config.scale_targets = 1; /* unless the model file says otherwise */
    clrnn_checkpoint_data_config(model, &config);
    return make_dataset(command, path, config, out);
}

const char *cli_join_columns(char *buf, size_t size, const clrnn_checkpoint *model, int targets)
{
    size_t n = targets ? clrnn_checkpoint_n_targets(model) : clrnn_checkpoint_n_features(model);
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? "," : "",
                                 targets ? clrnn_checkpoint_target_name(model, i)
                                         : clrnn_checkpoint_feature_name(model, i));
    return buf;
}

const char *cli_default_data(void)
{
    static char path[4096];
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    char *slash = n > 0 ? (exe[n] = '\0', strrchr(exe, '/')) : NULL;
    if (slash) {
        *slash = '\0';
        if ((size_t)snprintf(path, sizeof path, "%s/%s", exe, CLRNN_BIN_TO_DATA) < sizeof path &&
            access(path, R_OK) == 0)
            return path;
    }
    return CLRNN_DEFAULT_DATA;
}

void cli_csv_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}
