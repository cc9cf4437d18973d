// BTF objects: what BPF_BTF_LOAD makes. The blob is kept as loaded, so that
// bpf_btf_get_info_by_fd can hand it back; its checks are the kernel's header
// checks (btf_parse_hdr). The type section's own checks come with BTF-described
// maps.
#pragma once

#include <cstdint>
#include <string>
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
enum FieldKind : uint32_t {
  kFieldSpinLock = 1u << 0,
  kFieldResSpinLock = 1u << 1,
  kFieldTimer = 1u << 2,
  kFieldWq = 1u << 3,
  kFieldTaskWork = 1u << 4,
  kFieldRefcount = 1u << 5,
  kFieldListHead = 1u << 6,
  kFieldListNode = 1u << 7,
  kFieldRbRoot = 1u << 8,
  kFieldRbNode = 1u << 9,
  kFieldKptrUnref = 1u << 10,  // __kptr_untrusted
  kFieldKptrRef = 1u << 11,    // __kptr
  kFieldKptrPercpu = 1u << 12, // __percpu_kptr
  kFieldUptr = 1u << 13,       // __uptr
};
constexpr uint32_t kFieldKptrs = kFieldKptrUnref | kFieldKptrRef | kFieldKptrPercpu;

struct BtfFields {
  struct Field {
    uint32_t kind;  // one FieldKind
    uint32_t off;   // in the value
    uint32_t size;
    uint32_t target;  // a root's node struct (BTF id); 0 for other kinds
    std::string node;  // a root's node member in `target` (its "contains:" tag)
  };
  std::vector<Field> fields;  // in the order found (the kernel's btf_record before sorting)
  uint32_t mask = 0;          // the kinds found
  std::vector<uint32_t> offs_of(uint32_t kind) const;
};
// btf_parse_fields on a map's value type: 0 with *out filled (empty when the
// type holds none), or the kernel's error (then *out is empty: map_check_btf
// goes on as for a plain value). nested: look into nested structs and arrays
// (KernelProfile::btf_record_fields); else direct members only.
int find_value_fields(const LibbpfBtf& lib, const void* btf, uint32_t value_type_id, bool nested, BtfFields* out);
// BTF_LOAD's check of the structs that hold special fields
// (btf_parse_struct_metas): 0 or the kernel's error.
int check_struct_fields(const LibbpfBtf& lib, const void* btf);
// btf_check_and_fixup_fields at map creation: what a list or rbtree root
// holds must be a struct BTF_LOAD found fields in (else EFAULT). (Its ELOOP
// rule needs nodes in the value's record, which a map's never has.)
int check_graph_roots(const LibbpfBtf& lib, const void* btf, uint32_t value_type_id);

// map_check_btf (emu/btf_map.cc): the key and value types of a map created with
// BTF, against its attributes and its family's rules: 0 with attr->record set
// (the value's spin locks), or -errno.
int check_map_btf(const Btf& btf, MapAttr* attr);

}  // namespace bpfemu::emu
