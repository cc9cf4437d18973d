// clang 14 drops __kptr's btf_type_tag: before loading, put a "kptr" type tag
// back between each named pointer member of struct `st` and its pointee, in
// the BTF of an opened libbpf object. Shared by the conformance programs
// (prog_side.cc) and tests/libbpfemu/kptr_object_test.cc. 0 or -errno.
#pragma once

#include <errno.h>

#include <cstring>
#include <initializer_list>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

namespace bpfemu::conformance {

inline int tag_kptrs(bpf_object* obj, const char* st, std::initializer_list<const char*> members) {
  btf* b = bpf_object__btf(obj);
  if (b == nullptr) return -ENOENT;
  const int sid = btf__find_by_name_kind(b, st, BTF_KIND_STRUCT);
  if (sid < 0) return sid;
  for (const char* name : members) {
    const btf_type* s = btf__type_by_id(b, sid);
    const btf_member* m = btf_members(s);
    int ptr = -1;
    for (int j = 0; j < btf_vlen(s); ++j)
      if (strcmp(btf__name_by_offset(b, m[j].name_off), name) == 0) ptr = static_cast<int>(m[j].type);
    if (ptr < 0 || !btf_is_ptr(btf__type_by_id(b, ptr))) return -ENOENT;
    const int tag = btf__add_type_tag(b, "kptr", static_cast<int>(btf__type_by_id(b, ptr)->type));
    if (tag < 0) return tag;
    // Adding a type may move the types: find the pointer again.
    const_cast<btf_type*>(btf__type_by_id(b, ptr))->type = static_cast<uint32_t>(tag);
  }
  return 0;
}

}  // namespace bpfemu::conformance
