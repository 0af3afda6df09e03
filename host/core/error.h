/* Internal: filling a clrnn_error.
 *
 * Naming: the public API is clrnn_ and declared in include/clrnn.h (and
 * CLRNN_API); internal functions that several files share are clrnn__
 * (libuv's uv__) or named for their module (ocl_, put_, get_ ...), hidden
 * from the shared library and made local in the static one; the rest are
 * static. */
#ifndef CLRNN_ERROR_H
#define CLRNN_ERROR_H

#include "clrnn.h"

#if defined(__GNUC__)
#define CLRNN_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define CLRNN_PRINTF(a, b)
#endif

/* Writes the message into err (when not NULL) and returns status. */
clrnn_status clrnn__fail(clrnn_error *err, clrnn_status status, const char *fmt, ...)
    CLRNN_PRINTF(3, 4);

#endif
