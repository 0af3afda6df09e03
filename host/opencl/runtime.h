/*
 * Internal: the OpenCL machinery every kernel family runs on (runtime.c):
 * the device, its in-order queue and the buffers all families share,
 * program builds, kernel arguments, launches and their profiling, host
 * transfers, and the shared program's kernels (kernels/common/: the
 * gradient's last reduction, the loss sum, clipping, the optimizers).
 *
 * Legend: B = windows in a batch, T = steps, R = staged rows, F = features,
 * K = targets, P = parameters; layer l has (I_l, H_l, O_l). Device buffers
 * hold `real` (float or double, as the precision says); the host API speaks
 * double and converts.
 */
#ifndef CLRNN_OPENCL_RUNTIME_H
#define CLRNN_OPENCL_RUNTIME_H

#include "opencl/cl_api.h"
#include <stdint.h>

#include "backend/backend.h"

/* Windows per chunk of the first reduction stage (reduce.cl, and a
 * work-item of rnn_fused): enough work per work-item to amortise it, enough
 * chunks to fill a device. Fixed, so the summation order, and so the bits,
 * do not depend on the device. */
#define WINDOWS_PER_CHUNK 32
/* The batch buffers (h, y, dy, window losses) hold B rounded up to a
 * multiple of this: the most windows a family runs as the vector lanes of
 * one tile (rnn_fused's 16), and it writes whole tiles. */
#define BATCH_PADDING 16

/* Parameters per slice of the clipping norm's first stage. */
#define PARAMS_PER_SLICE 1024

/* The shared program's kernels (kernels/common/), in this order. */
enum {
    K_GRAD_FINISH,
    K_MSE,
    K_LOSS_ACC,
    K_SGD,
    K_ADAM,
    K_SUMSQ,
    K_CLIP_SCALE,
    K_SCALE_GRADS,
    K_SHARE_FOLD,
    K_SHARE_SPREAD,
    K_CARRY_STATE,
    K_GROUP_FINISH,
    K_GROUP_CLIP,
    K_GROUP_STEP,
    N_SHARED_KERNELS
};

/* Kernel names the profiling keeps apart (all families' kernels). */
#define MAX_KERNEL_SLOTS 32

/* A family's build-time tunables (family.h: ocl_tunable), at most this
 * many, and families with tunings, at most this many (clrnn_kernels). */
#define OCL_MAX_TUNABLES 16
#define OCL_MAX_FAMILIES 8

/* Values for a family's tunables that override the device-derived ones
 * (given[t]), from `clrnn tune`'s candidate or the tuning cache; one set
 * for every layer, each layer checked (ocl_layer_tuning). */
typedef struct ocl_tuning {
    int given[OCL_MAX_TUNABLES];
    int value[OCL_MAX_TUNABLES];
    int from_cache; /* else the backend config's (clrnn tune) */
} ocl_tuning;

/*
 * Private memory. PoCL 3.1's pthread device runs a work-group on one worker
 * thread, with every work-item's private arrays on that thread's stack at
 * once. Its workers get pthread_create's default stack: glibc takes the
 * soft RLIMIT_STACK (8 MiB on Debian), 2 MiB where that is unlimited.
 * Measured: the tile family's forward at n_hidden 256 (4 windows a
 * work-item, 8 KiB of arrays) crashed past about 1,000 work-items a group,
 * the 8 MiB. So on a CPU device a work-group's private memory is held to
 * half the smallest of those stacks, the rest for the frames of the kernel
 * and of PoCL; and a work-item's everywhere to NVIDIA's limit of local
 * memory a thread (512 KiB), past which a launch fails. PoCL 3.1 answers
 * CL_KERNEL_PRIVATE_MEM_SIZE with a fixed 1 KiB, whatever the kernel holds,
 * so a family counts its kernels' arrays itself (ocl_bound_private).
 */
#define CPU_GROUP_PRIVATE_MAX (1024 * 1024)
#define ITEM_PRIVATE_MAX (512 * 1024)

/* A kernel and its profiling slot, which it shares with every kernel of its
 * name (the tile family builds one per layer shape), and what bounds its
 * work-groups. */
typedef struct ocl_kernel {
    cl_kernel kernel;
    int slot;
    size_t max_group;     /* CL_KERNEL_WORK_GROUP_SIZE, within the device's first dimension */
    size_t private_bytes; /* a work-item's: the device's figure or the family's count */
} ocl_kernel;

