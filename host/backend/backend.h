/*
 * Internal: what every backend implements. clrnn_backend_* in backend.c
 * check their arguments (batch size, window starts inside the staged table,
 * shapes) and then call these operations, so an implementation may assume
 * valid input.
 */
#ifndef CLRNN_BACKEND_H
#define CLRNN_BACKEND_H

#include <stdint.h>
#include <stdio.h>

#include "clrnn.h"

typedef struct backend_ops {
    void (*destroy)(clrnn_backend *b);
    clrnn_status (*stage)(clrnn_backend *b, const double *x, const double *y, size_t n_rows,
                          clrnn_error *err);
    clrnn_status (*set_params)(clrnn_backend *b, const double *params, clrnn_error *err);
    clrnn_status (*get_params)(clrnn_backend *b, double *params, clrnn_error *err);
    /* Forward and loss over the batch; with_gradients adds BPTT and the
     * mean reduction into the gradient buffer (overwritten, not added).
     * b->batch_first says where starts lie in the staged order. */
    clrnn_status (*run_batch)(clrnn_backend *b, const uint32_t *starts, size_t n_windows,
                              int with_gradients, clrnn_error *err);
    /* step counts updates made so far, this one included (Adam's t). */
    clrnn_status (*update)(clrnn_backend *b, const clrnn_optimizer *opt, long step,
                           clrnn_error *err);
    /* Keeps a copy of a window order (validated) where the batches can
     * read it by position; NULL where the host copy (b->order) serves. */
    clrnn_status (*stage_order)(clrnn_backend *b, const uint32_t *order, size_t n,
                                clrnn_error *err);
    clrnn_status (*get_grads)(clrnn_backend *b, double *grads, clrnn_error *err);
    clrnn_status (*get_outputs)(clrnn_backend *b, size_t layer, double *y, clrnn_error *err);
    clrnn_status (*get_hidden)(clrnn_backend *b, size_t layer, double *h, clrnn_error *err);
    clrnn_status (*get_window_losses)(clrnn_backend *b, double *losses, clrnn_error *err);
    clrnn_status (*take_loss_sum)(clrnn_backend *b, double *sum, clrnn_error *err);
    /* Optimizer state (P each): m SGD's velocity or Adam's first moment;
     * v Adam's second moment, zeros for SGD. */
    clrnn_status (*get_opt_state)(clrnn_backend *b, double *m, double *v, clrnn_error *err);
    clrnn_status (*set_opt_state)(clrnn_backend *b, const double *m, const double *v,
                                  clrnn_error *err);
    /* Kernel timing (NULL where the backend has no kernels). */
    clrnn_status (*set_profiling)(clrnn_backend *b, int on, clrnn_error *err);
    clrnn_status (*kernel_times)(clrnn_backend *b, clrnn_kernel_time *times, size_t *n,
                                 clrnn_error *err);
    /* The device's measured arithmetic peak (NULL where there is none). */
    clrnn_status (*peak)(clrnn_backend *b, clrnn_peak *peak, clrnn_error *err);
    /* Waits for the work enqueued so far (NULL where the work is done as
     * it is asked: the CPU reference). */
    clrnn_status (*finish)(clrnn_backend *b, clrnn_error *err);

    /* Data parallel (exchange.h, docs/scaling.md), in three steps for one
     * rank's windows of a training batch of B (starts at b->batch_first in
     * the staged order). share_run: forward, loss and what of the backward
     * needs no other rank (the loss sum untouched). share_fold: acc, the
     * running sums of the ranks before (P gradient sums, then the batch's
     * loss sum, in the backend's real: share_real), gets this rank's
     * windows added in the order one process adds them. share_finish: the
     * batch's mean gradient and loss sum from the total, as run_batch
     * leaves them. NULL: the backend cannot be shared. */
    clrnn_status (*share_run)(clrnn_backend *b, const uint32_t *starts, size_t n, clrnn_error *err);
    clrnn_status (*share_fold)(clrnn_backend *b, void *acc, clrnn_error *err);
    clrnn_status (*share_finish)(clrnn_backend *b, const void *total, size_t B, clrnn_error *err);

    /* Model groups (b->n_models = M > 1; clrnn.h, "Model groups"). An implementation
     * that holds M models of one shape sets b->group_native in its init and
     * then: the single-model operations above act on model b->model (the
     * parameters, gradients, optimizer state and loss sum of each model its
     * own), stage_order gets the (M, n) orders, and these two run every
     * model whose active[k] is set, each as it would run alone. run_group:
     * model k's windows order[k][first .. first + n - 1]. update_group:
     * opts (M) and steps (M) per model. NULL: backend.c runs each model's
     * run_batch and update in turn. An implementation that does not set
     * group_native cannot hold a group (CLRNN_E_UNSUPPORTED). */
    clrnn_status (*run_group)(clrnn_backend *b, size_t first, size_t n, const unsigned char *active,
                              clrnn_error *err);
    clrnn_status (*update_group)(clrnn_backend *b, const clrnn_optimizer *opts, const long *steps,
                                 const unsigned char *active, clrnn_error *err);
    /* forward_group: run_batch without gradients of the same n windows at
     * starts for every active model (each model's loss sum gets its
     * window losses). NULL: backend.c runs each model's run_batch. */
    clrnn_status (*forward_group)(clrnn_backend *b, const uint32_t *starts, size_t n,
                                  const unsigned char *active, clrnn_error *err);
    /* Carried hidden state (clrnn_backend_set_stateful and what follows it
     * in clrnn.h; checked there): on makes every batch's window b start
     * layer l from the initial state h0[l][b] (zeroed when turned on);
     * carry_state sets h0[l][b], b < n, to the last step's h of window b
     * of the last batch (0 where reset[b]) where the state lives. */
    clrnn_status (*set_stateful)(clrnn_backend *b, int on, clrnn_error *err);
    clrnn_status (*set_initial_state)(clrnn_backend *b, size_t layer, const double *h0, size_t n,
                                      clrnn_error *err);
    clrnn_status (*get_initial_state)(clrnn_backend *b, size_t layer, double *h0, size_t n,
                                      clrnn_error *err);
    clrnn_status (*carry_state)(clrnn_backend *b, const unsigned char *reset, size_t n,
                                clrnn_error *err);
    /* Input attributions (clrnn_backend_input_gradients): the forward over
     * the n windows at starts, then the BPTT of every layer from a seed
     * in place of the loss gradient (dy of the top layer 1 at `output` of
     * the last step, 0 elsewhere) down to layer 0's dx, into dx (n,T,F).
     * No weight gradient, loss sum, parameter or optimizer state moves. */
    clrnn_status (*input_gradients)(clrnn_backend *b, const uint32_t *starts, size_t n,
                                    size_t output, double *dx, clrnn_error *err);
} backend_ops;

