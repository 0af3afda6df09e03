/* The library's one file path (host/io/files.c): bounded whole-file reads,
 * dirname, and atomic streamed writes that leave either the old file or
 * the new one and never a temporary file. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "io/files.h"

static char folder[] = "/tmp/clrnn_test_files.XXXXXX";

static size_t count_temporaries(void)
{
    size_t n = 0;
    DIR *d = opendir(folder);
    for (struct dirent *e; d && (e = readdir(d));)
        n += strstr(e->d_name, ".tmp.") != NULL;
    if (d)
        closedir(d);
    return n;
}

static int file_is(const char *path, const char *text)
{
    unsigned char *data = NULL;
    size_t size = 0;
    clrnn_error err;
    int ok = read_file_all(path, 1 << 20, "a test file", &data, &size, &err) == CLRNN_OK &&
             size == strlen(text) && memcmp(data, text, size) == 0 && data[size] == '\0';
    free(data);
    return ok;
}

int main(void)
{
    if (!mkdtemp(folder))
        return perror("mkdtemp"), 1;
    char path[256];
    snprintf(path, sizeof path, "%s/out.csv", folder);
    clrnn_error err;

    atomic_out out;
    check_true(atomic_open(&out, path, &err) == CLRNN_OK && out.f, "atomic_open");
    fputs("a,b\n1,2\n", out.f);
    check_true(access(path, F_OK) != 0, "nothing at the destination before the commit");
    check_true(atomic_commit(&out, &err) == CLRNN_OK, "atomic_commit");
    check_true(file_is(path, "a,b\n1,2\n"), "the committed file holds what was written");

    check_true(atomic_open(&out, path, &err) == CLRNN_OK, "atomic_open over an existing file");
    fputs("half a fi", out.f);
    atomic_abort(&out);
    check_true(file_is(path, "a,b\n1,2\n"), "abort leaves the old file as it was");
    check_true(count_temporaries() == 0, "no temporary file left after commit and abort");

    check_true(atomic_open(&out, folder, &err) == CLRNN_E_IO && !out.f &&
                   strstr(err.message, "it is a folder"),
               "a folder as destination: CLRNN_E_IO, one line");
    atomic_abort(&out); /* accepted after a failed open */
    char missing[300];
    snprintf(missing, sizeof missing, "%s/no/such/dir/x.svg", folder);
    check_true(atomic_open(&out, missing, &err) == CLRNN_E_IO &&
                   strstr(err.message, "cannot write"),
               "a missing folder: CLRNN_E_IO naming the path");

    unsigned char *data = NULL;
    size_t size = 0;
    check_true(read_file_all(path, 4, "a small file", &data, &size, &err) == CLRNN_E_INPUT &&
                   strstr(err.message, "larger than a small file can be"),
               "a file over the ceiling: CLRNN_E_INPUT");
    check_true(read_file_all("/dev/zero", 1 << 20, "a model file", &data, &size, &err) ==
                   CLRNN_E_INPUT,
               "/dev/zero stops at the ceiling instead of filling memory");
    check_true(read_file_all(missing, 100, "x", &data, &size, &err) == CLRNN_E_IO &&
                   strstr(err.message, "cannot open"),
               "a missing file: CLRNN_E_IO, cannot open");

    char dir[64];
    check_true(path_dirname("a/b/c.csv", dir, sizeof dir) && strcmp(dir, "a/b") == 0,
               "dirname of a/b/c.csv");
    check_true(path_dirname("c.csv", dir, sizeof dir) && strcmp(dir, ".") == 0,
               "dirname of a bare name");
    check_true(path_dirname("/c.csv", dir, sizeof dir) && strcmp(dir, "/") == 0,
               "dirname of /c.csv");
    check_true(!path_dirname("abcdefgh/x", dir, 4), "dirname too long for the buffer");

    /* Links, permissions, what a killed writer left (issue 11, items 10, 11). */
    char target[300], link[300], dangling[300], made[300];
    snprintf(target, sizeof target, "%s/model.clrnn", folder);
    snprintf(link, sizeof link, "%s/latest.clrnn", folder);
    snprintf(dangling, sizeof dangling, "%s/next.clrnn", folder);
    snprintf(made, sizeof made, "%s/made-by-link.clrnn", folder);
    struct stat info;
    check_true(atomic_write_file(target, "v1", 2, &err) == CLRNN_OK &&
                   symlink("model.clrnn", link) == 0 &&
                   atomic_write_file(link, "v2", 2, &err) == CLRNN_OK && lstat(link, &info) == 0 &&
                   S_ISLNK(info.st_mode) && file_is(target, "v2"),
               "a write to a symbolic link replaces the file it names; the link stays");
    check_true(symlink("made-by-link.clrnn", dangling) == 0 &&
                   atomic_write_file(dangling, "v3", 2, &err) == CLRNN_OK &&
                   lstat(dangling, &info) == 0 && S_ISLNK(info.st_mode) && file_is(made, "v3"),
               "a dangling link: the file it names is created; the link stays");
    check_true(chmod(target, 0444) == 0 && atomic_write_file(target, "v4", 2, &err) == CLRNN_OK &&
                   stat(target, &info) == 0 && (info.st_mode & 07777) == 0444 &&
                   file_is(target, "v4"),
               "a 0444 file written over stays 0444");

    char stale[400], live[400];
    pid_t child = fork();
    if (child == 0)
        _exit(0);
    waitpid(child, NULL, 0); /* a pid whose process is gone */
    snprintf(stale, sizeof stale, "%s.tmp.%ld.0", target, (long)child);
    snprintf(live, sizeof live, "%s.tmp.%ld.0", target, (long)getppid());
    FILE *f1 = fopen(stale, "w"), *f2 = fopen(live, "w");
    if (f1)
        fclose(f1);
    if (f2)
        fclose(f2);
    check_true(f1 && f2 && atomic_write_file(target, "v5", 2, &err) == CLRNN_OK &&
                   access(stale, F_OK) != 0 && access(live, F_OK) == 0,
               "a dead writer's temporary is removed; a live process's is kept");
    check_true(path_same_file(link, target) && path_same_file(target, target) &&
                   !path_same_file(target, made) && !path_same_file(target, missing),
               "same file: through a link yes, another file or a missing one no");
    char new_a[320], new_b[320], new_c[320];
    snprintf(new_a, sizeof new_a, "%s/new.csv", folder);
    snprintf(new_b, sizeof new_b, "%s/../%s/new.csv", folder, strrchr(folder, '/') + 1);
    snprintf(new_c, sizeof new_c, "%s/other.csv", folder);
    check_true(path_same_file(new_a, new_b) && !path_same_file(new_a, new_c),
               "same file to be: one folder by another path, the same name; not another name");
    remove(live);
    remove(dangling);
    remove(made);
    remove(link);
    remove(target);
    remove(path);
    rmdir(folder);
    return check_summary();
}