typedef struct ocl_state {
    cl_device_id device;
    cl_context context;
    cl_command_queue queue;
    int cpu_device; /* CL_DEVICE_TYPE_CPU */
    int gpu_device; /* CL_DEVICE_TYPE_GPU (Oclgrind reports both) */
    size_t compute_units;
    size_t max_item_size[3]; /* CL_DEVICE_MAX_WORK_ITEM_SIZES */
    size_t real_size;        /* 4 or 8 */
    size_t max_local_mem;    /* bytes */
    size_t max_alloc;        /* bytes in one buffer */
    cl_uint native_width[2]; /* CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT, _DOUBLE */
    size_t max_group;        /* CL_DEVICE_MAX_WORK_GROUP_SIZE */
    /* Tunable values by family (clrnn_kernels), where any are given. */
    ocl_tuning tuning[OCL_MAX_FAMILIES];
    FILE *tune_log; /* the backend config's: where the tuning's source is said */
    int tune_verbose;
    cl_program program; /* the shared program */
    ocl_kernel kernels[N_SHARED_KERNELS];

    cl_mem x_table, y_table; /* (R,F), (R,K) */
    cl_mem starts;           /* (max B) */
    cl_mem order;            /* (order_capacity) the staged window order */
    size_t order_capacity;
    cl_mem batch_starts; /* the batch's: starts, or order at batch_offset */
    size_t batch_offset;
    uint32_t *starts_host[2]; /* (max B) each: the host side of the last two writes */
    cl_event starts_written[2];
    int starts_slot;

    cl_mem params, grads, opt_m, opt_v; /* (P) each */
    cl_mem *h, *y, *dy;                 /* per layer: (B,T,H_l), (B,T,O_l), (B,T,O_l),
                                           B rounded up to BATCH_PADDING */
    cl_mem g;                           /* (B,T,max H) scratch of backward */
    cl_mem partial;                     /* (max chunks, P) */
    cl_mem window_loss;                 /* (B rounded up to BATCH_PADDING) */
    cl_mem loss_sum;                    /* (2) sum and Kahan compensation */
    cl_mem norm_partial;                /* (slices) */
    cl_mem clip;                        /* (2) norm, scale */
    size_t n_slices;
    /* Data parallel (backend_opencl.c: share_run): the running sums (P + 1);
     * partials_only asks a training batch for its chunks' sums alone (no
     * mean), its loss added to share_loss_scratch instead of loss_sum. */
    cl_mem share_acc, share_loss_scratch;
    int partials_only;
    size_t share_windows;
    /* Carried hidden state (backend_opencl.c, state.cl): with stateful,
     * window b of a batch starts layer l from h0[l][b]; NULL until the
     * backend is first made stateful, so the default path allocates and
     * passes nothing of it (its kernels get has_h0 = 0). */
    int stateful;
    cl_mem *h0;           /* per layer: (B, H_l), B rounded up to BATCH_PADDING */
    cl_mem state_reset;   /* (B) uint: carry_state's resets */
    uint32_t *reset_host; /* (B) the host side of state_reset */
    void *host;           /* conversion scratch: host_size reals */
    size_t host_size;

    /* Profiling (clrnn bench): launches' events until harvested, and the
     * totals per kernel name (slot), in the order the names were met. */
    int profiling;
    cl_event *pending;
    int *pending_slot;
    size_t n_pending, pending_capacity;
    const char *slot_name[MAX_KERNEL_SLOTS];
    double slot_seconds[MAX_KERNEL_SLOTS];
    size_t slot_launches[MAX_KERNEL_SLOTS];
    size_t n_slots;
    size_t base_align;       /* bytes: CL_DEVICE_MEM_BASE_ADDR_ALIGN, a sub-buffer's origin */
    struct ocl_group *group; /* a model group's buffers (backend_opencl.c); NULL alone */
} ocl_state;

/* ---------------------------------------------------------- model groups */

/* A model's row of a group's optimizer arguments (rnn_fused.cl's
 * GROUP_ARGS): kind, lr, momentum, beta1, beta2, eps, weight_decay,
 * correction1, correction2, active, clip_norm. */
#define OCL_GROUP_ARGS 11
#define OCL_GROUP_SLOTS 8
/* Parameters a work-item of a group's finish and step takes (common/
 * group.cl: GROUP_BLOCK). */
