/*
 * Internal: the per-device tuning cache that `clrnn tune` writes and every
 * OpenCL backend reads (CLBlast's per-device database, kept on the user's
 * machine). One small text file a device, in $XDG_CACHE_HOME/clrnn (else
 * ~/.cache/clrnn), named by a hash of its key and holding the key itself:
 * platform name, device name, driver version and clrnn version, so that a
 * new driver or a new clrnn starts from the device-derived defaults again.
 * Then one entry a line, tab-separated:
 *
 *   clrnn tuning cache 1
 *   platform <TAB> Portable Computing Language
 *   device   <TAB> pthread-skylake-avx512-...
 *   driver   <TAB> 3.1+debian
 *   clrnn    <TAB> 0.1.0
 *   entry <TAB> tile <TAB> fp32 <TAB> 8:64:1/32/1024 <TAB> WB=4 JVEC=16 ...
 *   entry <TAB> auto <TAB> fp32 <TAB> 8:64:1/32/1024 <TAB> FAMILY=tile
 *
 * A shape class is the model's layers, seq-len and the largest batch
 * rounded up to a power of two ("I:H:O,I:H:O/T/B"). Written atomically
 * (io/files.h). A file that does not parse is corrupt: the reader ignores
 * it (and says so in one line), the writer replaces it.
 */
#ifndef CLRNN_OPENCL_TUNE_CACHE_H
#define CLRNN_OPENCL_TUNE_CACHE_H

#include <stddef.h>

#include "backend/backend.h"

typedef struct tune_key {
    char platform[128], device[128], driver[128];
} tune_key;

/* The cache file for key into out (size); 0 where neither XDG_CACHE_HOME
 * nor HOME is set, or the path does not fit. */
int tune_cache_path(const tune_key *key, char *out, size_t size);
/* b's shape class into out (size). */
void tune_shape_class(const clrnn_backend *b, char *out, size_t size);

enum { TUNE_CACHE_NONE = 0, TUNE_CACHE_FOUND = 1, TUNE_CACHE_CORRUPT = -1 };
/* The values of entry (family, precision, shape class) into values (size):
 * TUNE_CACHE_FOUND; TUNE_CACHE_NONE where there is no file, the file is
 * another key's or has no such entry; TUNE_CACHE_CORRUPT with the reason
 * in why (why_size). */
int tune_cache_find(const char *path, const tune_key *key, const char *family,
                    const char *precision, const char *shape_class, char *values, size_t size,
                    char *why, size_t why_size);
/* Stores the entry, replacing one of the same family, precision and class
 * and keeping the others (of a file of this key that parses); creates the
 * folders. CLRNN_E_IO naming the path on failure. */
clrnn_status tune_cache_store(const char *path, const tune_key *key, const char *family,
                              const char *precision, const char *shape_class, const char *values,
                              clrnn_error *err);

#endif
