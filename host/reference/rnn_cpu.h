/*
 * The CPU reference: plain C in double precision, one function per layer and
 * direction, the oracle every OpenCL kernel is checked against. Each kernel
 * in kernels/ names the _cpu function it mirrors.
 *
 * Legend: B = windows in the batch, T = steps per window, I = n_in,
 * H = n_hidden, O = n_out. A layer's parameters are the 5 tensors of
 * clrnn_param in one contiguous block (W_i (I,H), W_h (H,H), W_o (H,O),
 * b_o (O), b_i (H)). Outputs come first in argument lists, then inputs,
 * then sizes; backward functions ADD into d-prefixed gradients.
 */
#ifndef CLRNN_RNN_CPU_H
#define CLRNN_RNN_CPU_H

#include <stddef.h>

#include "clrnn.h"

/* Pointers to the five tensors of one layer inside a parameter block. */
typedef struct rnn_layer_params {
    double *W_i, *W_h, *W_o, *b_o, *b_i;
} rnn_layer_params;

rnn_layer_params rnn_layer_point(double *block, size_t I, size_t H, size_t O);

/* y (B,T,O), h (B,T,H) <- x (B,T,I):
 *   h_t = tanh(x_t W_i + h_{t-1} W_h + b_i),  y_t = h_t W_o + b_o,  h_{-1} = 0 */
void rnn_layer_forward_cpu(double *y, double *h, const double *x, const double *params, size_t B,
                           size_t T, size_t I, size_t H, size_t O);

/* rnn_layer_forward_cpu from an initial state: h_{-1} = h0[b] (B,H) for
 * window b instead of 0 (carried hidden state, truncated BPTT); h0 NULL:
 * rnn_layer_forward_cpu itself. */
void rnn_layer_forward_state_cpu(double *y, double *h, const double *x, const double *h0,
                                 const double *params, size_t B, size_t T, size_t I, size_t H,
                                 size_t O);

/* Reverse-time BPTT of a layer over B windows. Adds the gradients of all
 * windows into dparams (same block layout as params) and, when dx is not
 * NULL, writes dx (B,T,I), the gradient passed to the layer below.
 * dy (B,T,O) is dL/dy; scratch holds 2H doubles. */
void rnn_layer_backward_cpu(double *dparams, double *dx, double *scratch, const double *dy,
                            const double *h, const double *x, const double *params, size_t B,
                            size_t T, size_t I, size_t H, size_t O);

/* rnn_layer_backward_cpu for windows that started from h0 (B,H) (NULL: 0):
 * dW_h gets g_0 h0^T at t = 0; no gradient flows into h0. */
void rnn_layer_backward_state_cpu(double *dparams, double *dx, double *scratch, const double *dy,
                                  const double *h, const double *x, const double *h0,
                                  const double *params, size_t B, size_t T, size_t I, size_t H,
                                  size_t O);

/* Window losses (B) and the loss gradient dy (B,T,O) from predictions y and
 * targets (B,T,O). With loss_steps ALL, a window's loss is the mean over T
 * and O of 0.5 (y - target)^2 and dy = y - target (the gradient of the sum,
 * as the notebook's mse_grad); with LAST only step T-1 counts and dy is 0
 * elsewhere. Returns the sum of the window losses. */
double mse_forward_cpu(double *window_loss, double *dy, const double *y, const double *target,
                       size_t B, size_t T, size_t O, clrnn_loss_steps loss_steps);

/* Scales grads (n) so that their L2 norm is at most max_norm; returns the
 * norm before scaling. */
double clip_grad_norm_cpu(double *grads, size_t n, double max_norm);

/* SGD in the notebook's momentum form: v = momentum v - lr g; w += v. */
void sgd_update_cpu(double *params, double *velocity, const double *grads, size_t n, double lr,
                    double momentum);

/* Adam with bias correction after `step` steps (step >= 1), decoupled
 * weight decay: w -= lr (m_hat / (sqrt(v_hat) + eps) + weight_decay w). */
void adam_update_cpu(double *params, double *m, double *v, const double *grads, size_t n, double lr,
                     double beta1, double beta2, double eps, double weight_decay, long step);

#endif
