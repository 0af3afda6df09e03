/* The OpenCL machinery the kernel families share (runtime.h). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/error.h"
#include "opencl/kernels_embedded.h"
#include "opencl/opencl_util.h"
#include "opencl/runtime.h"

/* ------------------------------------------------------ kernel arguments */

void arg_mem(kernel_args *a, cl_mem m)
{
    if (a->rc == CL_SUCCESS)
        a->rc = clSetKernelArg(a->kernel, a->next, sizeof m, &m);
    a->next++;
}

void arg_uint(kernel_args *a, size_t value)
{
    cl_uint v = (cl_uint)value;
    if (a->rc == CL_SUCCESS)
        a->rc = clSetKernelArg(a->kernel, a->next, sizeof v, &v);
    a->next++;
}

void arg_real(kernel_args *a, double value)
{
    if (a->rc == CL_SUCCESS) {
        if (a->s->real_size == sizeof(double)) {
            cl_double v = value;
            a->rc = clSetKernelArg(a->kernel, a->next, sizeof v, &v);
        } else {
            cl_float v = (cl_float)value;
            a->rc = clSetKernelArg(a->kernel, a->next, sizeof v, &v);
        }
    }
    a->next++;
}

void arg_starts(kernel_args *a, const ocl_state *s)
{
    arg_mem(a, s->batch_starts);
    arg_uint(a, s->batch_offset);
}

void arg_local(kernel_args *a, size_t bytes)
{
    if (a->rc == CL_SUCCESS)
        a->rc = clSetKernelArg(a->kernel, a->next, bytes, NULL);
    a->next++;
}

/* ------------------------------------------------------------- launches */

clrnn_status ocl_launch(ocl_state *s, const kernel_args *a, cl_uint dims, const size_t *global,
                        const size_t *local, clrnn_error *err)
{
    const int slot = a->slot;
    char what[96];
    snprintf(what, sizeof what, "setting the arguments of kernel %s", s->slot_name[slot]);
    if (a->rc != CL_SUCCESS)
        return ocl_fail(err, a->rc, what);
    size_t items = 1;
    for (cl_uint d = 0; local && d < dims; d++)
        items *= local[d];
    if (!local || items > a->max_group)
        return clrnn__fail(err, CLRNN_E_DEVICE,
                           "launching kernel %s: a work-group of %zu work-items (at most %zu)",
                           s->slot_name[slot], local ? items : 0, a->max_group);
    if (s->profiling && s->n_pending == s->pending_capacity) {
        clrnn_status st = ocl_harvest_events(s, err);
        if (st != CLRNN_OK)
            return st;
    }
    cl_event *event = s->profiling ? &s->pending[s->n_pending] : NULL;
    cl_int rc =
        clEnqueueNDRangeKernel(s->queue, a->kernel, dims, NULL, global, local, 0, NULL, event);
    if (rc != CL_SUCCESS) {
        snprintf(what, sizeof what, "launching kernel %s", s->slot_name[slot]);
        return ocl_fail(err, rc, what);
    }
    if (event)
        s->pending_slot[s->n_pending++] = slot;
    return CLRNN_OK;
}

clrnn_status ocl_harvest_events(ocl_state *s, clrnn_error *err)
{
    cl_int rc = clFinish(s->queue);
    for (size_t i = 0; i < s->n_pending; i++) {
        cl_ulong start = 0, end = 0;
        if (rc == CL_SUCCESS)
            rc = clGetEventProfilingInfo(s->pending[i], CL_PROFILING_COMMAND_START, sizeof start,
                                         &start, NULL);
        if (rc == CL_SUCCESS)
            rc = clGetEventProfilingInfo(s->pending[i], CL_PROFILING_COMMAND_END, sizeof end, &end,
                                         NULL);
        if (rc == CL_SUCCESS) {
            s->slot_seconds[s->pending_slot[i]] += (double)(end - start) * 1e-9;
            s->slot_launches[s->pending_slot[i]]++;
        }
        clReleaseEvent(s->pending[i]);
    }
    s->n_pending = 0;
    return rc == CL_SUCCESS ? CLRNN_OK : ocl_fail(err, rc, "reading kernel profiling events");
}

size_t ocl_group_size(const ocl_state *s, const kernel_args *a, size_t wanted)
{
    size_t limit = a->max_group;
    if (s->cpu_device && a->private_bytes && CPU_GROUP_PRIVATE_MAX / a->private_bytes < limit)
        limit = CPU_GROUP_PRIVATE_MAX / a->private_bytes;
    if (wanted < limit)
        limit = wanted;
    return limit ? limit : 1;
}