#define OCL_GROUP_BLOCK 32
/* A group of M models of one shape on a family with the model as a grid
 * dimension (clrnn_backend_config.n_models, family.h: run_group): model
 * k's parameters, gradients, optimizer state and loss sum lie at k times
 * their stride in one buffer each, and a sub-buffer of each (views[k])
 * serves the model's own operations (s->params, ... are the selected
 * model's views); a group launch's batch buffers likewise, at their
 * strides; `active` and `args` the models' rows. */
typedef struct ocl_model_views {
    cl_mem params, grads, opt_m, opt_v, loss_sum;
} ocl_model_views;
typedef struct ocl_group {
    size_t M, current;
    size_t stride_p, stride_loss; /* reals; sub-buffer origins aligned */
    size_t stride_partial, stride_window;
    cl_mem params, grads, opt_m, opt_v, loss_sum; /* (M, stride) */
    cl_mem partial, window_loss;                  /* (M, stride); no activations kept */
    cl_mem active, args;                          /* (M, OCL_GROUP_ARGS) */
    cl_mem clip;                                  /* (M, 2) norm and scale */
    ocl_model_views *views;                       /* (M) */
    /* The host side of the last row writes (M, OCL_GROUP_ARGS reals each),
     * a slot reused once its write is done: enough that the host runs a
     * few steps ahead of the device; and what each buffer last got. */
    void *host[OCL_GROUP_SLOTS];
    cl_event written[OCL_GROUP_SLOTS];
    int slot;
    double *last_active, *last_args; /* (M, OCL_GROUP_ARGS); NaN before the first write */
} ocl_group;

/* A group's activations, for a family with the model as a grid dimension
 * that keeps them (family.h: run_group): every model's, a slice of
 * model_windows windows each, (M, model_windows, T, N): per layer h (N =
 * H_l), y and dy (O_l), and the BPTT's g (the largest H); model k's slice
 * of a layer's tensor at k model_windows T N. */
typedef struct ocl_group_activations {
    cl_mem *h, *y, *dy; /* (n_layers) */
    cl_mem g;
    size_t model_windows, n_layers;
} ocl_group_activations;
/* Allocates them (model_windows: the padded batch; g only with_g, else
 * NULL), refused before any is allocated, saying how many models fit,
 * where the device's memory cannot hold them with the group's own buffers
 * and extra_reals more a model (the family's own), or its largest buffer
 * cannot hold one of them (family: its name in the message). */
clrnn_status ocl_make_group_activations(const clrnn_backend *b, ocl_state *s, const char *family,
                                        int with_g, size_t extra_reals, ocl_group_activations *a,
                                        clrnn_error *err);
/* Releases what it made (and accepts what it did not). */
void ocl_release_group_activations(ocl_group_activations *a);

/* Where a group launch's windows are: model k's at order[k stride +
 * offset ..] (a training batch: each model's own order; a batch without
 * gradients: the same starts for all, stride 0). */
typedef struct ocl_group_windows {
    cl_mem order;
    size_t stride, offset;
} ocl_group_windows;

static inline ocl_group_windows ocl_own_orders(const clrnn_backend *b, const ocl_state *s,
                                               size_t first)
{
    ocl_group_windows w = {s->order, b->n_order, first};
    return w;
}

static inline ocl_group_windows ocl_same_starts(const ocl_state *s)
{
    ocl_group_windows w = {s->batch_starts, 0, s->batch_offset};
    return w;
}

/* n reals rounded up to whole sub-buffer alignments: a group's stride. */
static inline size_t ocl_group_stride(const ocl_state *s, size_t n)
{
    size_t align = s->base_align ? s->base_align : s->real_size;
    return (n * s->real_size + align - 1) / align * align / s->real_size;
}

static inline size_t round_up(size_t n, size_t multiple)
{
    return (n + multiple - 1) / multiple * multiple;
}

/* B of the batch buffers: the largest batch rounded up to BATCH_PADDING. */
static inline size_t padded_batch(const clrnn_backend *b)
{
    return round_up(b->max_batch, BATCH_PADDING);
}

/* Chunks of the first reduction stage (and of rnn_fused) in a batch of B. */
static inline size_t chunks_of(size_t B)
{
    return (B + WINDOWS_PER_CHUNK - 1) / WINDOWS_PER_CHUNK;
}

/* ------------------------------------------------------ kernel arguments */

/* Sets kernel arguments in order; the first failure sticks in rc. */
typedef struct kernel_args {
    cl_kernel kernel;
    int slot;                        /* for messages and profiling */
    size_t max_group, private_bytes; /* as in ocl_kernel, for the local size */
    const ocl_state *s;
    cl_uint next;
    cl_int rc;
} kernel_args;

