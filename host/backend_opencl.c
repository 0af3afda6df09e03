/* Placeholder until the OpenCL backend lands. */
#include "backend.h"
#include "error.h"

clrnn_status backend_opencl_init(clrnn_backend *b, const char *device, clrnn_error *err)
{
    return clrnn_fail(err, CLRNN_E_UNSUPPORTED, "the OpenCL backend is not built yet");
}

clrnn_status clrnn_list_devices(FILE *out, clrnn_error *err)
{
    return clrnn_fail(err, CLRNN_E_UNSUPPORTED, "the OpenCL backend is not built yet");
}
