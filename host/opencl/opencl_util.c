/* OpenCL plumbing: status names, device discovery and the device listing. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/exchange.h"
#include "core/error.h"
#include "opencl/opencl_util.h"

const char *ocl_status_name(cl_int status)
{
#define NAME(code)                                                                                 \
    case code:                                                                                     \
        return #code
    switch (status) {
        NAME(CL_SUCCESS);
        NAME(CL_DEVICE_NOT_FOUND);
        NAME(CL_DEVICE_NOT_AVAILABLE);
        NAME(CL_COMPILER_NOT_AVAILABLE);
        NAME(CL_MEM_OBJECT_ALLOCATION_FAILURE);
        NAME(CL_OUT_OF_RESOURCES);
        NAME(CL_OUT_OF_HOST_MEMORY);
        NAME(CL_PROFILING_INFO_NOT_AVAILABLE);
        NAME(CL_MEM_COPY_OVERLAP);
        NAME(CL_IMAGE_FORMAT_MISMATCH);
        NAME(CL_IMAGE_FORMAT_NOT_SUPPORTED);
        NAME(CL_BUILD_PROGRAM_FAILURE);
        NAME(CL_MAP_FAILURE);
        NAME(CL_MISALIGNED_SUB_BUFFER_OFFSET);
        NAME(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST);
        NAME(CL_COMPILE_PROGRAM_FAILURE);
        NAME(CL_LINKER_NOT_AVAILABLE);
        NAME(CL_LINK_PROGRAM_FAILURE);
        NAME(CL_DEVICE_PARTITION_FAILED);
        NAME(CL_KERNEL_ARG_INFO_NOT_AVAILABLE);
        NAME(CL_INVALID_VALUE);
        NAME(CL_INVALID_DEVICE_TYPE);
        NAME(CL_INVALID_PLATFORM);
        NAME(CL_INVALID_DEVICE);
        NAME(CL_INVALID_CONTEXT);
        NAME(CL_INVALID_QUEUE_PROPERTIES);
        NAME(CL_INVALID_COMMAND_QUEUE);
        NAME(CL_INVALID_HOST_PTR);
        NAME(CL_INVALID_MEM_OBJECT);
        NAME(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR);
        NAME(CL_INVALID_IMAGE_SIZE);
        NAME(CL_INVALID_SAMPLER);
        NAME(CL_INVALID_BINARY);
        NAME(CL_INVALID_BUILD_OPTIONS);
        NAME(CL_INVALID_PROGRAM);
        NAME(CL_INVALID_PROGRAM_EXECUTABLE);
        NAME(CL_INVALID_KERNEL_NAME);
        NAME(CL_INVALID_KERNEL_DEFINITION);
        NAME(CL_INVALID_KERNEL);
        NAME(CL_INVALID_ARG_INDEX);
        NAME(CL_INVALID_ARG_VALUE);
        NAME(CL_INVALID_ARG_SIZE);
        NAME(CL_INVALID_KERNEL_ARGS);
        NAME(CL_INVALID_WORK_DIMENSION);
        NAME(CL_INVALID_WORK_GROUP_SIZE);
        NAME(CL_INVALID_WORK_ITEM_SIZE);
        NAME(CL_INVALID_GLOBAL_OFFSET);
        NAME(CL_INVALID_EVENT_WAIT_LIST);
        NAME(CL_INVALID_EVENT);
        NAME(CL_INVALID_OPERATION);
        NAME(CL_INVALID_GL_OBJECT);
        NAME(CL_INVALID_BUFFER_SIZE);
        NAME(CL_INVALID_MIP_LEVEL);
        NAME(CL_INVALID_GLOBAL_WORK_SIZE);
        NAME(CL_INVALID_PROPERTY);
        NAME(CL_INVALID_IMAGE_DESCRIPTOR);
        NAME(CL_INVALID_COMPILER_OPTIONS);
        NAME(CL_INVALID_LINKER_OPTIONS);
        NAME(CL_INVALID_DEVICE_PARTITION_COUNT);
    case -1001:
        return "CL_PLATFORM_NOT_FOUND_KHR";
    }
#undef NAME
    static const char unknown[] = "an unknown OpenCL status";
    return unknown;
}

clrnn_status ocl_fail(clrnn_error *err, cl_int status, const char *what)
{
    const char *hint = "";
    if (status == CL_MEM_OBJECT_ALLOCATION_FAILURE || status == CL_OUT_OF_RESOURCES ||
        status == CL_OUT_OF_HOST_MEMORY)
        hint = " (device memory or resources exhausted: try a smaller `max_batch`)";
    return clrnn__fail(err, CLRNN_E_DEVICE, "%s failed: %s (%d)%s", what, ocl_status_name(status),
                       (int)status, hint);
}

/* All platforms; *n = 0 and NULL when there are none. */
static cl_platform_id *get_platforms(cl_uint *n)
{
    *n = 0;
    if (clGetPlatformIDs(0, NULL, n) != CL_SUCCESS || *n == 0) {
        *n = 0;
        return NULL;
    }
    cl_platform_id *ids = malloc(*n * sizeof *ids);
    if (!ids || clGetPlatformIDs(*n, ids, NULL) != CL_SUCCESS) {
        free(ids);
        *n = 0;
        return NULL;
    }
    return ids;
}

