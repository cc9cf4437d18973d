// Batch commands of the hash family (the kernel's
// __htab_map_lookup_and_delete_batch): bucket-granular, so a batch never splits
// a bucket; the token in in_batch/out_batch is a u32 bucket index. A bucket's
// elements are gathered under its lock and copied out to the caller after it
// is released, so a bad buffer is EFAULT with that bucket's deletions done, as
// on the kernel.
#include <vector>

#include "core/uaccess.h"
#include "core/value_lock.h"
#include "maptypes/batch.h"
#include "maptypes/hashtab.h"

namespace bpfemu::maptypes {

int HtabOps::lookup_batch(Map& map, const BatchArgs& args, bool do_delete) const {
  if (int err = check_batch_flags(map, args.elem_flags, args.flags); err != 0) return err;
  const uint32_t max_count = *args.count;
  if (max_count == 0) return 0;
  *args.count = 0;
  uint32_t batch = 0;
  if (args.in_batch != nullptr && emu::copy_from_user(&batch, args.in_batch, sizeof(batch)) != 0) return -EFAULT;
  Htab h(map);
  const uint32_t n = h.state().n_buckets;
  if (batch >= n) return -ENOENT;
  const uint32_t ks = map.attr().key_size;
  const uint32_t vs = sys_value_size(map);
  uint32_t total = 0;
  int ret = 0;
  std::vector<uint32_t> chain, to_free;
  std::vector<uint8_t> keys, values;
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
      keys.resize(chain.size() * ks);
      values.resize(chain.size() * vs);
      for (size_t i = 0; i < chain.size(); ++i) {
        const uint32_t e = chain[i];
        memcpy(keys.data() + i * ks, h.key_of(e), ks);
        h.copy_value_out(e, values.data() + i * vs, (args.elem_flags & BPF_F_LOCK) != 0);
        if (do_delete) {
          h.unlink(b, e);
          h.state().count.fetch_sub(1, std::memory_order_relaxed);
          to_free.push_back(e);
        }
      }
    }
    // Released after the bucket lock, newest-collected first, as the kernel does.
    for (auto it = to_free.rbegin(); it != to_free.rend(); ++it) {
      if (!h.state().percpu) free_value(map, h.value_of(*it));  // a deleted element's timer goes
      release_elem(map, *it);
    }
    to_free.clear();
    if (!chain.empty()) {
      if (emu::copy_to_user(static_cast<uint8_t*>(args.keys) + uint64_t{total} * ks, keys.data(), keys.size()) != 0 ||
          emu::copy_to_user(static_cast<uint8_t*>(args.values) + uint64_t{total} * vs, values.data(),
                            values.size()) != 0)
        return -EFAULT;
    }
    total += static_cast<uint32_t>(chain.size());
    ++batch;
    if (batch >= n) {
      ret = -ENOENT;
      break;
    }
  }
  if (emu::copy_to_user(args.out_batch, &batch, sizeof(batch)) != 0) return -EFAULT;
  *args.count = total;
  return ret;
}

int HtabOps::update_batch(Map& map, const BatchArgs& args) const { return generic_update_batch(map, args); }

int HtabOps::delete_batch(Map& map, const BatchArgs& args) const { return generic_delete_batch(map, args); }

}  // namespace bpfemu::maptypes
