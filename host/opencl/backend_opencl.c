/*
 * The OpenCL backend: the batched forward pass, reverse-time BPTT, the
 * gradient reductions, the loss and the optimizer all run on the device.
 *
 * What crosses the bus:
 * - once a run: the table x (R,F) and targets (R,K) (stage), the parameters;
 * - once an epoch, where the caller stages its window order: the order's
 *   start rows (stage_order), read by the batches at their offset;
 * - else once a batch: the B window start rows (4 B bytes, written without
 *   waiting, from one of two host slots);
 * - once an epoch: the loss sum (take_loss_sum);
 * - on demand only: parameters, gradients, activations (parity checks,
 *   checkpoints, metrics).
 *
 * A kernel family (family.h; the table in families.c, one host file each:
 * family_group.c, family_tile.c, family_fused.c) runs the batches; this
 * file chooses it (choose_family), owns the device, the shared program and
 * buffers (runtime.h), and takes the optimizer step (runtime.c: the shared
 * kernels) after any family's training batch. An in-order queue orders the
 * launches; the host never waits inside an epoch.
 *
 * A family may leave the step that finishes a training batch waiting
 * (family.h: settle). It is settled here, in one place each: before a batch
 * (unless the family's training batch takes it itself), before an update
 * (unless the family keeps the update with it), and before every operation
 * that reads or replaces the parameters, the gradient, the loss sum or the
 * optimizer state (settled).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "backend/exchange.h"
#include "core/error.h"
#include "core/model.h"
#include "opencl/family.h"
#include "opencl/opencl_util.h"
#include "opencl/tune_cache.h"

/* The shared program: common.cl, the sources the families add, then
 * these (kernels/<name>.cl, name with its folder), and its kernels (in the
 * order of runtime.h's K_ enum). */
static const char *const shared_files[] = {"common/reduce", "common/loss",  "common/optimizer",
                                           "common/share",  "common/state", "common/group"};
#define N_SHARED_FILES (sizeof shared_files / sizeof shared_files[0])
static const char *const shared_kernel_names[N_SHARED_KERNELS] = {
    "grad_finish",       "mse_loss",         "loss_accumulate", "sgd_update",
    "adam_update",       "sumsq_partial",    "clip_scale",      "scale_grads",
    "share_fold",        "share_spread",     "carry_state",     "group_finish_models",
    "group_clip_models", "group_step_models"};

typedef struct ocl_backend {
    ocl_state s;
    const ocl_family *family; /* the one that runs (b->family) */
    void *state;
    const ocl_family *forward; /* runs the batches without gradients: family or its
                                  forward_family */
    void *forward_state;
    const ocl_family *ran; /* ran the last batch */
    void *ran_state;
    /* The tuning cache (tune_cache.h): the device's key, its file (none:
     * ""), the model's shape class, and whether a corrupt file was said. */
    tune_key key;
    char cache_path[4096];
    char shape_class[256];
    int cache_warned;
    cl_mem dx; /* (max B, T, F) layer 0's dx for input_gradients; made on its first call */
} ocl_backend;

/* ---------------------------------------------------- creation and teardown */

static void group_release(ocl_state *s);

static void ocl_destroy(clrnn_backend *b)
{
    ocl_backend *o = b->impl;
    if (!o)
        return;
    ocl_state *s = &o->s;
    if (s->queue)
        clFinish(s->queue);
    if (o->forward && o->forward != o->family)
        o->forward->destroy(b, o->forward_state);
    if (o->family)
        o->family->destroy(b, o->state);
    for (int i = 0; i < 2; i++) {
        if (s->starts_written[i])
            clReleaseEvent(s->starts_written[i]);
        free(s->starts_host[i]);
    }
    for (size_t l = 0; l < b->n_layers; l++) {
        if (s->h)
            ocl_release_mem(&s->h[l]);
        if (s->y)
            ocl_release_mem(&s->y[l]);
        if (s->dy)
            ocl_release_mem(&s->dy[l]);
    }
    for (size_t l = 0; s->h0 && l < b->n_layers; l++)
        ocl_release_mem(&s->h0[l]);
    free(s->h0);
    free(s->reset_host);
    ocl_release_mem(&s->state_reset);
    free(s->h);
    free(s->y);
    free(s->dy);
    group_release(s);
    cl_mem *buffers[] = {&s->x_table, &s->y_table,      &s->starts,      &s->order,
                         &s->params,  &s->grads,        &s->opt_m,       &s->opt_v,
                         &s->g,       &s->partial,      &s->window_loss, &s->loss_sum,
                         &s->clip,    &s->norm_partial, &s->share_acc,   &s->share_loss_scratch};
    for (size_t i = 0; i < sizeof buffers / sizeof buffers[0]; i++)
        ocl_release_mem(buffers[i]);
    ocl_release_mem(&o->dx);
    ocl_release_kernels(s->kernels, N_SHARED_KERNELS);
    ocl_release_program(&s->program);
    if (s->queue)
        clReleaseCommandQueue(s->queue);
    if (s->context)
        clReleaseContext(s->context);
    for (size_t i = 0; i < s->n_pending; i++)
        clReleaseEvent(s->pending[i]);
    free(s->pending);
    free(s->pending_slot);
    free(s->host);
    free(o);
    b->impl = NULL;
}

/* ---------------------------------------------------------- tuning */

/* The cache's entry for family (or "auto") and b's precision and shape
 * class into values: 1 found; 0 none, the cache off or corrupt (said once). */
static int cache_entry(clrnn_backend *b, ocl_backend *o, const char *family, char *values,
                       size_t size)
{
    if (b->no_tune_cache || !o->cache_path[0])
        return 0;
    char why[256];
    int found = tune_cache_find(o->cache_path, &o->key, family,
                                b->precision == CLRNN_FP64 ? "fp64" : "fp32", o->shape_class,
                                values, size, why, sizeof why);
    if (found == TUNE_CACHE_CORRUPT && b->tune_log && !o->cache_warned++)
        fprintf(b->tune_log,
                "clrnn: warning: ignoring the tuning cache '%s': %s (clrnn tune rewrites it)\n",
                o->cache_path, why);
    return found == TUNE_CACHE_FOUND;
}

/* Says, once, that the cache's file holds something it should not. */
static void cache_corrupt(clrnn_backend *b, ocl_backend *o, const char *why)
{
    if (b->tune_log && !o->cache_warned++)
        fprintf(b->tune_log,
                "clrnn: warning: ignoring the tuning cache '%s': %s (clrnn tune rewrites it)\n",
                o->cache_path, why);
}

/* The family the cache names for "auto" here, where it can run the model. */
static const ocl_family *cached_family(clrnn_backend *b, ocl_backend *o)
{
    char values[256];
    if (!cache_entry(b, o, "auto", values, sizeof values))
        return NULL;
    const ocl_family *f =
        strncmp(values, "FAMILY=", 7) == 0 ? ocl_family_at(ocl_family_named(values + 7)) : NULL;
    if (!f) {
        cache_corrupt(b, o, "its auto entry names no kernel family");
        return NULL;
    }
    if (f->misfit && f->misfit(b))
        return NULL;
    if (b->tune_verbose && b->tune_log)
        fprintf(b->tune_log, "tuning: kernels auto: %s, from the tuning cache (%s %s)\n", f->name,
                o->shape_class, b->precision == CLRNN_FP64 ? "fp64" : "fp32");
    return f;
}

/* Fills s->tuning for family f: clrnn tune's values where it is the family
 * asked for, else the cache's; says where they came from. */
