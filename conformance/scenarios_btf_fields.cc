// Values with the special fields other than bpf_spin_lock and bpf_timer:
// kptrs (the kptr, kptr_untrusted, percpu_kptr and uptr type tags), bpf_wq,
// bpf_list_head / bpf_rb_root (with their "contains:" decl tags) and the
// nodes they hold, bpf_refcount. For each layout: whether BPF_BTF_LOAD takes
// the BTF (it checks the structs that hold such fields), which map types take
// the value, and what syscalls show of the fields (a lookup reads them as
// zero, an update of 0xab bytes does not reach them, freezing). Each case gets its own
// BTF object, since one bad struct fails the whole BTF_LOAD.
#include <algorithm>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "conformance/btf_builder.h"
#include "conformance/scenario.h"

namespace bpfemu::conformance {
namespace {

constexpr uint32_t kKeyedTypes[] = {BPF_MAP_TYPE_HASH,     BPF_MAP_TYPE_PERCPU_HASH,     BPF_MAP_TYPE_LRU_HASH,
                                    BPF_MAP_TYPE_LRU_PERCPU_HASH, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_PERCPU_ARRAY};

// A value layout: its type id in b and its size.
struct Value {
  int type;
  uint32_t size;
};
using Layout = std::function<Value(BtfBuilder&)>;

// Bytes of a value a row cannot compare: an empty bpf_list_head reads back,
// on the kernel, as two pointers to itself (kernel addresses); the emulator
// reads it as zero.
struct Hidden {
  uint32_t off = 0, len = 0;
};

// A lookup, recorded with the hidden bytes blanked (of the first CPU's value
// for per-CPU maps; `sys` is the whole buffer a lookup fills).
void lookup_hiding(Recorder& r, int fd, uint32_t vs, size_t sys, Hidden h, uint64_t flags = 0) {
  if (h.len == 0) {
    r.lookup(fd, u32(1), flags);
    return;
  }
  Bytes out(std::max<size_t>(sys, vs), 0xaa);
  const Bytes key = u32(1);
  const int ret = r.backend().map_lookup_elem_flags(fd, key.data(), out.data(), flags);
  r.note("lookup with the list head hidden", ret);
  for (uint32_t i = 0; i < vs; i += 4) {
    uint32_t word = 0;
    if (i + 4 <= h.off || i >= h.off + h.len) memcpy(&word, out.data() + i, 4);
    r.note("word", word);
  }
}

// Writes 0xab bytes, reads them back, writes 0xcd bytes, reads, deletes,
// freezes.
void probe_map(Recorder& r, int fd, uint32_t type, uint32_t vs, Hidden h) {
  const size_t sys = r.sys_value_size(type, vs);
  r.update(fd, u32(1), fill(sys, 0xab));
  lookup_hiding(r, fd, vs, sys, h);
  r.update(fd, u32(1), fill(sys, 0xcd));
  lookup_hiding(r, fd, vs, sys, h);
  lookup_hiding(r, fd, vs, sys, h, BPF_F_LOCK);
  r.remove(fd, u32(1));
  lookup_hiding(r, fd, vs, sys, h);
  r.freeze(fd);
}

int create_typed(Recorder& r, int btf, uint32_t type, uint32_t ks, uint32_t vs, int key, int value, uint32_t flags = 0,
                 uint32_t max = 4) {
  MapCreateOpts o;
  o.btf_fd = static_cast<uint32_t>(btf);
  o.btf_key_type_id = static_cast<uint32_t>(key);
  o.btf_value_type_id = static_cast<uint32_t>(value);
  o.map_flags = flags;
  return r.create_opts(type, "fields", ks, vs, max, o);
}

// One layout: its BTF loaded, then a map of each keyed type made of it and
// probed; with `others`, also the keyless types and flags that matter.
void probe_layout(Recorder& r, const char* what, const Layout& layout, bool others = false, Hidden hide = {}) {
  r.note(std::string("layout: ") + what, 0);
  BtfBuilder b;
  const Value v = layout(b);
  const int btf = load_btf(r, b.blob(), "btf_load");
  if (btf < 0) return;
  for (uint32_t type : kKeyedTypes) {
    r.note("map type", type);
    const int fd = create_typed(r, btf, type, 4, v.size, b.u32, v.type);
    if (fd < 0) continue;
    probe_map(r, fd, type, v.size, hide);
    r.close(fd);
  }
  if (others) {
    for (uint32_t type : {BPF_MAP_TYPE_QUEUE, BPF_MAP_TYPE_STACK, BPF_MAP_TYPE_BLOOM_FILTER}) {
      const int fd = create_typed(r, btf, type, 0, v.size, 0, v.type);
      if (fd >= 0) r.close(fd);
    }
    for (uint32_t flags : {uint32_t{BPF_F_RDONLY_PROG}, uint32_t{BPF_F_WRONLY_PROG}, uint32_t{BPF_F_NO_PREALLOC}}) {
      r.note("hash flags", flags);
      const int fd = create_typed(r, btf, BPF_MAP_TYPE_HASH, 4, v.size, b.u32, v.type, flags);
      if (fd >= 0) r.close(fd);
    }
  }
  r.close(btf);
}

// struct v { u64 a; <tag> struct <pointee> *p; } with p at 8.
Layout kptr_value(const char* tag, const char* pointee = "foo") {
  return [tag, pointee](BtfBuilder& b) {
    const int target = b.add_struct(pointee, 8, {{b.u64, 0}});
    const int p = b.ptr_to(b.type_tag(tag, target));
    return Value{b.add_struct("v", 16, {{b.u64, 0}, {p, 8}}), 16};
  };
}

// A struct of name `name` and size `size` (u64 members), as the kernel's.
int special(BtfBuilder& b, const char* name, uint32_t size) {
  if (size == 24) return b.add_struct(name, size, {{b.u64, 0}, {b.u64, 8}, {b.u64, 16}});
  if (size == 32) return b.add_struct(name, size, {{b.u64, 0}, {b.u64, 8}, {b.u64, 16}, {b.u64, 24}});
  if (size == 4) return b.add_struct(name, size, {{b.u32, 0}});
  if (size == 8) return b.add_struct(name, size, {{b.u64, 0}});
  return b.add_struct(name, size, {{b.u64, 0}, {b.u64, 8}});
}

// A graph root: v { bpf_spin_lock m0; <root> m1 at 8 } (no lock: root at 0)
// whose m1 contains `tag` ("contains:node_t:m1"); node_t { u64; <node> m1 at 8 }.
Layout graph_value(const char* root, const char* node, uint32_t node_size, const char* tag, bool lock = true) {
  return [=](BtfBuilder& b) {
    const int r = special(b, root, 16);
    const int n = special(b, node, node_size);
    b.add_struct("node_t", 8 + node_size, {{b.u64, 0}, {n, 8}});
    const int v = lock ? b.add_struct("v", 24, {{b.lock, 0}, {r, 8}}) : b.add_struct("v", 24, {{b.u64, 0}, {r, 8}});
    if (tag != nullptr) b.decl_tag(tag, v, 1);
    return Value{v, 24};
  };
}

}  // namespace

SCENARIO("HASH", "create", "kptr_map_types") {
  for (const char* tag : {"kptr", "kptr_untrusted", "percpu_kptr", "uptr"})
    probe_layout(r, tag, kptr_value(tag), true);
}

SCENARIO("HASH", "create", "kptr_layouts") {
  probe_layout(r, "kptr to a kernel struct (task_struct)", kptr_value("kptr", "task_struct"));
  probe_layout(r, "kptr to a kernel struct without a destructor (file)", kptr_value("kptr", "file"));
  probe_layout(r, "kptr_untrusted to a kernel struct (file)", kptr_value("kptr_untrusted", "file"));
  probe_layout(r, "percpu_kptr to a kernel struct (file)", kptr_value("percpu_kptr", "file"));
  probe_layout(r, "unknown tag", kptr_value("not_a_kptr"));
  probe_layout(r, "kptr at 4 (misaligned)", [](BtfBuilder& b) {
    const int p = b.ptr_to(b.type_tag("kptr", b.add_struct("foo", 8, {{b.u64, 0}})));
    return Value{b.add_struct("v", 16, {{b.u32, 0}, {p, 4}}), 16};
  });
  probe_layout(r, "kptr to an int", [](BtfBuilder& b) {
    const int p = b.ptr_to(b.type_tag("kptr", b.u64));
    return Value{b.add_struct("v", 16, {{b.u64, 0}, {p, 8}}), 16};
  });
  probe_layout(r, "two type tags", [](BtfBuilder& b) {
    const int foo = b.add_struct("foo", 8, {{b.u64, 0}});
    const int p = b.ptr_to(b.type_tag("kptr", b.type_tag("kptr", foo)));
    return Value{b.add_struct("v", 16, {{b.u64, 0}, {p, 8}}), 16};
  });
  probe_layout(r, "volatile kptr", [](BtfBuilder& b) {
    const int p = b.ptr_to(b.type_tag("kptr", b.add_struct("foo", 8, {{b.u64, 0}})));
    return Value{b.add_struct("v", 16, {{b.u64, 0}, {b.volatile_of(p), 8}}), 16};
  });
  probe_layout(r, "kptr[2]", [](BtfBuilder& b) {
    const int p = b.ptr_to(b.type_tag("kptr", b.add_struct("foo", 8, {{b.u64, 0}})));
    return Value{b.add_struct("v", 24, {{b.u64, 0}, {b.array(p, 2), 8}}), 24};
  });
  probe_layout(r, "kptr[11]", [](BtfBuilder& b) {
    const int p = b.ptr_to(b.type_tag("kptr", b.add_struct("foo", 8, {{b.u64, 0}})));
    return Value{b.add_struct("v", 96, {{b.u64, 0}, {b.array(p, 11), 8}}), 96};
  });
  probe_layout(r, "kptr[12]", [](BtfBuilder& b) {
    const int p = b.ptr_to(b.type_tag("kptr", b.add_struct("foo", 8, {{b.u64, 0}})));
    return Value{b.add_struct("v", 104, {{b.u64, 0}, {b.array(p, 12), 8}}), 104};
  });
  probe_layout(r, "kptr in a nested struct, twice (in[2])", [](BtfBuilder& b) {
    const int p = b.ptr_to(b.type_tag("kptr", b.add_struct("foo", 8, {{b.u64, 0}})));
    const int in = b.add_struct("in", 16, {{b.u64, 0}, {p, 8}});
    return Value{b.add_struct("v", 40, {{b.u64, 0}, {b.array(in, 2), 8}}), 40};
  });
  probe_layout(r, "kptr_untrusted in a nested struct beside a lock", [](BtfBuilder& b) {
    const int p = b.ptr_to(b.type_tag("kptr_untrusted", b.add_struct("foo", 8, {{b.u64, 0}})));
    const int in = b.add_struct("in", 16, {{b.u64, 0}, {p, 8}});
    return Value{b.add_struct("v", 24, {{b.lock, 0}, {in, 8}}), 24};
  });
  probe_layout(r, "kptr, a lock and a timer", [](BtfBuilder& b) {
    const int p = b.ptr_to(b.type_tag("kptr", b.add_struct("foo", 8, {{b.u64, 0}})));
    const int timer = special(b, "bpf_timer", 16);
    return Value{b.add_struct("v", 32, {{b.lock, 0}, {p, 8}, {timer, 16}}), 32};
  });
}

SCENARIO("ARRAY", "create", "kptr_global_data") {
  // A .bss holding a kptr: one ARRAY element of a DATASEC, no key type.
  BtfBuilder b;
  const int p = b.ptr_to(b.type_tag("kptr", b.add_struct("foo", 8, {{b.u64, 0}})));
  const int sec = b.datasec(".bss", 16, {{b.u64, 0}, {p, 8}});
  const int btf = load_btf(r, b.blob(), "btf_load");
  if (btf < 0) return;
  const int fd = create_typed(r, btf, BPF_MAP_TYPE_ARRAY, 4, 16, 0, sec, 0, 1);
  if (fd >= 0) {
    r.update(fd, u32(0), fill(16, 0xab));
    r.lookup(fd, u32(0));
    r.freeze(fd);
    r.close(fd);
  }
  r.close(btf);
}

// Global data holding a lock and a list head (libbpf's `private(X)` pattern):
// the "contains:" tag sits on the head's VAR. A bad tag is an error at map
// creation, which drops the whole record: the lock too (BPF_F_LOCK refused).
SCENARIO("ARRAY", "create", "graph_root_global_data") {
  for (const char* tag : {"contains:node_t:m1", "contains:node_t:zz", "contains:node_t:m0"}) {
    r.note(std::string("tag: ") + tag, 0);
    BtfBuilder b;
    const int head = special(b, "bpf_list_head", 16);
    b.add_struct("node_t", 32, {{b.u64, 0}, {special(b, "bpf_list_node", 24), 8}});
    const int sec = b.datasec(".bss.A", 24, {{b.lock, 0}, {head, 8}});
    b.decl_tag(tag, sec - 1, -1);  // the head's VAR, made just before the section
    const int btf = load_btf(r, b.blob(), "btf_load");
    if (btf < 0) continue;
    const int fd = create_typed(r, btf, BPF_MAP_TYPE_ARRAY, 4, 24, 0, sec, 0, 1);
    if (fd >= 0) {
      Bytes v = fill(24, 0xab);
      r.update(fd, u32(0), v, BPF_F_LOCK);
      r.update(fd, u32(0), v, 0);
      Bytes out(24, 0);
      const Bytes key = u32(0);
      const int ret = r.backend().map_lookup_elem_flags(fd, key.data(), out.data(), 0);
      r.note("lookup", ret);
      r.note("lock word", out[0] | out[1] << 8 | out[2] << 16 | uint32_t{out[3]} << 24);
      r.note("head bytes touched by the update", std::count(out.begin() + 8, out.end(), 0xab));
      r.freeze(fd);
      r.close(fd);
    }
    r.close(btf);
  }
}

SCENARIO("HASH", "create", "wq_refcount_layouts") {
  probe_layout(r, "bpf_wq", [](BtfBuilder& b) {
    return Value{b.add_struct("v", 24, {{b.u64, 0}, {special(b, "bpf_wq", 16), 8}}), 24};
  }, true);
  probe_layout(r, "bpf_wq at 4 (misaligned)", [](BtfBuilder& b) {
    return Value{b.add_struct("v", 24, {{b.u32, 0}, {special(b, "bpf_wq", 16), 4}}), 24};
  });
  probe_layout(r, "two bpf_wq", [](BtfBuilder& b) {
    const int wq = special(b, "bpf_wq", 16);
    return Value{b.add_struct("v", 32, {{wq, 0}, {wq, 16}}), 32};
  });
  probe_layout(r, "bpf_wq and bpf_timer", [](BtfBuilder& b) {
    return Value{b.add_struct("v", 32, {{special(b, "bpf_wq", 16), 0}, {special(b, "bpf_timer", 16), 16}}), 32};
  });
  probe_layout(r, "bpf_refcount", [](BtfBuilder& b) {
    return Value{b.add_struct("v", 16, {{b.u64, 0}, {special(b, "bpf_refcount", 4), 8}}), 16};
  }, true);
  probe_layout(r, "two bpf_refcount", [](BtfBuilder& b) {
    const int rc = special(b, "bpf_refcount", 4);
    return Value{b.add_struct("v", 8, {{rc, 0}, {rc, 4}}), 8};
  });
}

SCENARIO("HASH", "create", "graph_layouts") {
  probe_layout(r, "list_head", graph_value("bpf_list_head", "bpf_list_node", 24, "contains:node_t:m1"), true, {8, 16});
  probe_layout(r, "rb_root", graph_value("bpf_rb_root", "bpf_rb_node", 32, "contains:node_t:m1"), true);
  probe_layout(r, "list_head without a lock",
               graph_value("bpf_list_head", "bpf_list_node", 24, "contains:node_t:m1", false));
  probe_layout(r, "list_head without contains:", graph_value("bpf_list_head", "bpf_list_node", 24, nullptr));
  probe_layout(r, "contains: an unknown struct", graph_value("bpf_list_head", "bpf_list_node", 24, "contains:nope:m1"));
  probe_layout(r, "contains: an unknown member", graph_value("bpf_list_head", "bpf_list_node", 24, "contains:node_t:zz"));
  probe_layout(r, "contains: a member that is no node", graph_value("bpf_list_head", "bpf_list_node", 24, "contains:node_t:m0"));
  probe_layout(r, "contains: no member name", graph_value("bpf_list_head", "bpf_list_node", 24, "contains:node_t:"));
  probe_layout(r, "list_head holding rb nodes", graph_value("bpf_list_head", "bpf_rb_node", 32, "contains:node_t:m1"));
  probe_layout(r, "list_head[2]", [](BtfBuilder& b) {
    const int head = special(b, "bpf_list_head", 16);
    b.add_struct("node_t", 32, {{b.u64, 0}, {special(b, "bpf_list_node", 24), 8}});
    const int v = b.add_struct("v", 40, {{b.lock, 0}, {b.array(head, 2), 8}});
    b.decl_tag("contains:node_t:m1", v, 1);
    return Value{v, 40};
  }, false, {8, 32});
  probe_layout(r, "a node struct with list and rb nodes, no refcount", [](BtfBuilder& b) {
    const int root = special(b, "bpf_rb_root", 16);
    b.add_struct("node_t", 56, {{special(b, "bpf_list_node", 24), 0}, {special(b, "bpf_rb_node", 32), 24}});
    const int v = b.add_struct("v", 24, {{b.lock, 0}, {root, 8}});
    b.decl_tag("contains:node_t:m1", v, 1);
    return Value{v, 24};
  });
  probe_layout(r, "a node struct with list and rb nodes and a refcount", [](BtfBuilder& b) {
    const int root = special(b, "bpf_rb_root", 16);
    b.add_struct("node_t", 64, {{special(b, "bpf_list_node", 24), 0}, {special(b, "bpf_rb_node", 32), 24},
                                {special(b, "bpf_refcount", 4), 56}});
    const int v = b.add_struct("v", 24, {{b.lock, 0}, {root, 8}});
    b.decl_tag("contains:node_t:m1", v, 1);
    return Value{v, 24};
  });
  probe_layout(r, "list_node as the value", [](BtfBuilder& b) {
    return Value{b.add_struct("v", 32, {{b.u64, 0}, {special(b, "bpf_list_node", 24), 8}}), 32};
  });
  probe_layout(r, "rb_node as the value", [](BtfBuilder& b) {
    return Value{b.add_struct("v", 40, {{b.u64, 0}, {special(b, "bpf_rb_node", 32), 8}}), 40};
  });
}

// Roots inside a nested struct: the "contains:" tag sits on the inner
// struct's member, and the node it names is checked as for a direct root.
// Also fields that overlap, and a kptr to a union.
SCENARIO("HASH", "create", "nested_roots_overlap_union") {
  // v { u64 m0; in m1 at 8 }, in { bpf_spin_lock m0 (or u64); <root> m1 at 8 }
  // with m1 tagged `tag`; node_t { u64 m0; <node> m1 at 8 }.
  const auto nested = [](const char* root, const char* node, uint32_t node_size, const char* tag, bool lock = true) {
    return [=](BtfBuilder& b) {
      const int rt = special(b, root, 16);
      b.add_struct("node_t", 8 + node_size, {{b.u64, 0}, {special(b, node, node_size), 8}});
      const int in = b.add_struct("in", 24, {{lock ? b.lock : b.u64, 0}, {rt, 8}});
      if (tag != nullptr) b.decl_tag(tag, in, 1);
      return Value{b.add_struct("v", 32, {{b.u64, 0}, {in, 8}}), 32};
    };
  };
  probe_layout(r, "nested list_head", nested("bpf_list_head", "bpf_list_node", 24, "contains:node_t:m1"), true,
               {16, 16});
  probe_layout(r, "nested rb_root", nested("bpf_rb_root", "bpf_rb_node", 32, "contains:node_t:m1"));
  probe_layout(r, "nested list_head, contains: a member that is no node",
               nested("bpf_list_head", "bpf_list_node", 24, "contains:node_t:m0"));
  probe_layout(r, "nested list_head, contains: an unknown member",
               nested("bpf_list_head", "bpf_list_node", 24, "contains:node_t:zz"));
  // The node is checked before the record's "a root needs a lock".
  probe_layout(r, "nested list_head without a lock, contains: an unknown member",
               nested("bpf_list_head", "bpf_list_node", 24, "contains:node_t:zz", false));
  probe_layout(r, "nested list_head without a lock",
               nested("bpf_list_head", "bpf_list_node", 24, "contains:node_t:m1", false));
  probe_layout(r, "nested list_head holding rb nodes", nested("bpf_list_head", "bpf_rb_node", 32, "contains:node_t:m1"));
  probe_layout(r, "nested list_head without contains:", nested("bpf_list_head", "bpf_list_node", 24, nullptr));
  probe_layout(r, "nested list_head, the tag on the outer struct", [](BtfBuilder& b) {
    const int rt = special(b, "bpf_list_head", 16);
    b.add_struct("node_t", 32, {{b.u64, 0}, {special(b, "bpf_list_node", 24), 8}});
    const int in = b.add_struct("in", 24, {{b.u64, 0}, {rt, 8}});
    const int v = b.add_struct("v", 32, {{b.lock, 0}, {in, 8}});
    b.decl_tag("contains:node_t:m1", v, 1);
    return Value{v, 32};
  });
  probe_layout(r, "two kptrs at one offset", [](BtfBuilder& b) {
    const int p = b.ptr_to(b.type_tag("kptr", b.add_struct("foo", 8, {{b.u64, 0}})));
    return Value{b.add_struct("v", 16, {{b.u64, 0}, {p, 8}, {p, 8}}), 16};
  });
  probe_layout(r, "a timer overlapping a nested kptr", [](BtfBuilder& b) {
    const int p = b.ptr_to(b.type_tag("kptr", b.add_struct("foo", 8, {{b.u64, 0}})));
    const int in = b.add_struct("in", 16, {{b.u64, 0}, {p, 8}});
    return Value{b.add_struct("v", 24, {{in, 0}, {special(b, "bpf_timer", 16), 8}}), 24};
  });
  probe_layout(r, "kptr to a union", [](BtfBuilder& b) {
    const int p = b.ptr_to(b.type_tag("kptr", b.add_union("foo", 8, {{b.u64, 0}})));
    return Value{b.add_struct("v", 16, {{b.u64, 0}, {p, 8}}), 16};
  });
  // BTF_LOAD checks a struct with a lock, and refuses it; a timer it does not
  // check, and the error at map creation drops the whole record: the timer too.
  probe_layout(r, "a lock beside a kptr to a union", [](BtfBuilder& b) {
    const int p = b.ptr_to(b.type_tag("kptr", b.add_union("foo", 8, {{b.u64, 0}})));
    return Value{b.add_struct("v", 16, {{b.lock, 0}, {p, 8}}), 16};
  });
  probe_layout(r, "a timer beside a kptr to a union", [](BtfBuilder& b) {
    const int p = b.ptr_to(b.type_tag("kptr", b.add_union("foo", 8, {{b.u64, 0}})));
    return Value{b.add_struct("v", 24, {{special(b, "bpf_timer", 16), 0}, {p, 16}}), 24};
  });
  probe_layout(r, "kptr_untrusted to a union", [](BtfBuilder& b) {
    const int p = b.ptr_to(b.type_tag("kptr_untrusted", b.add_union("foo", 8, {{b.u64, 0}})));
    return Value{b.add_struct("v", 16, {{b.u64, 0}, {p, 8}}), 16};
  });
}

// bpf_res_spin_lock (6.15) and bpf_task_work (6.18): where maps take them, how
// syscalls see them, and with the other lock kind or a graph root.
SCENARIO("HASH", "create", "res_spin_lock_task_work_layouts") {
  probe_layout(
      r, "bpf_res_spin_lock",
      [](BtfBuilder& b) { return Value{b.add_struct("v", 16, {{b.u64, 0}, {special(b, "bpf_res_spin_lock", 4), 8}}), 16}; },
      true);
  probe_layout(r, "bpf_res_spin_lock and bpf_spin_lock", [](BtfBuilder& b) {
    return Value{b.add_struct("v", 16, {{b.lock, 0}, {b.u32, 4}, {special(b, "bpf_res_spin_lock", 4), 8}}), 16};
  });
  probe_layout(
      r, "bpf_task_work",
      [](BtfBuilder& b) { return Value{b.add_struct("v", 16, {{b.u64, 0}, {special(b, "bpf_task_work", 8), 8}}), 16}; },
      true);
  probe_layout(r, "bpf_task_work and bpf_timer", [](BtfBuilder& b) {
    return Value{b.add_struct("v", 24, {{special(b, "bpf_task_work", 8), 0}, {special(b, "bpf_timer", 16), 8}}), 24};
  });
  probe_layout(r, "list_head under a bpf_res_spin_lock", [](BtfBuilder& b) {
    const int root = special(b, "bpf_list_head", 16);
    b.add_struct("node_t", 32, {{b.u64, 0}, {special(b, "bpf_list_node", 24), 8}});
    const int v = b.add_struct("v", 24, {{special(b, "bpf_res_spin_lock", 4), 0}, {root, 8}});
    b.decl_tag("contains:node_t:m1", v, 1);
    return Value{v, 24};
  }, false, {8, 16});
}

}  // namespace bpfemu::conformance
