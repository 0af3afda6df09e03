/* Status codes in words, and the helper that fills a clrnn_error. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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

/* A message is one line: control characters that came in with the data
 * (a column name quoted across lines, a tab in a cell) are written as
 * escapes, \n, \r, \t or \xHH, as far as the message has room. */
static void one_line(char *message, size_t size)
{
    char raw[sizeof((clrnn_error *)0)->message];
    size_t n = strlen(message), out = 0;
    if (n >= sizeof raw)
        n = sizeof raw - 1;
    memcpy(raw, message, n);
    for (size_t i = 0; i < n && out + 1 < size; i++) {
        unsigned char c = (unsigned char)raw[i];
        char escape[5] = {(char)c, 0};
        if (c == '\n' || c == '\r' || c == '\t')
            snprintf(escape, sizeof escape, "\\%c", c == '\n' ? 'n' : c == '\r' ? 'r' : 't');
        else if (c < 0x20 || c == 0x7f)
            snprintf(escape, sizeof escape, "\\x%02x", c);
        size_t len = strlen(escape);
        if (out + len >= size)
            break;
        memcpy(message + out, escape, len);
        out += len;
    }
    message[out] = '\0';
}

clrnn_status clrnn__fail(clrnn_error *err, clrnn_status status, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
        one_line(err->message, sizeof err->message);
        err->status = status;
    }
    return status;
}