static clrnn_status resolve_tuning(clrnn_backend *b, ocl_backend *o, const ocl_family *f,
                                   clrnn_error *err)
{
    ocl_state *s = &o->s;
    const clrnn_kernels k = ocl_family_named(f->name);
    if ((size_t)k >= OCL_MAX_FAMILIES || f->n_tunables == 0)
        return CLRNN_OK;
    char why[256], values[512];
    const char *source = "device-derived defaults";
    if (b->tuning && f == o->family) {
        if (!ocl_tuning_parse(f, b->tuning, &s->tuning[k], why, sizeof why))
            return clrnn__fail(err, CLRNN_E_INPUT, "`tuning` '%s': %s", b->tuning, why);
        source = "given";
    } else if (cache_entry(b, o, f->name, values, sizeof values)) {
        if (ocl_tuning_parse(f, values, &s->tuning[k], why, sizeof why)) {
            s->tuning[k].from_cache = 1;
            source = "the tuning cache";
        } else
            cache_corrupt(b, o, why);
    } else if (!b->no_tune_cache && o->cache_path[0])
        source = "device-derived defaults (no tuning cache entry)";
    else if (b->no_tune_cache)
        source = "device-derived defaults (tuning cache not read)";
    int layer0[OCL_MAX_TUNABLES];
    clrnn_status st = ocl_layer_tuning(b, s, f, 0, layer0, err);
    if (st != CLRNN_OK)
        return st;
    char text[256];
    ocl_tuning_format(text, sizeof text, f, layer0);
    if (f == o->family)
        snprintf(b->tune_source, sizeof b->tune_source, "%s", source);
    if (b->tune_verbose && b->tune_log)
        fprintf(b->tune_log, "tuning: %s kernels (%s %s): %s, %s\n", f->name, o->shape_class,
                b->precision == CLRNN_FP64 ? "fp64" : "fp32", text, source);
    return CLRNN_OK;
}

/* The tuning cache's key and file for the device, and the shape class. */
static void prepare_tuning(clrnn_backend *b, ocl_backend *o, cl_platform_id platform)
{
    ocl_platform_name(platform, o->key.platform, sizeof o->key.platform);
    ocl_device_name(o->s.device, o->key.device, sizeof o->key.device);
    if (clGetDeviceInfo(o->s.device, CL_DRIVER_VERSION, sizeof o->key.driver, o->key.driver,
                        NULL) != CL_SUCCESS)
        snprintf(o->key.driver, sizeof o->key.driver, "unknown");
    char *fields[] = {o->key.platform, o->key.device, o->key.driver};
    for (size_t i = 0; i < 3; i++) /* a tab or newline would break the file's lines */
        for (char *p = fields[i]; *p; p++)
            if (*p == '\t' || *p == '\n' || *p == '\r')
                *p = ' ';
    if (!tune_cache_path(&o->key, o->cache_path, sizeof o->cache_path))
        o->cache_path[0] = '\0';
    tune_shape_class(b, o->shape_class, sizeof o->shape_class);
}

size_t backend_opencl_tunables(clrnn_kernels k, backend_tunable *out, size_t max)
{
    const ocl_family *f = ocl_family_at(k);
    if (!f)
        return 0;
    for (size_t t = 0; t < f->n_tunables && t < max; t++)
        out[t] = (backend_tunable){f->tunables[t].name, f->tunables[t].about, f->tunables[t].values,
                                   f->tunables[t].n_values};
    return f->n_tunables;
}

int backend_opencl_tuning_text(const clrnn_backend *b, char *out, size_t size)
{
    if (b->kind != CLRNN_BACKEND_OPENCL)
        return 0;
    const ocl_backend *o = b->impl;
    int values[OCL_MAX_TUNABLES];
    if (ocl_layer_tuning(b, &o->s, o->family, 0, values, NULL) != CLRNN_OK)
        return 0;
    ocl_tuning_format(out, size, o->family, values);
    return 1;
}

int backend_opencl_tune_cache_path(const clrnn_backend *b, char *out, size_t size)
{
    if (b->kind != CLRNN_BACKEND_OPENCL)
        return 0;
    const ocl_backend *o = b->impl;
    snprintf(out, size, "%s", o->cache_path);
    return o->cache_path[0] != '\0';
}

clrnn_status backend_opencl_store_tuning(const clrnn_backend *b, const char *family,
                                         const char *values, clrnn_error *err)
{
    const ocl_backend *o = b->kind == CLRNN_BACKEND_OPENCL ? b->impl : NULL;
    if (!o || !o->cache_path[0])
        return clrnn__fail(err, CLRNN_E_IO, "no tuning cache folder: set XDG_CACHE_HOME or HOME");
    return tune_cache_store(o->cache_path, &o->key, family,
                            b->precision == CLRNN_FP64 ? "fp64" : "fp32", o->shape_class, values,
                            err);
}

/*
 * The kernel family: the one the config asks for (b->kernels), refused
 * with its reason where it cannot run the model (bad input, not a missing
 * device: no fall-back to the CPU), or, for "auto", the most suitable of
 * those that can (family.h: suitability).
 */
static clrnn_status choose_family(clrnn_backend *b, ocl_backend *o, clrnn_error *err)
{
    clrnn_kernels chosen = CLRNN_KERNELS_AUTO;
    const ocl_family *asked = ocl_family_at(b->kernels);
    const ocl_family *cached = asked ? NULL : cached_family(b, o);
    if (cached) {
        chosen = ocl_family_named(cached->name);
    } else if (asked) {
        const char *misfit = asked->misfit ? asked->misfit(b) : NULL;
        if (misfit)
            return clrnn__fail(err, CLRNN_E_INPUT, asked->refusal, misfit);
        chosen = b->kernels;
    } else {
        int best = 0;
        for (size_t k = 0; k < backend_opencl_family_slots(); k++) {
            const ocl_family *f = ocl_family_at((clrnn_kernels)k);
            if (!f || (f->misfit && f->misfit(b)))
                continue;
            int score = f->suitability(b, &o->s);
            if (score > best) {
                best = score;
                chosen = (clrnn_kernels)k;
            }
        }
        if (chosen == CLRNN_KERNELS_AUTO)
            return clrnn__fail(err, CLRNN_E_UNSUPPORTED, "no kernel family can run this model");
    }
    o->family = ocl_family_at(chosen);
    o->forward = o->family;
    if (o->family->forward_family) {
        o->forward = ocl_family_at(ocl_family_named(o->family->forward_family));
        if (!o->forward)
            return clrnn__fail(err, CLRNN_E_DEVICE,
                               "the %s kernels' forward family '%s' is missing", o->family->name,
                               o->family->forward_family);
    }
    b->family = chosen;
    size_t len = strlen(b->description);
    snprintf(b->description + len - 1, sizeof b->description - len + 1, ", %s kernels)",
             o->family->name);
    return CLRNN_OK;
}

/* The families that run and where their states go, the forward family
 * first (it is set up first). */
static size_t families_that_run(ocl_backend *o, const ocl_family *f[2], void **state[2])
{
    size_t n = 0;
    if (o->forward != o->family) {
        f[n] = o->forward;
        state[n++] = &o->forward_state;
    }
    f[n] = o->family;
    state[n++] = &o->state;
    return n;
}

/* files[*n ..] <- more (count); past MAX_PROGRAM_FILES only counted, for
 * ocl_build to refuse. */
static void add_files(const char **files, size_t *n, const char *const *more, size_t count)
{
    for (size_t k = 0; k < count; k++, (*n)++)
        if (*n < MAX_PROGRAM_FILES)
            files[*n] = more[k];
}

/* The shared program: the kernels every family uses, and those of the
 * families that need no build-time sizes. No fast-math options: the parity
 * checks hold the kernels to the CPU reference's rounding. */
static clrnn_status build_shared_program(clrnn_backend *b, ocl_backend *o, clrnn_error *err)
{
    ocl_state *s = &o->s;
    const ocl_family *f[2];
    void **state[2];
    const size_t n_families = families_that_run(o, f, state);
    static const char *const common[] = {"common/common", "common/layer"};
    const char *files[MAX_PROGRAM_FILES];
    size_t n_files = 0;
    add_files(files, &n_files, common, 2);
    for (size_t i = 0; i < n_families; i++) {
        add_files(files, &n_files, f[i]->shared_files, f[i]->n_shared_files);
        ocl_reserve_slots(s, f[i]->shared_program_kernels, f[i]->n_shared_program_kernels);
    }
    add_files(files, &n_files, shared_files, N_SHARED_FILES);
    char options[64];
    snprintf(options, sizeof options, "-DCLRNN_FP64=%d", b->precision == CLRNN_FP64);
    clrnn_status st = ocl_build(b, s, files, n_files, options, &s->program, err);
    if (st == CLRNN_OK)
        st = ocl_create_kernels(s, s->program, shared_kernel_names, N_SHARED_KERNELS, s->kernels,
                                err);
    return st;
}

