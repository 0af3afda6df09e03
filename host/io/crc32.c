/* CRC-32 (ZIP/zlib), computed with a 16-entry table: half-byte steps are
 * fast enough for model files and need no global table to initialise. */
#include "io/crc32.h"

uint32_t crc32_update(uint32_t crc, const void *data, size_t n)
{
    /* The CRC of each 4-bit value under the reflected polynomial 0xEDB88320. */
    static const uint32_t nibble[16] = {0x00000000, 0x1DB71064, 0x3B6E20C8, 0x26D930AC,
                                        0x76DC4190, 0x6B6B51F4, 0x4DB26158, 0x5005713C,
                                        0xEDB88320, 0xF00F9344, 0xD6D6A3E8, 0xCB61B38C,
                                        0x9B64C2B0, 0x86D3D2D4, 0xA00AE278, 0xBDBDF21C};
    const unsigned char *p = data;
    crc = ~crc;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        crc = (crc >> 4) ^ nibble[crc & 15];
        crc = (crc >> 4) ^ nibble[crc & 15];
    }
    return ~crc;
}