clrnn_status ocl_launch_1d(ocl_state *s, const kernel_args *a, size_t n, clrnn_error *err)
{
    size_t local = ocl_group_size(s, a, 64), global = round_up(n, local);
    return ocl_launch(s, a, 1, &global, &local, err);
}

clrnn_status ocl_launch_exact_1d(ocl_state *s, const kernel_args *a, size_t n, size_t wanted,
                                 clrnn_error *err)
{
    size_t local = ocl_group_size(s, a, wanted);
    while (n % local != 0)
        local--;
    return ocl_launch(s, a, 1, &n, &local, err);
}

clrnn_status ocl_launch_items(ocl_state *s, const kernel_args *a, size_t n, clrnn_error *err)
{
    size_t local;
    if (s->cpu_device) {
        const size_t limit = ocl_group_size(s, a, SIZE_MAX);
        size_t groups = (n + limit - 1) / limit;
        if (groups < s->compute_units)
            groups = s->compute_units;
        local = (n + groups - 1) / groups;
        if (local == 0)
            local = 1;
    } else
        local = ocl_group_size(s, a, 64);
    size_t global = round_up(n, local);
    return ocl_launch(s, a, 1, &global, &local, err);
}

clrnn_status ocl_flush(ocl_state *s, clrnn_error *err)
{
    cl_int rc = clFlush(s->queue);
    return rc == CL_SUCCESS ? CLRNN_OK : ocl_fail(err, rc, "clFlush");
}

/* ------------------------------------------------- programs and kernels */

/* The build log, into b->log in full and its first line into the error. */
static clrnn_status build_failed(clrnn_backend *b, ocl_state *s, cl_program program, cl_int rc,
                                 clrnn_error *err)
{
    size_t size = 0;
    clGetProgramBuildInfo(program, s->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &size);
    char *log = malloc(size + 1);
    if (log) {
        log[0] = '\0';
        clGetProgramBuildInfo(program, s->device, CL_PROGRAM_BUILD_LOG, size, log, NULL);
        log[size] = '\0';
        if (b->log)
            fprintf(b->log, "OpenCL build log:\n%s\n", log);
        /* The first line that says something. */
        char *line = log;
        while (*line == '\n' || *line == ' ')
            line++;
        line[strcspn(line, "\n")] = '\0';
        clrnn__fail(err, CLRNN_E_DEVICE, "building the OpenCL kernels failed: %s: %.300s",
                    ocl_status_name(rc), line);
        free(log);
    } else
        ocl_fail(err, rc, "building the OpenCL kernels");
    return CLRNN_E_DEVICE;
}

clrnn_status ocl_build(clrnn_backend *b, ocl_state *s, const char *const *files, size_t n_files,
                       const char *options, cl_program *program, clrnn_error *err)
{
    const char *sources[MAX_PROGRAM_FILES];
    if (n_files > MAX_PROGRAM_FILES)
        return clrnn__fail(err, CLRNN_E_DEVICE, "%zu kernel sources in one program (at most %d)",
                           n_files, MAX_PROGRAM_FILES);
    for (size_t i = 0; i < n_files; i++) {
        sources[i] = clrnn__kernel_source(files[i]);
        if (!sources[i])
            return clrnn__fail(err, CLRNN_E_DEVICE, "kernel source '%s.cl' is not embedded",
                               files[i]);
    }
    cl_int rc;
    *program = clCreateProgramWithSource(s->context, (cl_uint)n_files, sources, NULL, &rc);
    if (rc != CL_SUCCESS)
        return ocl_fail(err, rc, "clCreateProgramWithSource");
    rc = clBuildProgram(*program, 1, &s->device, options, NULL, NULL);
    if (rc != CL_SUCCESS)
        return build_failed(b, s, *program, rc, err);
    return CLRNN_OK;
}

/* The slot of a kernel name, a new one for a name not met before; -1 when
 * all are taken. */
static int slot_of(ocl_state *s, const char *name)
{
    for (size_t i = 0; i < s->n_slots; i++)
        if (strcmp(s->slot_name[i], name) == 0)
            return (int)i;
    if (s->n_slots == MAX_KERNEL_SLOTS)
        return -1;
    s->slot_name[s->n_slots] = name;
    return (int)s->n_slots++;
}

