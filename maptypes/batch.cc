#include "maptypes/batch.h"

#include <cstring>
#include <vector>

namespace bpfemu::maptypes {

namespace {
// How often a key that vanished between get_next_key and the copy is skipped
// before giving up with EINTR (the kernel's MAP_LOOKUP_RETRIES).
constexpr int kLookupRetries = 3;
}  // namespace

int generic_lookup_batch(Map& map, const void* in_batch, void* out_batch, void* keys, void* values,
                         uint32_t* count, uint64_t elem_flags, uint64_t /*flags*/) {
  if (elem_flags & ~uint64_t{BPF_F_LOCK}) return -EINVAL;
  if ((elem_flags & BPF_F_LOCK) && !map.ops().has_spin_lock(map)) return -EINVAL;
  const uint32_t ks = map.attr().key_size;
  const uint32_t vs = map.ops().sys_value_size(map);
  const uint32_t max_count = *count;
  if (max_count == 0) return 0;
  *count = 0;
  std::vector<uint8_t> a(ks ? ks : 1), b(ks ? ks : 1), value(vs ? vs : 1);
  uint8_t* prev = nullptr;
  uint8_t* key = b.data();
  if (in_batch != nullptr) {
    memcpy(a.data(), in_batch, ks);
    prev = a.data();
  }
  uint32_t cp = 0;
  int err = 0;
  int retry = kLookupRetries;
  while (cp < max_count) {
    err = map.ops().get_next_key(map, prev, key);
    if (err != 0) break;
    err = map.ops().lookup(map, key, value.data(), elem_flags);
    if (err == -ENOENT) {
      if (retry-- > 0) continue;
      err = -EINTR;
      break;
    }
    if (err != 0) return err;
    if (keys == nullptr || values == nullptr) return -EFAULT;
    memcpy(static_cast<uint8_t*>(keys) + uint64_t{cp} * ks, key, ks);
    memcpy(static_cast<uint8_t*>(values) + uint64_t{cp} * vs, value.data(), vs);
    if (prev == nullptr) prev = a.data();
    std::swap(prev, key);
    retry = kLookupRetries;
    ++cp;
  }
  if (cp != 0 && out_batch != nullptr) memcpy(out_batch, prev, ks);
  *count = cp;
  if (cp != 0 && out_batch == nullptr) return -EFAULT;
  return err;
}

int generic_update_batch(Map& map, const void* keys, const void* values, uint32_t* count, uint64_t elem_flags,
                         uint64_t flags) {
  if ((elem_flags & ~uint64_t{BPF_F_LOCK}) || ((elem_flags & BPF_F_LOCK) && !map.ops().has_spin_lock(map)))
    return -EINVAL;
  (void)flags;  // the kernel does not look at batch.flags for updates
  const uint32_t max_count = *count;
  if (max_count == 0) return 0;
  *count = 0;
  const uint32_t ks = map.attr().key_size;
  const uint32_t vs = map.ops().sys_value_size(map);
  uint32_t cp = 0;
  int err = 0;
  for (; cp < max_count; ++cp) {
    if (keys == nullptr || values == nullptr) {
      err = -EFAULT;
      break;
    }
    err = map.ops().update(map, static_cast<const uint8_t*>(keys) + uint64_t{cp} * ks,
                           static_cast<const uint8_t*>(values) + uint64_t{cp} * vs, elem_flags);
    if (err != 0) break;
  }
  *count = cp;
  return err;
}

int generic_delete_batch(Map& map, const void* keys, uint32_t* count, uint64_t elem_flags, uint64_t flags) {
  if ((elem_flags & ~uint64_t{BPF_F_LOCK}) || ((elem_flags & BPF_F_LOCK) && !map.ops().has_spin_lock(map)))
    return -EINVAL;
  (void)flags;  // the kernel does not look at batch.flags for deletes
  const uint32_t max_count = *count;
  if (max_count == 0) return 0;
  *count = 0;
  const uint32_t ks = map.attr().key_size;
  uint32_t cp = 0;
  int err = 0;
  for (; cp < max_count; ++cp) {
    if (keys == nullptr) {
      err = -EFAULT;
      break;
    }
    err = map.ops().delete_elem(map, static_cast<const uint8_t*>(keys) + uint64_t{cp} * ks);
    if (err != 0) break;
  }
  *count = cp;
  return err;
}

}  // namespace bpfemu::maptypes
