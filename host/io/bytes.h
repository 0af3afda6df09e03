/*
 * Internal: explicit little-endian encoding for the files clrnn writes (the
 * model format, the .npz export). Values are written byte by byte, never as
 * struct dumps, so a file means the same on every host; doubles are their
 * IEEE-754 binary64 bits.
 *
 * A writer grows a buffer in memory; the whole file is then written at once
 * (files.h). A reader walks a buffer and refuses to read past its end:
 * after the first short read every get returns 0 and `failed` stays set, so
 * a parser may read a run of fields and check once.
 */
#ifndef CLRNN_BYTES_H
#define CLRNN_BYTES_H

#include <stddef.h>
#include <stdint.h>

typedef struct byte_writer {
    unsigned char *data;
    size_t size, capacity;
    int failed; /* an allocation failed; everything after it was dropped */
} byte_writer;

void byte_writer_free(byte_writer *w);
void put_bytes(byte_writer *w, const void *bytes, size_t n);
void put_u16(byte_writer *w, uint16_t v);
void put_u32(byte_writer *w, uint32_t v);
void put_u64(byte_writer *w, uint64_t v);
void put_f64(byte_writer *w, double v);
/* values (n) as consecutive f64; NULL writes n zeros */
void put_f64_array(byte_writer *w, const double *values, size_t n);
/* text as its u32 length, then its bytes (no terminator); NULL as "" */
void put_text(byte_writer *w, const char *text);
/* Overwrites 8 bytes at offset (already written), for a size known later. */
void patch_u64(byte_writer *w, size_t offset, uint64_t v);

typedef struct byte_reader {
    const unsigned char *data;
    size_t size, pos;
    int failed; /* a read went past the end */
} byte_reader;

/* Pointer to the next n bytes and advance, or NULL (and failed) past the end. */
const unsigned char *get_bytes(byte_reader *r, size_t n);
uint16_t get_u16(byte_reader *r);
uint32_t get_u32(byte_reader *r);
uint64_t get_u64(byte_reader *r);
double get_f64(byte_reader *r);
/* values (n) <- n consecutive f64; values untouched when they do not fit */
void get_f64_array(byte_reader *r, double *values, size_t n);
size_t bytes_left(const byte_reader *r);

/* Decoding without a reader, for fixed offsets. */
uint16_t load_u16(const unsigned char *p);
uint32_t load_u32(const unsigned char *p);

#endif
