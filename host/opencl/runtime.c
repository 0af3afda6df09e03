/* The OpenCL machinery the kernel families share (runtime.h). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

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

void arg_h0(kernel_args *a, const ocl_state *s, size_t l)
{
    arg_mem(a, s->stateful ? s->h0[l] : s->h[l]); /* the latter never read */
    arg_uint(a, s->stateful != 0);
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

size_t ocl_cpu_group_size(size_t n, size_t limit, size_t units)
{
    if (units == 0)
        units = 1;
    if (limit == 0)
        limit = 1;
    if (n <= 1)
        return 1;
    /* The busiest unit's work-items, groups dealt out in turn (64 items in
     * groups of at most 6 on 2 units: 36 a unit in 11 groups of 6, 32 in 16
     * of 4), the fewest over every size up to n / units; of equal ones the
     * smallest of at most 8 groups a unit, which a unit slowed by other work
     * hands on to the others. */
    size_t cap = (n + units - 1) / units, best_local = 1, best_cost = SIZE_MAX;
    if (cap > limit)
        cap = limit;
    for (size_t local = cap; local >= 1; local--) {
        const size_t groups = (n + local - 1) / local;
        const size_t cost = (groups + units - 1) / units * local;
        if (cost < best_cost || (cost == best_cost && groups <= 8 * units)) {
            best_cost = cost;
            best_local = local;
        }
    }
    return best_local;
}

