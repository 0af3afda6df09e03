/* The families' build-time tunables (family.h): their values for a layer,
 * as build options and as text. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "opencl/family.h"

clrnn_status ocl_layer_tuning(const clrnn_backend *b, const ocl_state *s, const ocl_family *f,
                              size_t layer, int *values, clrnn_error *err)
{
    const clrnn_kernels k = ocl_family_named(f->name);
    const ocl_tuning *given = (size_t)k < OCL_MAX_FAMILIES ? &s->tuning[k] : NULL;
    int any = 0;
    for (size_t t = 0; given && t < f->n_tunables; t++)
        any |= given->given[t];
    for (size_t t = 0; t < f->n_tunables; t++)
        values[t] =
            any && given->given[t] ? given->value[t] : f->tunables[t].derive(b, s, layer, values);
    const char *why = any && f->tuning_misfit ? f->tuning_misfit(b, s, layer, values) : NULL;
    if (!why)
        return CLRNN_OK;
    char text[256];
    ocl_tuning_format(text, sizeof text, f, values);
    if (!given->from_cache)
        return clrnn__fail(err, CLRNN_E_INPUT, "`tuning` '%s' cannot run layer %zu: %s", text,
                           layer, why);
    if (s->tune_log)
        fprintf(s->tune_log,
                "tuning: the cached %s values '%s' do not fit layer %zu (%s): using the "
                "device-derived ones\n",
                f->name, text, layer, why);
    for (size_t t = 0; t < f->n_tunables; t++)
        values[t] = f->tunables[t].derive(b, s, layer, values);
    return CLRNN_OK;
}

void ocl_tuning_options(char *options, size_t size, const ocl_family *f, const int *values)
{
    for (size_t t = 0; t < f->n_tunables; t++) {
        size_t len = strlen(options);
        if (len < size)
            snprintf(options + len, size - len, " -D%s=%d", f->tunables[t].name, values[t]);
    }
}

void ocl_tuning_format(char *out, size_t size, const ocl_family *f, const int *values)
{
    if (size)
        out[0] = '\0';
    for (size_t t = 0; t < f->n_tunables; t++) {
        size_t len = strlen(out);
        if (len < size)
            snprintf(out + len, size - len, "%s%s=%d", t ? " " : "", f->tunables[t].name,
                     values[t]);
    }
}

int ocl_tuning_parse(const ocl_family *f, const char *text, ocl_tuning *tuning, char *why,
                     size_t size)
{
    memset(tuning, 0, sizeof *tuning);
    const char *p = text;
    for (;;) {
        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        if (!*p)
            return 1;
        const char *eq = strchr(p, '=');
        size_t t = 0;
        while (eq && t < f->n_tunables &&
               !(strlen(f->tunables[t].name) == (size_t)(eq - p) &&
                 strncmp(f->tunables[t].name, p, (size_t)(eq - p)) == 0))
            t++;
        if (!eq || t == f->n_tunables) {
            snprintf(why, size, "'%.*s' is not a tunable of the %s kernels",
                     (int)(eq ? eq - p : (long)strcspn(p, " ,")), p, f->name);
            return 0;
        }
        char *end;
        long v = strtol(eq + 1, &end, 10);
        size_t i = 0;
        while (i < f->tunables[t].n_values && f->tunables[t].values[i] != v)
            i++;
        if (end == eq + 1 || (*end && *end != ' ' && *end != ',' && *end != '\t') ||
            i == f->tunables[t].n_values) {
            snprintf(why, size, "%s=%.*s is not one of the values of %s", f->tunables[t].name,
                     (int)strcspn(eq + 1, " ,\t"), eq + 1, f->tunables[t].name);
            return 0;
        }
        tuning->given[t] = 1;
        tuning->value[t] = (int)v;
        p = end;
    }
}
