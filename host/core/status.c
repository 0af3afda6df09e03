/* Status codes in words, and the helper that fills a clrnn_error. */
#include <stdarg.h>
#include <stdio.h>

#include "clrnn.h"
#include "core/error.h"

const char *clrnn_status_string(clrnn_status status)
{
    switch (status) {
    case CLRNN_OK:
        return "ok";
    case CLRNN_E_INPUT:
        return "bad input";
    case CLRNN_E_IO:
        return "input/output error";
    case CLRNN_E_NOMEM:
        return "out of memory";
    case CLRNN_E_DEVICE:
        return "device error";
    case CLRNN_E_UNSUPPORTED:
        return "not supported";
    case CLRNN_E_NUMERIC:
        return "numeric error (NaN or infinity)";
    case CLRNN_E_CANCELLED:
        return "cancelled";
    }
    return "unknown status";
}

clrnn_status clrnn__fail(clrnn_error *err, clrnn_status status, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
        err->status = status;
    }
    return status;
}
