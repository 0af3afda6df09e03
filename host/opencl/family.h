/*
 * Internal: a kernel family, the one seam between the OpenCL backend
 * (backend_opencl.c) and a family's host file (family_<name>.c, with its
 * kernels in kernels/<name>/). The backend owns the device, the shared
 * buffers and program (runtime.h) and does everything that is the same for
 * every family: it chooses the family (misfit, suitability), stages the
 * table and the window starts, flushes the queue after a training batch,
 * takes the optimizer step with the shared kernels, reads the buffers back,
 * and settles a family's deferred step before anything that needs it. A
 * family builds its programs and kernels and runs a batch.
 *
 * To add a family: one host file defining an ocl_family, one kernels
 * folder, one entry in families.c (and one enumerator of clrnn_kernels),
 * one line in tests/opencl/tests.cmake. Its build-time tunables, if it
 * has any, are a table of ocl_tunable (below) that it names here; `clrnn
 * tune` searches them and the tuning cache remembers the winners.
 */
#ifndef CLRNN_OPENCL_FAMILY_H
#define CLRNN_OPENCL_FAMILY_H

#include "opencl/runtime.h"

/*
 * A build-time tunable (CLBlast's tuning parameters): a choice that changes
 * a family's speed on a device and never its results beyond the parity
 * tolerances, passed to the family's programs as -DNAME=value (or used for
 * its launches). Its value for a layer is, in order of precedence, the one
 * `clrnn tune` is trying (the backend config's `tuning`), the tuning
 * cache's for the model's shape class, or derive's, which reads only what
 * the device reports (native vector widths, compute units, local memory,
 * work-group limits: ocl_state), never an assumed instruction set. The
 * values are derived in table order, so derive may read the ones before
 * (values[0 .. index-1], overrides applied).
 */
typedef struct ocl_tunable {
    const char *name;  /* the -D name, and the cache's */
    const char *about; /* one line for clrnn tune --help and the docs */
    const int *values; /* the values clrnn tune searches, in that order */
    size_t n_values;
    int (*derive)(const clrnn_backend *b, const ocl_state *s, size_t layer, const int *values);
} ocl_tunable;

