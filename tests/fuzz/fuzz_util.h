/* What the harnesses share: the input bytes as a file (the library reads
 * paths), one per process, in a folder of its own. */
#ifndef CLRNN_FUZZ_UTIL_H
#define CLRNN_FUZZ_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char fuzz_dir[64];

/* The files the harnesses write, removed with their folder at exit. */
static void fuzz_cleanup(void)
{
    static const char *const names[] = {"table.csv", "model.clrnn", "sealed.clrnn", "saved.clrnn",
                                        "w.npz"};
    char path[256];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", fuzz_dir, names[i]);
        unlink(path);
    }
    rmdir(fuzz_dir);
}

/* path (256 bytes) <- fuzz_dir/name, the folder made on first use. */
static inline void fuzz_path(char *path, const char *name)
{
    if (!fuzz_dir[0]) {
        /* tmpfs where there is one: a save fsyncs, and that costs a disk */
        strcpy(fuzz_dir, access("/dev/shm", W_OK) == 0 ? "/dev/shm/clrnn_fuzz_XXXXXX"
                                                       : "/tmp/clrnn_fuzz_XXXXXX");
        if (!mkdtemp(fuzz_dir))
            abort();
        atexit(fuzz_cleanup);
    }
    snprintf(path, 256, "%s/%s", fuzz_dir, name);
}

/* Writes the input to fuzz_dir/name; path gets its name. */
static inline void fuzz_write(char *path, const char *name, const unsigned char *data, size_t size)
{
    fuzz_path(path, name);
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0)
        abort();
}

#endif
