#include "emu/digest.h"

#include <nettle/sha1.h>
#include <nettle/sha2.h>

namespace bpfemu::emu {

void sha256(const void* data, size_t len, uint8_t out[kSha256Size]) {
  sha256_ctx ctx;
  sha256_init(&ctx);
  sha256_update(&ctx, len, static_cast<const uint8_t*>(data));
  sha256_digest(&ctx, kSha256Size, out);
}

void sha1(const void* data, size_t len, uint8_t out[kSha1Size]) {
  sha1_ctx ctx;
  sha1_init(&ctx);
  sha1_update(&ctx, len, static_cast<const uint8_t*>(data));
  sha1_digest(&ctx, kSha1Size, out);
}

}  // namespace bpfemu::emu
