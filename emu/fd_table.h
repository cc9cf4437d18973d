// This process's fd table: which fds are handles of emulated BPF objects, of
// what kind, and what access each grants (the kernel's per-file f_mode).
// Readers take no lock; emu/objects.cc is the only writer. It is in a header so
// that the common case of the syscall entry points (emu/kernel.h) inlines into
// its callers.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "core/object.h"
#include "emu/store.h"

namespace bpfemu::emu {

class Map;

namespace fd_table {

// One fd: the view, its kind and the handle's access in one word (views are
// 64-byte aligned, so the pointer's low six bits are free), read with one load.
class Slot {
 public:
  static constexpr uintptr_t kAccessMask = 3;
  static constexpr unsigned kKindShift = 2;
  static constexpr uintptr_t kKindMask = uintptr_t{7} << kKindShift;
  static constexpr uintptr_t kTagMask = 63;
  static constexpr uintptr_t kMapTag = uintptr_t{static_cast<uint8_t>(ObjKind::kMap)} << kKindShift;

  // The object, its kind and the access, from one load; nullptr when fd is no handle.
  Object* load(ObjKind* kind, uint8_t* access) const {
    const uintptr_t w = word_.load(std::memory_order_acquire);
    *kind = static_cast<ObjKind>((w & kKindMask) >> kKindShift);
    *access = static_cast<uint8_t>(w & kAccessMask);
    return reinterpret_cast<Object*>(w & ~kTagMask);
  }
  // The map behind the fd when it is a map handle (one load, one compare).
  Map* load_map(uint8_t* access) const {
    const uintptr_t w = word_.load(std::memory_order_acquire);
    *access = static_cast<uint8_t>(w & kAccessMask);
    return (w & kKindMask) == kMapTag ? reinterpret_cast<Map*>(w & ~kTagMask) : nullptr;
  }
  bool empty() const { return word_.load(std::memory_order_relaxed) == 0; }
  void set(Object* obj, ObjKind kind, uint8_t access) {
    word_.store(reinterpret_cast<uintptr_t>(obj) | (uintptr_t{static_cast<uint8_t>(kind)} << kKindShift) |
                    (access & kAccessMask),
                std::memory_order_release);
  }
  // Empties the slot; returns what it held (nullptr if nothing).
  Object* take(uint8_t* access = nullptr) {
    const uintptr_t w = word_.exchange(0, std::memory_order_acq_rel);
    if (access != nullptr) *access = static_cast<uint8_t>(w & kAccessMask);
    return reinterpret_cast<Object*>(w & ~kTagMask);
  }

 private:
  std::atomic<uintptr_t> word_{0};
};

// Chunks of slots: fds below kChunkSize in a static one, the others in chunks
// made on first use, up to kChunks * kChunkSize.
inline constexpr size_t kChunkBits = 10;
inline constexpr size_t kChunkSize = size_t{1} << kChunkBits;
inline constexpr size_t kChunks = 1024;
extern std::array<Slot, kChunkSize> g_first;
extern std::array<std::atomic<Slot*>, kChunks> g_chunks;  // [0] is g_first

// The slot of fd, or nullptr when its chunk was never made (no handle there).
inline Slot* find(int fd) {
  const auto u = static_cast<size_t>(static_cast<unsigned>(fd));
  if (u < kChunkSize) [[likely]]
    return &g_first[u];
  const size_t chunk = u >> kChunkBits;
  if (chunk >= kChunks) return nullptr;  // also fd < 0
  Slot* c = g_chunks[chunk].load(std::memory_order_acquire);
  return c != nullptr ? &c[u & (kChunkSize - 1)] : nullptr;
}

// The map behind fd if this process already knows it as a map handle, with the
// handle's access; nullptr otherwise (not a map handle, or not adopted yet).
[[gnu::always_inline]] inline Map* known(int fd, uint8_t* access) {
  Slot* s = find(fd);
  if (s == nullptr) {
    *access = 0;
    return nullptr;
  }
  return s->load_map(access);
}

}  // namespace fd_table
}  // namespace bpfemu::emu