void ocl_reserve_slots(ocl_state *s, const char *const *names, size_t n)
{
    for (size_t k = 0; k < n; k++)
        slot_of(s, names[k]);
}

clrnn_status ocl_create_kernels(ocl_state *s, cl_program program, const char *const *names,
                                size_t n, ocl_kernel *kernels, clrnn_error *err)
{
    for (size_t k = 0; k < n; k++) {
        cl_int rc;
        kernels[k].kernel = clCreateKernel(program, names[k], &rc);
        kernels[k].slot = slot_of(s, names[k]);
        if (kernels[k].slot < 0)
            return clrnn__fail(err, CLRNN_E_DEVICE, "more than %d kernel names to profile",
                               MAX_KERNEL_SLOTS);
        if (rc != CL_SUCCESS) {
            char what[96];
            snprintf(what, sizeof what, "creating kernel %s", names[k]);
            return ocl_fail(err, rc, what);
        }
        size_t max_group = 0;
        cl_ulong private_bytes = 0;
        rc = clGetKernelWorkGroupInfo(kernels[k].kernel, s->device, CL_KERNEL_WORK_GROUP_SIZE,
                                      sizeof max_group, &max_group, NULL);
        if (rc == CL_SUCCESS)
            rc = clGetKernelWorkGroupInfo(kernels[k].kernel, s->device, CL_KERNEL_PRIVATE_MEM_SIZE,
                                          sizeof private_bytes, &private_bytes, NULL);
        if (rc != CL_SUCCESS) {
            char what[96];
            snprintf(what, sizeof what, "clGetKernelWorkGroupInfo of kernel %s", names[k]);
            return ocl_fail(err, rc, what);
        }
        if (s->max_item_size[0] && s->max_item_size[0] < max_group)
            max_group = s->max_item_size[0];
        kernels[k].max_group = max_group ? max_group : 1;
        kernels[k].private_bytes = (size_t)private_bytes;
        clrnn_status st = ocl_bound_private(&kernels[k], 0, names[k], "as the device reports",
                                            "a smaller model", err);
        if (st != CLRNN_OK)
            return st;
    }
    return CLRNN_OK;
}

clrnn_status ocl_bound_private(ocl_kernel *k, size_t counted, const char *name, const char *holds,
                               const char *instead, clrnn_error *err)
{
    if (counted > k->private_bytes)
        k->private_bytes = counted;
    if (k->private_bytes <= ITEM_PRIVATE_MAX)
        return CLRNN_OK;
    return clrnn__fail(err, CLRNN_E_INPUT,
                       "kernel %s needs %zu KiB of private memory a work-item (%s), more than "
                       "the %d KiB it may hold: %s",
                       name, (k->private_bytes + 1023) / 1024, holds, ITEM_PRIVATE_MAX / 1024,
                       instead);
}

void ocl_release_kernels(ocl_kernel *kernels, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        if (kernels[k].kernel)
            clReleaseKernel(kernels[k].kernel);
        kernels[k].kernel = NULL;
    }
}

void ocl_release_program(cl_program *program)
{
    if (*program)
        clReleaseProgram(*program);
    *program = NULL;
}

size_t ocl_native_width(const ocl_state *s, int fp64)
{
    cl_uint width = 0;
    clGetDeviceInfo(s->device,
                    fp64 ? CL_DEVICE_NATIVE_VECTOR_WIDTH_DOUBLE
                         : CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT,
                    sizeof width, &width, NULL);
    return width >= 16 ? 16 : 8;
}

/* ------------------------------------------------ buffers and transfers */

/* A failed transfer to, from or in a named device buffer. */
static clrnn_status buffer_fail(cl_int rc, const char *doing, const char *name, clrnn_error *err)
{
    char what[128];
    snprintf(what, sizeof what, "%s the device buffer '%s'", doing, name);
    return ocl_fail(err, rc, what);
}

const char *const OCL_SIZED_BY_BATCH = "try a smaller `max_batch`";
const char *const OCL_SIZED_BY_MODEL = "the model is too large for this device: fewer or "
                                       "smaller `layers`";
const char *const OCL_SIZED_BY_TABLE = "the table is too large for this device: fewer rows";

