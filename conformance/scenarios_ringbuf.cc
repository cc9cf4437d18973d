// RINGBUF scenarios: create rules, the element ops a ring answers with
// ENOTSUPP, its mmap rules (only the consumer page writable; the records
// mapped twice), and the program side: bpf_ringbuf_output, _reserve with
// _submit or _discard, _query, run with BPF_PROG_TEST_RUN, then read back the
// way a consumer reads: positions and record headers through the mappings.
#include <sys/mman.h>

#include <atomic>
#include <cstring>

#include "conformance/scenario.h"
#include "emu/insn_builder.h"

namespace bpfemu::conformance {
namespace {

constexpr uint32_t R = BPF_MAP_TYPE_RINGBUF;
constexpr uint32_t kPage = 4096;

using insn::call;
using insn::ld_map;
using insn::mov;
using insn::movr;
bpf_insn ins(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) { return insn::make(code, dst, src, off, imm); }
bpf_insn exit_insn() { return insn::exit(); }

// bpf_ringbuf_output of `size` bytes (at most 32) of a fixed pattern on the stack.
std::vector<bpf_insn> output_prog(int map, int32_t size, int32_t flags) {
  std::vector<bpf_insn> p;
  for (int16_t off = -32; off < 0; off += 4) p.push_back(ins(BPF_ST | BPF_W | BPF_MEM, BPF_REG_10, 0, off, 0x01020304 * (off + 40)));
  ld_map(p, BPF_REG_1, map);
  p.push_back(movr(BPF_REG_2, BPF_REG_10));
  p.push_back(ins(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, -32));
  p.push_back(mov(BPF_REG_3, size));
  p.push_back(mov(BPF_REG_4, flags));
  p.push_back(call(BPF_FUNC_ringbuf_output));
  p.push_back(exit_insn());
  return p;
}

// bpf_ringbuf_reserve(size, reserve_flags); on success writes a marker in the
// first and last 4 bytes and submits or discards with commit_flags: returns
// 0, or 1 when the reservation failed.
std::vector<bpf_insn> reserve_prog(int map, int32_t size, int32_t reserve_flags, int32_t commit_flags, bool discard) {
  std::vector<bpf_insn> p;
  ld_map(p, BPF_REG_1, map);
  p.push_back(mov(BPF_REG_2, size));
  p.push_back(mov(BPF_REG_3, reserve_flags));
  p.push_back(call(BPF_FUNC_ringbuf_reserve));
  p.push_back(ins(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_0, 0, 2, 0));
  p.push_back(mov(BPF_REG_0, 1));
  p.push_back(exit_insn());
  if (size >= 4) {
    p.push_back(ins(BPF_ST | BPF_W | BPF_MEM, BPF_REG_0, 0, 0, 0x5eed0000 + size));
    p.push_back(ins(BPF_ST | BPF_W | BPF_MEM, BPF_REG_0, 0, static_cast<int16_t>(size - 4), 0x7a110000 + size));
  }
  p.push_back(movr(BPF_REG_1, BPF_REG_0));
  p.push_back(mov(BPF_REG_2, commit_flags));
  p.push_back(call(discard ? BPF_FUNC_ringbuf_discard : BPF_FUNC_ringbuf_submit));
  p.push_back(mov(BPF_REG_0, 0));
  p.push_back(exit_insn());
  return p;
}

std::vector<bpf_insn> query_prog(int map, int32_t flag) {
  std::vector<bpf_insn> p;
  ld_map(p, BPF_REG_1, map);
  p.push_back(mov(BPF_REG_2, flag));
  p.push_back(call(BPF_FUNC_ringbuf_query));
  p.push_back(exit_insn());
  return p;
}

void run(Recorder& r, const std::vector<bpf_insn>& insns, const std::string& label) {
  r.run_program(BPF_PROG_TYPE_XDP, insns, 1, label);
}

// A consumer's view of a ring: the consumer page (writable) and the producer
// page with the records twice after it (read-only).
struct Consumer {
  Recorder& r;
  uint32_t size;
  std::atomic<uint64_t>* cons = nullptr;
  const std::atomic<uint64_t>* prod = nullptr;
  const uint8_t* data = nullptr;
  void* cons_page = MAP_FAILED;
  void* prod_map = MAP_FAILED;

