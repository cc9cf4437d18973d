// libbpf's BTF API, found at run time. The emulator reads BTF (the running
// kernel's, and the blobs programs load) with libbpf rather than a parser of
// its own, but does not link it: libbpfemu defines some of libbpf's own
// symbols, so the emulator's libraries must not carry libbpf's. It uses the
// libbpf the process has (weak references), else loads libbpf.so.1; without
// either, what needs BTF answers as unsupported.
#pragma once

#include <linux/btf.h>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

namespace bpfemu {

struct LibbpfBtf {
  void* (*parse)(const char* path, void* base);  // btf__parse
  void* (*from_raw)(const void* data, uint32_t size);  // btf__new
  void (*free)(void* btf);
  uint32_t (*type_cnt)(const void* btf);
  const btf_type* (*type_by_id)(const void* btf, uint32_t id);
  const char* (*name_by_offset)(const void* btf, uint32_t off);
  long long (*resolve_size)(const void* btf, uint32_t id);
  int (*resolve_type)(const void* btf, uint32_t id);
};

// libbpf's BTF calls, or nullptr when libbpf.so.1 cannot be loaded.
const LibbpfBtf* libbpf_btf();

// What the emulator needs from the running kernel's BTF, read in one pass.
struct VmlinuxTypes {
  std::map<std::string, unsigned, std::less<>> struct_sizes;  // sizeof each named struct
  std::set<std::string, std::less<>> raw_tracepoints;         // from the btf_trace_<name> typedefs
  std::set<std::string, std::less<>> syscalls;                // from the __x64_sys_<name> functions
  std::unordered_map<uint32_t, std::string> funcs;             // FUNC type id -> name (fentry/fexit targets)
  std::unordered_map<uint32_t, std::string> raw_tracepoint_ids;  // btf_trace_<name> typedef id -> name
  std::unordered_set<uint32_t> void_funcs;                      // FUNC ids whose prototype returns void
  // The LSM hooks (members of lsm_static_calls_table, or of the older
  // security_hook_heads): an LSM program attaches to bpf_lsm_<hook>.
  std::set<std::string, std::less<>> lsm_hooks;
  // The members of the kernel structs the emulator lays out for programs to
  // read (kStructsWithFields: an iterator's ctx->map, the current task and
  // its cred), by struct and member name: (byte offset, size).
  using FieldMap = std::map<std::string, std::pair<uint32_t, uint32_t>, std::less<>>;
  std::map<std::string, FieldMap, std::less<>> struct_fields;
  // One member, or nullptr when this kernel's struct has no such member.
  const std::pair<uint32_t, uint32_t>* field(std::string_view strct, std::string_view member) const {
    auto s = struct_fields.find(strct);
    if (s == struct_fields.end()) return nullptr;
    auto m = s->second.find(member);
    return m == s->second.end() ? nullptr : &m->second;
  }
};
inline constexpr const char* kStructsWithFields[] = {"bpf_map", "task_struct", "cred"};
// /sys/kernel/btf/vmlinux, parsed once per process; nullptr when libbpf or the
// BTF cannot be had.
const VmlinuxTypes* vmlinux_types();

// Owns a parsed BTF (btf__free at the end of the scope).
class BtfHandle {
 public:
  BtfHandle(const LibbpfBtf& lib, void* btf) : lib_(lib), btf_(btf) {}
  ~BtfHandle() {
    if (btf_ != nullptr) lib_.free(btf_);
  }
  BtfHandle(const BtfHandle&) = delete;
  BtfHandle& operator=(const BtfHandle&) = delete;
  void* get() const { return btf_; }

 private:
  const LibbpfBtf& lib_;
  void* btf_;
};

}  // namespace bpfemu
