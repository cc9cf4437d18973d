// RINGBUF, after kernel/bpf/ringbuf.c.
//
// Region layout, as the kernel's mmap offsets show it: the consumer page
// (consumer_pos at offset 0, the one page user space may map writable), the
// producer page (producer_pos, then pending_pos), then max_entries bytes of
// records. Each process maps the record pages a second time right after
// themselves (Region::mirrored), as the kernel does, so a record that wraps
// around the end is contiguous for the program writing it; mmap() of the fd
// shows the same double mapping to the consumer (mmap_mirror).
//
// A record is an 8-byte header {u32 len, u32 pg_off} and its data, rounded up
// to 8 bytes. len carries BUSY while reserved and DISCARD once discarded;
// pg_off is the header's page offset from the start of the kernel's struct
// bpf_ringbuf, which has one non-mappable page before the consumer page.
//
// The reservation lock lives in the header's family state, never in pages
// user space can map. Positions only move forward and every shared write is a
// single word, so a producer that dies holding the lock leaves at worst a
// record marked BUSY. A kernel program cannot die between reserve and submit;
// a process here can, and its record would stall every consumer for good. So
// the state also says which process holds each outstanding reservation, and a
// BUSY record whose holder is gone is discarded by the next producer (or
// poller) that finds it at the oldest pending position.
#include <signal.h>
#include <sys/epoll.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "core/profile.h"
#include "maptypes/families.h"

namespace bpfemu::maptypes {
namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kConsumerOff = 0;
constexpr uint64_t kProducerOff = kPage;
constexpr uint64_t kDataOff = 2 * kPage;
constexpr uint32_t kHdrSize = 8;
constexpr uint32_t kBusyBit = 1U << 31;
constexpr uint32_t kDiscardBit = 1U << 30;
constexpr uint64_t kMaxRecord = UINT32_MAX / 4;
// Pages of struct bpf_ringbuf before its records: the non-mappable head, the
// consumer page and the producer page.
constexpr uint32_t kMetaPages = 3;

// One outstanding reservation: the record's producer position + 1 (0: the
// entry is free) and the process that made it.
struct RbOwner {
  std::atomic<uint64_t> pos_plus1;
  std::atomic<uint32_t> pid;
  uint32_t pad;
};
// Reservations beyond this many at once are not tracked (and not reclaimed).
constexpr int kTrackedReservations = 64;

struct RbState {
  emu::SpinLock lock;
  RbOwner owners[kTrackedReservations];
};

struct RbHeader {
  uint32_t len;
  uint32_t pg_off;
};

// What a view keeps: where its double mapping of the records is.
struct RbView {
  uint8_t* data;
};

std::atomic<uint64_t>& consumer_pos(const Map& map) {
  return *reinterpret_cast<std::atomic<uint64_t>*>(map.data() + kConsumerOff);
}
std::atomic<uint64_t>& producer_pos(const Map& map) {
  return *reinterpret_cast<std::atomic<uint64_t>*>(map.data() + kProducerOff);
}
std::atomic<uint64_t>& pending_pos(const Map& map) {
  return *reinterpret_cast<std::atomic<uint64_t>*>(map.data() + kProducerOff + 8);
}
std::atomic<uint32_t>& header_len(RbHeader* h) { return *reinterpret_cast<std::atomic<uint32_t>*>(&h->len); }

uint64_t record_len(uint32_t len_word) { return (uint64_t{len_word & ~(kBusyBit | kDiscardBit)} + kHdrSize + 7) & ~7ULL; }

bool process_is_gone(uint32_t pid) {
  const int saved = errno;
  const bool gone = kill(static_cast<pid_t>(pid), 0) == -1 && errno == ESRCH;
  errno = saved;
  return gone;
}

// Under the lock: remembers that this process holds the record at `pos`.
// Entries of records already behind `pend` are stale (their holder died after
// submitting) and are reused.
void track_reservation(RbState& st, uint64_t pos, uint64_t pend) {
  for (RbOwner& o : st.owners) {
    const uint64_t held = o.pos_plus1.load(std::memory_order_acquire);
    if (held != 0 && held - 1 >= pend) continue;
    o.pid.store(emu::SpinLock::self_pid(), std::memory_order_relaxed);
    o.pos_plus1.store(pos + 1, std::memory_order_release);
    return;
  }
}

// On submit or discard: the record at ring offset `rec_off` is no longer held.
void untrack_reservation(RbState& st, uint64_t rec_off, uint64_t mask) {
  for (RbOwner& o : st.owners) {
    const uint64_t held = o.pos_plus1.load(std::memory_order_acquire);
    if (held != 0 && ((held - 1) & mask) == rec_off) {
      o.pos_plus1.store(0, std::memory_order_release);
      return;
    }
  }
}

// Under the lock: discards the BUSY record at `pos` if the process that
// reserved it is gone; true when it did.
bool discard_if_orphaned(RbState& st, RbHeader* hdr, uint64_t pos) {
  for (RbOwner& o : st.owners) {
    if (o.pos_plus1.load(std::memory_order_acquire) != pos + 1) continue;
    const uint32_t pid = o.pid.load(std::memory_order_relaxed);
    if (pid == emu::SpinLock::self_pid() || !process_is_gone(pid)) return false;
    const uint32_t word = header_len(hdr).load(std::memory_order_relaxed);
    header_len(hdr).store((word & ~kBusyBit) | kDiscardBit, std::memory_order_release);
    o.pos_plus1.store(0, std::memory_order_release);
    return true;
  }
  return false;
}

// Under the lock: moves pending_pos past every record no longer reserved,
// reclaiming those of dead processes; the new pending position.
uint64_t advance_pending(const Map& map, uint8_t* data, uint64_t mask, bool* reclaimed) {
  auto& st = map.state<RbState>();
  const uint64_t prod = producer_pos(map).load(std::memory_order_relaxed);
  uint64_t pend = pending_pos(map).load(std::memory_order_relaxed);
  while (pend < prod) {
    auto* hdr = reinterpret_cast<RbHeader*>(data + (pend & mask));
    const uint32_t word = header_len(hdr).load(std::memory_order_acquire);
    if ((word & kBusyBit) && !discard_if_orphaned(st, hdr, pend)) break;
    if (word & kBusyBit) *reclaimed = true;
    pend += record_len(word);
  }
  pending_pos(map).store(pend, std::memory_order_relaxed);
  return pend;
}

class RingbufOps final : public MapOps {
 public:
  int alloc_check(MapAttr& attr, const CreateEnv&) const override {
    if (attr.map_flags & ~BPF_F_NUMA_NODE) return -EINVAL;
    const uint32_t n = attr.max_entries;
    if (attr.key_size != 0 || attr.value_size != 0 || n == 0 || (n & (n - 1)) != 0 || (n % kPage) != 0)
      return -EINVAL;
    return 0;  // RINGBUF_MAX_DATA_SZ (64 GiB) is beyond any u32 max_entries
  }

