/* The CPU reference of the maths in docs/model.md; see rnn_cpu.h for the legend. */
#include <math.h>
#include <string.h>

#include "reference/rnn_cpu.h"

rnn_layer_params rnn_layer_point(double *block, size_t I, size_t H, size_t O)
{
    rnn_layer_params p;
    p.W_i = block;
    p.W_h = p.W_i + I * H;
    p.W_o = p.W_h + H * H;
    p.b_o = p.W_o + H * O;
    p.b_i = p.b_o + O;
    return p;
}

void rnn_layer_forward_cpu(double *y, double *h, const double *x, const double *params, size_t B,
                           size_t T, size_t I, size_t H, size_t O)
{
    rnn_layer_forward_state_cpu(y, h, x, NULL, params, B, T, I, H, O);
}

void rnn_layer_forward_state_cpu(double *y, double *h, const double *x, const double *h0,
                                 const double *params, size_t B, size_t T, size_t I, size_t H,
                                 size_t O)
{
    rnn_layer_params p = rnn_layer_point((double *)params, I, H, O);
    for (size_t b = 0; b < B; b++) {
        for (size_t t = 0; t < T; t++) {
            const double *x_t = x + (b * T + t) * I;               /* (I) */
            const double *h_prev = t > 0 ? h + (b * T + t - 1) * H /* (H) */
                                   : h0  ? h0 + b * H
                                         : NULL;
            double *h_t = h + (b * T + t) * H; /* (H) */
            double *y_t = y + (b * T + t) * O; /* (O) */
            for (size_t j = 0; j < H; j++) {
                /* The notebook's order: (x W_i + h_{t-1} W_h) + b_i */
                double from_input = 0.0, from_hidden = 0.0;
                for (size_t i = 0; i < I; i++)
                    from_input += x_t[i] * p.W_i[i * H + j];
                if (h_prev)
                    for (size_t k = 0; k < H; k++)
                        from_hidden += h_prev[k] * p.W_h[k * H + j];
                h_t[j] = tanh(from_input + from_hidden + p.b_i[j]);
            }
            for (size_t o = 0; o < O; o++) {
                double acc = 0.0;
                for (size_t j = 0; j < H; j++)
                    acc += h_t[j] * p.W_o[j * O + o];
                y_t[o] = acc + p.b_o[o];
            }
        }
    }
}

void rnn_layer_backward_cpu(double *dparams, double *dx, double *scratch, const double *dy,
                            const double *h, const double *x, const double *params, size_t B,
                            size_t T, size_t I, size_t H, size_t O)
{
    rnn_layer_backward_state_cpu(dparams, dx, scratch, dy, h, x, NULL, params, B, T, I, H, O);
}

