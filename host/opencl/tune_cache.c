/* The per-device tuning cache (tune_cache.h). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "clrnn.h"
#include "core/error.h"
#include "io/files.h"
#include "opencl/tune_cache.h"

#define CACHE_MAGIC "clrnn tuning cache 1"
/* A cache larger than this is not one clrnn wrote: corrupt. */
#define CACHE_MAX_BYTES (1 << 20)
#define CACHE_MAX_ENTRIES 512

static uint64_t fnv1a(uint64_t h, const char *text)
{
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return (h ^ 0xff) * 1099511628211ull; /* a separator, so "ab","c" differs from "a","bc" */
}

int tune_cache_path(const tune_key *key, char *out, size_t size)
{
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    uint64_t h = 14695981039346656037ull;
    h = fnv1a(fnv1a(fnv1a(fnv1a(h, key->platform), key->device), key->driver), clrnn_version());
    int n;
    if (xdg && xdg[0] == '/') /* the XDG spec: a relative path is to be ignored */
        n = snprintf(out, size, "%s/clrnn/tune-%016llx.txt", xdg, (unsigned long long)h);
    else if (home && home[0])
        n = snprintf(out, size, "%s/.cache/clrnn/tune-%016llx.txt", home, (unsigned long long)h);
    else
        return 0;
    return n > 0 && (size_t)n < size;
}

void tune_shape_class(const clrnn_backend *b, char *out, size_t size)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t l = 0; l < b->n_layers && n < size; l++)
        n += (size_t)snprintf(out + n, size - n, "%s%zu:%zu:%zu", l ? "," : "", b->layers[l].n_in,
                              b->layers[l].n_hidden, b->layers[l].n_out);
    size_t B = 1;
    while (B < b->max_batch)
        B *= 2;
    if (n < size)
        snprintf(out + n, size - n, "/%zu/%zu", b->seq_len, B);
}

/* An entry: pointers into the file's text (its tabs and newlines made NULs). */
typedef struct cache_entry {
    const char *family, *precision, *shape_class, *values;
} cache_entry;

/* The next line of *p (NUL-terminated in place), NULL at the end. */
static char *next_line(char **p)
{
    if (!**p)
        return NULL;
    char *line = *p, *nl = strchr(line, '\n');
    if (nl) {
        *nl = '\0';
        *p = nl + 1;
    } else
        *p = line + strlen(line);
    return line;
}

/* Splits line at its tabs into at most max fields; the count. */
static size_t split_tabs(char *line, char **fields, size_t max)
{
    size_t n = 0;
    for (char *p = line; n < max;) {
        fields[n++] = p;
        char *tab = strchr(p, '\t');
        if (!tab)
            return n;
        *tab = '\0';
        p = tab + 1;
    }
    return n + 1; /* too many */
}

/* Parses text (modified in place): 1 and the entries where it is key's,
 * 0 where it is another key's, -1 and why where it is corrupt. */
static int parse_cache(char *text, size_t size, const tune_key *key, cache_entry *entries,
                       size_t *n_entries, char *why, size_t why_size)
{
    *n_entries = 0;
    if (strlen(text) != size) {
        snprintf(why, why_size, "it holds a NUL byte");
        return -1;
    }
    char *p = text, *line;
    const char *want[4] = {key->platform, key->device, key->driver, clrnn_version()};
    static const char *const header[4] = {"platform", "device", "driver", "clrnn"};
    int same_key = 1;
    line = next_line(&p);
    if (!line || strcmp(line, CACHE_MAGIC) != 0) {
        snprintf(why, why_size, "line 1 is not '%s'", CACHE_MAGIC);
        return -1;
    }
    for (int i = 0; i < 4; i++) {
        char *fields[3];
        line = next_line(&p);
        if (!line || split_tabs(line, fields, 2) != 2 || strcmp(fields[0], header[i]) != 0) {
            snprintf(why, why_size, "line %d is not the %s", i + 2, header[i]);
            return -1;
        }
        same_key &= strcmp(fields[1], want[i]) == 0;
    }
    for (int number = 6; (line = next_line(&p)) != NULL; number++) {
        char *fields[6];
        if (!line[0])
            continue;
        if (split_tabs(line, fields, 5) != 5 || strcmp(fields[0], "entry") != 0 || !fields[1][0] ||
            !fields[3][0] || (strcmp(fields[2], "fp32") != 0 && strcmp(fields[2], "fp64") != 0)) {
            snprintf(why, why_size, "line %d is not an entry", number);
            return -1;
        }
        if (*n_entries == CACHE_MAX_ENTRIES) {
            snprintf(why, why_size, "more than %d entries", CACHE_MAX_ENTRIES);
            return -1;
        }
        entries[(*n_entries)++] = (cache_entry){fields[1], fields[2], fields[3], fields[4]};
    }
    return same_key;
}

