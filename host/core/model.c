/*
 * A stack of tanh RNN layers with all parameters in ONE flat buffer:
 * layer after layer, each layer's tensors in clrnn_param order (W_i, W_h,
 * W_o, b_o, b_i), row-major. Gradients and optimizer state everywhere in
 * clrnn use this same layout, so uploads, checkpoints, norms and updates are
 * one loop over one buffer.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clrnn.h"
#include "core/error.h"
#include "core/model.h"

struct clrnn_model {
    size_t n_layers;
    clrnn_layer_shape *layers; /* (n_layers) */
    size_t *offsets;           /* (n_layers, CLRNN_N_PARAMS_PER_LAYER) */
    size_t n_params;
    double *params; /* (n_params) */
};

const char *clrnn_param_name(clrnn_param which)
{
    static const char *const names[CLRNN_N_PARAMS_PER_LAYER] = {"W_i", "W_h", "W_o", "b_o", "b_i"};
    return (unsigned)which < CLRNN_N_PARAMS_PER_LAYER ? names[which] : "?";
}

size_t clrnn__layer_param_count(clrnn_layer_shape s, clrnn_param which)
{
    switch (which) {
    case CLRNN_W_I:
        return s.n_in * s.n_hidden;
    case CLRNN_W_H:
        return s.n_hidden * s.n_hidden;
    case CLRNN_W_O:
        return s.n_hidden * s.n_out;
    case CLRNN_B_O:
        return s.n_out;
    case CLRNN_B_I:
        return s.n_hidden;
    default:
        return 0;
    }
}

size_t clrnn__layer_n_params(clrnn_layer_shape s)
{
    size_t n = 0;
    for (int p = 0; p < CLRNN_N_PARAMS_PER_LAYER; p++)
        n += clrnn__layer_param_count(s, (clrnn_param)p);
    return n;
}

/* Sizes above this are refused: they would overflow size_t products or
 * exhaust any memory long before. */
#define CLRNN_MAX_DIM ((size_t)1 << 20)

clrnn_status clrnn__check_layers(const clrnn_layer_shape *layers, size_t n_layers, clrnn_error *err)
{
    if (n_layers == 0)
        return clrnn__fail(err, CLRNN_E_INPUT, "a model needs at least one layer");
    for (size_t l = 0; l < n_layers; l++) {
        clrnn_layer_shape s = layers[l];
        if (s.n_in == 0 || s.n_hidden == 0 || s.n_out == 0)
            return clrnn__fail(err, CLRNN_E_INPUT, "layer %zu has a size of 0 (%zu:%zu:%zu)", l + 1,
                               s.n_in, s.n_hidden, s.n_out);
        if (s.n_in > CLRNN_MAX_DIM || s.n_hidden > CLRNN_MAX_DIM || s.n_out > CLRNN_MAX_DIM)
            return clrnn__fail(err, CLRNN_E_INPUT, "layer %zu is too large (%zu:%zu:%zu)", l + 1,
                               s.n_in, s.n_hidden, s.n_out);
        if (l > 0 && s.n_in != layers[l - 1].n_out)
            return clrnn__fail(err, CLRNN_E_INPUT,
                               "layer %zu takes %zu inputs but layer %zu gives %zu outputs", l + 1,
                               s.n_in, l, layers[l - 1].n_out);
    }
    return CLRNN_OK;
}

clrnn_status clrnn_model_create(clrnn_model **out, const clrnn_layer_shape *layers, size_t n_layers,
                                clrnn_error *err)
{
    *out = NULL;
    clrnn_status st = clrnn__check_layers(layers, n_layers, err);
    if (st != CLRNN_OK)
        return st;
    clrnn_model *m = calloc(1, sizeof *m);
    if (!m)
        goto nomem;
    m->n_layers = n_layers;
    m->layers = malloc(n_layers * sizeof *m->layers);
    m->offsets = malloc(n_layers * CLRNN_N_PARAMS_PER_LAYER * sizeof *m->offsets);
    if (!m->layers || !m->offsets)
        goto nomem;
    memcpy(m->layers, layers, n_layers * sizeof *layers);
    for (size_t l = 0; l < n_layers; l++) {
        for (int p = 0; p < CLRNN_N_PARAMS_PER_LAYER; p++) {
            m->offsets[l * CLRNN_N_PARAMS_PER_LAYER + (size_t)p] = m->n_params;
            m->n_params += clrnn__layer_param_count(layers[l], (clrnn_param)p);
        }
    }
    m->params = calloc(m->n_params, sizeof *m->params);
    if (!m->params)
        goto nomem;
    *out = m;
    return CLRNN_OK;
nomem:
    clrnn_model_free(m);
    return clrnn__fail(err, CLRNN_E_NOMEM, "out of memory creating a model");
}

