#include "emu/btf.h"

#include <linux/btf.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <memory>
#include <vector>

#include "bpfemu/uapi.h"
#include "core/libbpf_btf.h"
#include "core/uaccess.h"
#include "core/log.h"
#include "core/profile.h"
#include "emu/objects.h"

namespace bpfemu::emu {
namespace {

constexpr uint32_t kBtfMaxSize = 16 * 1024 * 1024;  // BTF_MAX_SIZE
constexpr uint32_t kTokenFdFlag = 1U << 16;          // BPF_F_TOKEN_FD

// struct bpf_btf_info (6.18).
struct BtfInfo {
  uint64_t btf;
  uint32_t btf_size;
  uint32_t id;
  uint64_t name;
  uint32_t name_len;
  uint32_t kernel_btf;
};
static_assert(sizeof(BtfInfo) == 32);

// btf_parse_hdr: the header's own checks, on the copied blob.
int check_header(const std::vector<uint8_t>& data) {
  const size_t size = data.size();
  if (size < offsetof(btf_header, hdr_len) + sizeof(uint32_t)) return log_reason(-EINVAL, "BTF: hdr_len not found");
  btf_header hdr{};
  uint32_t hdr_len = 0;
  memcpy(&hdr_len, data.data() + offsetof(btf_header, hdr_len), sizeof(hdr_len));
  if (size < hdr_len) return log_reason(-EINVAL, "BTF: btf_header not found");
  if (hdr_len > sizeof(hdr)) {
    for (size_t i = sizeof(hdr); i < hdr_len; ++i)
      if (data[i] != 0) return log_reason(-E2BIG, "BTF: Unsupported btf_header");
  }
  memcpy(&hdr, data.data(), std::min<size_t>(hdr_len, sizeof(hdr)));
  if (hdr.magic != BTF_MAGIC) return log_reason(-EINVAL, "BTF: Invalid magic");
  if (hdr.version != BTF_VERSION) return log_reason(-kENOTSUPP, "BTF: Unsupported version");
  if (hdr.flags != 0) return log_reason(-kENOTSUPP, "BTF: Unsupported flags");
  if (size == hdr.hdr_len) return log_reason(-EINVAL, "BTF: No data");
  // btf_check_sec_info: the two sections, in offset order, tile the data
  // after the header exactly: no gap, no overlap, nothing left over.
  struct Sec {
    uint32_t off, len;
  } secs[2] = {{hdr.type_off, hdr.type_len}, {hdr.str_off, hdr.str_len}};
  if (secs[1].off < secs[0].off) std::swap(secs[0], secs[1]);
  const uint32_t expected = static_cast<uint32_t>(size - hdr.hdr_len);
  uint32_t total = 0;
  for (const Sec& sec : secs) {
    if (expected < sec.off) return log_reason(-EINVAL, "BTF: Invalid section offset");
    if (total < sec.off) return log_reason(-EINVAL, "BTF: Unsupported section found");
    if (total > sec.off) return log_reason(-EINVAL, "BTF: Section overlap found");
    if (expected - total < sec.len) return log_reason(-EINVAL, "BTF: Total section length too long");
    total += sec.len;
  }
  if (expected != total) return log_reason(-EINVAL, "BTF: Unsupported section found");
  return 0;
}

// btf_parse_struct_metas: the structs holding a bpf_spin_lock must hold it
// as map values may (emu/btf_fields.cc); 6.1 has no such check. Blobs libbpf cannot read are left
// to the checks that exist.
int check_fields(const std::vector<uint8_t>& data) {
  const LibbpfBtf* lib = libbpf_btf();
  if (lib == nullptr || !active_profile().btf_record_fields) return 0;
  BtfHandle parsed(*lib, lib->from_raw(data.data(), static_cast<uint32_t>(data.size())));
  if (parsed.get() == nullptr) return 0;
  if (int e = check_struct_fields(*lib, parsed.get()); e != 0)
    return log_reason(e, "BTF: a struct holding a bpf_spin_lock holds it where the kernel refuses it");
  return 0;
}

}  // namespace

int sys_btf_load(const BtfLoadAttr& attr) {
  if (attr.flags & ~kTokenFdFlag) return log_reason(-EINVAL, "btf_flags has unknown bits");
  if (attr.flags & kTokenFdFlag) return log_reason(-EINVAL, "BPF tokens are not emulated");
  if (attr.btf_size > kBtfMaxSize) return log_reason(-E2BIG, "btf_size %u is above 16 MiB", attr.btf_size);
  // bpf_vlog_init's rules for the log attributes.
  if (!log_attrs_valid(active_profile(), attr.log_buf, attr.log_size, attr.log_level))
    return log_reason(-EINVAL, "invalid log buffer attributes (buf %p, size %u, level %u)", attr.log_buf,
                      attr.log_size, attr.log_level);
  std::vector<uint8_t> data(attr.btf_size);
  if (copy_from_user(data.data(), attr.btf, data.size()) != 0) return log_reason(-EFAULT, "btf points at bad memory");
  int rc = check_header(data);
  if (rc == 0) rc = check_fields(data);
  // finalize_log: the true size of the log (empty: nothing is logged yet).
  if (attr.log_true_size != nullptr) {
    const uint32_t zero = 0;
    if (copy_to_user(attr.log_true_size, &zero, sizeof(zero)) != 0) rc = -EFAULT;
  }
  if (rc != 0) return rc;
  if (attr.log_buf != nullptr && attr.log_size > 0) {
    const char nul = '\0';
    if (copy_to_user(attr.log_buf, &nul, 1) != 0) return -EFAULT;
  }

  int err = 0;
  Store* store = Store::current(&err);
  if (store == nullptr) return log_reason(err, "the emulated bpffs root cannot be used");
  Region region;
  const size_t data_bytes = (data.size() + kHeaderPage - 1) & ~(kHeaderPage - 1);
  if (int e = store->new_region(ObjKind::kBtf, data_bytes + kHeaderPage, &region); e != 0) return e;
  memcpy(region.base(), data.data(), data.size());
  auto* hdr = new (region.at<void>(region.size() - kHeaderPage)) BtfHeader();
  init_obj_header(hdr->obj, ObjKind::kBtf, sizeof(BtfHeader), data_bytes);
  hdr->size = attr.btf_size;
  return publish_object(*store, std::make_unique<Btf>(std::move(region)), kCanReadWrite);
}

int btf_get_info(Btf& btf, void* uinfo, uint32_t* info_len) {
  BtfInfo info{};
  const uint32_t copy = std::min<uint32_t>(*info_len, sizeof(info));
  if (copy_from_user(&info, uinfo, copy) != 0) return -EFAULT;
  info.id = btf.id();
  const uint32_t blob_copy = std::min(btf.size(), info.btf_size);
  if (copy_to_user(reinterpret_cast<void*>(info.btf), btf.blob(), blob_copy) != 0) return -EFAULT;
  info.btf_size = btf.size();
  info.kernel_btf = 0;
  const bool has_name = info.name != 0;
  if (has_name != (info.name_len != 0)) return -EINVAL;
  const uint32_t user_name_len = info.name_len;
  info.name_len = 0;  // user-loaded BTF has no name
  if (has_name) {
    const char nul = '\0';
    if (user_name_len >= 1 && copy_to_user(reinterpret_cast<void*>(info.name), &nul, 1) != 0) return -EFAULT;
  }
  if (copy_to_user(uinfo, &info, copy) != 0) return -EFAULT;
  *info_len = copy;
  return 0;
}

}  // namespace bpfemu::emu