struct clrnn_backend {
    const backend_ops *ops;
    void *impl; /* the implementation's own state */

    /* Shapes, copied from the model at creation. */
    size_t n_layers;
    clrnn_layer_shape *layers; /* (n_layers) */
    size_t *layer_offset;      /* (n_layers) start of each layer's block in the flat buffer */
    size_t n_params;           /* P */
    size_t seq_len;            /* T */
    size_t max_batch;          /* largest B */
    clrnn_loss_steps loss_steps;
    clrnn_precision precision;
    clrnn_kernels kernels; /* the kernel family asked for (OpenCL) */

    /* Set by the implementation's init. */
    clrnn_backend_kind kind;
    clrnn_kernels family; /* the family that runs (AUTO on the CPU) */
    char device_name[128];

    size_t n_rows;      /* rows staged, 0 before stage() */
    size_t last_batch;  /* B of the last run_batch, 0 before any */
    uint32_t *order;    /* (n_models, n_order) the staged window orders (stage_order) */
    size_t n_order;     /* 0: none staged */
    size_t batch_first; /* for run_batch: the batch is order[batch_first ..], or
                           BACKEND_NOT_STAGED */
    int have_gradients; /* the last run_batch computed gradients */
    long *n_updates;    /* (n_models) optimizer steps since set_params, a model */
    FILE *log;          /* for long diagnostics (a build log); may be NULL */
    FILE *verbose;      /* the compiler's messages of builds that succeed; may be NULL */
    int said_compiling; /* the log has said once that kernels are being compiled */
    /* The config's tuning, no_tune_cache, tune_log, tune_verbose. */
    const char *tuning;
    int no_tune_cache;
    FILE *tune_log;
    int tune_verbose;
    char tune_source[160]; /* where the family's tunables came from, in words */
    char description[256];

    struct clrnn_exchange *exchange; /* data parallel (exchange.h); NULL alone */
    unsigned char *share_buffer;     /* (share_bytes) what crosses between ranks */
    size_t share_real;               /* bytes of a real in share_fold's sums: 4 or 8 */

    /* Model groups (clrnn_backend_config.n_models). */
    size_t n_models;  /* M, at least 1 */
    size_t model;     /* the selected model (clrnn_backend_select_model) */
    int group_native; /* the implementation holds the M models (set by its init) */
    int group_ran;    /* the last batch was a group's: no activations to read */
    int stateful;     /* clrnn_backend_set_stateful */
};

#define BACKEND_NOT_STAGED SIZE_MAX

/* Fill b->ops, b->impl and b->description; b's shapes are set. */
clrnn_status backend_cpu_init(clrnn_backend *b, clrnn_error *err);
/* device: NULL or "" for automatic choice (a GPU first), else "P.D".
 * Returns CLRNN_E_UNSUPPORTED when there is no OpenCL platform or device. */
clrnn_status backend_opencl_init(clrnn_backend *b, const char *device, clrnn_error *err);
/* The OpenCL kernel families' names (host/opencl/families.c), indexed by
 * clrnn_kernels: NULL at CLRNN_KERNELS_AUTO and past the last family. */
const char *backend_opencl_family_name(clrnn_kernels kernels);
/* The indices that table has: the families plus one (CLRNN_KERNELS_AUTO). */
size_t backend_opencl_family_slots(void);

/* clrnn tune's view of the families' tunables (family.h: ocl_tunable). */
typedef struct backend_tunable {
    const char *name, *about;
    const int *values;
    size_t n_values;
} backend_tunable;
/* Family k's tunables into out (at most max); how many it has. */
size_t backend_opencl_tunables(clrnn_kernels k, backend_tunable *out, size_t max);
/* The values b's family runs layer 0 with, "NAME=V ..." into out (size);
 * 0 where b is not an OpenCL backend. */
int backend_opencl_tuning_text(const clrnn_backend *b, char *out, size_t size);
/* Stores values ("NAME=V ...", or "FAMILY=name" for family "auto") as
 * the tuning cache's entry for b's device, precision and shape class. */
clrnn_status backend_opencl_store_tuning(const clrnn_backend *b, const char *family,
                                         const char *values, clrnn_error *err);
/* The tuning cache's file for b's device into out (size); 0 where none. */
int backend_opencl_tune_cache_path(const clrnn_backend *b, char *out, size_t size);

#endif
