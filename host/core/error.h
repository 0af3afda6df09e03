/* Internal: filling a clrnn_error. */
#ifndef CLRNN_ERROR_H
#define CLRNN_ERROR_H

#include "clrnn.h"

#if defined(__GNUC__)
#define CLRNN_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define CLRNN_PRINTF(a, b)
#endif

/* Writes the message into err (when not NULL) and returns status. */
clrnn_status clrnn_fail(clrnn_error *err, clrnn_status status, const char *fmt, ...)
    CLRNN_PRINTF(3, 4);

#endif
