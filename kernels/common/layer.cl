/*
 * The maths of one tanh RNN layer, written once for every kernel family
 * (group, tile, fused): the layout of a layer's parameter block and the
 * pieces of a step of the forward (rnn_layer_forward_cpu), the loss
 * (mse_forward_cpu) and the BPTT (rnn_layer_backward_cpu) of
 * host/reference/rnn_cpu.c; docs/model.md states the maths. Included after
 * common.cl (the precision and FP_CONTRACT OFF) in every program.
 *
 * Every sum of products here is one chain, acc = 0, acc += a_k m_k for k in
 * order, each product and each sum rounded on its own: the CPU reference's
 * order. It comes in two forms that give the same bits: dot (one element at
 * a time: the group family's work-item per unit, and every sum whose
 * operands are rows) and axpy (a rank-1 update of a whole row, the form
 * whose contiguous inner loop becomes SIMD code; summed over k in order, it
 * adds each element's terms in the same order as dot). The families differ
 * in how they walk these sums over windows and steps, not in what they sum.
 */

/* The layout of a layer's parameter block (docs/model.md): the offsets of W_i
 * (I,H), W_h (H,H), W_o (H,O), b_o (O), b_i (H), each row-major, and the
 * block's size. Gradients and optimizer state mirror it, and so do the tile
 * family's transposes (W_i^T (H,I), W_h^T (H,H), W_o^T (O,H) at the offsets
 * of W_i, W_h, W_o). Macros, so that build-time sizes give constant
 * expressions (array sizes) and any address space can use them. */
#define LAYER_W_I(I, H, O) 0
#define LAYER_W_H(I, H, O) ((I) * (H))
#define LAYER_W_O(I, H, O) (LAYER_W_H(I, H, O) + (H) * (H))
#define LAYER_B_O(I, H, O) (LAYER_W_O(I, H, O) + (H) * (O))
#define LAYER_B_I(I, H, O) (LAYER_B_O(I, H, O) + (O))
#define LAYER_N_PARAMS(I, H, O) (LAYER_B_I(I, H, O) + (H))

/* The five tensors of a layer inside its parameter block in global memory. */
typedef struct layer_params {
    __global const real *W_i, *W_h, *W_o, *b_o, *b_i;
} layer_params;

layer_params point_layer(__global const real *block, uint I, uint H, uint O);
layer_params point_layer(__global const real *block, uint I, uint H, uint O)
{
    const size_t i = I, h = H, o = O;
    layer_params p;
    p.W_i = block + LAYER_W_I(i, h, o);
    p.W_h = block + LAYER_W_H(i, h, o);
    p.W_o = block + LAYER_W_O(i, h, o);
    p.b_o = block + LAYER_B_O(i, h, o);
    p.b_i = block + LAYER_B_I(i, h, o);
    return p;
}

/*
 * Function templates. OpenCL 1.2 C has neither a generic address space nor
 * overloading, so each function below is written once, as a macro, and
 * stamped out under a suffixed name for each element type and address
 * space that a family uses. T is the type of an activation: real, or a
 * vector of 8 or 16 windows (the lanes of rnn_forward_tile_lanes and of
 * rnn_fused: weights are scalars, broadcast) or of hidden units (the tile
 * family's _vec kernels). The scalar instances are at the end of this file;
 * a family stamps out its vector ones after its typedefs. Suffixes: v a
 * vector of windows, j a vector of units; then the address spaces of the
 * operands, g global, l local, p private.
 */

/* The elementwise maths of a step. */
#define RNN_STEP_VALUES(S, T)                                                                    \
    /* h_t = tanh(z_t), z_t = (x_t W_i + h_{t-1} W_h) + b_i: rnn_layer_forward_cpu */             \
    T hidden_value##S(const T from_input, const T from_hidden, const T b_i);                     \
    T hidden_value##S(const T from_input, const T from_hidden, const T b_i)                      \
    {                                                                                            \
        return tanh(from_input + from_hidden + b_i);                                             \
    }                                                                                            \
    /* dy = y - target, *loss += dy^2 / 2 and *seen += 1: mse_forward_cpu. */                    \
    /* A NaN target is a masked cell: dy = 0, and neither sum moves (adding */                   \
    /* exactly 0, so that a table without one gives the same bits). */                          \
    T loss_term##S(T *loss, T *seen, const T y, const T target);                                 \
    T loss_term##S(T *loss, T *seen, const T y, const T target)                                  \
    {                                                                                            \
        const T diff = isnan(target) ? (T)0 : y - target;                                        \
        *loss += (real)0.5 * diff * diff;                                                        \
        *seen += isnan(target) ? (T)0 : (T)1;                                                    \
        return diff;                                                                             \
    }                                                                                            \
    /* A window's loss: its sum over the observed loss cells divided by */                      \
    /* their count, 0 when there is none (mse_forward_cpu). */                                   \
    T window_loss_value##S(const T loss, const T seen);                                          \
    T window_loss_value##S(const T loss, const T seen)                                           \
    {                                                                                            \
        return loss / fmax(seen, (T)1);                                                          \
    }                                                                                            \
    /* g_t = d_t (1 - h_t^2), d_t = dy_t W_o^T + g_{t+1} W_h^T: rnn_layer_backward_cpu */         \
    T bptt_value##S(const T from_output, const T from_next, const T h);                          \
    T bptt_value##S(const T from_output, const T from_next, const T h)                           \
    {                                                                                            \
        return (from_output + from_next) * (1 - h * h);                                          \
    }

