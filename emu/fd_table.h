// This process's fd table: which fds are handles of emulated maps and what
// access each grants (like the kernel's per-file f_mode). Readers take no lock;
// emu/kernel.cc is the only writer. It is in a header so that the common case
// of the syscall entry points (emu/kernel.h) inlines into its callers.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace bpfemu::emu {

class Map;

inline constexpr uint8_t kCanRead = 1;
inline constexpr uint8_t kCanWrite = 2;

namespace fd_table {

// One fd: the map view and the handle's access in one word (views are
// 64-byte aligned, so the pointer's low bits are free), read with one load.
class Slot {
 public:
  static constexpr uintptr_t kAccessBits = 3;

  Map* map() const { return map_of(word_.load(std::memory_order_acquire)); }
  uint8_t access() const { return static_cast<uint8_t>(word_.load(std::memory_order_relaxed) & kAccessBits); }
  // Both, from one load; nullptr when fd is no map handle.
  Map* load(uint8_t* access) const {
    const uintptr_t w = word_.load(std::memory_order_acquire);
    *access = static_cast<uint8_t>(w & kAccessBits);
    return map_of(w);
  }
  void set(Map* m, uint8_t access) {
    word_.store(reinterpret_cast<uintptr_t>(m) | (access & kAccessBits), std::memory_order_release);
  }
  // Empties the slot; returns the map it held (nullptr if none).
  Map* take() { return map_of(word_.exchange(0, std::memory_order_acq_rel)); }

 private:
  static Map* map_of(uintptr_t w) { return reinterpret_cast<Map*>(w & ~kAccessBits); }
  std::atomic<uintptr_t> word_{0};
};

// Chunks of slots: fds below kChunkSize in a static one, the others in chunks
// made on first use, up to kChunks * kChunkSize.
inline constexpr size_t kChunkBits = 10;
inline constexpr size_t kChunkSize = size_t{1} << kChunkBits;
inline constexpr size_t kChunks = 1024;
extern std::array<Slot, kChunkSize> g_first;
extern std::array<std::atomic<Slot*>, kChunks> g_chunks;  // [0] is g_first

// The slot of fd, or nullptr when its chunk was never made (no map fd there).
inline Slot* find(int fd) {
  const auto u = static_cast<size_t>(static_cast<unsigned>(fd));
  if (u < kChunkSize) [[likely]]
    return &g_first[u];
  const size_t chunk = u >> kChunkBits;
  if (chunk >= kChunks) return nullptr;  // also fd < 0
  Slot* c = g_chunks[chunk].load(std::memory_order_acquire);
  return c != nullptr ? &c[u & (kChunkSize - 1)] : nullptr;
}

// The map behind fd if this process already knows it, with the handle's
// access; nullptr otherwise (not a map handle, or one not adopted yet).
[[gnu::always_inline]] inline Map* known(int fd, uint8_t* access) {
  Slot* s = find(fd);
  if (s == nullptr) {
    *access = 0;
    return nullptr;
  }
  return s->load(access);
}

}  // namespace fd_table
}  // namespace bpfemu::emu