  int64_t data_size(const MapAttr& attr, const CreateEnv&) const override {
    const uint64_t bytes = kDataOff + attr.max_entries;
    if (!emu::fits_in_memory(bytes)) return -ENOMEM;
    return static_cast<int64_t>(bytes);
  }

  int init(Map&) const override { return 0; }

  void bind_view(Map& map) const override {
    MapOps::bind_view(map);
    map.view_cache<RbView>().data = map.region().mirrored(kDataOff, map.attr().max_entries);
  }

  // ringbuf_map_mem_usage: the map, every page once, and the page array that
  // lists the record pages twice.
  uint64_t mem_usage(const Map& map) const override {
    const uint64_t data_pages = map.attr().max_entries / kPage;
    return struct_sizes(map.profile()).bpf_ringbuf_map + (kMetaPages + data_pages) * kPage +
           (kMetaPages + 2 * data_pages) * sizeof(void*);
  }

  // The kernel's ringbuf callbacks answer ENOTSUPP for every element op.
  int lookup(Map&, const void*, void*, uint64_t) const override { return -kENOTSUPP; }
  int update(Map&, const void*, const void*, uint64_t) const override { return -kENOTSUPP; }
  int delete_elem(Map&, const void*) const override { return -kENOTSUPP; }
  int get_next_key(Map&, const void*, void*) const override { return -kENOTSUPP; }

  bool mmapable(const Map&) const override { return true; }
  // The consumer and producer pages, then the records twice.
  uint64_t mmap_size(const Map& map) const override { return kDataOff + 2 * uint64_t{map.attr().max_entries}; }
  MmapMirror mmap_mirror(const Map& map) const override {
    return {kDataOff + map.attr().max_entries, map.attr().max_entries};
  }
  // ringbuf_map_mmap_kern: only the consumer page may be mapped writable.
  int mmap_check(const Map&, uint64_t offset, uint64_t len, bool writable) const override {
    if (writable && (offset != 0 || len != kPage)) return -EPERM;
    return 0;
  }
  uint32_t poll(Map& map) const override {
    reclaim_at_consumer(map);
    return available(map) != 0 ? EPOLLIN | EPOLLRDNORM : 0;
  }

