// Operations on values that hold a struct bpf_spin_lock: syscall updates and
// lookups with and without BPF_F_LOCK (the lock word reads as zero and is
// never overwritten), the batch calls' elem_flags, mmap and freeze, and
// programs that take the lock with bpf_spin_lock/bpf_spin_unlock, run with
// BPF_PROG_TEST_RUN. The value in every map here is
//   struct { u32 a; struct bpf_spin_lock lock; u64 b; }   (16 bytes, lock at 4)
#include <sys/mman.h>

#include <cstring>
#include <vector>

#include "conformance/btf_builder.h"
#include "conformance/scenario.h"

namespace bpfemu::conformance {
namespace {

constexpr uint32_t kValueSize = 16;
constexpr int16_t kLockOff = 4;

// A value whose lock word holds `lock` (what a caller may pass; never stored).
Bytes value(uint32_t a, uint32_t lock, uint64_t b) { return concat(concat(u32(a), u32(lock)), u64(b)); }

struct LockedMap {
  int btf = -1;
  int fd = -1;
};

LockedMap create_locked(Recorder& r, uint32_t type, uint32_t max, uint32_t flags = 0) {
  BtfBuilder b;
  const int v = b.add_struct("value", kValueSize, {{b.u32, 0}, {b.lock, kLockOff}, {b.u64, 8}});
  LockedMap m;
  m.btf = load_btf(r, b.blob(), "btf_load");
  if (m.btf < 0) return m;
  MapCreateOpts o;
  o.btf_fd = static_cast<uint32_t>(m.btf);
  o.btf_key_type_id = static_cast<uint32_t>(b.u32);
  o.btf_value_type_id = static_cast<uint32_t>(v);
  o.map_flags = flags;
  m.fd = r.create_opts(type, "locked", 4, kValueSize, max, o);
  return m;
}

// --- hand-assembled programs ---

bpf_insn ins(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  bpf_insn i{};
  i.code = code;
  i.dst_reg = dst;
  i.src_reg = src;
  i.off = off;
  i.imm = imm;
  return i;
}
bpf_insn mov(uint8_t dst, int32_t imm) { return ins(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm); }
bpf_insn movr(uint8_t dst, uint8_t src) { return ins(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0); }
bpf_insn add(uint8_t dst, int32_t imm) { return ins(BPF_ALU64 | BPF_ADD | BPF_K, dst, 0, 0, imm); }
bpf_insn call(int32_t helper) { return ins(BPF_JMP | BPF_CALL, 0, 0, 0, helper); }
bpf_insn exit_insn() { return ins(BPF_JMP | BPF_EXIT, 0, 0, 0, 0); }
void ld_map(std::vector<bpf_insn>& p, uint8_t dst, int fd) {
  p.push_back(ins(BPF_LD | BPF_DW | BPF_IMM, dst, BPF_PSEUDO_MAP_FD, 0, fd));
  p.push_back(ins(0, 0, 0, 0, 0));
}

// r6 = lookup(map, key 0); exits with 1 when there is none.
void lookup_key0(std::vector<bpf_insn>& p, int map) {
  p.push_back(ins(BPF_ST | BPF_W | BPF_MEM, BPF_REG_10, 0, -4, 0));
  ld_map(p, BPF_REG_1, map);
  p.push_back(movr(BPF_REG_2, BPF_REG_10));
  p.push_back(add(BPF_REG_2, -4));
  p.push_back(call(BPF_FUNC_map_lookup_elem));
  p.push_back(ins(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_0, 0, 2, 0));
  p.push_back(mov(BPF_REG_0, 1));
  p.push_back(exit_insn());
  p.push_back(movr(BPF_REG_6, BPF_REG_0));
}

// Under the value's lock: a += 1 and b += 3; returns 0.
std::vector<bpf_insn> increment_prog(int map) {
  std::vector<bpf_insn> p;
  lookup_key0(p, map);
  p.push_back(movr(BPF_REG_1, BPF_REG_6));
  p.push_back(add(BPF_REG_1, kLockOff));
  p.push_back(call(BPF_FUNC_spin_lock));
  p.push_back(ins(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_1, BPF_REG_6, 0, 0));
  p.push_back(add(BPF_REG_1, 1));
  p.push_back(ins(BPF_STX | BPF_W | BPF_MEM, BPF_REG_6, BPF_REG_1, 0, 0));
  p.push_back(ins(BPF_LDX | BPF_DW | BPF_MEM, BPF_REG_1, BPF_REG_6, 8, 0));
  p.push_back(add(BPF_REG_1, 3));
  p.push_back(ins(BPF_STX | BPF_DW | BPF_MEM, BPF_REG_6, BPF_REG_1, 8, 0));
  p.push_back(movr(BPF_REG_1, BPF_REG_6));
  p.push_back(add(BPF_REG_1, kLockOff));
  p.push_back(call(BPF_FUNC_spin_unlock));
  p.push_back(mov(BPF_REG_0, 0));
  p.push_back(exit_insn());
  return p;
}

// bpf_map_update_elem(map, key 0, {a=7, lock=~0, b=9}, flags): returns its result.
std::vector<bpf_insn> update_prog(int map, int32_t flags) {
  std::vector<bpf_insn> p;
  p.push_back(ins(BPF_ST | BPF_W | BPF_MEM, BPF_REG_10, 0, -4, 0));
  p.push_back(ins(BPF_ST | BPF_W | BPF_MEM, BPF_REG_10, 0, -24, 7));
  p.push_back(ins(BPF_ST | BPF_W | BPF_MEM, BPF_REG_10, 0, -20, -1));
  p.push_back(ins(BPF_ST | BPF_DW | BPF_MEM, BPF_REG_10, 0, -16, 9));
  ld_map(p, BPF_REG_1, map);
  p.push_back(movr(BPF_REG_2, BPF_REG_10));
  p.push_back(add(BPF_REG_2, -4));
  p.push_back(movr(BPF_REG_3, BPF_REG_10));
  p.push_back(add(BPF_REG_3, -24));
  p.push_back(mov(BPF_REG_4, flags));
  p.push_back(call(BPF_FUNC_map_update_elem));
  p.push_back(exit_insn());
  return p;
}

void run(Recorder& r, uint32_t type, const std::vector<bpf_insn>& insns, uint32_t repeat, const std::string& label) {
  r.run_program(type, insns, repeat, label);
}

// The element calls every locked map answers the same way.
void syscall_ops(Recorder& r, int fd) {
  r.update(fd, u32(0), value(1, 0xffffffff, 2));  // the lock word given is not stored
  r.lookup(fd, u32(0));
  r.lookup(fd, u32(0), BPF_F_LOCK);
  r.update(fd, u32(0), value(3, 0x12345678, 4), BPF_F_LOCK);
  r.lookup(fd, u32(0), BPF_F_LOCK);
  r.update(fd, u32(0), value(5, 1, 6), BPF_F_LOCK | BPF_EXIST);
  r.update(fd, u32(0), value(7, 1, 8), BPF_F_LOCK | BPF_NOEXIST);
  r.update(fd, u32(1), value(9, 1, 10), BPF_F_LOCK | BPF_EXIST);
  r.update(fd, u32(2), value(11, 1, 12), BPF_F_LOCK);
  r.update(fd, u32(2), value(11, 1, 12), BPF_F_LOCK | 8);
  r.update(fd, u32(9), value(13, 1, 14), BPF_F_LOCK);
  r.lookup(fd, u32(2));
  r.lookup(fd, u32(3), BPF_F_LOCK);
  r.lookup(fd, u32(9), BPF_F_LOCK);
  r.lookup(fd, u32(0), BPF_F_LOCK | 1);
  r.lookup_and_delete(fd, u32(2), BPF_F_LOCK);
  r.lookup_and_delete(fd, u32(0));
  r.freeze(fd);
}

}  // namespace

SCENARIO("HASH", "update", "spin_lock_syscall") {
  for (uint32_t flags : {0u, uint32_t{BPF_F_NO_PREALLOC}, uint32_t{BPF_F_ZERO_SEED}}) {
    r.note("map_flags", flags);
    const LockedMap m = create_locked(r, BPF_MAP_TYPE_HASH, 4, flags);
    if (m.fd < 0) continue;
    syscall_ops(r, m.fd);
    r.walk_set(m.fd, 4);
    r.close(m.fd);
    r.close(m.btf);
  }
}

SCENARIO("ARRAY", "update", "spin_lock_syscall") {
  for (uint32_t flags : {0u, uint32_t{BPF_F_MMAPABLE}}) {
    r.note("map_flags", flags);
    const LockedMap m = create_locked(r, BPF_MAP_TYPE_ARRAY, 4, flags);
    if (m.fd < 0) continue;
    syscall_ops(r, m.fd);
    errno = 0;
    void* p = r.backend().map_mmap(m.fd, 4096, PROT_READ, MAP_SHARED, 0);
    r.note("mmap", p == MAP_FAILED ? -errno : 0);
    if (p != MAP_FAILED) r.backend().map_munmap(p, 4096);
    r.close(m.fd);
    r.close(m.btf);
  }
}

SCENARIO("HASH", "batch", "spin_lock_elem_flags") {
  const LockedMap m = create_locked(r, BPF_MAP_TYPE_HASH, 8, BPF_F_ZERO_SEED);
  if (m.fd < 0) return;
  BatchOpts lock;
  lock.elem_flags = BPF_F_LOCK;
  BatchOpts bad;
  bad.elem_flags = BPF_F_LOCK | BPF_NOEXIST;
  r.update_batch(m.fd, {u32(1), u32(2), u32(3)}, {value(1, 9, 10), value(2, 9, 20), value(3, 9, 30)}, 3, lock);
  r.update_batch(m.fd, {u32(1)}, {value(4, 9, 40)}, 1, bad);
  r.update_batch(m.fd, {u32(1), u32(4)}, {value(5, 9, 50), value(6, 9, 60)}, 2);
  r.batch_walk(m.fd, 2, 4, kValueSize, lock);
  r.batch_walk(m.fd, 8, 4, kValueSize);
  r.lookup_batch(m.fd, std::nullopt, 8, 4, kValueSize, bad);
  r.delete_batch(m.fd, {u32(4)}, 1, lock);
  r.batch_walk(m.fd, 8, 4, kValueSize, lock, true);
  r.walk_set(m.fd, 4);
  r.close(m.fd);
  r.close(m.btf);
}

SCENARIO("ARRAY", "batch", "spin_lock_elem_flags") {
  const LockedMap m = create_locked(r, BPF_MAP_TYPE_ARRAY, 4);
  if (m.fd < 0) return;
  BatchOpts lock;
  lock.elem_flags = BPF_F_LOCK;
  BatchOpts bad;
  bad.elem_flags = BPF_F_LOCK | BPF_EXIST;
  r.update_batch(m.fd, {u32(0), u32(2), u32(7)}, {value(1, 9, 10), value(2, 9, 20), value(3, 9, 30)}, 3, lock);
  r.update_batch(m.fd, {u32(1)}, {value(4, 9, 40)}, 1, bad);
  r.update_batch(m.fd, {u32(3)}, {value(5, 9, 50)}, 1);
  r.batch_walk(m.fd, 3, 4, kValueSize, lock);
  r.batch_walk(m.fd, 4, 4, kValueSize);
  r.lookup_batch(m.fd, std::nullopt, 4, 4, kValueSize, bad);
  r.batch_walk(m.fd, 4, 4, kValueSize, lock, true);
  r.delete_batch(m.fd, {u32(0)}, 1, lock);
  r.close(m.fd);
  r.close(m.btf);
}

SCENARIO("ARRAY", "prog", "spin_lock_counter") {
  for (uint32_t type : {BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_HASH}) {
    const LockedMap m = create_locked(r, type, 4);
    if (m.fd < 0) continue;
    r.update(m.fd, u32(0), value(100, 0, 1000));
    run(r, BPF_PROG_TYPE_XDP, increment_prog(m.fd), 5, "xdp increment x5");
    r.lookup(m.fd, u32(0));
    run(r, BPF_PROG_TYPE_SCHED_CLS, increment_prog(m.fd), 3, "tc increment x3");
    r.lookup(m.fd, u32(0), BPF_F_LOCK);
    // A program's update of a locked value: plain, then under the lock.
    run(r, BPF_PROG_TYPE_XDP, update_prog(m.fd, BPF_ANY), 1, "update from a program");
    r.lookup(m.fd, u32(0));
    r.update(m.fd, u32(0), value(1, 0, 2));
    run(r, BPF_PROG_TYPE_XDP, update_prog(m.fd, BPF_F_LOCK), 1, "update from a program with BPF_F_LOCK");
    r.lookup(m.fd, u32(0));
    r.close(m.fd);
    r.close(m.btf);
  }
}

SCENARIO("ARRAY", "prog", "spin_lock_program_types") {
  // Socket filters and tracing programs may not use a map whose values hold a lock.
  const LockedMap m = create_locked(r, BPF_MAP_TYPE_ARRAY, 4);
  if (m.fd < 0) return;
  std::vector<bpf_insn> p;
  lookup_key0(p, m.fd);
  p.push_back(mov(BPF_REG_0, 0));
  p.push_back(exit_insn());
  for (uint32_t type : {BPF_PROG_TYPE_SOCKET_FILTER, BPF_PROG_TYPE_KPROBE, BPF_PROG_TYPE_SCHED_CLS,
                        BPF_PROG_TYPE_SCHED_ACT, BPF_PROG_TYPE_TRACEPOINT, BPF_PROG_TYPE_XDP,
                        BPF_PROG_TYPE_PERF_EVENT, BPF_PROG_TYPE_CGROUP_SKB, BPF_PROG_TYPE_RAW_TRACEPOINT}) {
    const int prog = r.load_program(type, p, "load type " + std::to_string(type));
    if (prog >= 0) r.close(prog);
  }
  r.close(m.fd);
  r.close(m.btf);
}

}  // namespace bpfemu::conformance
