// BTF objects: what BPF_BTF_LOAD makes. The blob is kept as loaded, so that
// bpf_btf_get_info_by_fd can hand it back; its checks are the kernel's header
// checks (btf_parse_hdr). The type section's own checks come with BTF-described
// maps.
#pragma once

#include <cstdint>

#include "core/map.h"
#include "core/object.h"

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

// map_check_btf (emu/btf_map.cc): the key and value types of a map created with
// BTF, against its attributes and its family's rules. 0 or -EINVAL.
int check_map_btf(const Btf& btf, const MapAttr& attr);

}  // namespace bpfemu::emu