/* The buffers every family shares. */
static clrnn_status allocate_buffers(clrnn_backend *b, ocl_state *s, clrnn_error *err)
{
    const size_t B = padded_batch(b), T = b->seq_len, P = b->n_params, L = b->n_layers,
                 rs = s->real_size;
    const size_t n_chunks = chunks_of(B);
    size_t max_h = 0;
    for (size_t l = 0; l < L; l++)
        if (b->layers[l].n_hidden > max_h)
            max_h = b->layers[l].n_hidden;
    s->n_slices = (P + PARAMS_PER_SLICE - 1) / PARAMS_PER_SLICE;
    const cl_mem_flags rw = CL_MEM_READ_WRITE;
    clrnn_status st = CLRNN_OK;
    if (st == CLRNN_OK)
        st = ocl_make_buffer(s, &s->starts, B, sizeof(cl_uint), CL_MEM_READ_ONLY, "window starts",
                             err);
    if (st == CLRNN_OK)
        st = ocl_make_sized_buffer(s, &s->params, P, rs, rw, "parameters", OCL_SIZED_BY_MODEL, err);
    if (st == CLRNN_OK)
        st = ocl_make_sized_buffer(s, &s->grads, P, rs, rw, "gradients", OCL_SIZED_BY_MODEL, err);
    if (st == CLRNN_OK)
        st = ocl_make_sized_buffer(s, &s->opt_m, P, rs, rw, "optimizer state (velocity or m)",
                                   OCL_SIZED_BY_MODEL, err);
    if (st == CLRNN_OK)
        st = ocl_make_sized_buffer(s, &s->opt_v, P, rs, rw, "optimizer state (v)",
                                   OCL_SIZED_BY_MODEL, err);
    if (st == CLRNN_OK)
        st = ocl_make_buffer(s, &s->g, B * T * max_h, rs, rw, "backward scratch g (B,T,H)", err);
    if (st == CLRNN_OK)
        st = ocl_make_buffer(s, &s->partial, n_chunks * P, rs, rw, "gradient partial sums", err);
    if (st == CLRNN_OK)
        st = ocl_make_buffer(s, &s->window_loss, B, rs, rw, "window losses", err);
    if (st == CLRNN_OK)
        st = ocl_make_buffer(s, &s->loss_sum, 2, rs, rw, "loss sum", err);
    if (st == CLRNN_OK)
        st = ocl_make_buffer(s, &s->norm_partial, s->n_slices, rs, rw, "norm partial sums", err);
    if (st == CLRNN_OK)
        st = ocl_make_buffer(s, &s->clip, 2, rs, rw, "clipping norm", err);
    if (st == CLRNN_OK)
        st = ocl_make_buffer(s, &s->share_acc, P + 1, rs, rw, "data parallel sums", err);
    if (st == CLRNN_OK)
        st = ocl_make_buffer(s, &s->share_loss_scratch, 2, rs, rw, "loss sum (scratch)", err);
    for (size_t l = 0; st == CLRNN_OK && l < L; l++) {
        char name[64];
        snprintf(name, sizeof name, "layer %zu hidden states (B,T,H)", l);
        st = ocl_make_buffer(s, &s->h[l], B * T * b->layers[l].n_hidden, rs, rw, name, err);
        snprintf(name, sizeof name, "layer %zu outputs (B,T,O)", l);
        if (st == CLRNN_OK)
            st = ocl_make_buffer(s, &s->y[l], B * T * b->layers[l].n_out, rs, rw, name, err);
        snprintf(name, sizeof name, "layer %zu output gradients (B,T,O)", l);
        if (st == CLRNN_OK)
            st = ocl_make_buffer(s, &s->dy[l], B * T * b->layers[l].n_out, rs, rw, name, err);
    }
    for (int i = 0; st == CLRNN_OK && i < 2; i++)
        if (!(s->starts_host[i] = malloc(B * sizeof(uint32_t))))
            st = clrnn__fail(err, CLRNN_E_NOMEM, "out of host memory");
    if (st == CLRNN_OK)
        st = ocl_zero_buffer(s, s->loss_sum, 2, "loss sum", err);
    return st;
}

static clrnn_status open_device(clrnn_backend *b, ocl_state *s, const char *device_spec,
                                clrnn_error *err)
{
    cl_platform_id platform;
    clrnn_status st = ocl_find_device(device_spec, &platform, &s->device, err);
    if (st != CLRNN_OK)
        return st;
    char platform_name[96], device_name[96];
    ocl_platform_name(platform, platform_name, sizeof platform_name);
    ocl_device_name(s->device, device_name, sizeof device_name);
    if (b->precision == CLRNN_FP64 && !ocl_device_has_fp64(s->device))
        return clrnn__fail(err, CLRNN_E_UNSUPPORTED,
                           "`precision` fp64: the device '%s' has no cl_khr_fp64 (use fp32)",
                           device_name);
    s->real_size = b->precision == CLRNN_FP64 ? sizeof(cl_double) : sizeof(cl_float);
    b->share_real = s->real_size;
    cl_device_type type = 0;
    cl_ulong local_mem = 0, max_alloc = 0;
    clGetDeviceInfo(s->device, CL_DEVICE_TYPE, sizeof type, &type, NULL);
    clGetDeviceInfo(s->device, CL_DEVICE_LOCAL_MEM_SIZE, sizeof local_mem, &local_mem, NULL);
    clGetDeviceInfo(s->device, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof max_alloc, &max_alloc, NULL);
    s->cpu_device = (type & CL_DEVICE_TYPE_CPU) != 0;
    s->gpu_device = (type & CL_DEVICE_TYPE_GPU) != 0;
    s->max_local_mem = (size_t)local_mem;
    cl_uint compute_units = 1;
    clGetDeviceInfo(s->device, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof compute_units, &compute_units,
                    NULL);
    s->compute_units = compute_units ? compute_units : 1;
    clGetDeviceInfo(s->device, CL_DEVICE_MAX_WORK_ITEM_SIZES, sizeof s->max_item_size,
                    s->max_item_size, NULL);
    s->max_alloc = (size_t)max_alloc;
    cl_uint align_bits = 0;
    clGetDeviceInfo(s->device, CL_DEVICE_MEM_BASE_ADDR_ALIGN, sizeof align_bits, &align_bits, NULL);
    s->base_align = align_bits >= 8 ? align_bits / 8 : 0;
    clGetDeviceInfo(s->device, CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT, sizeof s->native_width[0],
                    &s->native_width[0], NULL);
    clGetDeviceInfo(s->device, CL_DEVICE_NATIVE_VECTOR_WIDTH_DOUBLE, sizeof s->native_width[1],
                    &s->native_width[1], NULL);
    clGetDeviceInfo(s->device, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof s->max_group, &s->max_group,
                    NULL);
    s->tune_log = b->tune_log;
    s->tune_verbose = b->tune_verbose;
    prepare_tuning(b, (ocl_backend *)b->impl, platform);
    snprintf(b->description, sizeof b->description, "OpenCL %s / %s (%s)", platform_name,
             device_name, b->precision == CLRNN_FP64 ? "fp64" : "fp32");
    snprintf(b->device_name, sizeof b->device_name, "%s", device_name);
    b->kind = CLRNN_BACKEND_OPENCL;

    cl_int rc;
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)platform, 0};
    s->context = clCreateContext(props, 1, &s->device, NULL, NULL, &rc);
    if (rc != CL_SUCCESS)
        return ocl_fail(err, rc, "clCreateContext");
    s->queue = clCreateCommandQueue(s->context, s->device, 0, &rc);
    if (rc != CL_SUCCESS)
        return ocl_fail(err, rc, "clCreateCommandQueue");
    return CLRNN_OK;
}

/* ------------------------------------------------- the deferred step */

/* Launches the family's waiting step, if one waits. */
static clrnn_status settle(clrnn_backend *b, ocl_backend *o, clrnn_error *err)
{
    return o->family->settle ? o->family->settle(b, &o->s, o->state, err) : CLRNN_OK;
}

/* The state of an operation on the parameters, the gradient, the loss sum
 * or the optimizer state: the waiting step settled first (into *st). */
static clrnn_status use_model(clrnn_backend *b, ocl_backend *o, clrnn_error *err);

static ocl_state *settled(clrnn_backend *b, clrnn_status *st, clrnn_error *err)
{
    ocl_backend *o = b->impl;
    *st = use_model(b, o, err);
    if (*st == CLRNN_OK)
        *st = settle(b, o, err);
    return &o->s;
}

/* ------------------------------------------------------------- the ops */