void clrnn_model_free(clrnn_model *model)
{
    if (!model)
        return;
    free(model->layers);
    free(model->offsets);
    free(model->params);
    free(model);
}

clrnn_status clrnn_model_clone(clrnn_model **out, const clrnn_model *model, clrnn_error *err)
{
    clrnn_status st = clrnn_model_create(out, model->layers, model->n_layers, err);
    if (st == CLRNN_OK)
        memcpy((*out)->params, model->params, model->n_params * sizeof *model->params);
    return st;
}

size_t clrnn_model_n_layers(const clrnn_model *model)
{
    return model->n_layers;
}

clrnn_layer_shape clrnn_model_layer(const clrnn_model *model, size_t layer)
{
    return model->layers[layer];
}

size_t clrnn_model_n_params(const clrnn_model *model)
{
    return model->n_params;
}

double *clrnn_model_params(clrnn_model *model)
{
    return model->params;
}

const double *clrnn_model_params_const(const clrnn_model *model)
{
    return model->params;
}

size_t clrnn_model_param_offset(const clrnn_model *model, size_t layer, clrnn_param which)
{
    return model->offsets[layer * CLRNN_N_PARAMS_PER_LAYER + (size_t)which];
}

size_t clrnn_model_param_count(const clrnn_model *model, size_t layer, clrnn_param which)
{
    return clrnn__layer_param_count(model->layers[layer], which);
}

void clrnn_model_init_uniform(clrnn_model *model, clrnn_rng *rng)
{
    /* The notebook draws each layer's tensors in table order, each filled
     * row-major by np.random.rand(rows, cols) * 2k - k: the flat layout is
     * exactly that order, so one pass per layer suffices. */
    double *w = model->params;
    for (size_t l = 0; l < model->n_layers; l++) {
        clrnn_layer_shape s = model->layers[l];
        double k = 1.0 / sqrt((double)s.n_hidden);
        size_t n = clrnn__layer_n_params(s);
        for (size_t i = 0; i < n; i++)
            *w++ = clrnn_rng_uniform(rng) * 2 * k - k;
    }
}

/* One size of "I:H:O": a positive decimal integer. */
static int parse_size(const char **p, size_t *value)
{
    if (!isdigit((unsigned char)**p))
        return 0;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(*p, &end, 10);
    if (errno || v == 0 || v > CLRNN_MAX_DIM)
        return 0;
    *value = (size_t)v;
    *p = end;
    return 1;
}

clrnn_status clrnn_parse_layers(const char *text, clrnn_layer_shape *layers, size_t *n_layers,
                                clrnn_error *err)
{
    size_t capacity = *n_layers, n = 0;
    const char *p = text;
    while (1) {
        if (n == capacity)
            return clrnn__fail(err, CLRNN_E_INPUT, "`layers` '%s': more than %zu layers", text,
                               capacity);
        clrnn_layer_shape s;
        if (!parse_size(&p, &s.n_in) || *p++ != ':' || !parse_size(&p, &s.n_hidden) ||
            *p++ != ':' || !parse_size(&p, &s.n_out))
            return clrnn__fail(err, CLRNN_E_INPUT,
                               "`layers` '%s': expected IN:HIDDEN:OUT[,IN:HIDDEN:OUT...] with "
                               "sizes from 1 to %zu, e.g. 3:16:1,1:8:1",
                               text, CLRNN_MAX_DIM);
        layers[n++] = s;
        if (*p == '\0')
            break;
        if (*p++ != ',')
            return clrnn__fail(err, CLRNN_E_INPUT, "`layers` '%s': unexpected character", text);
    }
    *n_layers = n;
    return clrnn__check_layers(layers, n, err);
}
