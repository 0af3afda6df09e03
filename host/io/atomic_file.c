/* Whole-file atomic writes; see atomic_file.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/atomic_file.h"
#include "core/error.h"

/* Creates "<path>.tmp.<pid>.<n>" exclusively; the pid keeps two processes
 * apart, n two writers of the same path in one process. Mode 0666 less the
 * umask, as fopen would give. */
static int create_temporary(char *tmp, size_t size, const char *path)
{
    for (int n = 0; n < 100; n++) {
        if ((size_t)snprintf(tmp, size, "%s.tmp.%ld.%d", path, (long)getpid(), n) >= size) {
            errno = ENAMETOOLONG;
            return -1;
        }
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0666);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    return -1;
}

static int write_all(int fd, const unsigned char *data, size_t size)
{
    while (size > 0) {
        ssize_t n = write(fd, data, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 0;
        data += n;
        size -= (size_t)n;
    }
    return 1;
}

/* fsync of the folder holding path, so the rename itself is durable. Some
 * file systems refuse to fsync a folder; the file is complete either way,
 * so that is not an error. */
static void sync_folder(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    size_t len = slash ? (size_t)(slash - path) : 0;
    if (len >= sizeof dir)
        return;
    memcpy(dir, path, len);
    strcpy(dir + len, slash == path ? "/" : len ? "" : ".");
    int fd = open(dir, O_RDONLY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

clrnn_status atomic_write_file(const char *path, const void *data, size_t size, clrnn_error *err)
{
    char tmp[4200];
    struct stat info;
    if (stat(path, &info) == 0 && S_ISDIR(info.st_mode))
        return clrnn_fail(err, CLRNN_E_IO, "cannot write '%s': it is a folder", path);
    int fd = create_temporary(tmp, sizeof tmp, path);
    if (fd < 0)
        return clrnn_fail(err, CLRNN_E_IO, "cannot write '%s': %s", path, strerror(errno));
    int ok = write_all(fd, data, size) && fsync(fd) == 0;
    int saved_errno = errno;
    if (close(fd) != 0 && ok) {
        saved_errno = errno;
        ok = 0;
    }
    if (ok && rename(tmp, path) != 0) {
        saved_errno = errno;
        ok = 0;
    }
    if (!ok) {
        unlink(tmp);
        return clrnn_fail(err, CLRNN_E_IO, "cannot write '%s': %s", path, strerror(saved_errno));
    }
    sync_folder(path);
    return CLRNN_OK;
}