static clrnn_status ocl_stage(clrnn_backend *b, const double *x, const double *y, size_t n_rows,
                              clrnn_error *err)
{
    ocl_state *s = &((ocl_backend *)b->impl)->s;
    size_t F = b->layers[0].n_in, K = b->layers[b->n_layers - 1].n_out;
    ocl_release_mem(&s->x_table);
    ocl_release_mem(&s->y_table);
    clrnn_status st = ocl_make_sized_buffer(s, &s->x_table, n_rows * F, s->real_size,
                                            CL_MEM_READ_ONLY, "table x", OCL_SIZED_BY_TABLE, err);
    if (st == CLRNN_OK)
        st = ocl_make_sized_buffer(s, &s->y_table, n_rows * K, s->real_size, CL_MEM_READ_ONLY,
                                   "targets", OCL_SIZED_BY_TABLE, err);
    if (st == CLRNN_OK)
        st = ocl_write_reals(s, s->x_table, x, n_rows * F, "table x", err);
    if (st == CLRNN_OK)
        st = ocl_write_reals(s, s->y_table, y, n_rows * K, "targets", err);
    return st;
}

/* The order's start rows to the device, once; a new order of no more rows
 * reuses the buffer (the in-order queue writes it after the batches that
 * read the old one). */
static clrnn_status ocl_stage_order(clrnn_backend *b, const uint32_t *order, size_t n,
                                    clrnn_error *err)
{
    ocl_state *s = &((ocl_backend *)b->impl)->s;
    n *= b->n_models; /* (M, n): a row a model */
    if (n > s->order_capacity) {
        ocl_release_mem(&s->order);
        s->order_capacity = 0;
        clrnn_status st = ocl_make_buffer(s, &s->order, n, sizeof(cl_uint), CL_MEM_READ_ONLY,
                                          "window order", err);
        if (st != CLRNN_OK)
            return st;
        s->order_capacity = n;
    }
    cl_int rc = clEnqueueWriteBuffer(s->queue, s->order, CL_TRUE, 0, n * sizeof(cl_uint), order, 0,
                                     NULL, NULL);
    return rc == CL_SUCCESS ? CLRNN_OK : ocl_fail(err, rc, "writing the window order");
}

static clrnn_status ocl_set_params(clrnn_backend *b, const double *params, clrnn_error *err)
{
    clrnn_status st;
    ocl_state *s = settled(b, &st, err); /* a waiting step first, as the CPU took it */
    if (st == CLRNN_OK)
        st = ocl_write_reals(s, s->params, params, b->n_params, "parameters", err);
    if (st == CLRNN_OK)
        st = ocl_zero_buffer(s, s->opt_m, b->n_params, "optimizer state", err);
    if (st == CLRNN_OK)
        st = ocl_zero_buffer(s, s->opt_v, b->n_params, "optimizer state", err);
    return st;
}

static clrnn_status ocl_get_params(clrnn_backend *b, double *params, clrnn_error *err)
{
    clrnn_status st;
    ocl_state *s = settled(b, &st, err);
    return st != CLRNN_OK ? st
                          : ocl_read_reals(s, params, s->params, b->n_params, "parameters", err);
}

/* Copies the batch's window starts to the device without waiting: the host
 * copy lives in one of two slots, reused only once its write has finished. */
static clrnn_status upload_starts(ocl_state *s, const uint32_t *starts, size_t B, clrnn_error *err)
{
    int slot = s->starts_slot ^= 1;
    if (s->starts_written[slot]) {
        cl_int rc = clWaitForEvents(1, &s->starts_written[slot]);
        clReleaseEvent(s->starts_written[slot]);
        s->starts_written[slot] = NULL;
        if (rc != CL_SUCCESS)
            return ocl_fail(err, rc, "waiting for the window starts to be written");
    }
    memcpy(s->starts_host[slot], starts, B * sizeof *starts);
    cl_int rc = clEnqueueWriteBuffer(s->queue, s->starts, CL_FALSE, 0, B * sizeof(cl_uint),
                                     s->starts_host[slot], 0, NULL, &s->starts_written[slot]);
    return rc == CL_SUCCESS ? CLRNN_OK : ocl_fail(err, rc, "writing the window starts");
}

/* A batch by the family (without gradients: its forward family), the
 * waiting step settled first unless that batch takes it; a training batch
 * is flushed so that the device starts on it while the host goes on. */
static clrnn_status ocl_run_batch(clrnn_backend *b, const uint32_t *starts, size_t B,
                                  int with_gradients, clrnn_error *err)
{
    ocl_backend *o = b->impl;
    ocl_state *s = &o->s;
    const ocl_family *f = with_gradients ? o->family : o->forward;
    void *self = f == o->family ? o->state : o->forward_state;
    const int takes_step =
        with_gradients && f->takes_waiting_step && f->takes_waiting_step(b, self, B);
    clrnn_status st = use_model(b, o, err);
    if (st == CLRNN_OK && !takes_step)
        st = settle(b, o, err);
    s->batch_starts = b->batch_first == BACKEND_NOT_STAGED ? s->starts : s->order;
    s->batch_offset =
        b->batch_first == BACKEND_NOT_STAGED ? 0 : b->model * b->n_order + b->batch_first;
    if (st == CLRNN_OK && b->batch_first == BACKEND_NOT_STAGED)
        st = upload_starts(s, starts, B, err);
    o->ran = f;
    o->ran_state = self;
    if (st == CLRNN_OK)
        st = f->run_batch(b, s, self, B, with_gradients, err);
    if (st == CLRNN_OK && with_gradients)
        st = ocl_flush(s, err);
    return st;
}

/* The optimizer step, unless the family keeps it with its waiting step. */
static clrnn_status ocl_update(clrnn_backend *b, const clrnn_optimizer *opt, long step,
                               clrnn_error *err)
{
    ocl_backend *o = b->impl;
    clrnn_status st = use_model(b, o, err);
    if (st != CLRNN_OK)
        return st;
    if (o->family->keeps_update && o->family->keeps_update(b, o->state, opt, step))
        return CLRNN_OK;
    st = settle(b, o, err);
    return st == CLRNN_OK ? ocl_optimizer_step(b, &o->s, opt, step, err) : st;
}

static clrnn_status ocl_get_grads(clrnn_backend *b, double *grads, clrnn_error *err)
{
    clrnn_status st;
    ocl_state *s = settled(b, &st, err);
    return st != CLRNN_OK ? st : ocl_read_reals(s, grads, s->grads, b->n_params, "gradients", err);
}

/* out (B,T,N) <- a per-layer tensor of the last batch, in the layout of the
 * family that ran it. */
static clrnn_status read_activations(clrnn_backend *b, double *out, cl_mem buffer, size_t N,
                                     const char *name, clrnn_error *err)
{
    ocl_backend *o = b->impl;
    if (o->ran->read_activations)
        return o->ran->read_activations(b, &o->s, o->ran_state, out, buffer, N, name, err);
    return ocl_read_reals(&o->s, out, buffer, b->last_batch * b->seq_len * N, name, err);
}

static clrnn_status ocl_get_outputs(clrnn_backend *b, size_t layer, double *y, clrnn_error *err)
{
    ocl_state *s = &((ocl_backend *)b->impl)->s;
    return read_activations(b, y, s->y[layer], b->layers[layer].n_out, "layer outputs", err);
}

static clrnn_status ocl_get_hidden(clrnn_backend *b, size_t layer, double *h, clrnn_error *err)
{
    ocl_state *s = &((ocl_backend *)b->impl)->s;
    return read_activations(b, h, s->h[layer], b->layers[layer].n_hidden, "hidden states", err);
}

static clrnn_status ocl_get_window_losses(clrnn_backend *b, double *losses, clrnn_error *err)
{
    ocl_state *s = &((ocl_backend *)b->impl)->s;
    return ocl_read_reals(s, losses, s->window_loss, b->last_batch, "window losses", err);
}

static clrnn_status ocl_take_loss_sum(clrnn_backend *b, double *sum, clrnn_error *err)
{
    double acc[2] = {0, 0};
    clrnn_status st;
    ocl_state *s = settled(b, &st, err);
    if (st == CLRNN_OK)
        st = ocl_read_reals(s, acc, s->loss_sum, 2, "loss sum", err);
    if (st == CLRNN_OK)
        st = ocl_zero_buffer(s, s->loss_sum, 2, "loss sum", err);
    *sum = acc[0];
    return st;
}

