/*
 * Internal: the OpenCL API, loaded at run time (cl_api.c). Included instead
 * of <CL/cl.h>: every clXxx the code calls is a macro for a pointer into
 * the library that ocl_api_load opened, so that the binary does not link
 * libOpenCL and the CPU reference runs on a machine without it. Call sites
 * are plain OpenCL.
 *
 * To call another OpenCL function: add it to CLRNN_CL_FUNCTIONS and give
 * it its #define below.
 */
#ifndef CLRNN_OPENCL_CL_API_H
#define CLRNN_OPENCL_CL_API_H

#include <CL/cl.h>
#include <CL/cl_icd.h> /* cl_api_clXxx: each function's pointer type */

#include "clrnn.h"

#define CLRNN_CL_FUNCTIONS(X)                                                                      \
    X(clBuildProgram)                                                                              \
    X(clCreateBuffer)                                                                              \
    X(clCreateCommandQueue)                                                                        \
    X(clCreateContext)                                                                             \
    X(clCreateKernel)                                                                              \
    X(clCreateProgramWithSource)                                                                   \
    X(clCreateSubBuffer)                                                                           \
    X(clEnqueueFillBuffer)                                                                         \
    X(clEnqueueNDRangeKernel)                                                                      \
    X(clEnqueueReadBuffer)                                                                         \
    X(clEnqueueWriteBuffer)                                                                        \
    X(clFinish)                                                                                    \
    X(clFlush)                                                                                     \
    X(clGetDeviceIDs)                                                                              \
    X(clGetDeviceInfo)                                                                             \
    X(clGetEventProfilingInfo)                                                                     \
    X(clGetKernelWorkGroupInfo)                                                                    \
    X(clGetPlatformIDs)                                                                            \
    X(clGetPlatformInfo)                                                                           \
    X(clGetProgramBuildInfo)                                                                       \
    X(clReleaseCommandQueue)                                                                       \
    X(clReleaseContext)                                                                            \
    X(clReleaseEvent)                                                                              \
    X(clReleaseKernel)                                                                             \
    X(clReleaseMemObject)                                                                          \
    X(clReleaseProgram)                                                                            \
    X(clSetKernelArg)                                                                              \
    X(clWaitForEvents)

/* The pointers, set once by ocl_api_load for the whole process (the ICD
 * loader is one per process too) and never unloaded. */
typedef struct ocl_api {
#define CLRNN_CL_POINTER(name) cl_api_##name name;
    CLRNN_CL_FUNCTIONS(CLRNN_CL_POINTER)
#undef CLRNN_CL_POINTER
} ocl_api;
extern ocl_api ocl_cl;

/*
 * Opens the OpenCL ICD loader and resolves the functions, on the first
 * call (thread-safe); later calls return the first one's answer. The
 * library is libOpenCL.so.1, or the file the environment variable
 * CLRNN_OPENCL_LIBRARY names (tests point it at a missing file to play a
 * machine without OpenCL). One that cannot be loaded, or lacks a function,
 * is CLRNN_E_UNSUPPORTED: "OpenCL is not installed (libOpenCL.so.1 could
 * not be loaded: <dlerror>)", which --device auto answers with the CPU
 * reference. Every path into OpenCL calls it first (ocl_find_device,
 * clrnn_list_devices); nothing calls OpenCL before.
 */
clrnn_status ocl_api_load(clrnn_error *err);

/* The names, except in cl_api.c, which sets the pointers by them. */
#ifndef CLRNN_CL_API_LOADER
#define clBuildProgram (ocl_cl.clBuildProgram)
#define clCreateBuffer (ocl_cl.clCreateBuffer)
#define clCreateCommandQueue (ocl_cl.clCreateCommandQueue)
#define clCreateContext (ocl_cl.clCreateContext)
#define clCreateKernel (ocl_cl.clCreateKernel)
#define clCreateProgramWithSource (ocl_cl.clCreateProgramWithSource)
#define clCreateSubBuffer (ocl_cl.clCreateSubBuffer)
#define clEnqueueFillBuffer (ocl_cl.clEnqueueFillBuffer)
#define clEnqueueNDRangeKernel (ocl_cl.clEnqueueNDRangeKernel)
#define clEnqueueReadBuffer (ocl_cl.clEnqueueReadBuffer)
#define clEnqueueWriteBuffer (ocl_cl.clEnqueueWriteBuffer)
#define clFinish (ocl_cl.clFinish)
#define clFlush (ocl_cl.clFlush)
#define clGetDeviceIDs (ocl_cl.clGetDeviceIDs)
#define clGetDeviceInfo (ocl_cl.clGetDeviceInfo)
#define clGetEventProfilingInfo (ocl_cl.clGetEventProfilingInfo)
#define clGetKernelWorkGroupInfo (ocl_cl.clGetKernelWorkGroupInfo)
#define clGetPlatformIDs (ocl_cl.clGetPlatformIDs)
#define clGetPlatformInfo (ocl_cl.clGetPlatformInfo)
#define clGetProgramBuildInfo (ocl_cl.clGetProgramBuildInfo)
#define clReleaseCommandQueue (ocl_cl.clReleaseCommandQueue)
#define clReleaseContext (ocl_cl.clReleaseContext)
#define clReleaseEvent (ocl_cl.clReleaseEvent)
#define clReleaseKernel (ocl_cl.clReleaseKernel)
#define clReleaseMemObject (ocl_cl.clReleaseMemObject)
#define clReleaseProgram (ocl_cl.clReleaseProgram)
#define clSetKernelArg (ocl_cl.clSetKernelArg)
#define clWaitForEvents (ocl_cl.clWaitForEvents)
#endif

#endif
