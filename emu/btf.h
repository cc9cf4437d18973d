// BTF objects: what BPF_BTF_LOAD makes. The blob is kept as loaded, so that
// bpf_btf_get_info_by_fd can hand it back; its checks are the kernel's header
// checks (btf_parse_hdr). The type section's own checks come with BTF-described
// maps.
#pragma once

#include <cstdint>
#include <vector>

#include "core/map.h"
#include "core/object.h"

namespace bpfemu {
struct LibbpfBtf;
}

namespace bpfemu::emu {

struct BtfHeader {
  ObjHeader obj;
  uint32_t size;  // bytes of the blob at offset 0
};

class alignas(64) Btf final : public Object {
 public:
  explicit Btf(Region&& region)
      : Object(ObjKind::kBtf, std::move(region)),
        hdr_(this->region().at<BtfHeader>(this->region().size() - kHeaderPage)) {}
  const uint8_t* blob() const { return data(); }
  uint32_t size() const { return hdr_->size; }

 private:
  BtfHeader* hdr_;
};

struct BtfLoadAttr {
  const void* btf;        // user pointer
  void* log_buf;          // user pointer
  uint32_t btf_size;
  uint32_t log_size;
  uint32_t log_level;
  uint32_t flags;
  int32_t token_fd;
  uint32_t* log_true_size;  // where to report the log's size (nullptr: the caller's attr is too short)
};

// BPF_BTF_LOAD: an fd or -errno.
int sys_btf_load(const BtfLoadAttr& attr);
// BPF_OBJ_GET_INFO_BY_FD on a BTF object; `info` and `*info_len` as the kernel
// takes them from attr (user pointer, length). Updates *info_len.
int btf_get_info(Btf& btf, void* info, uint32_t* info_len);

// The special fields of a BTF type (emu/btf_fields.cc).
struct BtfFields {
  std::vector<uint32_t> locks;  // bpf_spin_lock offsets in the value, in the order found
  std::vector<uint32_t> timers;  // bpf_timer offsets (nested structs may hold one each)
  const char* other = nullptr;  // the first special field of another kind ("bpf_timer", "kptr", ...)
  uint32_t count = 0;           // fields of every kind
  uint32_t single = 0;          // fields of the kinds that cannot repeat in arrays
};
// btf_parse_fields on a map's value type: 0 with *out filled (empty when the
// type holds none), or the kernel's error (then *out is empty: map_check_btf
// goes on as for a plain value). nested: look into nested structs and arrays
// (KernelProfile::btf_record_fields); else direct members only.
int find_value_fields(const LibbpfBtf& lib, const void* btf, uint32_t value_type_id, bool nested, BtfFields* out);
// BTF_LOAD's check of the structs that hold a bpf_spin_lock member
// (btf_parse_struct_metas): 0 or the kernel's error.
int check_struct_fields(const LibbpfBtf& lib, const void* btf);

// map_check_btf (emu/btf_map.cc): the key and value types of a map created with
// BTF, against its attributes and its family's rules: 0 with attr->record set
// (the value's spin locks), or -errno.
int check_map_btf(const Btf& btf, MapAttr* attr);

}  // namespace bpfemu::emu