static clrnn_status ocl_get_opt_state(clrnn_backend *b, double *m, double *v, clrnn_error *err)
{
    clrnn_status st;
    ocl_state *s = settled(b, &st, err);
    if (st == CLRNN_OK)
        st = ocl_read_reals(s, m, s->opt_m, b->n_params, "optimizer state", err);
    if (st == CLRNN_OK)
        st = ocl_read_reals(s, v, s->opt_v, b->n_params, "optimizer state", err);
    return st;
}

static clrnn_status ocl_set_opt_state(clrnn_backend *b, const double *m, const double *v,
                                      clrnn_error *err)
{
    clrnn_status st;
    ocl_state *s = settled(b, &st, err);
    if (st == CLRNN_OK)
        st = ocl_write_reals(s, s->opt_m, m, b->n_params, "optimizer state", err);
    if (st == CLRNN_OK)
        st = ocl_write_reals(s, s->opt_v, v, b->n_params, "optimizer state", err);
    return st;
}

/* A new queue, with or without profiling; buffers and kernels belong to the
 * context and stay. */
static clrnn_status ocl_set_profiling(clrnn_backend *b, int on, clrnn_error *err)
{
    ocl_state *s = &((ocl_backend *)b->impl)->s;
    enum { CAPACITY = 4096 };
    clrnn_status st = CLRNN_OK;
    if (s->profiling)
        st = ocl_harvest_events(s, err);
    if (st != CLRNN_OK)
        return st;
    if (on && !s->pending) {
        s->pending = malloc(CAPACITY * sizeof *s->pending);
        s->pending_slot = malloc(CAPACITY * sizeof *s->pending_slot);
        if (!s->pending || !s->pending_slot)
            return clrnn__fail(err, CLRNN_E_NOMEM, "out of memory for profiling events");
        s->pending_capacity = CAPACITY;
    }
    cl_int rc = clFinish(s->queue);
    if (rc != CL_SUCCESS)
        return ocl_fail(err, rc, "clFinish");
    cl_command_queue queue =
        clCreateCommandQueue(s->context, s->device, on ? CL_QUEUE_PROFILING_ENABLE : 0, &rc);
    if (rc != CL_SUCCESS)
        return ocl_fail(err, rc, "clCreateCommandQueue (profiling)");
    clReleaseCommandQueue(s->queue);
    s->queue = queue;
    s->profiling = on;
    memset(s->slot_seconds, 0, sizeof s->slot_seconds);
    memset(s->slot_launches, 0, sizeof s->slot_launches);
    return CLRNN_OK;
}

static clrnn_status ocl_kernel_times(clrnn_backend *b, clrnn_kernel_time *times, size_t *n,
                                     clrnn_error *err)
{
    ocl_state *s = &((ocl_backend *)b->impl)->s;
    clrnn_status st = s->profiling ? ocl_harvest_events(s, err) : CLRNN_OK;
    size_t filled = 0;
    for (size_t k = 0; st == CLRNN_OK && k < s->n_slots && filled < *n; k++)
        if (s->slot_launches[k]) {
            times[filled].name = s->slot_name[k];
            times[filled].seconds = s->slot_seconds[k];
            times[filled].launches = s->slot_launches[k];
            filled++;
        }
    *n = filled;
    return st;
}

static clrnn_status ocl_peak(clrnn_backend *b, clrnn_peak *peak, clrnn_error *err)
{
    clrnn_status st;
    ocl_state *s = settled(b, &st, err);
    return st == CLRNN_OK ? ocl_measure_peak(b, s, peak, err) : st;
}

/* The queue drained; a step the family keeps waiting stays waiting (it is
 * not enqueued yet, and settling it would cost a launch). */
static clrnn_status ocl_finish(clrnn_backend *b, clrnn_error *err)
{
    ocl_backend *o = b->impl;
    cl_int rc = clFinish(o->s.queue);
    return rc == CL_SUCCESS ? CLRNN_OK : ocl_fail(err, rc, "clFinish");
}

/* ---------------------------------------------------- data parallel */

_Static_assert(CLRNN_SHARE_CHUNK == WINDOWS_PER_CHUNK,
               "a rank's share of a batch is whole chunks of the kernels' sums");

/* This rank's windows as a training batch of their own whose kernels stop
 * at the chunks' sums (s->partials_only): the waiting step of the last
 * batch settled first, so that they run with the current parameters. */
static clrnn_status ocl_share_run(clrnn_backend *b, const uint32_t *starts, size_t n,
                                  clrnn_error *err)
{
    ocl_backend *o = b->impl;
    ocl_state *s = &o->s;
    clrnn_status st = settle(b, o, err);
    s->batch_starts = s->order;
    s->batch_offset = b->batch_first;
    o->ran = o->family;
    o->ran_state = o->state;
    s->partials_only = 1;
    if (st == CLRNN_OK)
        st = o->family->run_batch(b, s, o->state, n, 1, err);
    s->partials_only = 0;
    /* Its windows are not a batch to finish: nothing of them waits. */
    if (o->family->share_waits)
        o->family->share_waits(b, o->state, 0);
    s->share_windows = st == CLRNN_OK ? n : 0;
    /* Finished here, not in the fold that reads it: so that the rank's time
     * in its own windows is measured as such (exchange.h), not in its wait
     * for the rank before. The fold would wait for it anyway. */
    cl_int rc = st == CLRNN_OK ? clFinish(s->queue) : CL_SUCCESS;
    return rc == CL_SUCCESS ? st : ocl_fail(err, rc, "clFinish (a rank's windows)");
}

static clrnn_status ocl_share_fold(clrnn_backend *b, void *acc, clrnn_error *err)
{
    ocl_state *s = &((ocl_backend *)b->impl)->s;
    const size_t bytes = (b->n_params + 1) * s->real_size;
    cl_int rc =
        clEnqueueWriteBuffer(s->queue, s->share_acc, CL_FALSE, 0, bytes, acc, 0, NULL, NULL);
    if (rc != CL_SUCCESS)
        return ocl_fail(err, rc, "writing the data parallel sums");
    kernel_args a = args_for(s, s->kernels[K_SHARE_FOLD]);
    arg_mem(&a, s->share_acc);
    arg_mem(&a, s->partial);
    arg_mem(&a, s->window_loss);
    arg_uint(&a, chunks_of(s->share_windows));
    arg_uint(&a, b->n_params);
    arg_uint(&a, s->share_windows);
    clrnn_status st = ocl_launch_1d(s, &a, b->n_params + 1, err);
    if (st != CLRNN_OK)
        return st;
    rc = clEnqueueReadBuffer(s->queue, s->share_acc, CL_TRUE, 0, bytes, acc, 0, NULL, NULL);
    return rc == CL_SUCCESS ? CLRNN_OK : ocl_fail(err, rc, "reading the data parallel sums");
}

/* The total spread as one chunk and one window, then the batch finished
 * (or left waiting) as the family finishes its own batches of B. */
static clrnn_status ocl_share_finish(clrnn_backend *b, const void *total, size_t B,
                                     clrnn_error *err)
{
    ocl_backend *o = b->impl;
    ocl_state *s = &o->s;
    const size_t P = b->n_params, n_chunks = chunks_of(B);
    /* A rank without windows in this batch has not settled the last one. */
    clrnn_status st = settle(b, o, err);
    if (st != CLRNN_OK)
        return st;
    /* Blocking: total is the exchange's buffer, which the next batch reuses. */
    cl_int rc = clEnqueueWriteBuffer(s->queue, s->share_acc, CL_TRUE, 0, (P + 1) * s->real_size,
                                     total, 0, NULL, NULL);
    if (rc != CL_SUCCESS)
        return ocl_fail(err, rc, "writing the data parallel sums");
    kernel_args a = args_for(s, s->kernels[K_SHARE_SPREAD]);
    arg_mem(&a, s->partial);
    arg_mem(&a, s->window_loss);
    arg_mem(&a, s->share_acc);
    arg_uint(&a, n_chunks);
    arg_uint(&a, P);
    arg_uint(&a, B);
    st = ocl_launch_1d(s, &a, n_chunks * P > B ? n_chunks * P : B, err);
    o->ran = o->family;
    o->ran_state = o->state;
    if (st == CLRNN_OK && o->family->share_waits) {
        o->family->share_waits(b, o->state, B);
        return ocl_flush(s, err);
    }
    if (st == CLRNN_OK)
        st = ocl_finish_gradient(b, s, B, err);
    if (st == CLRNN_OK)
        st = ocl_accumulate_loss(s, B, err);
    return st == CLRNN_OK ? ocl_flush(s, err) : st;
}