clrnn_status ocl_launch_items(ocl_state *s, const kernel_args *a, size_t n, clrnn_error *err)
{
    size_t local;
    if (s->cpu_device)
        local = ocl_cpu_group_size(n, ocl_group_size(s, a, SIZE_MAX), s->compute_units);
    else
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

/* ------------------------------------------- what the compiler says */

/*
 * PoCL (3.1) puts a build's warnings in the build log and also writes a
 * summary ("4 warnings generated.") to the process's stderr, from inside
 * clBuildProgram. The library prints nothing of its own accord, so fd 2 is
 * pointed at a temporary file while a program builds, and what it caught
 * goes where the build log goes: `verbose` when the build succeeds, `log`
 * when it fails. fd 2 is the process's: builds that catch it take turns (a
 * lock), and another thread writing to stderr during a build writes into
 * the file too (and is shown with it). Should the build crash the process
 * (SIGABRT, SIGSEGV, SIGBUS), a handler puts fd 2 back and writes what was
 * caught to it first, so that the compiler's last words are not lost.
 */
#if defined(__unix__) || defined(__APPLE__)
static pthread_mutex_t capture_lock = PTHREAD_MUTEX_INITIALIZER;
/* The capture under way (capture_lock held): fd 2 as it was and the file. */
static volatile sig_atomic_t capture_active;
static int capture_saved = -1, capture_file = -1;
static const int capture_signals[3] = {SIGABRT, SIGSEGV, SIGBUS};
static struct sigaction capture_previous[3];

/* Async-signal-safe calls only. */
static void capture_crashed(int signal_number)
{
    if (capture_active) {
        capture_active = 0;
        dup2(capture_saved, STDERR_FILENO);
        char buffer[512];
        ssize_t r;
        if (lseek(capture_file, 0, SEEK_SET) == 0)
            while ((r = read(capture_file, buffer, sizeof buffer)) > 0)
                if (write(STDERR_FILENO, buffer, (size_t)r) < 0)
                    break;
    }
    for (int i = 0; i < 3; i++)
        if (capture_signals[i] == signal_number)
            sigaction(signal_number, &capture_previous[i], NULL);
    raise(signal_number); /* delivered on return, as the process had it */
}

static void capture_begin(void)
{
    pthread_mutex_lock(&capture_lock);
    capture_saved = capture_file = -1;
    if (fcntl(STDERR_FILENO, F_GETFD) == -1) /* no fd 2: nothing to keep clean */
        return;
    FILE *tmp = tmpfile();
    int fd = tmp ? dup(fileno(tmp)) : -1;
    if (tmp)
        fclose(tmp); /* the file lives on through fd until it is closed */
    if (fd < 0)
        return;
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    if (saved < 0) {
        close(fd);
        return;
    }
    capture_saved = saved;
    capture_file = fd;
    struct sigaction on_crash;
    memset(&on_crash, 0, sizeof on_crash);
    on_crash.sa_handler = capture_crashed;
    sigemptyset(&on_crash.sa_mask);
    for (int i = 0; i < 3; i++)
        sigaction(capture_signals[i], &on_crash, &capture_previous[i]);
    capture_active = 1;
    if (dup2(fd, STDERR_FILENO) < 0)
        capture_active = 0;
}

/* fd 2 back as it was; what it got in the meantime (at most 64 KiB, NUL
 * terminated, malloc'd), or NULL for nothing. */
static char *capture_end(void)
{
    char *text = NULL;
    if (capture_saved >= 0) {
        fflush(stderr);
        const int was_active = capture_active;
        capture_active = 0;
        dup2(capture_saved, STDERR_FILENO);
        for (int i = 0; i < 3; i++)
            sigaction(capture_signals[i], &capture_previous[i], NULL);
        close(capture_saved);
        off_t size = was_active ? lseek(capture_file, 0, SEEK_END) : 0;
        if (size > 0 && lseek(capture_file, 0, SEEK_SET) == 0) {
            size_t n = size > 65536 ? 65536 : (size_t)size, got = 0;
            text = malloc(n + 1);
            while (text && got < n) {
                ssize_t r = read(capture_file, text + got, n - got);
                if (r <= 0)
                    break;
                got += (size_t)r;
            }
            if (text)
                text[got] = '\0';
        }
        close(capture_file);
        capture_saved = capture_file = -1;
    }
    pthread_mutex_unlock(&capture_lock);
    return text;
}
#else
static void capture_begin(void)
{
}

static char *capture_end(void)
{
    return NULL;
}
#endif

/* Text with something other than blanks in it. */
static int says_something(const char *text)
{
    for (; text && *text; text++)
        if (*text != ' ' && *text != '\n' && *text != '\r' && *text != '\t')
            return 1;
    return 0;
}

/* The program's build log, malloc'd (NULL when it cannot be had). */
static char *build_log(const ocl_state *s, cl_program program)
{
    size_t size = 0;
    clGetProgramBuildInfo(program, s->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &size);
    char *log = malloc(size + 1);
    if (log) {
        log[0] = '\0';
        clGetProgramBuildInfo(program, s->device, CL_PROGRAM_BUILD_LOG, size, log, NULL);
        log[size] = '\0';
    }
    return log;
}

/* The build log, into b->log in full with what the compiler wrote to
 * stderr, and its first line into the error. */
static clrnn_status build_failed(clrnn_backend *b, ocl_state *s, cl_program program, cl_int rc,
                                 const char *caught, clrnn_error *err)
{
    char *log = build_log(s, program);
    if (b->log && says_something(caught))
        fprintf(b->log, "OpenCL compiler:\n%s", caught);
    if (log) {
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

/* ------------------------------------- "compiling kernels", said once */

/*
 * A shape's first build takes seconds (PoCL: 2-7 s); drivers cache the
 * result, so later runs of the shape build in a fraction of that. The log
 * says so before a program is built for the first time on this machine,
 * once a backend: the builds that went well leave an empty marker file,
 * named by a hash of the device, its driver and the program (sources and
 * options), in $XDG_CACHE_HOME/clrnn/kernels (else ~/.cache/clrnn/kernels).
 * Markers decide a message only; where they cannot be written the message
 * comes every time.
 */
static uint64_t fnv1a(uint64_t h, const char *text)
{
    for (; text && *text; text++)
        h = (h ^ (unsigned char)*text) * 0x100000001b3ull;
    return (h ^ 0xff) * 0x100000001b3ull; /* a separator: "ab","c" != "a","bc" */
}

/* path <- the marker file of a program; 0 when there is no cache folder. */
static int marker_path(char *path, size_t size, const ocl_state *s, const char *const *sources,
                       size_t n_sources, const char *options)
{
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    char root[512];
    if (xdg && xdg[0] == '/')
        snprintf(root, sizeof root, "%s", xdg);
    else if (home && home[0])
        snprintf(root, sizeof root, "%s/.cache", home);
    else
        return 0;
    char device[256] = "", driver[128] = "", version[128] = "";
    clGetDeviceInfo(s->device, CL_DEVICE_NAME, sizeof device - 1, device, NULL);
    clGetDeviceInfo(s->device, CL_DRIVER_VERSION, sizeof driver - 1, driver, NULL);
    clGetDeviceInfo(s->device, CL_DEVICE_VERSION, sizeof version - 1, version, NULL);
    uint64_t h = 0xcbf29ce484222325ull;
    h = fnv1a(fnv1a(fnv1a(fnv1a(h, device), driver), version), options);
    for (size_t i = 0; i < n_sources; i++)
        h = fnv1a(h, sources[i]);
#if defined(__unix__) || defined(__APPLE__)
    char dir[600];
    snprintf(dir, sizeof dir, "%s/clrnn", root);
    mkdir(root, 0700); /* each may exist already */
    mkdir(dir, 0755);
    snprintf(dir, sizeof dir, "%s/clrnn/kernels", root);
    mkdir(dir, 0755);
#endif
    return snprintf(path, size, "%s/clrnn/kernels/%016llx", root, (unsigned long long)h) <
           (int)size;
}

static int marker_exists(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f)
        fclose(f);
    return f != NULL;
}

static void marker_write(const char *path)
{
    FILE *f = fopen(path, "wb");
    if (f)
        fclose(f);
}

/* "layers 3:16:1, seq-len 7, fp32, fused kernels" */
static void describe_shape(const clrnn_backend *b, char *text, size_t size)
{
    size_t used = (size_t)snprintf(text, size, "layers ");
    for (size_t l = 0; l < b->n_layers && used < size; l++)
        used += (size_t)snprintf(text + used, size - used, "%s%zu:%zu:%zu", l ? "," : "",
                                 b->layers[l].n_in, b->layers[l].n_hidden, b->layers[l].n_out);
    if (used < size)
        snprintf(text + used, size - used, ", seq-len %zu, %s, %s kernels", b->seq_len,
                 b->precision == CLRNN_FP64 ? "fp64" : "fp32",
                 backend_opencl_family_name(b->family));
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
    return ocl_build_sources(b, s, sources, n_files, options, program, err);
}

clrnn_status ocl_build_sources(clrnn_backend *b, ocl_state *s, const char *const *sources,
                               size_t n_sources, const char *options, cl_program *program,
                               clrnn_error *err)
{
    const char *list[MAX_PROGRAM_FILES]; /* clCreateProgramWithSource's type */
    if (n_sources > MAX_PROGRAM_FILES)
        return clrnn__fail(err, CLRNN_E_DEVICE, "%zu kernel sources in one program (at most %d)",
                           n_sources, MAX_PROGRAM_FILES);
    memcpy(list, sources, n_sources * sizeof *list);
    cl_int rc;
    *program = clCreateProgramWithSource(s->context, (cl_uint)n_sources, list, NULL, &rc);
    if (rc != CL_SUCCESS)
        return ocl_fail(err, rc, "clCreateProgramWithSource");
    char marker[700];
    const int have_marker = marker_path(marker, sizeof marker, s, sources, n_sources, options);
    if (b->log && !b->said_compiling && !(have_marker && marker_exists(marker))) {
        char shape[256];
        describe_shape(b, shape, sizeof shape);
        fprintf(b->log,
                "compiling kernels for %s (first run of this shape; later runs use the "
                "driver's cache)\n",
                shape);
        fflush(b->log);
        b->said_compiling = 1;
    }
    capture_begin();
    rc = clBuildProgram(*program, 1, &s->device, options, NULL, NULL);
    char *caught = capture_end();
    clrnn_status st = CLRNN_OK;
    if (rc != CL_SUCCESS) {
        st = build_failed(b, s, *program, rc, caught, err);
    } else {
        if (have_marker)
            marker_write(marker);
        char *log = b->verbose ? build_log(s, *program) : NULL;
        if (b->verbose && (says_something(log) || says_something(caught))) {
            fprintf(b->verbose, "OpenCL compiler, building with %s:\n%s%s%s",
                    options[0] ? options : "no options", says_something(log) ? log : "",
                    says_something(log) && log[strlen(log) - 1] != '\n' ? "\n" : "",
                    says_something(caught) ? caught : "");
            fflush(b->verbose);
        }
        free(log);
    }
    free(caught);
    return st;
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

/* group_finish_models of P parameters (0: the losses alone). */
static clrnn_status group_finish(ocl_state *s, size_t P, size_t n_chunks, size_t B,
                                 clrnn_error *err)
{
    const ocl_group *g = s->group;
    kernel_args a = args_for(s, s->kernels[K_GROUP_FINISH]);
    arg_mem(&a, g->grads);
    arg_mem(&a, g->loss_sum);
    arg_mem(&a, g->partial);
    arg_mem(&a, g->window_loss);
    arg_uint(&a, n_chunks);
    arg_uint(&a, B);
    arg_uint(&a, P);
    arg_mem(&a, g->active);
    arg_uint(&a, g->stride_p);
    arg_uint(&a, g->stride_loss);
    arg_uint(&a, g->stride_partial);
    arg_uint(&a, g->stride_window);
    const size_t blocks = P ? (P + OCL_GROUP_BLOCK - 1) / OCL_GROUP_BLOCK : 1;
    const size_t local[2] = {ocl_group_size(s, &a, 16), 1};
    const size_t global[2] = {round_up(blocks, local[0]), g->M};
    return ocl_launch(s, &a, 2, global, local, err);
}

clrnn_status ocl_group_finish(const clrnn_backend *b, ocl_state *s, size_t n_chunks, size_t B,
                              clrnn_error *err)
{
    return group_finish(s, b->n_params, n_chunks, B, err);
}

clrnn_status ocl_group_add_losses(ocl_state *s, size_t B, clrnn_error *err)
{
    return group_finish(s, 0, 0, B, err);
}

clrnn_status ocl_group_step(const clrnn_backend *b, ocl_state *s, int clips, clrnn_error *err)
{
    const ocl_group *g = s->group;
    kernel_args a;
    if (clips) { /* a work-item a model */
        a = args_for(s, s->kernels[K_GROUP_CLIP]);
        arg_mem(&a, g->clip);
        arg_mem(&a, g->grads);
        arg_mem(&a, g->args);
        arg_uint(&a, b->n_params);
        arg_uint(&a, g->stride_p);
        arg_uint(&a, PARAMS_PER_SLICE);
        const size_t one = 1, models = g->M;
        clrnn_status st = ocl_launch(s, &a, 1, &models, &one, err);
        if (st != CLRNN_OK)
            return st;
    }
    a = args_for(s, s->kernels[K_GROUP_STEP]);
    arg_mem(&a, g->params);
    arg_mem(&a, g->opt_m);
    arg_mem(&a, g->opt_v);
    arg_mem(&a, g->grads);
    arg_mem(&a, g->args);
    arg_mem(&a, g->clip);
    arg_uint(&a, b->n_params);
    arg_uint(&a, g->stride_p);
    const size_t blocks = (b->n_params + OCL_GROUP_BLOCK - 1) / OCL_GROUP_BLOCK;
    const size_t local[2] = {ocl_group_size(s, &a, 16), 1};
    const size_t global[2] = {round_up(blocks, local[0]), g->M};
    return ocl_launch(s, &a, 2, global, local, err);
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

clrnn_status ocl_seed_outputs(const clrnn_backend *b, ocl_state *s, size_t B, size_t output,
                              clrnn_error *err)
{
    const size_t T = b->seq_len, L = b->n_layers, O = b->layers[L - 1].n_out, n = B * T * O;
    double *seed = calloc(n, sizeof *seed);
    if (!seed)
        return clrnn__fail(err, CLRNN_E_NOMEM, "out of host memory (%zu values)", n);
    for (size_t w = 0; w < B; w++)
        seed[(w * T + T - 1) * O + output] = 1.0;
    clrnn_status st = ocl_write_reals(s, s->dy[L - 1], seed, n, "output seed", err);
    free(seed);
    return st;
}

/* ------------------------------------------------ model groups' activations */

clrnn_status ocl_make_group_activations(const clrnn_backend *b, ocl_state *s, const char *family,
                                        int with_g, size_t extra_reals, ocl_group_activations *a,
                                        clrnn_error *err)
{
    static const char remedy[] = "a group of fewer models (`n_models`) or a smaller `max_batch`";
    const size_t M = s->group->M, L = b->n_layers, T = b->seq_len;
    a->model_windows = padded_batch(b);
    const size_t rows = a->model_windows * T, n = M * rows; /* a model's window-steps, all's */
    size_t max_h = 0, reals = 0, widest = 0; /* a window-step's, every layer; the widest */
    for (size_t l = 0; l < L; l++) {
        reals += b->layers[l].n_hidden + 2 * b->layers[l].n_out;
        max_h = b->layers[l].n_hidden > max_h ? b->layers[l].n_hidden : max_h;
        widest = b->layers[l].n_out > widest ? b->layers[l].n_out : widest;
    }
    widest = max_h > widest ? max_h : widest;
    /* With the group's own buffers (backend_opencl.c: group_init, which
     * has checked those alone): refused where the device cannot hold
     * them, or its largest buffer one tensor of them, saying how many
     * models fit. */
    const ocl_group *g = s->group;
    const double per_model =
        (double)s->real_size *
            ((double)rows * (double)(reals + (with_g ? max_h : 0)) + (double)extra_reals +
             (double)(4 * g->stride_p + g->stride_loss + g->stride_partial + g->stride_window +
                      2 * OCL_GROUP_ARGS + 2)) +
        (double)a->model_windows * sizeof(cl_uint);
    const double largest = (double)s->real_size * (double)rows * (double)widest;
    cl_ulong global_mem = 0;
    clGetDeviceInfo(s->device, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof global_mem, &global_mem, NULL);
    size_t fit = global_mem ? (size_t)((double)global_mem / per_model) : M;
    if (s->max_alloc && (size_t)((double)s->max_alloc / largest) < fit)
        fit = (size_t)((double)s->max_alloc / largest);
    if (fit < M && global_mem && per_model * (double)M > (double)global_mem)
        return clrnn__fail(err, CLRNN_E_NOMEM,
                           "a group of %zu models needs %.0f MiB of device memory with the %s "
                           "kernels' activations, the device has %.0f MiB: %zu fit (a smaller "
                           "`n_models`)",
                           M, per_model * (double)M / 1048576.0, family,
                           (double)global_mem / 1048576.0, fit);
    if (fit < M)
        return clrnn__fail(err, CLRNN_E_NOMEM,
                           "a group of %zu models needs %.0f MiB in one device buffer (the %s "
                           "kernels' activations), the device allows %.0f MiB: %zu fit (a "
                           "smaller `n_models`)",
                           M, largest * (double)M / 1048576.0, family,
                           (double)s->max_alloc / 1048576.0, fit);
    a->h = calloc(L, sizeof *a->h);
    a->y = calloc(L, sizeof *a->y);
    a->dy = calloc(L, sizeof *a->dy);
    a->n_layers = L;
    if (!a->h || !a->y || !a->dy)
        return clrnn__fail(err, CLRNN_E_NOMEM, "out of memory creating the OpenCL backend");
    const cl_mem_flags rw = CL_MEM_READ_WRITE;
    clrnn_status st = CLRNN_OK;
    for (size_t l = 0; st == CLRNN_OK && l < L; l++) {
        const clrnn_layer_shape sh = b->layers[l];
        st = ocl_make_sized_buffer(s, &a->h[l], n * sh.n_hidden, s->real_size, rw,
                                   "a group's hidden states", remedy, err);
        if (st == CLRNN_OK)
            st = ocl_make_sized_buffer(s, &a->y[l], n * sh.n_out, s->real_size, rw,
                                       "a group's layer outputs", remedy, err);
        if (st == CLRNN_OK)
            st = ocl_make_sized_buffer(s, &a->dy[l], n * sh.n_out, s->real_size, rw,
                                       "a group's output gradients", remedy, err);
    }
    if (st == CLRNN_OK && with_g)
        st = ocl_make_sized_buffer(s, &a->g, n * max_h, s->real_size, rw,
                                   "a group's hidden-state gradients", remedy, err);
    return st;
}

void ocl_release_group_activations(ocl_group_activations *a)
{
    for (size_t l = 0; l < a->n_layers; l++) {
        if (a->h)
            ocl_release_mem(&a->h[l]);
        if (a->y)
            ocl_release_mem(&a->y[l]);
        if (a->dy)
            ocl_release_mem(&a->dy[l]);
    }
    ocl_release_mem(&a->g);
    free(a->h);
    free(a->y);
    free(a->dy);
    a->h = a->y = a->dy = NULL;
}