static inline kernel_args args_for(const ocl_state *s, ocl_kernel k)
{
    kernel_args a = {k.kernel, k.slot, k.max_group, k.private_bytes, s, 0, CL_SUCCESS};
    return a;
}

void arg_mem(kernel_args *a, cl_mem m);
void arg_uint(kernel_args *a, size_t value);
/* A real in the device's precision. */
void arg_real(kernel_args *a, double value);
/* The batch's window start rows: the buffer and the offset into it. */
void arg_starts(kernel_args *a, const ocl_state *s);
/* Local memory of so many bytes. */
void arg_local(kernel_args *a, size_t bytes);
/* Layer l's initial states and has_h0: h0[l] and 1 when stateful, else
 * an unread buffer and 0. */
void arg_h0(kernel_args *a, const ocl_state *s, size_t l);

/* Launches the kernel whose arguments `a` set, with the local size the
 * host chose (every launch has one: left to itself PoCL makes one group of
 * up to 4096 work-items, whose private arrays overflow its worker's stack);
 * global a multiple of it in each dimension. */
clrnn_status ocl_launch(ocl_state *s, const kernel_args *a, cl_uint dims, const size_t *global,
                        const size_t *local, clrnn_error *err);
/* The largest work-group of at most `wanted` work-items (at least 1) the
 * kernel, the device's first dimension and, on a CPU device, the group's
 * private memory (CPU_GROUP_PRIVATE_MAX) allow. */
size_t ocl_group_size(const ocl_state *s, const kernel_args *a, size_t wanted);
/* A 1-D launch of n work-items, one per element, rounded up to whole groups
 * of up to 64: for kernels whose work-items past n do nothing. */
clrnn_status ocl_launch_1d(ocl_state *s, const kernel_args *a, size_t n, clrnn_error *err);
/* A 1-D launch of exactly n work-items, in groups of the largest divisor of
 * n up to `wanted`: for kernels that do not check their id against n. */
clrnn_status ocl_launch_exact_1d(ocl_state *s, const kernel_args *a, size_t n, size_t wanted,
                                 clrnn_error *err);
/* The local size of n work-items on a CPU device's `units` compute units,
 * groups of at most `limit`: the one whose busiest unit takes the fewest
 * work-items when the groups are dealt out evenly (a padded work-item
 * still computes); of equal ones the smallest that makes at most 8 groups
 * a unit. */
size_t ocl_cpu_group_size(size_t n, size_t limit, size_t units);
/* A 1-D launch of n work-items that each compute alone and write nothing
 * past n (the tile family's windows): on a CPU device in groups of
 * ocl_cpu_group_size; elsewhere in groups of up to 64. */
clrnn_status ocl_launch_items(ocl_state *s, const kernel_args *a, size_t n, clrnn_error *err);
/* Lets the device start on what is queued while the host goes on. */
clrnn_status ocl_flush(ocl_state *s, clrnn_error *err);
/* Waits for the queue and adds the pending launches' device times to the
 * per-kernel totals. */
clrnn_status ocl_harvest_events(ocl_state *s, clrnn_error *err);

/* ------------------------------------------------- programs and kernels */

/* Sources in one program at most. */
#define MAX_PROGRAM_FILES 16

/* Builds the sources named by files (kernels/<name>.cl, name with its
 * folder) with options; a failed build writes its log to b->log. Before a
 * program's first build on this machine b->log says, once a backend, that
 * kernels are being compiled. What the compiler writes to stderr during
 * the build is caught (fd 2 points at a temporary file meanwhile) and
 * goes, with the build log, to b->verbose when the build succeeds, to
 * b->log when it fails. */
clrnn_status ocl_build(clrnn_backend *b, ocl_state *s, const char *const *files, size_t n_files,
                       const char *options, cl_program *program, clrnn_error *err);
/* The same on sources given as text. */
clrnn_status ocl_build_sources(clrnn_backend *b, ocl_state *s, const char *const *sources,
                               size_t n_sources, const char *options, cl_program *program,
                               clrnn_error *err);
/* Profiling slots for these kernel names, in this order, before any kernel
 * of theirs is created. */
void ocl_reserve_slots(ocl_state *s, const char *const *names, size_t n);
/* The kernels of program named by names (n), into kernels. */
clrnn_status ocl_create_kernels(ocl_state *s, cl_program program, const char *const *names,
                                size_t n, ocl_kernel *kernels, clrnn_error *err);