clrnn_status ocl_make_sized_buffer(ocl_state *s, cl_mem *out, size_t n, size_t element,
                                   cl_mem_flags flags, const char *name, const char *remedy,
                                   clrnn_error *err)
{
    size_t bytes = n * element;
    if (bytes > s->max_alloc)
        return clrnn__fail(err, CLRNN_E_DEVICE,
                           "the device buffer '%s' needs %.1f MiB, more than the device allows in "
                           "one buffer (%.1f MiB): %s",
                           name, bytes / 1048576.0, s->max_alloc / 1048576.0, remedy);
    cl_int rc;
    *out = clCreateBuffer(s->context, flags, bytes, NULL, &rc);
    if (rc != CL_SUCCESS) {
        char what[128];
        snprintf(what, sizeof what, "allocating the device buffer '%s' (%.1f MiB)", name,
                 bytes / 1048576.0);
        return ocl_fail(err, rc, what);
    }
    return CLRNN_OK;
}

clrnn_status ocl_make_buffer(ocl_state *s, cl_mem *out, size_t n, size_t element,
                             cl_mem_flags flags, const char *name, clrnn_error *err)
{
    return ocl_make_sized_buffer(s, out, n, element, flags, name, OCL_SIZED_BY_BATCH, err);
}

void ocl_release_mem(cl_mem *m)
{
    if (*m)
        clReleaseMemObject(*m);
    *m = NULL;
}

/* Host conversion scratch of at least n reals. */
static clrnn_status host_scratch(ocl_state *s, size_t n, clrnn_error *err)
{
    if (n <= s->host_size)
        return CLRNN_OK;
    void *p = realloc(s->host, n * s->real_size);
    if (!p)
        return clrnn__fail(err, CLRNN_E_NOMEM, "out of host memory (%zu values)", n);
    s->host = p;
    s->host_size = n;
    return CLRNN_OK;
}

clrnn_status ocl_write_reals(ocl_state *s, cl_mem buffer, const double *values, size_t n,
                             const char *name, clrnn_error *err)
{
    clrnn_status st = host_scratch(s, n, err);
    if (st != CLRNN_OK)
        return st;
    if (s->real_size == sizeof(double))
        memcpy(s->host, values, n * sizeof *values);
    else
        for (size_t i = 0; i < n; i++)
            ((float *)s->host)[i] = (float)values[i];
    cl_int rc = clEnqueueWriteBuffer(s->queue, buffer, CL_TRUE, 0, n * s->real_size, s->host, 0,
                                     NULL, NULL);
    if (rc != CL_SUCCESS)
        return buffer_fail(rc, "writing", name, err);
    return CLRNN_OK;
}

clrnn_status ocl_read_reals(ocl_state *s, double *values, cl_mem buffer, size_t n, const char *name,
                            clrnn_error *err)
{
    clrnn_status st = host_scratch(s, n, err);
    if (st != CLRNN_OK)
        return st;
    cl_int rc =
        clEnqueueReadBuffer(s->queue, buffer, CL_TRUE, 0, n * s->real_size, s->host, 0, NULL, NULL);
    if (rc != CL_SUCCESS)
        return buffer_fail(rc, "reading", name, err);
    if (s->real_size == sizeof(double))
        memcpy(values, s->host, n * sizeof *values);
    else
        for (size_t i = 0; i < n; i++)
            values[i] = ((const float *)s->host)[i];
    return CLRNN_OK;
}

clrnn_status ocl_zero_buffer(ocl_state *s, cl_mem buffer, size_t n, const char *name,
                             clrnn_error *err)
{
    static const cl_double zero = 0.0; /* all-zero bits: 0 in float and double */
    cl_int rc = clEnqueueFillBuffer(s->queue, buffer, &zero, s->real_size, 0, n * s->real_size, 0,
                                    NULL, NULL);
    if (rc != CL_SUCCESS)
        return buffer_fail(rc, "zeroing", name, err);
    return CLRNN_OK;
}

/* ------------------------------------------------ the shared program's steps */

clrnn_status ocl_accumulate_loss(ocl_state *s, size_t B, clrnn_error *err)
{
    kernel_args a = args_for(s, s->kernels[K_LOSS_ACC]);
    arg_mem(&a, s->loss_sum);
    arg_mem(&a, s->window_loss);
    arg_uint(&a, B);
    size_t one = 1;
    return ocl_launch(s, &a, 1, &one, &one, err);
}