  Consumer(Recorder& rec, int fd, uint32_t ring_size) : r(rec), size(ring_size) {
    errno = 0;
    cons_page = r.backend().map_mmap(fd, kPage, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
    r.note("mmap consumer page", cons_page == MAP_FAILED ? -errno : 0);
    errno = 0;
    prod_map = r.backend().map_mmap(fd, kPage + 2 * size, PROT_READ, MAP_SHARED, kPage);
    r.note("mmap producer page and records", prod_map == MAP_FAILED ? -errno : 0);
    if (cons_page == MAP_FAILED || prod_map == MAP_FAILED) return;
    cons = static_cast<std::atomic<uint64_t>*>(cons_page);
    prod = static_cast<const std::atomic<uint64_t>*>(prod_map);
    data = static_cast<const uint8_t*>(prod_map) + kPage;
  }
  ~Consumer() {
    if (cons_page != MAP_FAILED) r.backend().map_munmap(cons_page, kPage);
    if (prod_map != MAP_FAILED) r.backend().map_munmap(prod_map, kPage + 2 * size);
  }
  bool ok() const { return data != nullptr; }

  // Notes the positions and every record from the consumer's position on
  // (header words and the first and last 4 data bytes); consumes them when asked.
  void read(const std::string& label, bool consume) {
    if (!ok()) return;
    uint64_t pos = cons->load(std::memory_order_acquire);
    const uint64_t end = prod->load(std::memory_order_acquire);
    r.note(label + ": consumer_pos", static_cast<long>(pos));
    r.note(label + ": producer_pos", static_cast<long>(end));
    r.note(label + ": pending_pos", static_cast<long>(prod[1].load(std::memory_order_acquire)));
    for (int n = 0; pos < end && n < 64; ++n) {
      const uint8_t* hdr = data + (pos & (size - 1));
      uint32_t len, pg_off;
      memcpy(&len, hdr, 4);
      memcpy(&pg_off, hdr + 4, 4);
      const uint32_t bytes = len & ~((1U << 31) | (1U << 30));
      const std::string at = label + ": record at " + std::to_string(pos);
      r.note(at + " len word", len);
      r.note(at + " pg_off", pg_off);
      if (bytes >= 4) {
        uint32_t first, last;
        memcpy(&first, hdr + 8, 4);
        memcpy(&last, hdr + 8 + bytes - 4, 4);  // may wrap: the records are mapped twice
        r.note(at + " first word", first);
        r.note(at + " last word", last);
      }
      if (len & (1U << 31)) break;  // still reserved
      pos += (bytes + 8 + 7) & ~7ULL;
    }
    if (consume) cons->store(pos, std::memory_order_release);
  }
};

}  // namespace

SCENARIO("RINGBUF", "create", "sizes") {
  for (auto [ks, vs, max] : {std::tuple{0u, 0u, 4096u}, {4u, 0u, 4096u}, {0u, 8u, 4096u}, {0u, 0u, 0u},
                             {0u, 0u, 2048u}, {0u, 0u, 12288u}, {0u, 0u, 8192u}, {0u, 0u, 1u << 20},
                             {0u, 0u, 4097u}, {0u, 0u, 0x80000001u}}) {
    const int fd = r.create(R, ks, vs, max);
    if (fd >= 0) {
      r.info(fd);
      r.memlock(fd);
      r.close(fd);
    }
  }
}

SCENARIO("RINGBUF", "create", "flags") {
  for (uint32_t flags : {uint32_t{BPF_F_NUMA_NODE}, uint32_t{BPF_F_RDONLY}, uint32_t{BPF_F_WRONLY},
                         uint32_t{BPF_F_RDONLY_PROG}, uint32_t{BPF_F_WRONLY_PROG}, uint32_t{BPF_F_MMAPABLE},
                         uint32_t{BPF_F_NO_PREALLOC}, uint32_t{BPF_F_ZERO_SEED}, uint32_t{BPF_F_INNER_MAP}, 1U << 20}) {
    const int fd = r.create(R, 0, 0, kPage, flags);
    if (fd >= 0) r.close(fd);
  }
}

SCENARIO("RINGBUF", "syscall", "element_ops") {
  const int fd = r.create(R, 0, 0, kPage);
  if (fd < 0) return;
  r.lookup(fd, std::nullopt);
  r.lookup(fd, u32(0));
  r.update(fd, std::nullopt, std::nullopt);
  r.update(fd, std::nullopt, u64(1));
  r.remove(fd, std::nullopt);
  r.next_key(fd, std::nullopt, 0);
  r.lookup_and_delete(fd, std::nullopt);
  r.lookup_batch(fd, std::nullopt, 4, 4, 4);
  r.delete_batch(fd, {u32(0)}, 1);
  r.freeze(fd);
  r.freeze(fd);
  r.info(fd);
  const std::string pin = r.pin_path("rb_pinned");
  r.pin(fd, pin);
  const int again = r.get(pin);
  if (again >= 0) {
    r.info(again);
    r.close(again);
  }
  r.unpin(pin);
}

SCENARIO("RINGBUF", "mmap", "rules") {
  auto& b = r.backend();
  const int fd = r.create(R, 0, 0, 2 * kPage);
  if (fd < 0) return;
  auto try_map = [&](size_t len, int prot, int flags, off_t off, const std::string& label) {
    errno = 0;
    void* p = b.map_mmap(fd, len, prot, flags, off);
    r.note("mmap(" + label + ")", p == MAP_FAILED ? -errno : 0);
    return p;
  };
  auto unmap = [&](void* p, size_t len) {
    if (p != MAP_FAILED) b.map_munmap(p, len);
  };
  unmap(try_map(kPage, PROT_READ | PROT_WRITE, MAP_SHARED, 0, "consumer page, writable"), kPage);
  unmap(try_map(2 * kPage, PROT_READ | PROT_WRITE, MAP_SHARED, 0, "two pages from 0, writable"), 2 * kPage);
  unmap(try_map(kPage, PROT_READ | PROT_WRITE, MAP_SHARED, kPage, "producer page, writable"), kPage);
  unmap(try_map(kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE, 0, "consumer page, private"), kPage);
  unmap(try_map(kPage, PROT_READ, MAP_SHARED, 0, "consumer page, read-only"), kPage);
  unmap(try_map(6 * kPage, PROT_READ, MAP_SHARED, 0, "everything from 0"), 6 * kPage);
  unmap(try_map(7 * kPage, PROT_READ, MAP_SHARED, 0, "past the end"), 7 * kPage);
  unmap(try_map(kPage, PROT_READ, MAP_SHARED, 5 * kPage, "last page of the second mapping"), kPage);
  unmap(try_map(kPage, PROT_READ, MAP_SHARED, 6 * kPage, "offset past the end"), kPage);
  unmap(try_map(kPage, PROT_READ | PROT_EXEC, MAP_SHARED, 0, "exec"), kPage);
  void* ro = try_map(kPage + 4 * kPage, PROT_READ, MAP_SHARED, kPage, "producer and records, read-only");
  if (ro != MAP_FAILED) {
    r.note("mprotect writable", mprotect(ro, kPage, PROT_READ | PROT_WRITE) == 0 ? 0 : -errno);
    unmap(ro, 5 * kPage);
  }
  void* w = try_map(kPage, PROT_READ | PROT_WRITE, MAP_SHARED, 0, "consumer page for freeze");
  r.freeze(fd);  // a writable mapping exists
  unmap(w, kPage);
  r.freeze(fd);
  r.note("consumer page writable after freeze",
         [&] {
           void* p = b.map_mmap(fd, kPage, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
           if (p == MAP_FAILED) return -errno;
           b.map_munmap(p, kPage);
           return 0;
         }());
}

SCENARIO("RINGBUF", "prog", "output_reserve_submit_discard") {
  const int fd = r.create(R, 0, 0, kPage);
  if (fd < 0) return;
  Consumer c(r, fd, kPage);
  if (!c.ok()) return;
  run(r, output_prog(fd, 16, 0), "output 16");
  run(r, output_prog(fd, 5, BPF_RB_NO_WAKEUP), "output 5 no wakeup");
  run(r, output_prog(fd, 0, BPF_RB_FORCE_WAKEUP), "output 0 force wakeup");
  run(r, output_prog(fd, 8, 4), "output bad flags");
  run(r, reserve_prog(fd, 24, 0, 0, false), "reserve 24 submit");
  run(r, reserve_prog(fd, 13, 0, 0, true), "reserve 13 discard");
  run(r, reserve_prog(fd, 8, 1, 0, false), "reserve with flags");
  for (int32_t q : {0, 1, 2, 3, 4})  // BPF_RB_AVAIL_DATA, _RING_SIZE, _CONS_POS, _PROD_POS, unknown
    run(r, query_prog(fd, q), "query " + std::to_string(q));
  c.read("after six records", false);
  c.read("consumed", true);
  for (int32_t q : {int32_t{BPF_RB_AVAIL_DATA}, int32_t{BPF_RB_CONS_POS}}) run(r, query_prog(fd, q), "query after consuming " + std::to_string(q));
}

SCENARIO("RINGBUF", "prog", "full_ring_and_wrap_around") {
  const int fd = r.create(R, 0, 0, kPage);
  if (fd < 0) return;
  Consumer c(r, fd, kPage);
  if (!c.ok()) return;
  // 1000-byte records (1008 with the header): three fit, a fourth would bring
  // the producer within less than a byte of lapping the consumer.
  for (int i = 0; i < 5; ++i) run(r, reserve_prog(fd, 1000, 0, 0, false), "reserve 1000 #" + std::to_string(i));
  run(r, output_prog(fd, 32, 0), "output into the last bytes");
  run(r, reserve_prog(fd, 4096, 0, 0, false), "reserve the ring's size");
  run(r, reserve_prog(fd, 4088, 0, 0, false), "reserve size minus header");
  c.read("full", true);
  // After consuming, records wrap around the end; the last word of one lies
  // in the ring's first page again.
  for (int i = 0; i < 4; ++i) run(r, reserve_prog(fd, 1000, 0, 0, i == 2), "wrap #" + std::to_string(i));
  c.read("wrapped", true);
  for (int i = 0; i < 3; ++i) run(r, output_prog(fd, 32, 0), "after wrap #" + std::to_string(i));
  c.read("after wrap", false);
}

SCENARIO("RINGBUF", "prog", "consumer_position_written_by_user_space") {
  const int fd = r.create(R, 0, 0, kPage);
  if (fd < 0) return;
  Consumer c(r, fd, kPage);
  if (!c.ok()) return;
  run(r, output_prog(fd, 16, 0), "output");
  // A consumer may write anything to its page; producers trust it as the kernel does.
  c.cons->store(4096, std::memory_order_release);
  run(r, output_prog(fd, 16, 0), "output with the consumer ahead");
  run(r, query_prog(fd, BPF_RB_AVAIL_DATA), "avail with the consumer ahead");
  c.cons->store(24, std::memory_order_release);
  run(r, output_prog(fd, 16, 0), "output with the consumer back");
  c.read("after", false);
}

}  // namespace bpfemu::conformance
