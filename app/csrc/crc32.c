/* CRC-32 (IEEE 802.3, the one zlib and `cksum -a crc32b` use), bitwise.
 * It is C on purpose: the release matrix must prove every route can cross-compile and
 * statically link C code, which is where real projects (ring, zstd-sys, libgit2-sys) get stuck.
 * Only freestanding headers, so any C compiler for any target builds it. */
#include <stddef.h>
#include <stdint.h>

uint32_t app_crc32_update(uint32_t crc, const unsigned char *data, size_t len) {
    crc = ~crc;
    for (size_t i = 0; i < len; i++) {
        crc ^= data[i];
        for (int bit = 0; bit < 8; bit++) {
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
        }
    }
    return ~crc;
}