clrnn_status ocl_finish_gradient(const clrnn_backend *b, ocl_state *s, size_t B, clrnn_error *err)
{
    kernel_args a = args_for(s, s->kernels[K_GRAD_FINISH]);
    arg_mem(&a, s->grads);
    arg_mem(&a, s->partial);
    arg_uint(&a, chunks_of(B));
    arg_uint(&a, b->n_params);
    arg_uint(&a, B);
    return ocl_launch_1d(s, &a, b->n_params, err);
}

/* Scales the gradient to a global L2 norm of at most max_norm, all on the
 * device (mirrors clip_grad_norm_cpu). */
static clrnn_status clip_gradient(const clrnn_backend *b, ocl_state *s, double max_norm,
                                  clrnn_error *err)
{
    size_t P = b->n_params;
    kernel_args a = args_for(s, s->kernels[K_SUMSQ]);
    arg_mem(&a, s->norm_partial);
    arg_mem(&a, s->grads);
    arg_uint(&a, P);
    arg_uint(&a, PARAMS_PER_SLICE);
    clrnn_status st = ocl_launch_exact_1d(s, &a, s->n_slices, 64, err);
    if (st != CLRNN_OK)
        return st;
    a = args_for(s, s->kernels[K_CLIP_SCALE]);
    arg_mem(&a, s->clip);
    arg_mem(&a, s->norm_partial);
    arg_uint(&a, s->n_slices);
    arg_real(&a, max_norm);
    size_t one = 1;
    st = ocl_launch(s, &a, 1, &one, &one, err);
    if (st != CLRNN_OK)
        return st;
    a = args_for(s, s->kernels[K_SCALE_GRADS]);
    arg_mem(&a, s->grads);
    arg_mem(&a, s->clip);
    arg_uint(&a, P);
    return ocl_launch_1d(s, &a, P, err);
}

clrnn_status ocl_optimizer_step(const clrnn_backend *b, ocl_state *s, const clrnn_optimizer *opt,
                                long step, clrnn_error *err)
{
    size_t P = b->n_params;
    clrnn_status st = opt->clip_norm > 0 ? clip_gradient(b, s, opt->clip_norm, err) : CLRNN_OK;
    if (st != CLRNN_OK)
        return st;
    kernel_args a;
    int which = opt->kind == CLRNN_ADAM ? K_ADAM : K_SGD;
    a = args_for(s, s->kernels[which]);
    arg_mem(&a, s->params);
    arg_mem(&a, s->opt_m);
    if (which == K_ADAM)
        arg_mem(&a, s->opt_v);
    arg_mem(&a, s->grads);
    arg_uint(&a, P);
    arg_real(&a, opt->lr);
    if (which == K_ADAM) {
        arg_real(&a, opt->beta1);
        arg_real(&a, opt->beta2);
        arg_real(&a, opt->eps);
        arg_real(&a, opt->weight_decay);
        arg_real(&a, 1.0 - pow(opt->beta1, (double)step));
        arg_real(&a, 1.0 - pow(opt->beta2, (double)step));
    } else
        arg_real(&a, opt->momentum);
    return ocl_launch_1d(s, &a, P, err);
}

/* ------------------------------------------------------- the peak */

/* Chains of FMAs a work-item keeps in flight: enough to cover the latency
 * of a fused multiply-add (4 cycles on current x86 cores, 2 ports) and a
 * GPU's pipeline, few enough to stay in registers. */
#define PEAK_CHAINS 8

/* One launch of peak_fma over items work-items in groups of local, iters
 * FMAs a chain: its GFLOP/s, or 0 when it ran under 50 ms (too short to
 * time; *iters is then grown for the next try). */
