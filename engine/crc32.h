// crc32.h — CRC-32 as in PNG, zlib and gzip (polynomial 0xEDB88320).
//
// Guards the data of checkpoints and weights (engine/checkpoint.h) and of
// packs and PNG chunks (models/data). It detects damage (a flipped bit, a
// truncated or shifted copy), not tampering.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tinct {

// Pass the previous result as `crc` to continue over more bytes.
uint32_t crc32(const void* data, size_t size, uint32_t crc = 0);

}  // namespace tinct