/* A hint before the loops of the templates below, expanded where a family
 * stamps them out: empty, or (a family of small build-time sizes, which
 * redefines it first) _Pragma("unroll"), so that loops of constant length
 * unroll and their private arrays live in registers. Only the schedule
 * changes, never the order of the operations. */
#ifndef RNN_LOOP_HINT
#define RNN_LOOP_HINT
#endif

/* acc[j] += a m[j], j = 0..n-1 in order: a rank-1 update of a row (m of
 * element type M_T in M_SPACE; acc private). */
#define RNN_AXPY(S, T, M_T, M_SPACE)                                                             \
    void axpy##S(T *acc, const T a, M_SPACE const M_T *m, const uint n);                         \
    void axpy##S(T *acc, const T a, M_SPACE const M_T *m, const uint n)                          \
    {                                                                                            \
        RNN_LOOP_HINT for (uint j = 0; j < n; j++)                                               \
            acc[j] += a * m[j];                                                                  \
    }

/* sum_k a[k] m[k stride], k = 0..n-1 in order, from 0: one element of a
 * product (a column of a row-major matrix with stride its row length, a
 * row with stride 1); and a step's output y_o = h W_o[:,o] + b_o[o]
 * (rnn_layer_forward_cpu). a in A_SPACE, the weights in M_SPACE. */
#define RNN_DOT(S, T, A_SPACE, M_SPACE)                                                          \
    T dot##S(A_SPACE const T *a, M_SPACE const real *m, const size_t stride, const uint n);      \
    T dot##S(A_SPACE const T *a, M_SPACE const real *m, const size_t stride, const uint n)       \
    {                                                                                            \
        T acc = 0;                                                                               \
        RNN_LOOP_HINT for (uint k = 0; k < n; k++)                                               \
            acc += a[k] * m[k * stride];                                                         \
        return acc;                                                                              \
    }                                                                                            \
    T output_value##S(A_SPACE const T *h, M_SPACE const real *W_o, M_SPACE const real *b_o,      \
                      const uint o, const uint H, const uint O);                                 \
    T output_value##S(A_SPACE const T *h, M_SPACE const real *W_o, M_SPACE const real *b_o,      \
                      const uint o, const uint H, const uint O)                                  \
    {                                                                                            \
        return dot##S(h, W_o + o, O, H) + b_o[o];                                                \
    }

/* The hidden step of one window, or of a vector of windows, in the row
 * form at build-time sizes I, H: h_t = hidden_value(x_t W_i, h_{t-1} W_h,
 * b_i), h_{t-1} W_h = 0 at the first step (h_prev then unread). h_t may be
 * h_prev: both sums are complete before h_t is written. x_t, h_prev, h_t
 * private; always inlined, so that its private arrays stay in registers
 * (PoCL calls what it does not inline, and a private array behind a
 * pointer is not vectorised). Needs axpy##S and hidden_value##V. */
#define RNN_HIDDEN_STEP(S, V, T, W_SPACE, I, H)                                                  \
    void hidden_step##S(T *h_t, const T *x_t, const T *h_prev, const int first_step,             \
                        W_SPACE const real *W_i, W_SPACE const real *W_h,                        \
                        W_SPACE const real *b_i) __attribute__((always_inline));                 \
    void hidden_step##S(T *h_t, const T *x_t, const T *h_prev, const int first_step,             \
                        W_SPACE const real *W_i, W_SPACE const real *W_h,                        \
                        W_SPACE const real *b_i)                                                 \
    {                                                                                            \
        T from_input[H], from_hidden[H];                                                         \
        RNN_LOOP_HINT for (int j = 0; j < (H); j++)                                              \
            from_input[j] = from_hidden[j] = 0;                                                  \
        RNN_LOOP_HINT for (int i = 0; i < (I); i++)                                              \
            axpy##S(from_input, x_t[i], W_i + i * (H), H);                                       \
        if (!first_step)                                                                         \
            RNN_LOOP_HINT for (int k = 0; k < (H); k++)                                          \
                axpy##S(from_hidden, h_prev[k], W_h + k * (H), H);                               \
        RNN_LOOP_HINT for (int j = 0; j < (H); j++)                                              \
            h_t[j] = hidden_value##V(from_input[j], from_hidden[j], b_i[j]);                     \
    }

/* The N lanes' values at row[w] + offset, w = 0..N-1, as one vector of
 * type T (VLOAD: vload8 or vload16): N windows' inputs or targets. */
#define RNN_GATHER(S, T, N, VLOAD)                                                               \
    T gather##S(__global const real *const row[N], const size_t offset);                         \
    T gather##S(__global const real *const row[N], const size_t offset)                          \
    {                                                                                            \
        real lane[N];                                                                            \
        RNN_LOOP_HINT for (int w = 0; w < (N); w++)                                              \
            lane[w] = row[w][offset];                                                            \
        return VLOAD(0, lane);                                                                   \
    }

/* The scalar instances: hidden_value, loss_term, window_loss_value,
 * bptt_value; axpy_g (a row in global memory); dot_gg, dot_lg, dot_pg and
 * output_value_* (a in global, local or private memory, weights global). */
RNN_STEP_VALUES(, real)
RNN_AXPY(_g, real, real, __global)
RNN_DOT(_gg, real, __global, __global)
RNN_DOT(_lg, real, __local, __global)
RNN_DOT(_pg, real, __private, __global)