/* ------------------------------------------------------ model groups */

/* A group (runtime.h: ocl_group) where the family has the model as a grid
 * dimension: the M models' parameters, gradients, optimizer state and loss
 * sums in one buffer each, a sub-buffer view of each model's part for its
 * own operations (s->params, ... the selected model's), the batch buffers
 * of the group's launches, and the models' rows. */

static void point_at(ocl_state *s, const ocl_group *g, size_t k)
{
    s->params = g->views[k].params;
    s->grads = g->views[k].grads;
    s->opt_m = g->views[k].opt_m;
    s->opt_v = g->views[k].opt_v;
    s->loss_sum = g->views[k].loss_sum;
}

static void group_release(ocl_state *s)
{
    ocl_group *g = s->group;
    if (!g)
        return;
    if (s->queue)
        clFinish(s->queue);
    s->params = s->grads = s->opt_m = s->opt_v = s->loss_sum = NULL; /* views */
    for (size_t k = 0; g->views && k < g->M; k++) {
        cl_mem *v[] = {&g->views[k].params, &g->views[k].grads, &g->views[k].opt_m,
                       &g->views[k].opt_v, &g->views[k].loss_sum};
        for (size_t i = 0; i < 5; i++)
            ocl_release_mem(v[i]);
    }
    cl_mem *buffers[] = {&g->params,  &g->grads,       &g->opt_m,  &g->opt_v, &g->loss_sum,
                         &g->partial, &g->window_loss, &g->active, &g->args,  &g->clip};
    for (size_t i = 0; i < sizeof buffers / sizeof buffers[0]; i++)
        ocl_release_mem(buffers[i]);
    for (int i = 0; i < OCL_GROUP_SLOTS; i++) {
        if (g->written[i])
            clReleaseEvent(g->written[i]);
        free(g->host[i]);
    }
    free(g->last_active);
    free(g->last_args);
    free(g->views);
    free(g);
    s->group = NULL;
}

/* The selected model's views in s, the last one's waiting step settled
 * first (on its own views). */
static clrnn_status use_model(clrnn_backend *b, ocl_backend *o, clrnn_error *err)
{
    ocl_group *g = o->s.group;
    if (!g || g->current == b->model)
        return CLRNN_OK;
    clrnn_status st = settle(b, o, err);
    if (st == CLRNN_OK) {
        g->current = b->model;
        point_at(&o->s, g, b->model);
    }
    return st;
}

static const char group_remedy[] = "a group of fewer models: a smaller `n_models`";

static clrnn_status group_buffer(ocl_state *s, cl_mem *out, size_t n, const char *name,
                                 clrnn_error *err)
{
    clrnn_status st =
        ocl_make_sized_buffer(s, out, n, s->real_size, CL_MEM_READ_WRITE, name, group_remedy, err);
    return st == CLRNN_OK ? ocl_zero_buffer(s, *out, n, name, err) : st;
}

static clrnn_status make_view(ocl_state *s, cl_mem big, size_t k, size_t stride, size_t n,
                              cl_mem *out, clrnn_error *err)
{
    cl_buffer_region region = {k * stride * s->real_size, n * s->real_size};
    cl_int rc;
    *out = clCreateSubBuffer(big, CL_MEM_READ_WRITE, CL_BUFFER_CREATE_TYPE_REGION, &region, &rc);
    return rc == CL_SUCCESS ? CLRNN_OK : ocl_fail(err, rc, "clCreateSubBuffer (a model's view)");
}

/* The group's buffers, refused before anything is allocated where the
 * device's memory cannot hold them, saying how many models fit; launches
 * (the family has run_group): also those of its group launches. */
static clrnn_status group_init(clrnn_backend *b, ocl_state *s, int launches, clrnn_error *err)
{
    const size_t M = b->n_models, P = b->n_params, rs = s->real_size;
    const size_t B = padded_batch(b);
    ocl_group *g = calloc(1, sizeof *g);
    if (!g)
        return clrnn__fail(err, CLRNN_E_NOMEM, "out of memory for a group of %zu models", M);
    s->group = g;
    g->M = M;
    g->stride_p = ocl_group_stride(s, P);
    g->stride_loss = ocl_group_stride(s, 2);
    g->stride_partial = chunks_of(B) * P;
    g->stride_window = B;
    const double per_model =
        (double)rs *
            (double)(4 * g->stride_p + g->stride_loss +
                     (launches ? g->stride_partial + g->stride_window + 2 * OCL_GROUP_ARGS + 2
                               : 0)) +
        (double)B * sizeof(cl_uint); /* about an order's row, an epoch of a few batches */
    cl_ulong global_mem = 0;
    clGetDeviceInfo(s->device, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof global_mem, &global_mem, NULL);
    if (global_mem && per_model * (double)M > (double)global_mem) {
        const size_t fit = (size_t)((double)global_mem / per_model);
        return clrnn__fail(err, CLRNN_E_NOMEM,
                           "a group of %zu models needs %.0f MiB of device memory, the device has "
                           "%.0f MiB: %zu fit (a smaller `n_models`)",
                           M, per_model * (double)M / 1048576.0, (double)global_mem / 1048576.0,
                           fit);
    }
    clrnn_status st = CLRNN_OK;
    struct {
        cl_mem *mem;
        size_t stride;
        const char *name;
    } big[] = {{&g->params, g->stride_p, "a group's parameters"},
               {&g->grads, g->stride_p, "a group's gradients"},
               {&g->opt_m, g->stride_p, "a group's optimizer state (velocity or m)"},
               {&g->opt_v, g->stride_p, "a group's optimizer state (v)"},
               {&g->loss_sum, g->stride_loss, "a group's loss sums"},
               {&g->partial, g->stride_partial, "a group's gradient partial sums"},
               {&g->window_loss, g->stride_window, "a group's window losses"},
               {&g->active, OCL_GROUP_ARGS, "a group's active models"},
               {&g->args, OCL_GROUP_ARGS, "a group's optimizer rows"},
               {&g->clip, 2, "a group's clipping norms"}};
    const size_t n_big = launches ? sizeof big / sizeof big[0] : 5; /* the models' own first */
    for (size_t i = 0; st == CLRNN_OK && i < n_big; i++)
        st = group_buffer(s, big[i].mem, M * big[i].stride, big[i].name, err);
    g->views = calloc(M, sizeof *g->views);
    for (int i = 0; st == CLRNN_OK && i < OCL_GROUP_SLOTS; i++)
        if (!(g->host[i] = calloc(M * OCL_GROUP_ARGS, rs)))
            st = clrnn__fail(err, CLRNN_E_NOMEM, "out of memory for a group of %zu models", M);
    g->last_active = malloc(M * OCL_GROUP_ARGS * sizeof *g->last_active);
    g->last_args = malloc(M * OCL_GROUP_ARGS * sizeof *g->last_args);
    if (st == CLRNN_OK && (!g->last_active || !g->last_args))
        st = clrnn__fail(err, CLRNN_E_NOMEM, "out of memory for a group of %zu models", M);
    for (size_t i = 0; st == CLRNN_OK && i < M * OCL_GROUP_ARGS; i++)
        g->last_active[i] = g->last_args[i] = NAN;
    if (st == CLRNN_OK && !g->views)
        st = clrnn__fail(err, CLRNN_E_NOMEM, "out of memory for a group of %zu models", M);
    for (size_t k = 0; st == CLRNN_OK && k < M; k++) {
        ocl_model_views *v = &g->views[k];
        st = make_view(s, g->params, k, g->stride_p, P, &v->params, err);
        if (st == CLRNN_OK)
            st = make_view(s, g->grads, k, g->stride_p, P, &v->grads, err);
        if (st == CLRNN_OK)
            st = make_view(s, g->opt_m, k, g->stride_p, P, &v->opt_m, err);
        if (st == CLRNN_OK)
            st = make_view(s, g->opt_v, k, g->stride_p, P, &v->opt_v, err);
        if (st == CLRNN_OK)
            st = make_view(s, g->loss_sum, k, g->stride_loss, 2, &v->loss_sum, err);
    }
    if (st != CLRNN_OK)
        return st;
    /* The single model's own buffers give way to model 0's views. */
    cl_mem *own[] = {&s->params, &s->grads, &s->opt_m, &s->opt_v, &s->loss_sum};
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
        ocl_release_mem(own[i]);
    point_at(s, g, 0);
    return CLRNN_OK;
}

