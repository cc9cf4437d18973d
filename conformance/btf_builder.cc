#include "conformance/btf_builder.h"

#include "conformance/scenario.h"
#include "emu/bpf_syscall.h"

namespace bpfemu::conformance {

BtfBuilder::BtfBuilder() : b_(btf__new_empty()) {
  u8 = btf__add_int(b_, "u8", 1, 0);
  u16 = btf__add_int(b_, "u16", 2, 0);
  u32 = btf__add_int(b_, "u32", 4, 0);
  u64 = btf__add_int(b_, "u64", 8, 0);
  lock = btf__add_struct(b_, "bpf_spin_lock", 4);
  btf__add_field(b_, "val", u32, 0, 0);
}

BtfBuilder::~BtfBuilder() { btf__free(b_); }

int BtfBuilder::add_members(int id, std::initializer_list<Member> members) {
  int i = 0;
  for (const Member& m : members) {
    const std::string name = "m" + std::to_string(i++);
    btf__add_field(b_, name.c_str(), m.type, m.offset * 8, 0);
  }
  return id;
}

int BtfBuilder::add_struct(const char* name, uint32_t size, std::initializer_list<Member> members) {
  return add_members(btf__add_struct(b_, name, size), members);
}

int BtfBuilder::add_union(const char* name, uint32_t size, std::initializer_list<Member> members) {
  return add_members(btf__add_union(b_, name, size), members);
}

int BtfBuilder::array(int elem, uint32_t n) { return btf__add_array(b_, u32, elem, n); }
int BtfBuilder::typedef_of(const char* name, int type) { return btf__add_typedef(b_, name, type); }
int BtfBuilder::volatile_of(int type) { return btf__add_volatile(b_, type); }
int BtfBuilder::const_of(int type) { return btf__add_const(b_, type); }
int BtfBuilder::ptr_to(int type) { return btf__add_ptr(b_, type); }
int BtfBuilder::type_tag(const char* value, int type) { return btf__add_type_tag(b_, value, type); }
int BtfBuilder::decl_tag(const char* value, int type, int member) { return btf__add_decl_tag(b_, value, type, member); }

int BtfBuilder::datasec(const char* name, uint32_t size, std::initializer_list<Member> vars) {
  std::vector<int> ids;
  for (const Member& v : vars) {
    const std::string var = "v" + std::to_string(vars_++);
    ids.push_back(btf__add_var(b_, var.c_str(), BTF_VAR_GLOBAL_ALLOCATED, v.type));
  }
  const int sec = btf__add_datasec(b_, name, size);
  size_t i = 0;
  for (const Member& v : vars)
    btf__add_datasec_var_info(b_, ids[i++], v.offset, static_cast<uint32_t>(btf__resolve_size(b_, v.type)));
  return sec;
}

std::vector<uint8_t> BtfBuilder::blob() const {
  uint32_t size = 0;
  const auto* raw = static_cast<const uint8_t*>(btf__raw_data(b_, &size));
  return std::vector<uint8_t>(raw, raw + size);
}

int load_btf(Recorder& r, const std::vector<uint8_t>& blob, const std::string& label) {
  emu::BpfAttr a{};
  a.btf.btf = reinterpret_cast<uintptr_t>(blob.data());
  a.btf.btf_size = static_cast<uint32_t>(blob.size());
  return static_cast<int>(r.raw(label, BPF_BTF_LOAD, &a, sizeof(a), true));
}

}  // namespace bpfemu::conformance