/* Devices of one type on a platform; *n = 0 and NULL when none. */
static cl_device_id *get_devices(cl_platform_id platform, cl_device_type type, cl_uint *n)
{
    *n = 0;
    if (clGetDeviceIDs(platform, type, 0, NULL, n) != CL_SUCCESS || *n == 0) {
        *n = 0;
        return NULL;
    }
    cl_device_id *ids = malloc(*n * sizeof *ids);
    if (!ids || clGetDeviceIDs(platform, type, *n, ids, NULL) != CL_SUCCESS) {
        free(ids);
        *n = 0;
        return NULL;
    }
    return ids;
}

static clrnn_status no_platform(clrnn_error *err)
{
    return clrnn__fail(err, CLRNN_E_UNSUPPORTED,
                       "no OpenCL platform is installed (on Debian: apt-get install "
                       "pocl-opencl-icd for the CPU, or your GPU vendor's OpenCL driver)");
}

static int device_available(cl_device_id device)
{
    cl_bool available = CL_FALSE, compiler = CL_FALSE;
    clGetDeviceInfo(device, CL_DEVICE_AVAILABLE, sizeof available, &available, NULL);
    clGetDeviceInfo(device, CL_DEVICE_COMPILER_AVAILABLE, sizeof compiler, &compiler, NULL);
    return available && compiler;
}

/* The first usable device of `type` over all platforms, in platform order. */
static int first_device(const cl_platform_id *platforms, cl_uint n_platforms, cl_device_type type,
                        cl_platform_id *platform, cl_device_id *device)
{
    for (cl_uint p = 0; p < n_platforms; p++) {
        cl_uint n = 0;
        cl_device_id *ids = get_devices(platforms[p], type, &n);
        for (cl_uint d = 0; d < n; d++)
            if (device_available(ids[d])) {
                *platform = platforms[p];
                *device = ids[d];
                free(ids);
                return 1;
            }
        free(ids);
    }
    return 0;
}