  void* prog_ringbuf_reserve(Map& map, uint64_t size) const override {
    uint8_t* data = map.view_cache<RbView>().data;
    if (data == nullptr || size > kMaxRecord) return nullptr;
    const uint64_t mask = uint64_t{map.attr().max_entries} - 1;
    const uint64_t len = (size + kHdrSize + 7) & ~7ULL;
    if (len > mask + 1) return nullptr;
    const uint64_t cons = consumer_pos(map).load(std::memory_order_acquire);
    auto& st = map.state<RbState>();
    bool reclaimed = false;
    void* out = nullptr;
    {
      emu::SpinGuard guard(st.lock);
      // Records before the oldest one still reserved need no space any more.
      const uint64_t pend = advance_pending(map, data, mask, &reclaimed);
      out = reserve_locked(map, data, mask, size, len, cons, pend);
    }
    if (reclaimed) notify_pollers(map);  // a consumer stalled on the dead record
    return out;
  }

  void* reserve_locked(Map& map, uint8_t* data, uint64_t mask, uint64_t size, uint64_t len, uint64_t cons,
                       uint64_t pend) const {
    const uint64_t prod = producer_pos(map).load(std::memory_order_relaxed);
    const uint64_t new_prod = prod + len;
    if (new_prod - cons > mask || new_prod - pend > mask) return nullptr;
    auto* hdr = reinterpret_cast<RbHeader*>(data + (prod & mask));
    hdr->pg_off = kMetaPages + static_cast<uint32_t>((prod & mask) / kPage);
    header_len(hdr).store(static_cast<uint32_t>(size) | kBusyBit, std::memory_order_relaxed);
    track_reservation(map.state<RbState>(), prod, pend);
    producer_pos(map).store(new_prod, std::memory_order_release);
    return reinterpret_cast<uint8_t*>(hdr) + kHdrSize;
  }

  void prog_ringbuf_commit(Map& map, void* sample, uint64_t flags, bool discard) const override {
    uint8_t* data = map.view_cache<RbView>().data;
    auto* hdr = reinterpret_cast<RbHeader*>(static_cast<uint8_t*>(sample) - kHdrSize);
    uint32_t word = header_len(hdr).load(std::memory_order_relaxed) ^ kBusyBit;
    if (discard) word |= kDiscardBit;
    header_len(hdr).exchange(word, std::memory_order_acq_rel);
    const uint64_t mask = uint64_t{map.attr().max_entries} - 1;
    // The mirror's second half is the same record: its position is modulo the size.
    const uint64_t rec_pos = static_cast<uint64_t>(reinterpret_cast<uint8_t*>(hdr) - data) & mask;
    untrack_reservation(map.state<RbState>(), rec_pos, mask);
    const uint64_t cons = consumer_pos(map).load(std::memory_order_acquire) & mask;
    // Wake a consumer that caught up with this record (the kernel's irq_work).
    if ((flags & BPF_RB_FORCE_WAKEUP) || (cons == rec_pos && !(flags & BPF_RB_NO_WAKEUP))) notify_pollers(map);
  }

  uint64_t prog_ringbuf_query(Map& map, uint64_t flags) const override {
    switch (flags) {
      case BPF_RB_AVAIL_DATA:
        return available(map);
      case BPF_RB_RING_SIZE:
        return map.attr().max_entries;
      case BPF_RB_CONS_POS:
        return consumer_pos(map).load(std::memory_order_acquire);
      case BPF_RB_PROD_POS:
        return producer_pos(map).load(std::memory_order_acquire);
      default:
        return 0;
    }
  }

 private:
  // A consumer waiting on a record whose producer died gets it discarded.
  static void reclaim_at_consumer(Map& map) {
    uint8_t* data = map.view_cache<RbView>().data;
    if (data == nullptr) return;
    const uint64_t mask = uint64_t{map.attr().max_entries} - 1;
    const uint64_t cons = consumer_pos(map).load(std::memory_order_acquire);
    if (cons >= producer_pos(map).load(std::memory_order_acquire)) return;
    if (!(header_len(reinterpret_cast<RbHeader*>(data + (cons & mask))).load(std::memory_order_acquire) & kBusyBit))
      return;
    bool reclaimed = false;
    emu::SpinGuard guard(map.state<RbState>().lock);
    (void)advance_pending(map, data, mask, &reclaimed);
  }

  static uint64_t available(const Map& map) {
    return producer_pos(map).load(std::memory_order_acquire) - consumer_pos(map).load(std::memory_order_acquire);
  }
};

const RingbufOps kRingbuf;

}  // namespace

const MapOps& kRingbufOps = kRingbuf;

}  // namespace bpfemu::maptypes
