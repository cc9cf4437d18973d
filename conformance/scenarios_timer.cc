// Values with a struct bpf_timer: which map types and flags take them, where
// the kernel finds a timer in a BTF type (and which layouts it refuses), and
// what syscalls show of it (a lookup reads zero bytes, an update of 0xab bytes
// does not reach it); the helpers' synchronous answers (bpf/prog_timer.bpf.c).
// Timers firing on the emulated clock: tests/timer_test.cc.
#include <cstring>
#include <string>
#include <vector>

#include "conformance/btf_builder.h"
#include "conformance/scenario.h"

namespace bpfemu::conformance {
namespace {

int create_typed(Recorder& r, int btf, uint32_t type, uint32_t ks, uint32_t vs, uint32_t max, int key, int value,
                 uint32_t flags = 0) {
  MapCreateOpts o;
  o.btf_fd = static_cast<uint32_t>(btf);
  o.btf_key_type_id = static_cast<uint32_t>(key);
  o.btf_value_type_id = static_cast<uint32_t>(value);
  o.map_flags = flags;
  return r.create_opts(type, "timers", ks, vs, max, o);
}

// Creates the map and, when that works, writes 0xab bytes and reads them
// back (the timer's 16 bytes come back zero), updates again, deletes.
void probe_value(Recorder& r, int btf, uint32_t type, uint32_t vs, int key, int value, uint32_t flags = 0) {
  const int fd = create_typed(r, btf, type, 4, vs, 4, key, value, flags);
  if (fd < 0) return;
  r.update(fd, u32(0), fill(vs, 0xab));
  r.lookup(fd, u32(0));
  r.update(fd, u32(0), fill(vs, 0xcd));
  r.lookup(fd, u32(0));
  r.lookup(fd, u32(0), BPF_F_LOCK);  // no lock: EINVAL
  r.remove(fd, u32(0));
  r.close(fd);
}

}  // namespace

SCENARIO("HASH", "create", "timer_map_types") {
  BtfBuilder b;
  const int timer = b.add_struct("bpf_timer", 16, {{b.u64, 0}, {b.u64, 8}});
  const int value = b.add_struct("value", 24, {{b.u64, 0}, {timer, 8}});
  const int btf = load_btf(r, b.blob(), "btf_load");
  if (btf < 0) return;
  for (uint32_t type : {BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_PERCPU_HASH,
                        BPF_MAP_TYPE_PERCPU_ARRAY, BPF_MAP_TYPE_LRU_PERCPU_HASH}) {
    r.note("map type", type);
    probe_value(r, btf, type, 24, b.u32, value);
  }
  for (uint32_t flags : {uint32_t{BPF_F_NO_PREALLOC}, uint32_t{BPF_F_RDONLY_PROG}, uint32_t{BPF_F_WRONLY_PROG},
                         uint32_t{BPF_F_RDONLY}, uint32_t{BPF_F_ZERO_SEED}}) {
    r.note("hash flags", flags);
    probe_value(r, btf, BPF_MAP_TYPE_HASH, 24, b.u32, value, flags);
  }
  r.note("array flags", BPF_F_RDONLY_PROG);
  probe_value(r, btf, BPF_MAP_TYPE_ARRAY, 24, b.u32, value, BPF_F_RDONLY_PROG);
  for (uint32_t type : {BPF_MAP_TYPE_QUEUE, BPF_MAP_TYPE_STACK}) {
    const int fd = create_typed(r, btf, type, 0, 24, 4, 0, value);
    if (fd >= 0) r.close(fd);
  }
  r.close(btf);
}

SCENARIO("HASH", "create", "timer_value_types") {
  BtfBuilder b;
  struct Case {
    const char* what;
    int type;
    uint32_t size;
  };
  const int timer = b.add_struct("bpf_timer", 16, {{b.u64, 0}, {b.u64, 8}});
  const int in = b.add_struct("in", 24, {{b.u64, 0}, {timer, 8}});
  const std::vector<Case> cases = {
      {"timer first", b.add_struct("v1", 24, {{timer, 0}, {b.u64, 16}}), 24},
      {"timer at 8", b.add_struct("v2", 24, {{b.u64, 0}, {timer, 8}}), 24},
      {"timer at 4 (misaligned)", b.add_struct("v3", 24, {{b.u32, 0}, {timer, 4}}), 24},
      {"two timers", b.add_struct("v4", 32, {{timer, 0}, {timer, 16}}), 32},
      {"timer in a nested struct", b.add_struct("v5", 32, {{b.u64, 0}, {in, 8}}), 32},
      {"timer[1]", b.add_struct("v6", 24, {{b.u64, 0}, {b.array(timer, 1), 8}}), 24},
      {"timer[2]", b.add_struct("v7", 40, {{b.u64, 0}, {b.array(timer, 2), 8}}), 40},
      {"struct[2] with a timer", b.add_struct("v8", 48, {{b.array(in, 2), 0}}), 48},
      {"timer and a lock", b.add_struct("v9", 24, {{b.lock, 0}, {b.u32, 4}, {timer, 8}}), 24},
      {"the timer itself", timer, 16},
  };
  const int btf = load_btf(r, b.blob(), "btf_load");
  if (btf < 0) return;
  for (const Case& c : cases) {
    r.note(std::string("value: ") + c.what, c.size);
    probe_value(r, btf, BPF_MAP_TYPE_HASH, c.size, b.u32, c.type);
    probe_value(r, btf, BPF_MAP_TYPE_ARRAY, c.size, b.u32, c.type);
  }
  r.close(btf);
}

SCENARIO("HASH", "prog", "timer_helper_codes") {
  // init, set_callback, start and cancel in each state a timer goes through
  // (bpf/prog_timer.bpf.c lists them); the kernel's timers fire on real time,
  // so only the answers are compared, with timers an hour ahead.
  r.prog_timer_codes();
}

}  // namespace bpfemu::conformance