static clrnn_status time_peak(ocl_state *s, const ocl_kernel *k, cl_mem out, size_t items,
                              size_t local, unsigned vw, int fp64, cl_uint *iters, double *gflops,
                              clrnn_error *err)
{
    /* a and b keep the chains bounded: x -> 0.5 x + 0.25 tends to 0.5 */
    cl_double a64 = 0.5, b64 = 0.25;
    cl_float a32 = 0.5f, b32 = 0.25f;
    size_t rs = fp64 ? sizeof a64 : sizeof a32;
    cl_int rc = clSetKernelArg(k->kernel, 0, sizeof out, &out);
    if (rc == CL_SUCCESS)
        rc = clSetKernelArg(k->kernel, 1, sizeof *iters, iters);
    if (rc == CL_SUCCESS)
        rc = clSetKernelArg(k->kernel, 2, rs, fp64 ? (void *)&a64 : (void *)&a32);
    if (rc == CL_SUCCESS)
        rc = clSetKernelArg(k->kernel, 3, rs, fp64 ? (void *)&b64 : (void *)&b32);
    double t0 = clock_seconds();
    if (rc == CL_SUCCESS)
        rc = clEnqueueNDRangeKernel(s->queue, k->kernel, 1, NULL, &items, &local, 0, NULL, NULL);
    if (rc == CL_SUCCESS)
        rc = clFinish(s->queue);
    double seconds = clock_seconds() - t0;
    if (rc != CL_SUCCESS)
        return ocl_fail(err, rc, "running the peak kernel");
    *gflops = 0.0;
    if (seconds < 0.05) {
        *iters = *iters < UINT32_MAX / 4 ? *iters * 4 : *iters;
        return CLRNN_OK;
    }
    *gflops = 2.0 * vw * PEAK_CHAINS * (double)*iters * (double)items / seconds * 1e-9;
    /* the next shape starts near 50 ms too */
    *iters = (cl_uint)fmax(64.0, (double)*iters * 0.06 / seconds / 4.0);
    return CLRNN_OK;
}

clrnn_status ocl_measure_peak(clrnn_backend *b, ocl_state *s, clrnn_peak *peak, clrnn_error *err)
{
    static const char *const files[] = {"common/common", "peak/peak"};
    static const char *const names[] = {"peak_fma"};
    const int fp64 = b->precision == CLRNN_FP64;
    cl_uint width = 0;
    clGetDeviceInfo(s->device,
                    fp64 ? CL_DEVICE_NATIVE_VECTOR_WIDTH_DOUBLE
                         : CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT,
                    sizeof width, &width, NULL);
    unsigned vw = 1; /* the device's own width, as a vector type OpenCL has */
    while (vw * 2 <= width && vw < 16)
        vw *= 2;
    char options[128];
    snprintf(options, sizeof options, "-DCLRNN_FP64=%d -DVW=%u -DCHAINS=%d", fp64, vw, PEAK_CHAINS);
    cl_program program = NULL;
    ocl_kernel kernel = {0};
    cl_mem out = NULL;
    clrnn_status st = ocl_build(b, s, files, 2, options, &program, err);
    if (st == CLRNN_OK)
        st = ocl_create_kernels(s, program, names, 1, &kernel, err);
    /* Launch shapes to try, the best kept: work-items a group, and groups a
     * compute unit. A CPU device runs a group on one thread, its
     * work-items one after another; a GPU hides latency with many. */
    static const size_t cpu_local[] = {1, 4, 16}, cpu_groups[] = {1, 4};
    static const size_t gpu_local[] = {64, 256}, gpu_groups[] = {16, 64};
    const size_t *locals = s->cpu_device ? cpu_local : gpu_local;
    const size_t *groups = s->cpu_device ? cpu_groups : gpu_groups;
    const size_t n_locals = s->cpu_device ? 3 : 2, n_groups = 2;
    const size_t max_items = s->compute_units * 256 * 64;
    if (st == CLRNN_OK)
        st = ocl_make_buffer(s, &out, max_items, s->real_size, CL_MEM_WRITE_ONLY, "peak sums", err);
    double best = 0.0;
    size_t best_items = 0;
    cl_uint iters = 64;
    for (size_t i = 0; st == CLRNN_OK && i < n_locals; i++) {
        size_t local = locals[i] <= kernel.max_group ? locals[i] : kernel.max_group;
        for (size_t j = 0; st == CLRNN_OK && j < n_groups; j++) {
            size_t items = s->compute_units * local * groups[j];
            /* two timed runs a shape, after as many as it takes to reach 50 ms */
            for (int timed = 0, tries = 0; st == CLRNN_OK && timed < 2 && tries < 16; tries++) {
                double gflops = 0.0;
                st = time_peak(s, &kernel, out, items, local, vw, fp64, &iters, &gflops, err);
                timed += gflops > 0.0;
                if (gflops > best) {
                    best = gflops;
                    best_items = items;
                }
            }
        }
    }
    if (st == CLRNN_OK && best == 0.0)
        st = clrnn__fail(err, CLRNN_E_DEVICE, "the peak kernel ran too fast to time");
    if (st == CLRNN_OK)
        *peak = (clrnn_peak){best, width, best_items, (unsigned)s->compute_units};
    ocl_release_mem(&out);
    ocl_release_kernels(&kernel, 1);
    ocl_release_program(&program);
    return st;
}