static clrnn_status find_by_index(const char *spec, const cl_platform_id *platforms,
                                  cl_uint n_platforms, cl_platform_id *platform,
                                  cl_device_id *device, clrnn_error *err)
{
    unsigned p_index, d_index;
    char tail;
    if (sscanf(spec, "%u.%u%c", &p_index, &d_index, &tail) != 2)
        return clrnn__fail(err, CLRNN_E_INPUT,
                           "`device` 'opencl:%s': expected opencl:P.D, platform P and device D "
                           "as numbered by `clrnn_list_devices`",
                           spec);
    if (p_index >= n_platforms)
        return clrnn__fail(err, CLRNN_E_INPUT,
                           "`device` 'opencl:%s': there is no platform %u (%u platform%s; see "
                           "`clrnn_list_devices`)",
                           spec, p_index, n_platforms, n_platforms == 1 ? "" : "s");
    cl_uint n = 0;
    cl_device_id *ids = get_devices(platforms[p_index], CL_DEVICE_TYPE_ALL, &n);
    if (d_index >= n) {
        free(ids);
        return clrnn__fail(err, CLRNN_E_INPUT,
                           "`device` 'opencl:%s': platform %u has no device %u (%u device%s; "
                           "see `clrnn_list_devices`)",
                           spec, p_index, d_index, n, n == 1 ? "" : "s");
    }
    *platform = platforms[p_index];
    *device = ids[d_index];
    free(ids);
    return CLRNN_OK;
}

/* The ICD loader opened, and the platforms (malloc'ed, at least one). */
static clrnn_status load_platforms(cl_platform_id **platforms, cl_uint *n, clrnn_error *err)
{
    clrnn_status loaded = ocl_api_load(err);
    if (loaded != CLRNN_OK)
        return loaded;
    *n = 0;
    *platforms = get_platforms(n);
    return *n == 0 ? no_platform(err) : CLRNN_OK;
}

clrnn_status ocl_find_device(const char *spec, cl_platform_id *platform, cl_device_id *device,
                             clrnn_error *err)
{
    cl_uint n_platforms = 0;
    cl_platform_id *platforms = NULL;
    clrnn_status loaded = load_platforms(&platforms, &n_platforms, err);
    if (loaded != CLRNN_OK)
        return loaded;
    clrnn_status st = CLRNN_OK;
    if (spec && *spec)
        st = find_by_index(spec, platforms, n_platforms, platform, device, err);
    else if (!first_device(platforms, n_platforms, CL_DEVICE_TYPE_GPU, platform, device) &&
             !first_device(platforms, n_platforms, CL_DEVICE_TYPE_ALL, platform, device))
        st = clrnn__fail(err, CLRNN_E_UNSUPPORTED,
                         "OpenCL platforms are installed but none has a usable device");
    free(platforms);
    return st;
}

void ocl_device_name(cl_device_id device, char *out, size_t size)
{
    out[0] = '\0';
    clGetDeviceInfo(device, CL_DEVICE_NAME, size, out, NULL);
    out[size - 1] = '\0';
}

void ocl_platform_name(cl_platform_id platform, char *out, size_t size)
{
    out[0] = '\0';
    clGetPlatformInfo(platform, CL_PLATFORM_NAME, size, out, NULL);
    out[size - 1] = '\0';
}

int ocl_device_has_fp64(cl_device_id device)
{
    cl_device_fp_config config = 0;
    if (clGetDeviceInfo(device, CL_DEVICE_DOUBLE_FP_CONFIG, sizeof config, &config, NULL) !=
        CL_SUCCESS)
        return 0;
    return config != 0;
}

const char *ocl_device_type_name(cl_device_id device)
{
    cl_device_type type = 0;
    clGetDeviceInfo(device, CL_DEVICE_TYPE, sizeof type, &type, NULL);
    if (type & CL_DEVICE_TYPE_GPU)
        return "GPU";
    if (type & CL_DEVICE_TYPE_CPU)
        return "CPU";
    if (type & CL_DEVICE_TYPE_ACCELERATOR)
        return "accelerator";
    return "other";
}

