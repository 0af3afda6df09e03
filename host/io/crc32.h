/* Internal: CRC-32 as in ZIP, PNG and zlib (polynomial 0xEDB88320,
 * reflected, initial and final XOR 0xFFFFFFFF): zlib.crc32 in Python gives
 * the same numbers, so the files can be checked by anyone. */
#ifndef CLRNN_CRC32_H
#define CLRNN_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* crc32_update(0, data, n) is the CRC of data; feed pieces by passing the
 * previous result. */
uint32_t crc32_update(uint32_t crc, const void *data, size_t n);

#endif