typedef struct ocl_family {
    /* --kernels NAME, "NAME kernels" in the description. */
    const char *name;
    /* Why the family cannot run the model (NULL: it can); NULL: it runs any. */
    const char *(*misfit)(const clrnn_backend *b);
    /* The error where the family is asked for and misfits: a format that
     * takes misfit's reason. */
    const char *refusal;
    /* How well the family suits the device and the model, for the automatic
     * choice: the highest score among the families that fit wins, 0 is
     * never chosen automatically. s has the device (cpu_device) only. */
    int (*suitability)(const clrnn_backend *b, const ocl_state *s);
    /* The family whose batches without gradients this one runs (by name),
     * NULL for its own. The backend sets both up; `self` below is always
     * the state of the family called. */
    const char *forward_family;
    /* Sources the family adds to the shared program (kernels that need no
     * build-time sizes: one build) after kernels/common/common.cl, and the
     * kernels of them it creates in init; their profiling comes before the
     * shared kernels'. */
    const char *const *shared_files;
    size_t n_shared_files;
    const char *const *shared_program_kernels;
    size_t n_shared_program_kernels;

    /* Builds its programs, creates its kernels, sizes its launches and
     * allocates its own buffers; the shared program and buffers exist. On
     * failure *self may hold a partial state, which destroy releases. */
    clrnn_status (*init)(clrnn_backend *b, ocl_state *s, void **self, clrnn_error *err);
    /* Releases what init made (self may be NULL or partial). */
    void (*destroy)(clrnn_backend *b, void *self);
    /* Queues one batch of B windows whose starts s->batch_starts holds:
     * forward and the loss (window losses and loss_sum); with_gradients
     * BPTT and the mean gradient in s->grads. Families with a
     * forward_family get only with_gradients. */
    clrnn_status (*run_batch)(clrnn_backend *b, ocl_state *s, void *self, size_t B,
                              int with_gradients, clrnn_error *err);

    /* A family that finishes a training batch later (NULL: none does):
     * settle queues the waiting step on its own (nothing when none waits);
     * keeps_update, after a training batch, says whether the family keeps
     * this update to take with that step (NULL: never); takes_waiting_step
     * whether its next training batch of B windows takes a waiting step
     * itself (NULL: never). The backend settles before everything else. */
    clrnn_status (*settle)(clrnn_backend *b, ocl_state *s, void *self, clrnn_error *err);
    int (*keeps_update)(clrnn_backend *b, void *self, const clrnn_optimizer *opt, long step);
    int (*takes_waiting_step)(const clrnn_backend *b, const void *self, size_t B);

    /* Data parallel (backend_opencl.c): the backend has spread a shared
     * batch's total over the chunks' sums and the window losses; this
     * leaves the batch waiting as the family's own training batch of B
     * windows would (NULL: the backend finishes it with grad_finish and
     * loss_accumulate); B = 0 after a rank's own share ran: nothing of it
     * waits. */
    void (*share_waits)(clrnn_backend *b, void *self, size_t B);

    /* out (B,T,N) <- a per-layer tensor (h or y) of the last batch, which
     * this family ran; NULL: the buffer holds (B,T,N) as it is. */
    clrnn_status (*read_activations)(clrnn_backend *b, ocl_state *s, void *self, double *out,
                                     cl_mem buffer, size_t N, const char *name, clrnn_error *err);
    /* Windows a tile where the family writes h lane-major (state.cl's
     * carry_state reads the last step there); NULL: (B,T,H). */
    size_t (*activation_lanes)(const clrnn_backend *b, const void *self);

    /* Its tunables (NULL, 0: none), and why a set of values (one per
     * tunable, in table order) cannot run layer l (NULL: it can; NULL
     * function: any set can). A set given for the model that misfits a
     * layer is refused where clrnn tune gave it, and gives way to the
     * derived values where it came from the cache. */
    const ocl_tunable *tunables;
    size_t n_tunables;
    const char *(*tuning_misfit)(const clrnn_backend *b, const ocl_state *s, size_t layer,
                                 const int *values);

    /* Model groups (runtime.h: ocl_group; NULL: the family has no model
     * dimension: the group runs each model's batch in turn). run_group queues the
     * training batch of every active model of s->group (its rows in
     * g->active), model k's B windows at order[k n_order + first ..]: the
     * mean gradients and loss sums as run_batch leaves them, no step and
     * nothing waiting (ocl_group_finish finishes chunk sums laid out as
     * the group's partial). step_group queues every active model's
     * clipping and optimizer step (g->args, written); NULL: the shared
     * ocl_group_step. The family never defers a step in a group. */
    clrnn_status (*run_group)(clrnn_backend *b, ocl_state *s, void *self, size_t first, size_t B,
                              clrnn_error *err);
    clrnn_status (*step_group)(clrnn_backend *b, ocl_state *s, void *self, int clips,
                               clrnn_error *err);
    /* A group's batch without gradients (NULL: each model's run_batch in
     * turn): queues the forward and the loss of the B windows at
     * s->batch_starts for every active model of s->group (g->active), each
     * model's window losses added to its loss sum (ocl_group_add_losses),
     * bitwise as its run_batch without gradients alone. */
    clrnn_status (*forward_group)(clrnn_backend *b, ocl_state *s, void *self, size_t B,
                                  clrnn_error *err);
    /* Input attributions (backend.h: input_gradients): queues the forward
     * of B windows (s->batch_starts), ocl_seed_outputs, then the BPTT of
     * every layer from the top, layer 0 writing its dx into dx (B,T,F); no
     * weight gradient and no loss sum (a top layer's kernel that adds the
     * loss adds it to share_loss_scratch). NULL: its forward family's. */
    clrnn_status (*input_gradients)(clrnn_backend *b, ocl_state *s, void *self, size_t B,
                                    size_t output, cl_mem dx, clrnn_error *err);
} ocl_family;

/* The families (families.c), indexed by clrnn_kernels: NULL at
 * CLRNN_KERNELS_AUTO and past the last. */
const ocl_family *ocl_family_at(clrnn_kernels kernels);
/* The index of the family called name, 0 (CLRNN_KERNELS_AUTO) for none. */
clrnn_kernels ocl_family_named(const char *name);

/* Layer l's values of f's tunables (values: f->n_tunables): the derived
 * ones with s->tuning's given for f applied; where those misfit the layer,
 * CLRNN_E_INPUT if they are clrnn tune's, else the derived ones alone. */
clrnn_status ocl_layer_tuning(const clrnn_backend *b, const ocl_state *s, const ocl_family *f,
                              size_t layer, int *values, clrnn_error *err);
/* Appends " -DNAME=value" for each of f's tunables to options (size). */
void ocl_tuning_options(char *options, size_t size, const ocl_family *f, const int *values);
/* "NAME=value NAME=value" (spaces or commas between) into tuning: names
 * and values must be f's; 0 and a reason in why (size) where not. */
int ocl_tuning_parse(const ocl_family *f, const char *text, ocl_tuning *tuning, char *why,
                     size_t size);
/* values as "NAME=value ..." into out (size). */
void ocl_tuning_format(char *out, size_t size, const ocl_family *f, const int *values);

#endif
