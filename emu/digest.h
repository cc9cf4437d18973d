// SHA-256 and SHA-1 digests, for what the kernel hashes: a frozen ARRAY's
// values (bpf_map_info.hash) and a program's instructions (its tag). Done by
// Nettle (libnettle): a small library with one-call digests and no global
// state or configuration to load, which suits a library preloaded into any
// process better than OpenSSL's libcrypto would.
#pragma once

#include <cstddef>
#include <cstdint>

namespace bpfemu::emu {

constexpr size_t kSha256Size = 32;
constexpr size_t kSha1Size = 20;

void sha256(const void* data, size_t len, uint8_t out[kSha256Size]);
void sha1(const void* data, size_t len, uint8_t out[kSha1Size]);

}  // namespace bpfemu::emu
