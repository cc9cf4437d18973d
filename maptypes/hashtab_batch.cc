// Batch commands of the hash family (the kernel's
// __htab_map_lookup_and_delete_batch): bucket-granular, so a batch never splits
// a bucket; the token in in_batch/out_batch is a u32 bucket index.
#include <vector>

#include "maptypes/batch.h"
#include "maptypes/hashtab.h"

namespace bpfemu::maptypes {

int HtabOps::lookup_batch(Map& map, const void* in_batch, void* out_batch, void* keys, void* values,
                          uint32_t* count, uint64_t elem_flags, uint64_t flags, bool do_delete) const {
  if (int err = check_batch_flags(map, elem_flags, flags); err != 0) return err;
  const uint32_t max_count = *count;
  if (max_count == 0) return 0;
  *count = 0;
  uint32_t batch = 0;
  if (in_batch != nullptr) memcpy(&batch, in_batch, sizeof(batch));
  Htab h(map);
  const uint32_t n = h.state().n_buckets;
  if (batch >= n) return -ENOENT;
  const uint32_t ks = map.attr().key_size;
  const uint32_t vs = sys_value_size(map);
  uint32_t total = 0;
  int ret = 0;
  std::vector<uint32_t> chain, to_free;
  for (;;) {
    Bucket& b = h.bucket_at(batch);
    {
      BucketWriteGuard g(h, b);
      chain.clear();
      for (uint32_t e = b.head.load(std::memory_order_relaxed); e != 0; e = h.hdr(e).next.load(std::memory_order_relaxed))
        chain.push_back(e);
      if (chain.size() > max_count - total) {
        if (total == 0) ret = -ENOSPC;
        break;
      }
      if (!chain.empty() && (keys == nullptr || values == nullptr)) return -EFAULT;
      for (uint32_t e : chain) {
        memcpy(static_cast<uint8_t*>(keys) + uint64_t{total} * ks, h.key_of(e), ks);
        h.copy_value_out(e, static_cast<uint8_t*>(values) + uint64_t{total} * vs);
        ++total;
        if (do_delete) {
          h.unlink(b, e);
          h.state().count.fetch_sub(1, std::memory_order_relaxed);
          to_free.push_back(e);
        }
      }
    }
    // Released after the bucket lock, newest-collected first, as the kernel does.
    for (auto it = to_free.rbegin(); it != to_free.rend(); ++it) release_elem(map, *it);
    to_free.clear();
    ++batch;
    if (batch >= n) {
      ret = -ENOENT;
      break;
    }
  }
  if (out_batch == nullptr) return -EFAULT;
  memcpy(out_batch, &batch, sizeof(batch));
  *count = total;
  return ret;
}

int HtabOps::update_batch(Map& map, const void* keys, const void* values, uint32_t* count, uint64_t elem_flags,
                          uint64_t flags) const {
  return generic_update_batch(map, keys, values, count, elem_flags, flags);
}

int HtabOps::delete_batch(Map& map, const void* keys, uint32_t* count, uint64_t elem_flags, uint64_t flags) const {
  return generic_delete_batch(map, keys, count, elem_flags, flags);
}

}  // namespace bpfemu::maptypes
