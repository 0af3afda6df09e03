/* Explicit little-endian encoding; see bytes.h. */
#include <stdlib.h>
#include <string.h>

#include "io/bytes.h"

/* put_f64 and get_f64 move a double's bits through a uint64_t. */
_Static_assert(sizeof(double) == sizeof(uint64_t), "double must be 64 bits (IEEE-754 binary64)");

void byte_writer_free(byte_writer *w)
{
    free(w->data);
    memset(w, 0, sizeof *w);
}

/* Makes room for n more bytes; doubles the buffer so a file costs
 * O(log size) reallocations. */
static int reserve(byte_writer *w, size_t n)
{
    if (w->failed)
        return 0;
    if (n <= w->capacity - w->size)
        return 1;
    size_t capacity = w->capacity ? w->capacity : 256;
    while (capacity - w->size < n) {
        if (capacity > SIZE_MAX / 2) {
            w->failed = 1;
            return 0;
        }
        capacity *= 2;
    }
    unsigned char *bigger = realloc(w->data, capacity);
    if (!bigger) {
        w->failed = 1;
        return 0;
    }
    w->data = bigger;
    w->capacity = capacity;
    return 1;
}

void put_bytes(byte_writer *w, const void *bytes, size_t n)
{
    if (n == 0 || !reserve(w, n))
        return;
    memcpy(w->data + w->size, bytes, n);
    w->size += n;
}

/* The low n_bytes bytes of v, least significant first. */
static void put_le(byte_writer *w, uint64_t v, int n_bytes)
{
    unsigned char b[8];
    for (int i = 0; i < n_bytes; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    put_bytes(w, b, (size_t)n_bytes);
}

void put_u16(byte_writer *w, uint16_t v)
{
    put_le(w, v, 2);
}

void put_u32(byte_writer *w, uint32_t v)
{
    put_le(w, v, 4);
}

void put_u64(byte_writer *w, uint64_t v)
{
    put_le(w, v, 8);
}

void put_f64(byte_writer *w, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    put_u64(w, bits);
}

void put_f64_array(byte_writer *w, const double *values, size_t n)
{
    if (!reserve(w, n * 8)) /* n * 8 cannot overflow: values already holds n doubles */
        return;
    for (size_t i = 0; i < n; i++)
        put_f64(w, values ? values[i] : 0.0);
}

void put_text(byte_writer *w, const char *text)
{
    size_t len = text ? strlen(text) : 0;
    put_u32(w, (uint32_t)len);
    put_bytes(w, text, len);
}

void patch_u64(byte_writer *w, size_t offset, uint64_t v)
{
    if (w->failed || offset > w->size || w->size - offset < 8)
        return;
    for (int i = 0; i < 8; i++)
        w->data[offset + (size_t)i] = (unsigned char)(v >> (8 * i));
}

const unsigned char *get_bytes(byte_reader *r, size_t n)
{
    if (r->failed || n > r->size - r->pos) {
        r->failed = 1;
        return NULL;
    }
    const unsigned char *p = r->data + r->pos;
    r->pos += n;
    return p;
}

static uint64_t get_le(byte_reader *r, int n_bytes)
{
    const unsigned char *p = get_bytes(r, (size_t)n_bytes);
    uint64_t v = 0;
    for (int i = 0; p && i < n_bytes; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

uint16_t get_u16(byte_reader *r)
{
    return (uint16_t)get_le(r, 2);
}

uint32_t get_u32(byte_reader *r)
{
    return (uint32_t)get_le(r, 4);
}

uint64_t get_u64(byte_reader *r)
{
    return get_le(r, 8);
}

double get_f64(byte_reader *r)
{
    uint64_t bits = get_u64(r);
    double v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

void get_f64_array(byte_reader *r, double *values, size_t n)
{
    if (n > bytes_left(r) / 8) {
        r->failed = 1;
        return;
    }
    for (size_t i = 0; i < n; i++)
        values[i] = get_f64(r);
}

size_t bytes_left(const byte_reader *r)
{
    return r->failed ? 0 : r->size - r->pos;
}

uint16_t load_u16(const unsigned char *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

uint32_t load_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