/* rows (M, OCL_GROUP_ARGS) of doubles to buf, unless it holds them (last:
 * what it last got), from a host slot without waiting for the device (the
 * slot is reused once its last write is done). */
static clrnn_status write_rows(ocl_state *s, cl_mem buf, double *last, const double *rows,
                               clrnn_error *err)
{
    ocl_group *g = s->group;
    const size_t n = g->M * OCL_GROUP_ARGS;
    if (memcmp(last, rows, n * sizeof *rows) == 0)
        return CLRNN_OK;
    memcpy(last, rows, n * sizeof *rows);
    const int slot = g->slot = (g->slot + 1) % OCL_GROUP_SLOTS;
    if (g->written[slot]) {
        cl_int rc = clWaitForEvents(1, &g->written[slot]);
        clReleaseEvent(g->written[slot]);
        g->written[slot] = NULL;
        if (rc != CL_SUCCESS)
            return ocl_fail(err, rc, "waiting for a group's rows to be written");
    }
    for (size_t i = 0; i < n; i++)
        if (s->real_size == sizeof(double))
            ((double *)g->host[slot])[i] = rows[i];
        else
            ((float *)g->host[slot])[i] = (float)rows[i];
    cl_int rc = clEnqueueWriteBuffer(s->queue, buf, CL_FALSE, 0, n * s->real_size, g->host[slot], 0,
                                     NULL, &g->written[slot]);
    return rc == CL_SUCCESS ? CLRNN_OK : ocl_fail(err, rc, "writing a group's rows");
}

/* The rows as the group's kernels read them: model k's optimizer (kind 0
 * where it does not step) and whether it runs. */
static double *group_rows(const clrnn_backend *b, const clrnn_optimizer *opts, const long *steps,
                          const unsigned char *active)
{
    double *rows = calloc(b->n_models * OCL_GROUP_ARGS, sizeof *rows);
    for (size_t k = 0; rows && k < b->n_models; k++) {
        double *r = rows + k * OCL_GROUP_ARGS;
        const int on = !active || active[k];
        r[9] = on;
        if (!opts || !on)
            continue;
        const clrnn_optimizer *o = &opts[k];
        r[0] = o->kind == CLRNN_ADAM ? 2 : 1;
        r[1] = o->lr;
        r[2] = o->momentum;
        r[3] = o->beta1;
        r[4] = o->beta2;
        r[5] = o->eps;
        r[6] = o->weight_decay;
        r[7] = 1.0 - pow(o->beta1, (double)steps[k]);
        r[8] = 1.0 - pow(o->beta2, (double)steps[k]);
        r[10] = o->clip_norm > 0 ? o->clip_norm : 0;
    }
    return rows;
}

/* A family without the model dimension: each active model's batch in turn,
 * on its views (the data, program and scratch buffers shared): starts NULL
 * each model's own order (a training batch), else the same windows. */
static clrnn_status run_models_in_turn(clrnn_backend *b, const uint32_t *starts, size_t n,
                                       int with_gradients, const unsigned char *active,
                                       clrnn_error *err)
{
    const size_t keep = b->model;
    clrnn_status st = CLRNN_OK;
    for (size_t k = 0; st == CLRNN_OK && k < b->n_models; k++)
        if (!active || active[k]) {
            b->model = k;
            st = ocl_run_batch(b, starts, n, with_gradients, err);
        }
    b->model = keep;
    return st;
}

/* The models' rows as a group launch reads which ones run (g->active),
 * after a single batch's waiting step (on its model). */
static clrnn_status write_active(clrnn_backend *b, ocl_backend *o, const unsigned char *active,
                                 clrnn_error *err)
{
    clrnn_status st = settle(b, o, err);
    double *rows = st == CLRNN_OK ? group_rows(b, NULL, NULL, active) : NULL;
    if (st == CLRNN_OK && !rows)
        st = clrnn__fail(err, CLRNN_E_NOMEM, "out of memory for a group's rows");
    if (st == CLRNN_OK)
        st = write_rows(&o->s, o->s.group->active, o->s.group->last_active, rows, err);
    free(rows);
    return st;
}

static clrnn_status ocl_run_group(clrnn_backend *b, size_t first, size_t n,
                                  const unsigned char *active, clrnn_error *err)
{
    ocl_backend *o = b->impl;
    ocl_state *s = &o->s;
    if (!o->family->run_group)
        return run_models_in_turn(b, NULL, n, 1, active, err);
    clrnn_status st = write_active(b, o, active, err);
    if (st == CLRNN_OK)
        st = o->family->run_group(b, s, o->state, first, n, err);
    return st == CLRNN_OK ? ocl_flush(s, err) : st;
}

/* A group's forward of the same B windows (validation): one set of
 * launches for all models where the family that runs batches without
 * gradients has forward_group, else each model's batch in turn. */
static clrnn_status ocl_forward_group(clrnn_backend *b, const uint32_t *starts, size_t B,
                                      const unsigned char *active, clrnn_error *err)
{
    ocl_backend *o = b->impl;
    ocl_state *s = &o->s;
    if (!o->forward->forward_group)
        return run_models_in_turn(b, starts, B, 0, active, err);
    clrnn_status st = write_active(b, o, active, err);
    s->batch_starts = s->starts;
    s->batch_offset = 0;
    if (st == CLRNN_OK)
        st = upload_starts(s, starts, B, err);
    o->ran = o->forward;
    o->ran_state = o->forward == o->family ? o->state : o->forward_state;
    if (st == CLRNN_OK)
        st = o->forward->forward_group(b, s, o->ran_state, B, err);
    return st == CLRNN_OK ? ocl_flush(s, err) : st;
}

static clrnn_status ocl_update_group(clrnn_backend *b, const clrnn_optimizer *opts,
                                     const long *steps, const unsigned char *active,
                                     clrnn_error *err)
{
    ocl_backend *o = b->impl;
    ocl_state *s = &o->s;
    clrnn_status st = CLRNN_OK;
    if (!o->family->run_group) { /* each model's step in turn, on its views */
        const size_t keep = b->model;
        for (size_t k = 0; st == CLRNN_OK && k < b->n_models; k++)
            if (!active || active[k]) {
                b->model = k;
                st = ocl_update(b, &opts[k], steps[k], err);
            }
        b->model = keep;
        return st;
    }
    double *rows = st == CLRNN_OK ? group_rows(b, opts, steps, active) : NULL;
    if (st == CLRNN_OK && !rows)
        st = clrnn__fail(err, CLRNN_E_NOMEM, "out of memory for a group's rows");
    if (st == CLRNN_OK)
        st = write_rows(s, s->group->args, s->group->last_args, rows, err);
    free(rows);
    int clips = 0;
    for (size_t k = 0; k < b->n_models; k++)
        clips |= (!active || active[k]) && opts[k].clip_norm > 0;
    if (st == CLRNN_OK)
        st = o->family->step_group ? o->family->step_group(b, s, o->state, clips, err)
                                   : ocl_group_step(b, s, clips, err);
    return st == CLRNN_OK ? ocl_flush(s, err) : st;
}

/* ------------------------------------------------- carried hidden state */

/* The initial-state buffers, made the first time the backend is made
 * stateful (the default path has none), zeroed each time. */
static clrnn_status ocl_set_stateful(clrnn_backend *b, int on, clrnn_error *err)
{
    ocl_state *s = &((ocl_backend *)b->impl)->s;
    const size_t B = padded_batch(b);
    clrnn_status st = CLRNN_OK;
    if (on && !s->h0) {
        s->h0 = calloc(b->n_layers, sizeof *s->h0);
        s->reset_host = malloc(B * sizeof *s->reset_host);
        if (!s->h0 || !s->reset_host)
            return clrnn__fail(err, CLRNN_E_NOMEM, "out of memory for the initial states");
        for (size_t l = 0; st == CLRNN_OK && l < b->n_layers; l++) {
            char name[64];
            snprintf(name, sizeof name, "layer %zu initial states (B,H)", l);
            st = ocl_make_buffer(s, &s->h0[l], B * b->layers[l].n_hidden, s->real_size,
                                 CL_MEM_READ_WRITE, name, err);
        }
        if (st == CLRNN_OK)
            st = ocl_make_buffer(s, &s->state_reset, B, sizeof(cl_uint), CL_MEM_READ_ONLY,
                                 "state resets", err);
    }
    for (size_t l = 0; on && st == CLRNN_OK && l < b->n_layers; l++)
        st = ocl_zero_buffer(s, s->h0[l], B * b->layers[l].n_hidden, "initial states", err);
    s->stateful = on && st == CLRNN_OK;
    return st;
}

