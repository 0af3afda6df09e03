/* Internal: the library's one way to read and write files.
 *
 * Reading: a whole file into memory, in chunks (pipes and /dev/stdin have
 * no size), with a ceiling, so that /dev/zero or a huge file fails with one
 * line instead of eating memory.
 *
 * Writing: readers see the old file or the new one, never a part. A
 * temporary file is created exclusively (O_EXCL) in the same folder (so the
 * rename cannot cross file systems), written, flushed, fsync'ed, then
 * renamed over the destination; the folder is fsync'ed too, so the rename
 * survives a crash. On any failure the temporary file is removed and the
 * destination is untouched. A symbolic link stays a link (the file it names
 * is replaced), and a file written over keeps its permissions; temporary
 * files that a killed writer left beside the destination are removed
 * (only our own naming, only when that process is gone). Whole buffers use
 * atomic_write_file; streamed
 * output (CSV, SVG, logs) opens an atomic_out, writes to its FILE *, then
 * commits or aborts. */
#ifndef CLRNN_IO_FILES_H
#define CLRNN_IO_FILES_H

#include <stddef.h>
#include <stdio.h>

#include "clrnn.h"

/* Reads all of path into a malloc'ed buffer with a NUL after the last byte
 * (*size excludes it). More than max_size bytes: CLRNN_E_INPUT naming
 * path and what (e.g. "a model file"). Errors name path. */
clrnn_status read_file_all(const char *path, size_t max_size, const char *what,
                           unsigned char **data, size_t *size, clrnn_error *err);

/* Reads path up to the point where it has more bytes than limit(data, n)
 * says are worth reading, given the first n bytes read (called as the file
 * comes in; its answer may grow as more is known): the caller judges what
 * it got. A NUL follows the last byte, as with read_file_all. */
clrnn_status read_file_limited(const char *path, size_t (*limit)(const unsigned char *, size_t),
                               unsigned char **data, size_t *size, clrnn_error *err);

/* The folder part of path ("." for a bare name, "/" for "/x") into dir;
 * returns 0 when it does not fit in size bytes. */
int path_dirname(const char *path, char *dir, size_t size);

/* Whether a and b name the same file: the same device and inode where both
 * exist (through links), else the same folder (device and inode) and the
 * same name where a write would create them. An output must never be
 * written over an input or another output. */
int path_same_file(const char *a, const char *b);

/* Writes size bytes of data to path; CLRNN_E_IO naming path on failure. */
clrnn_status atomic_write_file(const char *path, const void *data, size_t size, clrnn_error *err);

/* A file being written: write to f, then atomic_commit or atomic_abort. */
typedef struct atomic_out {
    FILE *f;
    char path[4096];   /* as given, for messages */
    char target[4096]; /* where it lands: path, or the file a symbolic link names */
    char tmp[4200];
} atomic_out;

/* Opens the temporary file; out->f is NULL on failure. */
clrnn_status atomic_open(atomic_out *out, const char *path, clrnn_error *err);
/* Flushes, syncs and renames over the destination; CLRNN_E_IO naming the
 * destination on failure (the temporary file is removed then). Accepts a
 * closed or never-opened out (returns CLRNN_E_IO). */
clrnn_status atomic_commit(atomic_out *out, clrnn_error *err);
/* Closes and removes the temporary file; the destination is untouched.
 * Accepts a closed or never-opened out. */
void atomic_abort(atomic_out *out);

#endif
