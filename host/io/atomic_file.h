/* Internal: writing a whole file so that readers see the old file or the
 * new one, never a part: a temporary file in the same folder (so rename
 * cannot cross file systems), written, flushed, fsync'ed, then renamed over
 * the destination; the folder is fsync'ed too, so the rename survives a
 * crash. On any failure the temporary file is removed and the destination
 * is untouched. */
#ifndef CLRNN_ATOMIC_FILE_H
#define CLRNN_ATOMIC_FILE_H

#include <stddef.h>

#include "clrnn.h"

/* Writes size bytes of data to path; CLRNN_E_IO naming path on failure. */
clrnn_status atomic_write_file(const char *path, const void *data, size_t size, clrnn_error *err);

#endif
