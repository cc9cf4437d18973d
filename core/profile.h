// Kernel-version profiles: which behaviours of the emulated kernel follow which
// real kernel. Each field is a behaviour that really differs between versions and
// was checked against that kernel; "host" resolves to the profile of the running
// kernel's version.
#pragma once

#include <cstdint>

#include "bpfemu/controls.h"
#include <string>
#include <string_view>

namespace bpfemu {

// sizeof the kernel structures map_mem_usage counts. They depend on the kernel's
// build (config, backports), not only its version: see struct_sizes().
struct KernelStructSizes {
  unsigned bpf_array, bpf_htab, htab_elem, bpf_queue_stack, bpf_bloom_filter, bpf_ringbuf_map, bpf_stack_map,
      stack_map_bucket;
};

struct KernelProfile {
  const char* name;  // "6.1", "6.18", ...
  int major;
  int minor;
  // A second BPF_MAP_FREEZE answers EPERM (permission check first) from 6.x on,
  // EBUSY on 6.1.
  bool refreeze_eperm;
  // LRU local free target scales with max_entries / nr_cpus (6.15+) instead of a
  // fixed 128.
  bool lru_scaled_target_free;
  // bpf_map_info and bpf_link_info sizes the kernel copies out.
  unsigned map_info_size;
  unsigned link_info_size;
  // BPF_OBJ_GET_INFO_BY_FD starts from the caller's bpf_map_info (copy_from_user,
  // needed for the 6.18 map hash), so fields the kernel does not set for this map
  // (ifindex, netns, BTF ids, ...) come back as given. 6.1 starts from zeros.
  // Checked: 6.1.0-56-cloud-amd64 in the VM runner, 6.18 on the host.
  bool map_info_echoes_input;
  // sizeof(struct lpm_trie_node) in the kernel: 40 on 6.1 (with an rcu_head),
  // 24 once the trie moved to bpf_mem_alloc. LPM_TRIE value_size may be at most
  // KMALLOC_MAX_SIZE (4 MiB) - 256 - this, else EINVAL (6.1: 4194008, 6.18: 4194024).
  unsigned lpm_node_size;
  // Program side: the map ops behind bpf_map_update_elem / _delete_elem /
  // bpf_for_each_map_elem return int before 6.4 ("bpf: return long from
  // bpf_map_ops funcs"); the JIT (on by default) calls them directly, so a program
  // sees a negative errno zero-extended: -EEXIST reads as 4294967279 in a 64-bit
  // register. Checked on 6.1.0-56-cloud-amd64 (JIT on) through BPF_PROG_TEST_RUN.
  bool prog_map_ops_ret_u32;
  // Program side: a new per-CPU hash element (PERCPU_HASH, LRU_PERCPU_HASH)
  // gets round_up(value_size, 8) zero bytes on the other CPUs (6.1), or only
  // value_size bytes (6.18: padding keeps what the reused element held).
  // Checked with the random differential runner on both kernels. (6.1 also
  // copies round_up(value_size, 8) bytes from the program's value buffer into the
  // current CPU's slot, so that slot's padding holds whatever the program's stack
  // held past the value: not reproducible, and left as stale bytes here.)
  bool prog_percpu_init_zeroes_padding;
  // What fdinfo reports as memlock (and bpftool prints): before 6.4 an
  // estimate from the attributes (bpf_map_memory_footprint: max_entries times
  // key and value size rounded to 8, page-aligned); from 6.4 on each family's
  // map_mem_usage, which counts the kernel's own structures (sizes below).
  bool memlock_is_footprint;
  // The verifier log's attributes (BTF_LOAD, PROG_LOAD): before 6.4 any of
  // level, buffer or size asks for all three, with at least 128 bytes; from
  // 6.4 a level alone (no buffer) is fine and there is no minimum size.
  bool log_needs_buffer;
  // mmap() with PROT_EXEC of a map fd: EPERM once BPF files moved to a noexec
  // filesystem (6.18); 6.1 maps it. Checked on both kernels (conformance mmap rows).
  bool mmap_exec_eperm;
  // A perf link's info fills its perf_event part (type, the tracepoint's name)
  // from 6.6 on; 6.1 has no fill_link_info for it, so those bytes come back as
  // the caller gave them. Checked on both kernels (conformance link rows).
  bool perf_link_info;
  // Special fields of map values (bpf_spin_lock) as the btf_record code finds
  // and checks them (6.18): in nested structs and one-element arrays too;
  // EOPNOTSUPP for map types that cannot hold one; BPF_F_RDONLY_PROG and
  // BPF_F_WRONLY_PROG both EACCES; BTF_LOAD checks the structs that hold a
  // lock; such maps cannot be frozen (ENOTSUPP). 6.1 takes a lock only as a
  // direct member of the value struct (or a global variable), answers ENOTSUPP
  // for the map types, refuses only BPF_F_RDONLY_PROG, checks nothing at
  // BTF_LOAD and freezes such maps. Checked on 6.1.0-57-cloud-amd64 in the VM
  // runner and on 6.18 (conformance spin_lock scenarios). Of the other fields
  // 6.1 knows timers and kptrs (tags kptr = unreferenced and kptr_ref, to
  // kernel structs only, in HASH, LRU_HASH, ARRAY and PERCPU_ARRAY; a map holding either
  // cannot be frozen); bpf_wq, bpf_refcount and list/rbtree roots are plain
  // structs there (conformance scenarios_btf_fields.cc on both kernels).
  bool btf_record_fields;
  // A sleepable program may use QUEUE and STACK maps (6.18); 6.1 refuses them
  // (EINVAL) like any map without kSleepable. Checked on both kernels
  // (COMMON/prog/sleepable_program_maps).
  bool sleepable_queue_stack;
  // A program's tag (bpf_prog_info.tag, fdinfo prog_tag) is the first 8 bytes
  // of the SHA-256 of its instructions, map fds in ld_imm64 zeroed (6.18); of
  // their SHA-1 on 6.1 (bpf_prog_calc_tag). Checked on both kernels
  // (COMMON/prog/program_tag, link fdinfo rows; 6.1 in the VM runner).
  bool prog_tag_sha256;
  // XDP test runs with an xdp_md: the most metadata (xdp_md.data) there may be
  // before the packet, in u32 steps. 6.18 allows all of the headroom but the
  // xdp_frame (256 - 40); 6.1 allows 32 bytes.
  uint32_t xdp_test_meta_max;
  // bpf_xdp_adjust_meta's bound on the metadata it leaves (the kernel's
  // xdp_metalen_invalid): 32 bytes on 6.1; on 6.18 the most a u8
  // skb_shared_info.meta_len holds, 255, so in practice the headroom decides.
  // Checked on 6.18 (host) and 6.1 (VM runner; COMMON/prog/xdp_md_context_and_metadata).
  uint32_t xdp_meta_max;
  // The structure sizes of this version as one build had them (read from its
  // BTF); struct_sizes() prefers the running kernel's own.
  KernelStructSizes sizes;
  // bpf_csum_diff folds its result to 16 bits and takes any sizes (6.12+,
  // "bpf: Fix bpf_csum_diff's return value"); 6.1 returns the 32-bit partial
  // sum and wants multiples of 4 bytes, 512 in all. Checked on 6.18 (host) and
  // 6.1.0-57 (VM runner; conformance COMMON/prog/skb_rewrite_helpers).
  bool csum_diff_folds;
  // bpf_skb_adjust_room takes BPF_F_ADJ_ROOM_DECAP_L3_IPV4/IPV6 (6.3+); 6.1
  // refuses them as unknown flags (conformance COMMON/prog/skb_resize_helpers).
  bool adjust_room_decap;
  // Attach types the kernel knows (__MAX_BPF_ATTACH_TYPE): 44 on 6.1 (up to
  // BPF_LSM_CGROUP), 58 on 6.18 (tcx, the cgroup/unix hooks, netkit, ...).
  uint32_t attach_type_count;
  // Cgroup attachments as the mprog API orders them (6.16+): BPF_F_BEFORE,
  // BPF_F_AFTER, BPF_F_ID with a relative program, BPF_F_PREORDER, a
  // revision per cgroup and attach type (query.revision, expected_revision
  // -> ESTALE), and those flags on cgroup links. 6.1 takes only
  // BPF_F_ALLOW_OVERRIDE, BPF_F_ALLOW_MULTI and BPF_F_REPLACE, and no flags
  // on cgroup links. Checked on 6.18 (conformance COMMON/attach rows).
  bool cgroup_mprog;
  // Popping the accelerated VLAN tag clears all of it (skb->vlan_all, 6.2+);
  // 6.1 clears only its present bit, so __sk_buff.vlan_tci and vlan_proto
  // keep the old tag (conformance COMMON/prog/skb_resize_helpers, VM runner).
  bool vlan_clear_zeroes_tag;
  // bpf_skb_vlan_push moving a tag into the packet moves the network header
  // back with the frame's start (its offset stays), 6.18; 6.1 leaves it where
  // it was, 4 bytes further in (conformance COMMON/prog/skb_resize_helpers).
  bool vlan_push_moves_network_header;
  // The kernel's NR_CPUS (its build's CONFIG_NR_CPUS): a CPUMAP may have at
  // most this many entries (E2BIG). 256 on the host's 6.18 build; 8192 in
  // Debian's 6.1 (6.1.0-57-cloud-amd64 in the VM runner). Checked on both
  // (conformance CPUMAP/create/rules).
  uint32_t nr_cpus_config;
  // BPF_PROG_TEST_RUN of an fentry/fexit program calls bpf_fentry_test1 ..
  // bpf_fentry_test<N> (net/bpf/test_run.c): 10 on 6.18 (test9 and test10
  // came later than 6.1), 8 on 6.1.
  uint32_t fentry_test_funcs;
  // ... and of an fmod_ret program calls bpf_modify_return_test2 after
  // bpf_modify_return_test (6.18; 6.1 calls only the first).
  bool modify_return_test2;
  // LSM programs: some hooks are refused (bpf_lsm_disabled_hooks: 6.2, and
  // Debian's 6.1 has it backported: vm_enough_memory and getprocattr are
  // refused in the VM runner), and the verifier holds a program's return
  // value to the hook's range (0 or -errno, 0/1 for the boolean hooks; 6.10+,
  // not 6.1).
  bool lsm_disabled_hooks;
  bool lsm_retval_range;
  // BPF_MAP_LOOKUP_AND_DELETE_ELEM on a STACK_TRACE map takes the stack out
  // (6.18); older kernels answer ENOTSUPP (conformance STACK_TRACE/*).
  bool stackmap_lookup_and_delete;
  // fmod_ret and sleepable fentry/fexit targets: 6.18 has the fmodret kfunc
  // set of net/bpf/test_run.c (bpf_modify_return_test.., bpf_fentry_test1,
  // which is also sleepable); Debian's 6.1 takes fmod_ret on security_*
  // functions only, and no sleepable fentry on the test functions (checked in
  // the VM runner: COMMON/tracing/fmod_ret).
  bool fmodret_set;
  // An LSM program loads with any expected_attach_type on 6.18 (the hook
  // comes from its BTF id); 6.1 takes only BPF_LSM_MAC and BPF_LSM_CGROUP
  // (COMMON/tracing/lsm in the VM runner).
  bool lsm_any_attach_type;

  // Whether this kernel knows the map type (core/map_types.def's first versions).
  bool has_map_type(uint32_t type) const;
};

// The structure sizes for maps of profile p: the running kernel's, read from its
// BTF, when p is the host's profile and that BTF is readable; else p.sizes.
KernelStructSizes struct_sizes(const KernelProfile& p);

// bpf_vlog_init's rules for a verifier log's attributes on this kernel:
// true when they are acceptable.
bool log_attrs_valid(const KernelProfile& p, const void* buf, uint32_t size, uint32_t level);

// The active profile for maps created from now on (process-wide).
const KernelProfile& active_profile();
// Looks up a profile by name; nullptr if unknown.
const KernelProfile* find_profile(std::string_view name);
// The profile that matches a kernel release string such as "6.18.44-fc".
const KernelProfile& profile_for_release(std::string_view release);

}  // namespace bpfemu