/* The file at path, or NULL (*missing where there is none). */
static char *read_cache(const char *path, size_t *size, int *missing, char *why, size_t why_size)
{
    unsigned char *data = NULL;
    clrnn_error err;
    *missing = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        *missing = errno == ENOENT;
        snprintf(why, why_size, "%s", strerror(errno));
        return NULL;
    }
    fclose(f);
    if (read_file_all(path, CACHE_MAX_BYTES, "a tuning cache", &data, size, &err) != CLRNN_OK) {
        snprintf(why, why_size, "%s", err.message);
        return NULL;
    }
    return (char *)data;
}

int tune_cache_find(const char *path, const tune_key *key, const char *family,
                    const char *precision, const char *shape_class, char *values, size_t size,
                    char *why, size_t why_size)
{
    size_t n_bytes, n_entries;
    int missing;
    char *text = read_cache(path, &n_bytes, &missing, why, why_size);
    if (!text)
        return missing ? TUNE_CACHE_NONE : TUNE_CACHE_CORRUPT;
    cache_entry *entries = malloc(CACHE_MAX_ENTRIES * sizeof *entries);
    int found = TUNE_CACHE_NONE;
    int parsed = entries ? parse_cache(text, n_bytes, key, entries, &n_entries, why, why_size) : 0;
    if (parsed < 0)
        found = TUNE_CACHE_CORRUPT;
    for (size_t i = 0; parsed > 0 && i < n_entries; i++)
        if (strcmp(entries[i].family, family) == 0 &&
            strcmp(entries[i].precision, precision) == 0 &&
            strcmp(entries[i].shape_class, shape_class) == 0) {
            snprintf(values, size, "%s", entries[i].values);
            found = TUNE_CACHE_FOUND;
        }
    free(entries);
    free(text);
    return found;
}

/* mkdir -p of path's folder. */
static void make_folders(const char *path)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    for (char *p = dir + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(dir, 0755); /* an existing folder is fine; a real failure shows at the write */
            *p = '/';
        }
}

clrnn_status tune_cache_store(const char *path, const tune_key *key, const char *family,
                              const char *precision, const char *shape_class, const char *values,
                              clrnn_error *err)
{
    size_t n_bytes = 0, n_entries = 0;
    int missing;
    char why[256];
    char *text = read_cache(path, &n_bytes, &missing, why, sizeof why);
    cache_entry *entries = malloc(CACHE_MAX_ENTRIES * sizeof *entries);
    size_t cap = n_bytes + 4096 + strlen(values);
    char *out = malloc(cap);
    if (!entries || !out) {
        free(text);
        free(entries);
        free(out);
        return clrnn__fail(err, CLRNN_E_NOMEM, "out of memory writing the tuning cache");
    }
    if (!text || parse_cache(text, n_bytes, key, entries, &n_entries, why, sizeof why) <= 0)
        n_entries = 0; /* none, another key's or corrupt: start afresh */
    size_t n =
        (size_t)snprintf(out, cap, "%s\nplatform\t%s\ndevice\t%s\ndriver\t%s\nclrnn\t%s\n",
                         CACHE_MAGIC, key->platform, key->device, key->driver, clrnn_version());
    for (size_t i = 0; i < n_entries && n < cap; i++)
        if (strcmp(entries[i].family, family) != 0 ||
            strcmp(entries[i].precision, precision) != 0 ||
            strcmp(entries[i].shape_class, shape_class) != 0)
            n += (size_t)snprintf(out + n, cap - n, "entry\t%s\t%s\t%s\t%s\n", entries[i].family,
                                  entries[i].precision, entries[i].shape_class, entries[i].values);
    if (n < cap)
        n += (size_t)snprintf(out + n, cap - n, "entry\t%s\t%s\t%s\t%s\n", family, precision,
                              shape_class, values);
    clrnn_status st = CLRNN_OK;
    if (n >= cap)
        st = clrnn__fail(err, CLRNN_E_IO, "the tuning cache '%s' would be too long", path);
    else {
        make_folders(path);
        st = atomic_write_file(path, out, n, err);
    }
    free(text);
    free(entries);
    free(out);
    return st;
}
