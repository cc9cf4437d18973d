// The map commands of bpf(2), after kernel/bpf/syscall.c: map_create,
// map_lookup_elem, map_update_elem, ... in the kernel's order of checks.
// Keys and values are copied in from the caller before a family op runs and
// copied out after it returned (core/uaccess.h), so a bad pointer is EFAULT at
// the point the kernel reports it and never faults inside a family.
#include <sys/sysinfo.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <memory>
#include <vector>

#include "core/cpu.h"
#include "core/faults.h"
#include "core/log.h"
#include "core/map_ops.h"
#include "core/map_types.h"
#include "core/profile.h"
#include "core/uaccess.h"
#include "emu/btf.h"
#include "emu/kernel.h"

namespace bpfemu::emu {
namespace {

using maptypes::CreateEnv;
using maptypes::MapOps;

constexpr uint32_t kAccessMask = BPF_F_RDONLY | BPF_F_WRONLY;

uint8_t access_from_bpf_flags(uint32_t flags) {
  if (flags & BPF_F_RDONLY) return kCanRead;
  if (flags & BPF_F_WRONLY) return kCanWrite;
  return kCanReadWrite;
}

// The kernel's isalnum() uses a Latin-1 ctype table: 0xC0-0xFF are letters,
// except the multiplication (0xD7) and division (0xF7) signs.
bool kernel_isalnum(unsigned char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return c >= 0xC0 && c != 0xD7 && c != 0xF7;
}

// bpf_obj_name_cpy: alphanumerics, '_' and '.', NUL-terminated within 16 bytes.
int check_name(const char (&name)[16]) {
  for (size_t i = 0; i < sizeof(name); ++i) {
    auto c = static_cast<unsigned char>(name[i]);
    if (c == '\0') return 0;
    if (!kernel_isalnum(c) && c != '_' && c != '.')
      return log_reason(-EINVAL, "map_name has a character other than [A-Za-z0-9_.] (0x%02x)", c);
  }
  return log_reason(-EINVAL, "map_name is not NUL-terminated within 16 bytes");
}

uint8_t sys_perms(const Map& m, uint8_t access) { return m.frozen() ? access & ~kCanWrite : access; }

// The map behind fd when this handle grants `need`; otherwise nullptr with
// *err -EBADF / -EINVAL (not a map) or -EPERM.
Map* map_with_perms(int fd, uint8_t need, int* err) {
  uint8_t access = 0;
  Map* m = map_from_fd(fd, &access, err);
  if (m == nullptr) {
    log_reason(*err, "fd %d is not a BPF map", fd);
    return nullptr;
  }
  if ((sys_perms(*m, access) & need) != need) {
    *err = log_reason(-EPERM, "map %u: the fd does not grant %s%s", m->id(), need & kCanRead ? "read" : "",
                      m->frozen() && (need & kCanWrite) ? "write (the map is frozen)"
                      : (need & kCanWrite)               ? "write"
                                                          : "");
    return nullptr;
  }
  return m;
}

// Emulator-side buffers for one call: small ones on the stack.
class Buf {
 public:
  explicit Buf(size_t n) : n_(n) {
    if (n > sizeof(small_)) big_.resize(n);
  }
  uint8_t* get() { return big_.empty() ? small_ : big_.data(); }
  size_t size() const { return n_; }

