// What emu/link.cc and emu/link_multi.cc share: the bytes of struct
// bpf_link_info, the attr readers, atomic views of header fields, and the
// multi-probe links' entry points (emu/link_multi.cc: bpf_kprobe_multi_link_attach
// and bpf_uprobe_multi_link_attach, their info and fdinfo).
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <string>

#include "emu/link.h"
#include "emu/objects.h"
#include "emu/store.h"

namespace bpfemu::emu {

class Program;

inline constexpr uint32_t kTraceUprobeMulti = 48;  // BPF_TRACE_UPROBE_MULTI

// struct bpf_link_info as bytes (6.18's 64; the profile says how many a
// kernel copies): type, id, prog_id, then the union each link type fills.
struct LinkInfo {
  uint8_t bytes[64] = {};
  uint32_t get32(size_t off) const {
    uint32_t v;
    memcpy(&v, bytes + off, sizeof(v));
    return v;
  }
  uint64_t get64(size_t off) const {
    uint64_t v;
    memcpy(&v, bytes + off, sizeof(v));
    return v;
  }
  void put32(size_t off, uint32_t v) { memcpy(bytes + off, &v, sizeof(v)); }
  void put64(size_t off, uint64_t v) { memcpy(bytes + off, &v, sizeof(v)); }
};

inline uint64_t attr_u64(const uint8_t* attr, size_t off) {
  uint64_t v;
  memcpy(&v, attr + off, sizeof(v));
  return v;
}
inline uint32_t attr_u32(const uint8_t* attr, size_t off) {
  uint32_t v;
  memcpy(&v, attr + off, sizeof(v));
  return v;
}

// A header field the link's processes share, read and written atomically.
inline std::atomic_ref<uint32_t> field(const uint32_t& f) {
  return std::atomic_ref<uint32_t>(const_cast<uint32_t&>(f));
}

// Whether pred(link) holds for a live link of the store (visited in id order,
// stopping at the first that does).
template <class Pred>
bool any_link(Store& store, Pred pred) {
  int err = 0;
  for (uint32_t id = 0;;) {
    uint32_t next = 0;
    if (store.next_id(ObjKind::kLink, id, &next) != 0) return false;
    id = next;
    if (Object* obj = view_of(store, ObjKind::kLink, id, &err); obj != nullptr && pred(*static_cast<Link*>(obj)))
      return true;
  }
}

// The link's program's tag in hex, as the kernel's link fdinfo shows it.
std::string prog_tag_hex(const Link& link, uint32_t prog_id);

// BPF_LINK_CREATE with BPF_TRACE_KPROBE_MULTI / BPF_TRACE_UPROBE_MULTI, the
// attr's bytes from link_create.flags on: the link fd or -errno.
int kprobe_multi_link_attach(Program& prog, uint32_t link_flags, const uint8_t* attr);
int uprobe_multi_link_attach(Program& prog, uint32_t link_flags, const uint8_t* attr);
// Their part of struct bpf_link_info (given: what the caller passed in).
int fill_kprobe_multi_info(const Link& link, const LinkInfo& given, LinkInfo* info);
int fill_uprobe_multi_info(const Link& link, const LinkInfo& given, LinkInfo* info);
// Their fdinfo: the kernel's lines, one per entry.
int multi_link_fdinfo(const Link& link, const std::string& tag, char* buf, int size);

}  // namespace bpfemu::emu
