/* The OpenCL API, loaded at run time (cl_api.h). */
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define CLRNN_CL_API_LOADER /* the names are the members here, not macros */
#include "core/error.h"
#include "opencl/cl_api.h"

/* The ICD loader's soname: what the linker would have recorded. */
#define OPENCL_LIBRARY "libOpenCL.so.1"

ocl_api ocl_cl;

/* The first load's outcome, for every later call. */
static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static clrnn_status load_status;
static char load_message[sizeof((clrnn_error *)0)->message];

/* *pointer <- the function called name in scope; 0 when it has none. A
 * function pointer from dlsym's void * by its bytes, as POSIX has it: ISO C
 * converts no object pointer to a function pointer. */
static int resolve(void *library, const char *name, void *pointer, size_t size)
{
    void *symbol = dlsym(library, name);
    if (!symbol || size != sizeof symbol)
        return 0;
    memcpy(pointer, &symbol, size);
    return 1;
}

static void load(void)
{
    const char *path = getenv("CLRNN_OPENCL_LIBRARY");
    if (!path || !*path)
        path = OPENCL_LIBRARY;
    /* Global, and the functions looked up in the process's global scope,
     * as the linker would have bound them: a library preloaded in front
     * (Oclgrind's runtime, LD_PRELOAD) takes the calls, else this one. */
    void *library = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
    void *scope = library ? dlopen(NULL, RTLD_NOW) : NULL;
    if (!library || !scope) {
        const char *why = dlerror();
        snprintf(load_message, sizeof load_message,
                 "OpenCL is not installed (%s could not be loaded: %s)", path,
                 why ? why : "no reason given");
        load_status = CLRNN_E_UNSUPPORTED;
        return;
    }
    ocl_api api;
    const char *missing = NULL;
#define CLRNN_CL_RESOLVE(name)                                                                     \
    if (!missing && !resolve(scope, #name, &api.name, sizeof api.name))                            \
        missing = #name;
    CLRNN_CL_FUNCTIONS(CLRNN_CL_RESOLVE)
#undef CLRNN_CL_RESOLVE
    if (missing) {
        snprintf(load_message, sizeof load_message,
                 "OpenCL is not installed (%s has no %s: an OpenCL 1.2 loader is needed)", path,
                 missing);
        load_status = CLRNN_E_UNSUPPORTED;
        return;
    }
    ocl_cl = api; /* both kept open for the process: the pointers point into them */
    load_status = CLRNN_OK;
}

clrnn_status ocl_api_load(clrnn_error *err)
{
    pthread_once(&load_once, load);
    if (load_status != CLRNN_OK)
        return clrnn__fail(err, load_status, "%s", load_message);
    return CLRNN_OK;
}
