/*
 * Internal: OpenCL plumbing shared by the backend and `clrnn devices`:
 * status codes in words, finding platforms and devices, device facts.
 */
#ifndef CLRNN_OPENCL_UTIL_H
#define CLRNN_OPENCL_UTIL_H

#include "opencl/cl_api.h"

#include "clrnn.h"

/* "CL_OUT_OF_RESOURCES" for -5; "OpenCL status -9999" for unknown codes. */
const char *ocl_status_name(cl_int status);

/* Fails with CLRNN_E_DEVICE: "<what> failed: <status in words>". */
clrnn_status ocl_fail(clrnn_error *err, cl_int status, const char *what);

/* The device a spec names: NULL or "" picks automatically (the first GPU of
 * any platform, else the first device of any type); "P.D" picks device D of
 * platform P as numbered by `clrnn devices`. No OpenCL library (cl_api.h),
 * no platform or no device at all is CLRNN_E_UNSUPPORTED; a spec that
 * names nothing is CLRNN_E_INPUT. */
clrnn_status ocl_find_device(const char *spec, cl_platform_id *platform, cl_device_id *device,
                             clrnn_error *err);

/* Device facts; strings are truncated to fit. */
void ocl_device_name(cl_device_id device, char *out, size_t size);
void ocl_platform_name(cl_platform_id platform, char *out, size_t size);
int ocl_device_has_fp64(cl_device_id device);
const char *ocl_device_type_name(cl_device_id device);

#endif