 private:
  alignas(16) uint8_t small_[64];
  std::vector<uint8_t> big_;
  size_t n_;
};

// __bpf_copy_key: a key is required exactly when the map has a key size.
// *key is the copied key (nullptr for key_size 0).
int copy_key(const Map& m, const void* ukey, Buf& buf, const void** key) {
  const uint32_t ks = m.attr().key_size;
  if (ks == 0) {
    if (ukey != nullptr) return log_reason(-EINVAL, "map %u has key_size 0: the key must be NULL", m.id());
    *key = nullptr;
    return 0;
  }
  if (copy_from_user(buf.get(), ukey, ks) != 0) return log_reason(-EFAULT, "the key points at bad memory");
  *key = buf.get();
  return 0;
}

bool lock_flag_ok(const Map& m, uint64_t flags) { return (flags & BPF_F_LOCK) == 0 || m.ops().has_spin_lock(m); }

int no_spin_lock(const Map& m) {
  return log_reason(-EINVAL, "BPF_F_LOCK on map %u, whose value has no bpf_spin_lock", m.id());
}

bool is_queue_or_stack(const Map& m) {
  const MapTypeInfo* t = map_type_info(m.attr().map_type);
  return t != nullptr && t->shape == MapShape::kQueue;
}

}  // namespace

bool fits_in_memory(uint64_t bytes) {
  struct sysinfo si {};
  if (sysinfo(&si) != 0) return true;
  return bytes <= static_cast<uint64_t>(si.totalram) * si.mem_unit;
}

int sys_map_create(const MapAttr& in) {
  MapAttr attr = in;
  attr.record = ValueRecord{};  // map_check_btf's to fill
  const KernelProfile& profile = active_profile();
  if (attr.btf_vmlinux_value_type_id != 0) {
    if (attr.map_type != BPF_MAP_TYPE_STRUCT_OPS || attr.btf_key_type_id || attr.btf_value_type_id)
      return log_reason(-EINVAL, "btf_vmlinux_value_type_id is for STRUCT_OPS maps without key/value type ids");
  } else if (attr.btf_key_type_id && !attr.btf_value_type_id) {
    return log_reason(-EINVAL, "btf_key_type_id without btf_value_type_id");
  }
  if (attr.map_type != BPF_MAP_TYPE_BLOOM_FILTER && attr.map_type != kMapTypeArena && attr.map_extra != 0)
    return log_reason(-EINVAL, "map_extra is only for BLOOM_FILTER and ARENA maps");
  if ((attr.map_flags & kAccessMask) == kAccessMask) return log_reason(-EINVAL, "BPF_F_RDONLY with BPF_F_WRONLY");
  if ((attr.map_flags & BPF_F_NUMA_NODE) && attr.numa_node != 0)
    return log_reason(-EINVAL, "numa_node %u: the emulated machine has one node", attr.numa_node);
  const MapTypeInfo* type = map_type_info(attr.map_type);
  if (type == nullptr || !profile.has_map_type(attr.map_type))
    return log_reason(-EINVAL, "map type %u does not exist in kernel %s", attr.map_type, profile.name);
  const MapOps* const family = maptypes::ops_for_type(attr.map_type);
  if (family == nullptr)
    return log_reason(-EINVAL, "map type %s (%u) is not emulated yet", type->name, attr.map_type);
  const MapOps* ops = &family->variant_for(attr);
  const uint32_t ncpus = static_cast<uint32_t>(possible_cpus());
  CreateEnv env{ncpus, &profile};
  if (int err = ops->alloc_check(attr, env); err != 0) return err;
  if (attr.map_ifindex != 0) return log_reason(-EINVAL, "map_ifindex: device offload is not emulated");
  int64_t data = ops->data_size(attr, env);
  if (data < 0) return static_cast<int>(data);
  // The kernel allocates eagerly only what the family says it must; we refuse
  // anything the real allocator could not satisfy either.
  uint64_t data_bytes = (static_cast<uint64_t>(data) + kHeaderPage - 1) & ~uint64_t{kHeaderPage - 1};
  if (data_bytes > (uint64_t{1} << 46)) return log_reason(-ENOMEM, "the map needs %llu bytes", (unsigned long long)data_bytes);
  if (int err = check_name(attr.map_name); err != 0) return err;
  // The map's BTF (map_check_btf on its types): the map holds it while it lives.
  Object* btf = nullptr;
  if (attr.btf_key_type_id != 0 || attr.btf_value_type_id != 0 || attr.btf_vmlinux_value_type_id != 0) {
    ObjKind kind = ObjKind::kNone;
    uint8_t btf_access = 0;
    int e = -EBADF;
    btf = object_from_fd_checked(static_cast<int>(attr.btf_fd), &kind, &btf_access, &e);
    if (btf == nullptr) return log_reason(e, "btf_fd %u is not a BTF object", attr.btf_fd);
    if (kind != ObjKind::kBtf) return log_reason(-EINVAL, "btf_fd %u is not a BTF object", attr.btf_fd);
    if (attr.btf_value_type_id != 0) {
      if (int err = check_map_btf(*static_cast<Btf*>(btf), &attr); err != 0) return err;
    }
  }
  if (attr.record.has_fields() && &family->variant_for(attr) != ops) {
    // The family serves values with special fields with another layout.
    ops = &family->variant_for(attr);
    data = ops->data_size(attr, env);
    if (data < 0) return static_cast<int>(data);
    data_bytes = (static_cast<uint64_t>(data) + kHeaderPage - 1) & ~uint64_t{kHeaderPage - 1};
  }
  uint8_t excl_sha[32] = {};
  if (attr.excl_prog_hash != 0) {
    if (attr.excl_prog_hash_size != sizeof(excl_sha))
      return log_reason(-EINVAL, "excl_prog_hash_size %u is not a SHA-256 digest's 32", attr.excl_prog_hash_size);
    if (copy_from_user(excl_sha, reinterpret_cast<const void*>(attr.excl_prog_hash), sizeof(excl_sha)) != 0)
      return log_reason(-EFAULT, "excl_prog_hash points at bad memory");
  } else if (attr.excl_prog_hash_size != 0) {
    return log_reason(-EINVAL, "excl_prog_hash_size without excl_prog_hash");
  }

  if (int err = fault_check(FaultSite::kMapCreate); err != 0) return log_reason(err, "injected fault");
  int err = 0;
  Store* store = Store::current(&err);
  if (store == nullptr) return log_reason(err, "the emulated bpffs root cannot be used");
  Region region;
  if (int e = store->new_region(ObjKind::kMap, data_bytes + kHeaderPage, &region); e != 0)
    return log_reason(e, "cannot make the map's storage");
  auto* hdr = new (region.at<void>(region.size() - kHeaderPage)) MapHeader();
  init_obj_header(hdr->obj, ObjKind::kMap, sizeof(MapHeader), data_bytes);
  hdr->nr_cpus = ncpus;
  hdr->attr = attr;
  hdr->attr.map_flags &= ~kAccessMask;  // access flags belong to the fd, not the map
  hdr->attr.btf_fd = btf != nullptr ? btf->id() : 0;
  hdr->attr.excl_prog_hash = 0;
  hdr->has_excl_prog = attr.excl_prog_hash != 0;
  memcpy(hdr->excl_prog_sha, excl_sha, sizeof(excl_sha));
  snprintf(hdr->profile, sizeof(hdr->profile), "%s", profile.name);
  auto m = std::make_unique<Map>(*ops, std::move(region));
  if (int e = ops->init(*m); e != 0) return e;  // a map of maps reads its template from inner_map_fd
  hdr->attr.inner_map_fd = 0;                     // an fd means nothing to other processes
  maptypes::bind_view(*m);
  if (btf != nullptr) btf->obj_header().krefs.fetch_add(1);
  const int fd = publish_object(*store, std::move(m), access_from_bpf_flags(in.map_flags));
  if (fd < 0 && btf != nullptr) btf->obj_header().krefs.fetch_sub(1);
  return fd;
}

namespace {
constexpr uint32_t kSmallKey = 16;
constexpr uint32_t kSmallValue = 64;

// 4- and 8-byte copies are one fault-safe load or store.
bool copy_small_in(void* dst, const void* usrc, uint32_t n) {
  if (n == 4) return get_user(static_cast<uint32_t*>(dst), usrc);
  if (n == 8) return get_user(static_cast<uint64_t*>(dst), usrc);
  return copy_from_user(dst, usrc, n) == 0;
}
bool copy_small_out(void* udst, const void* src, uint32_t n) {
  if (n == 8 && put_user(udst, *static_cast<const uint64_t*>(src))) return true;
  if (n == 4 && put_user(udst, *static_cast<const uint32_t*>(src))) return true;
  return copy_to_user(udst, src, n) == 0;  // also redoes a faulted store byte by byte
}
}  // namespace

int sys_map_lookup_elem_buffered(int fd, Map& m, const void* ukey, void* uvalue) {
  const FastOps& f = m.fast();
  if (f.key_size > kSmallKey || f.value_size > kSmallValue)
    return sys_map_lookup_elem_general(fd, ukey, uvalue, 0);
  alignas(16) uint8_t key[kSmallKey];
  alignas(16) uint8_t value[kSmallValue];
  if (!copy_small_in(key, ukey, f.key_size)) return log_reason(-EFAULT, "the key points at bad memory");
  if (const int r = f.lookup(m, key, value); r != 0) return r;
  return copy_small_out(uvalue, value, f.value_size) ? 0 : log_reason(-EFAULT, "the value buffer points at bad memory");
}

int sys_map_update_elem_buffered(int fd, Map& m, const void* ukey, const void* uvalue, uint64_t flags) {
  const FastOps& f = m.fast();
  if (f.key_size > kSmallKey || f.value_size > kSmallValue)
    return sys_map_update_elem_general(fd, ukey, uvalue, flags);
  alignas(16) uint8_t key[kSmallKey];
  alignas(16) uint8_t value[kSmallValue];
  if (!copy_small_in(key, ukey, f.key_size)) return log_reason(-EFAULT, "the key points at bad memory");
  if (!copy_small_in(value, uvalue, f.value_size)) return log_reason(-EFAULT, "the value points at bad memory");
  return f.update(m, key, value, flags);
}

int sys_map_lookup_elem_general(int fd, const void* ukey, void* uvalue, uint64_t flags) {
  if (flags & ~uint64_t{BPF_F_LOCK}) return log_reason(-EINVAL, "unknown flags 0x%llx", (unsigned long long)flags);
  int err = 0;
  Map* m = map_with_perms(fd, kCanRead, &err);
  if (m == nullptr) return err;
  if (!lock_flag_ok(*m, flags)) return no_spin_lock(*m);
  Buf kbuf(m->attr().key_size);
  const void* key = nullptr;
  if (int e = copy_key(*m, ukey, kbuf, &key); e != 0) return e;
  Buf value(m->ops().sys_value_size(*m));
  if (m->ops().lookup_takes_value()) {
    // The bloom filter's check: the value is only read, never written back.
    if (copy_from_user(value.get(), uvalue, value.size()) != 0)
      return log_reason(-EFAULT, "the value points at bad memory");
    return m->ops().lookup(*m, key, value.get(), flags);
  }
  if (int r = m->ops().lookup(*m, key, value.get(), flags); r != 0) return r;
  if (copy_to_user(uvalue, value.get(), value.size()) != 0)
    return log_reason(-EFAULT, "the value buffer points at bad memory");
  return 0;
}

int sys_map_update_elem_general(int fd, const void* ukey, const void* uvalue, uint64_t flags) {
  int err = 0;
  Map* m = map_with_perms(fd, kCanWrite, &err);
  if (m == nullptr) return err;
  if (!lock_flag_ok(*m, flags)) return no_spin_lock(*m);
  Buf kbuf(m->attr().key_size);
  const void* key = nullptr;
  if (int e = copy_key(*m, ukey, kbuf, &key); e != 0) return e;
  Buf value(m->ops().sys_value_size(*m));
  if (copy_from_user(value.get(), uvalue, value.size()) != 0)
    return log_reason(-EFAULT, "the value points at bad memory");
  return m->ops().update(*m, key, value.get(), flags);
}

int sys_map_delete_elem(int fd, const void* ukey, uint64_t flags) {
  // BPF_MAP_DELETE_ELEM's attr ends at `key`: any flags fail CHECK_ATTR.
  if (flags != 0) return log_reason(-EINVAL, "BPF_MAP_DELETE_ELEM takes no flags");
  int err = 0;
  Map* m = map_with_perms(fd, kCanWrite, &err);
  if (m == nullptr) return err;
  Buf kbuf(m->attr().key_size);
  const void* key = nullptr;
  if (int e = copy_key(*m, ukey, kbuf, &key); e != 0) return e;
  return m->ops().delete_elem(*m, key);
}

int sys_map_get_next_key(int fd, const void* ukey, void* unext_key) {
  int err = 0;
  Map* m = map_with_perms(fd, kCanRead, &err);
  if (m == nullptr) return err;
  Buf kbuf(m->attr().key_size);
  const void* key = nullptr;
  if (ukey != nullptr) {
    if (int e = copy_key(*m, ukey, kbuf, &key); e != 0) return e;
  }
  Buf next(m->attr().key_size);
  if (int r = m->ops().get_next_key(*m, key, next.get()); r != 0) return r;
  if (copy_to_user(unext_key, next.get(), next.size()) != 0)
    return log_reason(-EFAULT, "next_key points at bad memory");
  return 0;
}

int sys_map_lookup_and_delete_elem(int fd, const void* ukey, void* uvalue, uint64_t flags) {
  if (flags & ~uint64_t{BPF_F_LOCK}) return log_reason(-EINVAL, "unknown flags 0x%llx", (unsigned long long)flags);
  int err = 0;
  Map* m = map_with_perms(fd, kCanRead | kCanWrite, &err);
  if (m == nullptr) return err;
  if (flags != 0 && is_queue_or_stack(*m)) return log_reason(-EINVAL, "a pop takes no flags");
  if (!lock_flag_ok(*m, flags)) return no_spin_lock(*m);
  Buf kbuf(m->attr().key_size);
  const void* key = nullptr;
  if (int e = copy_key(*m, ukey, kbuf, &key); e != 0) return e;
  Buf value(m->ops().sys_value_size(*m));
  if (int r = m->ops().lookup_and_delete(*m, key, value.get(), flags); r != 0) return r;
  if (copy_to_user(uvalue, value.get(), value.size()) != 0)
    return log_reason(-EFAULT, "the value buffer points at bad memory");
  return 0;
}

int sys_map_freeze(int fd) {
  uint8_t access = 0;
  int err = 0;
  Map* m = map_from_fd_checked(fd, &access, &err);
  if (m == nullptr) return log_reason(err, "fd %d is not a BPF map", fd);
  // 6.18 freezes no map with special fields (any kind: checked for locks,
  // kptrs, bpf_wq, bpf_refcount, list and rbtree roots); 6.1 refuses maps
  // with a timer or kptrs (the record's other fields there), not locks.
  const ValueRecord& rec = m->attr().record;
  if (m->profile().btf_record_fields ? rec.has_fields() : rec.has_timer() || rec.other_count != 0)
    return log_reason(-kENOTSUPP, "maps with special fields cannot be frozen");
  if (m->profile().refreeze_eperm && !(sys_perms(*m, access) & kCanWrite))
    return log_reason(-EPERM, "map %u: the fd does not grant write%s", m->id(), m->frozen() ? " (already frozen)" : "");
  SpinGuard guard(m->header().freeze_lock);
  if (m->obj_header().writable_mmaps.load() != 0)
    return log_reason(-EBUSY, "map %u has a writable mapping", m->id());
  if (m->frozen()) return log_reason(-EBUSY, "map %u is already frozen", m->id());
  m->header().frozen.store(1, std::memory_order_release);
  return 0;
}

int sys_map_lookup_batch(int fd, void* uin_batch, void* uout_batch, void* ukeys, void* uvalues, uint32_t* count,
                         uint64_t elem_flags, uint64_t flags, bool do_delete) {
  int err = 0;
  Map* m = map_with_perms(fd, static_cast<uint8_t>(do_delete ? kCanRead | kCanWrite : kCanRead), &err);
  if (m == nullptr) return err;
  if (count == nullptr) return -EFAULT;
  return m->ops().lookup_batch(*m, {uin_batch, uout_batch, ukeys, uvalues, count, elem_flags, flags}, do_delete);
}

int sys_map_update_batch(int fd, const void* ukeys, const void* uvalues, uint32_t* count, uint64_t elem_flags,
                         uint64_t flags) {
  int err = 0;
  Map* m = map_with_perms(fd, kCanWrite, &err);
  if (m == nullptr) return err;
  if (count == nullptr) return -EFAULT;
  return m->ops().update_batch(*m, {nullptr, nullptr, const_cast<void*>(ukeys), const_cast<void*>(uvalues), count,
                                    elem_flags, flags});
}

int sys_map_delete_batch(int fd, const void* ukeys, uint32_t* count, uint64_t elem_flags, uint64_t flags) {
  int err = 0;
  Map* m = map_with_perms(fd, kCanWrite, &err);
  if (m == nullptr) return err;
  if (count == nullptr) return -EFAULT;
  return m->ops().delete_batch(*m, {nullptr, nullptr, const_cast<void*>(ukeys), nullptr, count, elem_flags, flags});
}

}  // namespace bpfemu::emu
