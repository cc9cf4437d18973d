#include "maptypes/batch.h"

#include <cstring>
#include <vector>

#include "core/uaccess.h"

namespace bpfemu::maptypes {

using emu::copy_from_user;
using emu::copy_to_user;

namespace {
int check_elem_flags(const Map& map, uint64_t elem_flags) {
  if ((elem_flags & ~uint64_t{BPF_F_LOCK}) || ((elem_flags & BPF_F_LOCK) && !map.ops().has_spin_lock(map)))
    return -EINVAL;
  return 0;
}

uint8_t* at(void* base, uint64_t index, uint32_t size) { return static_cast<uint8_t*>(base) + index * size; }
}  // namespace

int generic_lookup_batch(Map& map, const BatchArgs& args) {
  if (int e = check_elem_flags(map, args.elem_flags); e != 0) return e;
  const uint32_t ks = map.attr().key_size;
  const uint32_t vs = map.ops().sys_value_size(map);
  const uint32_t max_count = *args.count;
  if (max_count == 0) return 0;
  *args.count = 0;
  std::vector<uint8_t> a(ks ? ks : 1), b(ks ? ks : 1), value(vs ? vs : 1);
  uint8_t* prev = nullptr;
  uint8_t* key = b.data();
  if (args.in_batch != nullptr) {
    if (copy_from_user(a.data(), args.in_batch, ks) != 0) return -EFAULT;
    prev = a.data();
  }
  uint32_t cp = 0;
  int err = 0;
  while (cp < max_count) {
    err = map.ops().get_next_key(map, prev, key);
    if (err != 0) break;
    err = map.ops().lookup(map, key, value.data(), args.elem_flags);
    if (prev == nullptr) prev = a.data();
    // A key with no element (an empty ARRAY_OF_MAPS slot, a key deleted
    // meanwhile) is skipped: the kernel's "skip non exist keys" fix, in 6.14
    // and the stable trees, which used to retry it and then fail with EINTR.
    if (err == -ENOENT) {
      std::swap(prev, key);
      continue;
    }
    if (err != 0) return err;
    if (copy_to_user(at(args.keys, cp, ks), key, ks) != 0) return -EFAULT;
    if (copy_to_user(at(args.values, cp, vs), value.data(), vs) != 0) return -EFAULT;
    std::swap(prev, key);
    ++cp;
  }
  *args.count = cp;
  if (cp != 0 && copy_to_user(args.out_batch, prev, ks) != 0) return -EFAULT;
  return err;
}

int generic_update_batch(Map& map, const BatchArgs& args) {
  if (int e = check_elem_flags(map, args.elem_flags); e != 0) return e;
  // The kernel does not look at batch.flags for updates.
  const uint32_t max_count = *args.count;
  if (max_count == 0) return 0;
  *args.count = 0;
  const uint32_t ks = map.attr().key_size;
  const uint32_t vs = map.ops().sys_value_size(map);
  std::vector<uint8_t> key(ks ? ks : 1), value(vs ? vs : 1);
  uint32_t cp = 0;
  int err = 0;
  for (; cp < max_count; ++cp) {
    if (copy_from_user(key.data(), at(args.keys, cp, ks), ks) != 0 ||
        copy_from_user(value.data(), at(args.values, cp, vs), vs) != 0) {
      err = -EFAULT;
      break;
    }
    err = map.ops().update(map, ks != 0 ? key.data() : nullptr, value.data(), args.elem_flags);
    if (err != 0) break;
  }
  *args.count = cp;
  return err;
}

int generic_delete_batch(Map& map, const BatchArgs& args) {
  if (int e = check_elem_flags(map, args.elem_flags); e != 0) return e;
  // The kernel does not look at batch.flags for deletes.
  const uint32_t max_count = *args.count;
  if (max_count == 0) return 0;
  *args.count = 0;
  const uint32_t ks = map.attr().key_size;
  std::vector<uint8_t> key(ks ? ks : 1);
  uint32_t cp = 0;
  int err = 0;
  for (; cp < max_count; ++cp) {
    if (copy_from_user(key.data(), at(args.keys, cp, ks), ks) != 0) {
      err = -EFAULT;
      break;
    }
    err = map.ops().delete_elem(map, key.data());
    if (err != 0) break;
  }
  *args.count = cp;
  return err;
}

}  // namespace bpfemu::maptypes