static void list_device(FILE *out, cl_uint p, cl_uint d, cl_device_id device)
{
    char name[256], version[128];
    cl_uint units = 0, clock = 0;
    size_t max_wg = 0;
    cl_ulong global_mem = 0, local_mem = 0, max_alloc = 0;
    ocl_device_name(device, name, sizeof name);
    version[0] = '\0';
    clGetDeviceInfo(device, CL_DEVICE_VERSION, sizeof version, version, NULL);
    version[sizeof version - 1] = '\0';
    clGetDeviceInfo(device, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof units, &units, NULL);
    clGetDeviceInfo(device, CL_DEVICE_MAX_CLOCK_FREQUENCY, sizeof clock, &clock, NULL);
    clGetDeviceInfo(device, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof max_wg, &max_wg, NULL);
    clGetDeviceInfo(device, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof global_mem, &global_mem, NULL);
    clGetDeviceInfo(device, CL_DEVICE_LOCAL_MEM_SIZE, sizeof local_mem, &local_mem, NULL);
    clGetDeviceInfo(device, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof max_alloc, &max_alloc, NULL);
    fprintf(out, "  opencl:%u.%u  %s  [%s]%s\n", p, d, name, ocl_device_type_name(device),
            device_available(device) ? "" : "  (not available)");
    fprintf(out,
            "      %s; %u compute units at %u MHz; work-group up to %zu; global memory %.0f MiB "
            "(one buffer up to %.0f MiB); local memory %.0f KiB; fp64 %s\n",
            version, units, clock, max_wg, global_mem / 1048576.0, max_alloc / 1048576.0,
            local_mem / 1024.0, ocl_device_has_fp64(device) ? "yes" : "no");
}

clrnn_status clrnn_list_devices(FILE *out, clrnn_error *err)
{
    cl_uint n_platforms = 0;
    cl_platform_id *platforms = NULL;
    clrnn_status loaded = load_platforms(&platforms, &n_platforms, err);
    if (loaded != CLRNN_OK)
        return loaded;
    cl_platform_id auto_platform = NULL;
    cl_device_id auto_device = NULL;
    ocl_find_device(NULL, &auto_platform, &auto_device, NULL);
    for (cl_uint p = 0; p < n_platforms; p++) {
        char name[256], version[128];
        ocl_platform_name(platforms[p], name, sizeof name);
        version[0] = '\0';
        clGetPlatformInfo(platforms[p], CL_PLATFORM_VERSION, sizeof version, version, NULL);
        version[sizeof version - 1] = '\0';
        fprintf(out, "platform %u: %s (%s)\n", p, name, version);
        cl_uint n = 0;
        cl_device_id *ids = get_devices(platforms[p], CL_DEVICE_TYPE_ALL, &n);
        if (n == 0)
            fprintf(out, "  (no devices)\n");
        for (cl_uint d = 0; d < n; d++)
            list_device(out, p, d, ids[d]);
        free(ids);
    }
    if (auto_device) {
        char name[256];
        ocl_device_name(auto_device, name, sizeof name);
        fprintf(out, "device auto picks: %s\n", name);
    }
    free(platforms);
    return CLRNN_OK;
}

size_t clrnn__gpu_spec(size_t k, char *spec, size_t size)
{
    cl_uint n_platforms = 0;
    cl_platform_id *platforms = NULL;
    if (load_platforms(&platforms, &n_platforms, NULL) != CLRNN_OK)
        return 0;
    size_t count = 0, target = SIZE_MAX;
    for (int pass = 0; pass < 2; pass++) { /* count them, then find number k mod count */
        size_t seen = 0;
        for (cl_uint p = 0; p < n_platforms; p++) {
            cl_uint n = 0;
            cl_device_id *ids = get_devices(platforms[p], CL_DEVICE_TYPE_ALL, &n);
            for (cl_uint d = 0; d < n; d++) {
                cl_device_type type = 0;
                clGetDeviceInfo(ids[d], CL_DEVICE_TYPE, sizeof type, &type, NULL);
                if (!(type & CL_DEVICE_TYPE_GPU) || !device_available(ids[d]))
                    continue;
                if (seen++ == target)
                    snprintf(spec, size, "opencl:%u.%u", (unsigned)p, (unsigned)d);
            }
            free(ids);
        }
        count = seen;
        if (count == 0)
            break;
        target = k % count;
    }
    free(platforms);
    return count;
}