static clrnn_status ocl_set_initial_state(clrnn_backend *b, size_t layer, const double *h0,
                                          size_t n, clrnn_error *err)
{
    ocl_state *s = &((ocl_backend *)b->impl)->s;
    const size_t count = n * b->layers[layer].n_hidden;
    return h0 ? ocl_write_reals(s, s->h0[layer], h0, count, "initial states", err)
              : ocl_zero_buffer(s, s->h0[layer], count, "initial states", err);
}

static clrnn_status ocl_get_initial_state(clrnn_backend *b, size_t layer, double *h0, size_t n,
                                          clrnn_error *err)
{
    ocl_state *s = &((ocl_backend *)b->impl)->s;
    return ocl_read_reals(s, h0, s->h0[layer], n * b->layers[layer].n_hidden, "initial states",
                          err);
}

/* h0[l][b] <- the last step's h of window b of the last batch, or 0 where
 * reset[b], every layer, on the device (carry_state, state.cl). Only the
 * B reset flags cross from the host, and only when there are any. */
static clrnn_status ocl_carry_state(clrnn_backend *b, const unsigned char *reset, size_t n,
                                    clrnn_error *err)
{
    ocl_backend *o = b->impl;
    ocl_state *s = &o->s;
    if (reset) {
        for (size_t i = 0; i < n; i++)
            s->reset_host[i] = reset[i] != 0;
        cl_int rc = clEnqueueWriteBuffer(s->queue, s->state_reset, CL_TRUE, 0, n * sizeof(cl_uint),
                                         s->reset_host, 0, NULL, NULL);
        if (rc != CL_SUCCESS)
            return ocl_fail(err, rc, "writing the state resets");
    }
    const size_t lanes =
        o->ran && o->ran->activation_lanes ? o->ran->activation_lanes(b, o->ran_state) : 0;
    clrnn_status st = CLRNN_OK;
    for (size_t l = 0; st == CLRNN_OK && l < b->n_layers; l++) {
        const size_t H = b->layers[l].n_hidden;
        kernel_args a = args_for(s, s->kernels[K_CARRY_STATE]);
        arg_mem(&a, s->h0[l]);
        arg_mem(&a, s->h[l]);
        arg_mem(&a, s->state_reset);
        arg_uint(&a, reset != NULL);
        arg_uint(&a, n);
        arg_uint(&a, b->seq_len);
        arg_uint(&a, H);
        arg_uint(&a, lanes);
        st = ocl_launch_1d(s, &a, n * H, err);
    }
    return st;
}

/* Input attributions by the family (NULL there: by its forward family,
 * as the fused family's batches without gradients are), the waiting step
 * settled first so that they see the current parameters. */
static clrnn_status ocl_input_gradients(clrnn_backend *b, const uint32_t *starts, size_t B,
                                        size_t output, double *dx, clrnn_error *err)
{
    ocl_backend *o = b->impl;
    ocl_state *s = &o->s;
    const ocl_family *f = o->family->input_gradients ? o->family : o->forward;
    void *self = f == o->family ? o->state : o->forward_state;
    const size_t T = b->seq_len, F = b->layers[0].n_in;
    if (!f->input_gradients)
        return clrnn__fail(err, CLRNN_E_UNSUPPORTED, "the %s kernels have no input gradients",
                           f->name);
    clrnn_status st = use_model(b, o, err);
    if (st == CLRNN_OK)
        st = settle(b, o, err);
    if (st == CLRNN_OK && !o->dx)
        st = ocl_make_buffer(s, &o->dx, padded_batch(b) * T * F, s->real_size, CL_MEM_READ_WRITE,
                             "input gradients (B,T,F)", err);
    s->batch_starts = s->starts;
    s->batch_offset = 0;
    if (st == CLRNN_OK)
        st = upload_starts(s, starts, B, err);
    o->ran = f;
    o->ran_state = self;
    if (st == CLRNN_OK)
        st = f->input_gradients(b, s, self, B, output, o->dx, err);
    return st == CLRNN_OK ? ocl_read_reals(s, dx, o->dx, B * T * F, "input gradients", err) : st;
}

static const backend_ops ocl_ops = {
    .destroy = ocl_destroy,
    .stage = ocl_stage,
    .set_params = ocl_set_params,
    .get_params = ocl_get_params,
    .run_batch = ocl_run_batch,
    .stage_order = ocl_stage_order,
    .update = ocl_update,
    .get_grads = ocl_get_grads,
    .get_outputs = ocl_get_outputs,
    .get_hidden = ocl_get_hidden,
    .get_window_losses = ocl_get_window_losses,
    .take_loss_sum = ocl_take_loss_sum,
    .get_opt_state = ocl_get_opt_state,
    .set_opt_state = ocl_set_opt_state,
    .set_profiling = ocl_set_profiling,
    .kernel_times = ocl_kernel_times,
    .peak = ocl_peak,
    .finish = ocl_finish,
    .share_run = ocl_share_run,
    .share_fold = ocl_share_fold,
    .share_finish = ocl_share_finish,
    .run_group = ocl_run_group,
    .update_group = ocl_update_group,
    .forward_group = ocl_forward_group,
    .set_stateful = ocl_set_stateful,
    .set_initial_state = ocl_set_initial_state,
    .get_initial_state = ocl_get_initial_state,
    .carry_state = ocl_carry_state,
    .input_gradients = ocl_input_gradients,
};

clrnn_status backend_opencl_init(clrnn_backend *b, const char *device, clrnn_error *err)
{
    if (b->n_params > UINT32_MAX || b->max_batch * b->seq_len > UINT32_MAX / 4)
        return clrnn__fail(err, CLRNN_E_INPUT, "the model or the batch is too large for OpenCL");
    ocl_backend *o = calloc(1, sizeof *o);
    if (!o)
        return clrnn__fail(err, CLRNN_E_NOMEM, "out of memory creating the OpenCL backend");
    ocl_state *s = &o->s;
    b->impl = o;
    b->ops = &ocl_ops;
    s->h = calloc(b->n_layers, sizeof *s->h);
    s->y = calloc(b->n_layers, sizeof *s->y);
    s->dy = calloc(b->n_layers, sizeof *s->dy);
    clrnn_status st = CLRNN_OK;
    if (!s->h || !s->y || !s->dy)
        st = clrnn__fail(err, CLRNN_E_NOMEM, "out of memory creating the OpenCL backend");
    if (st == CLRNN_OK)
        st = open_device(b, s, device, err);
    if (st == CLRNN_OK)
        st = choose_family(b, o, err);
    /* The shared program first: a family's tunables may derive from what
     * the device reports of its kernels (the gpu family's work-group
     * multiple). */
    if (st == CLRNN_OK)
        st = build_shared_program(b, o, err);
    if (st == CLRNN_OK && o->forward != o->family)
        st = resolve_tuning(b, o, o->forward, err);
    if (st == CLRNN_OK)
        st = resolve_tuning(b, o, o->family, err);
    if (st == CLRNN_OK)
        st = allocate_buffers(b, s, err);
    /* A group of models: one set of buffers, the data staged once; the
     * model a grid dimension of the launches where the family has one
     * (run_group), else each model's launches in turn. */
    const int group = st == CLRNN_OK && b->n_models > 1;
    if (group)
        st = group_init(b, s, o->family->run_group || o->forward->forward_group, err);
    const ocl_family *f[2];
    void **state[2];
    const size_t n_families = st == CLRNN_OK ? families_that_run(o, f, state) : 0;
    for (size_t i = 0; st == CLRNN_OK && i < n_families; i++)
        st = f[i]->init(b, s, state[i], err);
    if (st == CLRNN_OK && group) {
        b->group_native = 1;
        size_t len = strlen(b->description);
        snprintf(b->description + len, sizeof b->description - len,
                 o->family->run_group ? ", %zu models a launch" : ", %zu models in turn",
                 b->n_models);
    }
    if (st != CLRNN_OK) {
        ocl_destroy(b);
        b->ops = NULL;
    }
    return st;
}
