/* The tuning cache's file (host/opencl/tune_cache.h), without a device:
 * an entry stored is found again; storing keeps the other entries and
 * replaces one of the same family, precision and class; another device's
 * or another version's file has no entries (and is replaced by a store); a
 * missing file is none; damaged files are corrupt, never a crash; the path
 * follows XDG_CACHE_HOME, else HOME. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "opencl/tune_cache.h"

static char dir[64];

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static int find(const char *path, const tune_key *key, const char *family, const char *cls,
                char *values)
{
    char why[256];
    values[0] = '\0';
    return tune_cache_find(path, key, family, "fp32", cls, values, 256, why, sizeof why);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/clrnn-tune-cache-XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    char xdg[128], path[4096], values[256];
    snprintf(xdg, sizeof xdg, "%s/cache", dir);
    setenv("XDG_CACHE_HOME", xdg, 1);
    const tune_key key = {"Plat form", "Dev ice", "1.0"}, other = {"Plat form", "Dev ice", "2.0"};
    check_true(tune_cache_path(&key, path, sizeof path) && strncmp(path, xdg, strlen(xdg)) == 0 &&
                   strstr(path, "/clrnn/tune-"),
               "the path is in $XDG_CACHE_HOME/clrnn");
    char other_path[4096];
    tune_cache_path(&other, other_path, sizeof other_path);
    check_true(strcmp(path, other_path) != 0, "another driver version: another file");
    setenv("XDG_CACHE_HOME", "relative", 1);
    setenv("HOME", "/home/someone", 1);
    char home_path[4096];
    check_true(tune_cache_path(&key, home_path, sizeof home_path) &&
                   strncmp(home_path, "/home/someone/.cache/clrnn/", 27) == 0,
               "a relative XDG_CACHE_HOME is ignored: ~/.cache/clrnn");
    setenv("XDG_CACHE_HOME", xdg, 1);

    check_true(find(path, &key, "tile", "3:16:1/7/32", values) == TUNE_CACHE_NONE,
               "no file: no entry");
    clrnn_error err;
    check_true(tune_cache_store(path, &key, "tile", "fp32", "3:16:1/7/32", "WB=4 JB=1", &err) ==
                   CLRNN_OK,
               "store creates the folders and the file");
    check_true(find(path, &key, "tile", "3:16:1/7/32", values) == TUNE_CACHE_FOUND &&
                   strcmp(values, "WB=4 JB=1") == 0,
               "the stored entry is found again");
    tune_cache_store(path, &key, "fused", "fp32", "3:16:1/7/32", "LANES=8", &err);
    tune_cache_store(path, &key, "tile", "fp32", "3:16:1/7/32", "WB=8 JB=1", &err);
    check_true(find(path, &key, "tile", "3:16:1/7/32", values) == TUNE_CACHE_FOUND &&
                   strcmp(values, "WB=8 JB=1") == 0,
               "a second store replaces the entry");
    check_true(find(path, &key, "fused", "3:16:1/7/32", values) == TUNE_CACHE_FOUND &&
                   strcmp(values, "LANES=8") == 0,
               "... and keeps the others");
    check_true(find(path, &key, "tile", "3:16:1/7/64", values) == TUNE_CACHE_NONE,
               "another shape class: no entry");
    check_true(find(path, &other, "tile", "3:16:1/7/32", values) == TUNE_CACHE_NONE,
               "the file read with another key: no entry");

    static const char *const damaged[] = {
        "",
        "not a cache\n",
        "clrnn tuning cache 1\nplatform\tPlat form\n",
        "clrnn tuning cache 1\nplatform\tPlat form\ndevice\tDev ice\ndriver\t1.0\nclrnn\tx\n"
        "entry\ttile\tfp32\n",
        "clrnn tuning cache 1\nplatform\tPlat form\ndevice\tDev ice\ndriver\t1.0\nclrnn\tx\n"
        "entry\ttile\tfp16\t3:16:1/7/32\tWB=4\n",
        "clrnn tuning cache 1\nplatform\tPlat form\ndevice\tDev ice\ndriver\t1.0\nclrnn\tx\n"
        "bogus\ttile\tfp32\t3:16:1/7/32\tWB=4\n",
    };
    for (size_t i = 0; i < sizeof damaged / sizeof damaged[0]; i++) {
        write_text(path, damaged[i]);
        char what[96];
        snprintf(what, sizeof what, "damaged file %zu: corrupt", i);
        check_true(find(path, &key, "tile", "3:16:1/7/32", values) == TUNE_CACHE_CORRUPT, what);
    }
    FILE *f = fopen(path, "wb"); /* binary noise with NUL bytes */
    for (int i = 0; f && i < 4096; i++)
        fputc((i * 7919) & 0xff, f);
    if (f)
        fclose(f);
    check_true(find(path, &key, "tile", "3:16:1/7/32", values) == TUNE_CACHE_CORRUPT,
               "binary noise: corrupt");
    check_true(tune_cache_store(path, &key, "tile", "fp32", "3:16:1/7/32", "WB=2", &err) ==
                       CLRNN_OK &&
                   find(path, &key, "tile", "3:16:1/7/32", values) == TUNE_CACHE_FOUND &&
                   strcmp(values, "WB=2") == 0,
               "store replaces a corrupt file");
    tune_cache_store(path, &other, "tile", "fp32", "3:16:1/7/32", "WB=1", &err);
    check_true(find(path, &key, "tile", "3:16:1/7/32", values) == TUNE_CACHE_NONE,
               "a store under another key replaces the file's entries");
    unlink(path);
    char sub[160];
    snprintf(sub, sizeof sub, "%s/clrnn", xdg);
    rmdir(sub);
    rmdir(xdg);
    rmdir(dir);
    return check_summary();
}