/* A work-item of kernel k holds private arrays of `counted` bytes, the
 * family's count (see CPU_GROUP_PRIVATE_MAX); k's private size becomes the
 * larger of that and the device's figure. More than ITEM_PRIVATE_MAX is
 * refused (CLRNN_E_INPUT) in one line naming the kernel, what it holds
 * (`holds`) and what would fit (`instead`). ocl_create_kernels checks the
 * device's figure alone. */
clrnn_status ocl_bound_private(ocl_kernel *k, size_t counted, const char *name, const char *holds,
                               const char *instead, clrnn_error *err);
/* Releases what ocl_create_kernels created (and accepts what it did not). */
/* The device's arithmetic peak at b's precision (kernels/peak/peak.cl). */
clrnn_status ocl_measure_peak(clrnn_backend *b, ocl_state *s, clrnn_peak *peak, clrnn_error *err);

void ocl_release_kernels(ocl_kernel *kernels, size_t n);
void ocl_release_program(cl_program *program);
/* Reals in one of the device's native vectors, as 8 or 16 (kernels take
 * vectors of these widths; 8 stands in for narrower ones). */
size_t ocl_native_width(const ocl_state *s, int fp64);

/* ------------------------------------------------ buffers and transfers */

/* A device buffer of n elements of element bytes; one larger than the
 * device allows is refused, naming the buffer. */
/* The same, for a buffer that is sized by something other than the batch:
 * remedy says what to make smaller when it is too large for the device. */
extern const char *const OCL_SIZED_BY_BATCH, *const OCL_SIZED_BY_MODEL, *const OCL_SIZED_BY_TABLE;
clrnn_status ocl_make_sized_buffer(ocl_state *s, cl_mem *out, size_t n, size_t element,
                                   cl_mem_flags flags, const char *name, const char *remedy,
                                   clrnn_error *err);
clrnn_status ocl_make_buffer(ocl_state *s, cl_mem *out, size_t n, size_t element,
                             cl_mem_flags flags, const char *name, clrnn_error *err);
void ocl_release_mem(cl_mem *m);
/* Device buffer (n reals at offset 0) <- host doubles. Blocking. */
clrnn_status ocl_write_reals(ocl_state *s, cl_mem buffer, const double *values, size_t n,
                             const char *name, clrnn_error *err);
/* Host doubles <- device buffer (n reals at offset 0). Blocking. */
clrnn_status ocl_read_reals(ocl_state *s, double *values, cl_mem buffer, size_t n, const char *name,
                            clrnn_error *err);
clrnn_status ocl_zero_buffer(ocl_state *s, cl_mem buffer, size_t n, const char *name,
                             clrnn_error *err);

/* ------------------------------------------------ the shared program's steps */

/* loss_sum += the batch's window losses (one work-item). */
clrnn_status ocl_accumulate_loss(ocl_state *s, size_t B, clrnn_error *err);
/* The mean gradient from the chunks' partial sums. */
clrnn_status ocl_finish_gradient(const clrnn_backend *b, ocl_state *s, size_t B, clrnn_error *err);
/* The optimizer's step on the gradient, clipped first where opt says so;
 * step counts updates made so far, this one included (Adam's t). */
/* A model group's batch finished (family.h: run_group), every active
 * model at once: its mean gradient from the chunk sums of s->group's
 * partial (n_chunks chunks of a batch of B, a chunk's P sums together) and
 * its loss sum from the group's window losses (common/group.cl). */
clrnn_status ocl_group_finish(const clrnn_backend *b, ocl_state *s, size_t n_chunks, size_t B,
                              clrnn_error *err);
/* Each active model's loss sum += its B window losses in the group's
 * window_loss (a batch without gradients: family.h, forward_group). */
clrnn_status ocl_group_add_losses(ocl_state *s, size_t B, clrnn_error *err);
/* Every active model's clipping (clips: some model clips) and optimizer
 * step from the group's args, in one or two launches: what a family with
 * run_group and no step_group gets. */
clrnn_status ocl_group_step(const clrnn_backend *b, ocl_state *s, int clips, clrnn_error *err);
clrnn_status ocl_optimizer_step(const clrnn_backend *b, ocl_state *s, const clrnn_optimizer *opt,
                                long step, clrnn_error *err);
/* The top layer's dy (B,T,O) <- the seed of input attributions: 1 at
 * (step T-1, output) of every window, 0 elsewhere (written from the host). */
clrnn_status ocl_seed_outputs(const clrnn_backend *b, ocl_state *s, size_t B, size_t output,
                              clrnn_error *err);

#endif
