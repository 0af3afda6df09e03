/* Internal helpers on layer shapes, shared by the model and the backends. */
#ifndef CLRNN_MODEL_H
#define CLRNN_MODEL_H

#include "clrnn.h"

/* Number of values of one tensor of a layer. */
size_t clrnn__layer_param_count(clrnn_layer_shape shape, clrnn_param which);
/* Number of values of all five tensors of a layer. */
size_t clrnn__layer_n_params(clrnn_layer_shape shape);
/* Sizes > 0, not absurd, and layer l+1's n_in == layer l's n_out. */
clrnn_status clrnn__check_layers(const clrnn_layer_shape *layers, size_t n_layers,
                                 clrnn_error *err);

#endif
