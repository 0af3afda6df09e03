/* Reading and writing whole files; see files.h. */
#define _XOPEN_SOURCE 700 /* realpath */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "io/files.h"

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

int path_dirname(const char *path, char *dir, size_t size)
{
    const char *slash = strrchr(path, '/');
    size_t len = slash ? (size_t)(slash - path) : 0;
    const char *tail = slash == path ? "/" : len ? "" : ".";
    if (len + strlen(tail) >= size)
        return 0;
    memcpy(dir, path, len);
    strcpy(dir + len, tail);
    return 1;
}

/* fsync of the folder holding path, so the rename itself is durable. Some
 * file systems refuse to fsync a folder; the file is complete either way,
 * so that is not an error. */
static void sync_folder(const char *path)
{
    char dir[4096];
    if (!path_dirname(path, dir, sizeof dir))
        return;
    int fd = open(dir, O_RDONLY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* The whole-file reader: chunks into a doubling buffer, stopping at end
 * of file or once more than limit(...) bytes are in (*over set then). */
static clrnn_status read_up_to(const char *path, size_t (*limit)(const unsigned char *, size_t),
                               size_t fixed_limit, unsigned char **data, size_t *size, int *over,
                               clrnn_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return clrnn__fail(err, CLRNN_E_IO, "cannot open '%s': %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = malloc(cap);
    *over = 0;
    while (buf) {
        size_t max = limit ? limit(buf, n) : fixed_limit; /* at most SIZE_MAX - 2 */
        if (n > max) {
            *over = 1;
            break;
        }
        /* read no further than one byte past the limit */
        size_t want = cap - n - 1;
        if (max - n < want)
            want = max - n + 1;
        size_t got = fread(buf + n, 1, want, f);
        n += got;
        if (got < want)
            break;
        if (n < cap - 1)
            continue;
        unsigned char *bigger = cap <= SIZE_MAX / 2 ? realloc(buf, cap * 2) : NULL;
        if (!bigger) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = bigger;
        cap *= 2;
    }
    int failed = ferror(f);
    int saved_errno = errno;
    fclose(f);
    if (!buf)
        return clrnn__fail(err, CLRNN_E_NOMEM, "%s: out of memory reading the file", path);
    if (failed) {
        free(buf);
        return clrnn__fail(err, CLRNN_E_IO, "cannot read '%s': %s", path, strerror(saved_errno));
    }
    buf[n] = '\0';
    *data = buf;
    *size = n;
    return CLRNN_OK;
}

clrnn_status read_file_all(const char *path, size_t max_size, const char *what,
                           unsigned char **data, size_t *size, clrnn_error *err)
{
    int over;
    if (max_size >= SIZE_MAX - 1)
        max_size = SIZE_MAX - 2;
    clrnn_status st = read_up_to(path, NULL, max_size, data, size, &over, err);
    if (st == CLRNN_OK && over) {
        free(*data);
        *data = NULL;
        return clrnn__fail(err, CLRNN_E_INPUT, "'%s' is larger than %s can be (%zu bytes)", path,
                           what, max_size);
    }
    return st;
}

clrnn_status read_file_limited(const char *path, size_t (*limit)(const unsigned char *, size_t),
                               unsigned char **data, size_t *size, clrnn_error *err)
{
    int over;
    return read_up_to(path, limit, 0, data, size, &over, err);
}

/* Where a write to path lands: path itself, or, for a symbolic link, the
 * file it names (so the link stays a link), into target. */
static int resolve_target(const char *path, char *target, size_t size)
{
    struct stat info;
    if (lstat(path, &info) != 0 || !S_ISLNK(info.st_mode))
        return (size_t)snprintf(target, size, "%s", path) < size;
    char resolved[PATH_MAX];
    if (realpath(path, resolved))
        return (size_t)snprintf(target, size, "%s", resolved) < size;
    /* A dangling link: the file it names, relative to the link's folder. */
    char link[PATH_MAX], dir[PATH_MAX];
    ssize_t n = readlink(path, link, sizeof link - 1);
    if (n <= 0 || !path_dirname(path, dir, sizeof dir))
        return 0;
    link[n] = '\0';
    return (size_t)(link[0] == '/' ? snprintf(target, size, "%s", link)
                                   : snprintf(target, size, "%s/%s", dir, link)) < size;
}

int path_same_file(const char *a, const char *b)
{
    struct stat x, y;
    int has_a = stat(a, &x) == 0, has_b = stat(b, &y) == 0;
    if (has_a && has_b)
        return x.st_dev == y.st_dev && x.st_ino == y.st_ino;
    if (has_a || has_b)
        return 0;
    /* Neither exists yet: where would each be created? */
    char ta[4096], tb[4096], da[4096], db[4096];
    if (!resolve_target(a, ta, sizeof ta) || !resolve_target(b, tb, sizeof tb) ||
        !path_dirname(ta, da, sizeof da) || !path_dirname(tb, db, sizeof db) || stat(da, &x) != 0 ||
        stat(db, &y) != 0)
        return 0;
    const char *na = strrchr(ta, '/'), *nb = strrchr(tb, '/');
    return x.st_dev == y.st_dev && x.st_ino == y.st_ino &&
           strcmp(na ? na + 1 : ta, nb ? nb + 1 : tb) == 0;
}

/* Removes "<name>.tmp.<pid>.<n>" files beside target whose writing process
 * is gone (killed during a save): only our own naming, only dead pids. */
static void remove_stale_temporaries(const char *target)
{
    char dir[PATH_MAX], stale[PATH_MAX + 300];
    if (!path_dirname(target, dir, sizeof dir))
        return;
    const char *slash = strrchr(target, '/');
    const char *base = slash ? slash + 1 : target;
    size_t base_len = strlen(base);
    DIR *d = opendir(dir);
    if (!d)
        return;
    for (struct dirent *e; (e = readdir(d));) {
        const char *name = e->d_name;
        if (strncmp(name, base, base_len) != 0 || strncmp(name + base_len, ".tmp.", 5) != 0)
            continue;
        char *end;
        long pid = strtol(name + base_len + 5, &end, 10);
        if (pid <= 0 || *end != '.' || pid == (long)getpid())
            continue;
        strtol(end + 1, &end, 10);
        if (*end != '\0' || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        if ((size_t)snprintf(stale, sizeof stale, "%s/%s", dir, name) < sizeof stale)
            unlink(stale);
    }
    closedir(d);
}

clrnn_status atomic_write_file(const char *path, const void *data, size_t size, clrnn_error *err)
{
    atomic_out out;
    clrnn_status st = atomic_open(&out, path, err);
    if (st != CLRNN_OK)
        return st;
    if (size && fwrite(data, 1, size, out.f) != size) {
        int saved_errno = errno;
        atomic_abort(&out);
        return clrnn__fail(err, CLRNN_E_IO, "cannot write '%s': %s", path,
                           strerror(saved_errno ? saved_errno : EIO));
    }
    return atomic_commit(&out, err);
}

clrnn_status atomic_open(atomic_out *out, const char *path, clrnn_error *err)
{
    out->f = NULL;
    out->tmp[0] = '\0';
    struct stat info;
    if (strlen(path) >= sizeof out->path || !resolve_target(path, out->target, sizeof out->target))
        return clrnn__fail(err, CLRNN_E_IO, "cannot write '%s': %s", path, strerror(ENAMETOOLONG));
    strcpy(out->path, path);
    int exists = stat(out->target, &info) == 0;
    if (exists && S_ISDIR(info.st_mode))
        return clrnn__fail(err, CLRNN_E_IO, "cannot write '%s': it is a folder", path);
    remove_stale_temporaries(out->target);
    int fd = create_temporary(out->tmp, sizeof out->tmp, out->target);
    if (fd < 0) {
        out->tmp[0] = '\0';
        return clrnn__fail(err, CLRNN_E_IO, "cannot write '%s': %s", path, strerror(errno));
    }
    /* A file written over keeps its permissions (a 0444 model stays 0444). */
    if (exists && S_ISREG(info.st_mode))
        fchmod(fd, info.st_mode & 07777);
    out->f = fdopen(fd, "w");
    if (!out->f) {
        int saved_errno = errno;
        close(fd);
        unlink(out->tmp);
        out->tmp[0] = '\0';
        return clrnn__fail(err, CLRNN_E_IO, "cannot write '%s': %s", path, strerror(saved_errno));
    }
    return CLRNN_OK;
}

clrnn_status atomic_commit(atomic_out *out, clrnn_error *err)
{
    if (!out->f)
        return clrnn__fail(err, CLRNN_E_IO, "cannot write '%s': not open", out->path);
    int ok = fflush(out->f) == 0 && !ferror(out->f) && fsync(fileno(out->f)) == 0;
    int saved_errno = errno;
    if (fclose(out->f) != 0 && ok) {
        saved_errno = errno;
        ok = 0;
    }
    out->f = NULL;
    if (ok && rename(out->tmp, out->target) != 0) {
        saved_errno = errno;
        ok = 0;
    }
    if (!ok) {
        unlink(out->tmp);
        out->tmp[0] = '\0';
        return clrnn__fail(err, CLRNN_E_IO, "cannot write '%s': %s", out->path,
                           strerror(saved_errno ? saved_errno : EIO));
    }
    out->tmp[0] = '\0';
    sync_folder(out->target);
    return CLRNN_OK;
}

void atomic_abort(atomic_out *out)
{
    if (out->f)
        fclose(out->f);
    out->f = NULL;
    if (out->tmp[0])
        unlink(out->tmp);
    out->tmp[0] = '\0';
}