void rnn_layer_backward_state_cpu(double *dparams, double *dx, double *scratch, const double *dy,
                                  const double *h, const double *x, const double *h0,
                                  const double *params, size_t B, size_t T, size_t I, size_t H,
                                  size_t O)
{
    rnn_layer_params p = rnn_layer_point((double *)params, I, H, O);
    rnn_layer_params d = rnn_layer_point(dparams, I, H, O);
    double *g = scratch;          /* (H) g_t = d_t * (1 - h_t^2) */
    double *g_next = scratch + H; /* (H) g_{t+1}, 0 at t = T-1 */
    for (size_t b = 0; b < B; b++) {
        memset(g_next, 0, H * sizeof *g_next);
        for (size_t t = T; t-- > 0;) {
            const double *dy_t = dy + (b * T + t) * O; /* (O) */
            const double *h_t = h + (b * T + t) * H;   /* (H) */
            const double *x_t = x + (b * T + t) * I;   /* (I) */
            for (size_t j = 0; j < H; j++) {
                for (size_t o = 0; o < O; o++)
                    d.W_o[j * O + o] += h_t[j] * dy_t[o];
            }
            for (size_t o = 0; o < O; o++)
                d.b_o[o] += dy_t[o];
            for (size_t j = 0; j < H; j++) {
                /* d_t = dy_t W_o^T + g_{t+1} W_h^T */
                double from_output = 0.0, from_next = 0.0;
                for (size_t o = 0; o < O; o++)
                    from_output += dy_t[o] * p.W_o[j * O + o];
                for (size_t k = 0; k < H; k++)
                    from_next += g_next[k] * p.W_h[j * H + k];
                g[j] = (from_output + from_next) * (1.0 - h_t[j] * h_t[j]);
            }
            /* h_{-1} = h0 is a constant of the window: the term at t = 0
             * counts, and nothing flows into h0 (truncated BPTT). */
            const double *h_prev = t > 0 ? h + (b * T + t - 1) * H : h0 ? h0 + b * H : NULL;
            if (h_prev) {
                for (size_t k = 0; k < H; k++)
                    for (size_t j = 0; j < H; j++)
                        d.W_h[k * H + j] += h_prev[k] * g[j];
            }
            for (size_t i = 0; i < I; i++)
                for (size_t j = 0; j < H; j++)
                    d.W_i[i * H + j] += x_t[i] * g[j];
            for (size_t j = 0; j < H; j++)
                d.b_i[j] += g[j];
            if (dx) {
                double *dx_t = dx + (b * T + t) * I; /* (I) dx_t = g_t W_i^T */
                for (size_t i = 0; i < I; i++) {
                    double acc = 0.0;
                    for (size_t j = 0; j < H; j++)
                        acc += p.W_i[i * H + j] * g[j];
                    dx_t[i] = acc;
                }
            }
            memcpy(g_next, g, H * sizeof *g);
        }
    }
}

double mse_forward_cpu(double *window_loss, double *dy, const double *y, const double *target,
                       size_t B, size_t T, size_t O, clrnn_loss_steps loss_steps)
{
    size_t first = loss_steps == CLRNN_LOSS_LAST ? T - 1 : 0;
    double total = 0.0;
    for (size_t b = 0; b < B; b++) {
        double acc = 0.0;
        size_t seen = 0; /* observed loss cells: a NaN target is masked */
        for (size_t t = 0; t < T; t++) {
            for (size_t o = 0; o < O; o++) {
                size_t at = (b * T + t) * O + o;
                if (t < first || isnan(target[at])) {
                    dy[at] = 0.0;
                    continue;
                }
                double diff = y[at] - target[at];
                dy[at] = diff;
                acc += 0.5 * diff * diff;
                seen++;
            }
        }
        window_loss[b] = seen ? acc / (double)seen : 0.0;
        total += window_loss[b];
    }
    return total;
}

double clip_grad_norm_cpu(double *grads, size_t n, double max_norm)
{
    double sum = 0.0;
    for (size_t i = 0; i < n; i++)
        sum += grads[i] * grads[i];
    double norm = sqrt(sum);
    if (norm > max_norm) {
        double scale = max_norm / norm;
        for (size_t i = 0; i < n; i++)
            grads[i] *= scale;
    }
    return norm;
}

void sgd_update_cpu(double *params, double *velocity, const double *grads, size_t n, double lr,
                    double momentum)
{
    for (size_t i = 0; i < n; i++) {
        velocity[i] = momentum * velocity[i] - lr * grads[i];
        params[i] += velocity[i];
    }
}

void adam_update_cpu(double *params, double *m, double *v, const double *grads, size_t n, double lr,
                     double beta1, double beta2, double eps, double weight_decay, long step)
{
    double correction1 = 1.0 - pow(beta1, (double)step);
    double correction2 = 1.0 - pow(beta2, (double)step);
    for (size_t i = 0; i < n; i++) {
        m[i] = beta1 * m[i] + (1.0 - beta1) * grads[i];
        v[i] = beta2 * v[i] + (1.0 - beta2) * grads[i] * grads[i];
        double m_hat = m[i] / correction1;
        double v_hat = v[i] / correction2;
        params[i] -= lr * (m_hat / (sqrt(v_hat) + eps) + weight_decay * params[i]);
    }
}
