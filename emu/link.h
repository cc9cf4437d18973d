// Link objects: what attaching a program makes. A link holds its program; an
// attached program never runs by itself here -- a test fires the hook it is
// attached to (bpfemu_raw_tracepoint_fire) and every program linked there runs.
//
// The kinds emulated: raw tracepoints (BPF_RAW_TRACEPOINT_OPEN; the
// tracepoint must exist in the running kernel's BTF, a btf_trace_<name>
// typedef, when that BTF can be read, as the kernel requires it to exist),
// cgroup links (BPF_LINK_CREATE with a cgroup attach type, emu/prog_attach.h),
// XDP links (BPF_LINK_CREATE with BPF_XDP on a network device of this host,
// one per device, as libbpf's bpf_program__attach_xdp makes them; detach and
// update as the kernel's), perf links (BPF_LINK_CREATE with BPF_PERF_EVENT on
// an emulated tracepoint event, emu/perf_event.h), and the links of tracing
// programs (fentry/fexit/fmod_ret and LSM: a tracing link to their function;
// tp_btf: a raw tracepoint link), made by BPF_LINK_CREATE or
// BPF_RAW_TRACEPOINT_OPEN, and kprobe.multi and uprobe.multi links
// (BPF_LINK_CREATE with BPF_TRACE_KPROBE_MULTI / BPF_TRACE_UPROBE_MULTI: many
// functions, or offsets of one file, each with a cookie; emu/link_multi.cc),
// and iterator links (BPF_TRACE_ITER, emu/iter.h).
#pragma once

#include <cstdint>
#include <vector>

#include "core/object.h"

namespace bpfemu::emu {

class Store;
class Firing;

inline constexpr uint32_t kLinkTypeTcx = 11;  // BPF_LINK_TYPE_TCX (past the 6.1 uapi header)

struct LinkHeader {
  ObjHeader obj;
  uint32_t type;  // BPF_LINK_TYPE_*
  uint32_t prog_id;
  uint32_t prog_type;
  uint32_t ifindex;  // XDP and tcx links: the device (0 once detached)
  uint64_t cookie;
  char tp_name[128];       // raw tracepoints: the tracepoint's name
  uint32_t perf_event_id;  // perf links: the event (held), whose program the link attached
  uint32_t attach_type;    // tracing links: BPF_TRACE_FENTRY/FEXIT, BPF_MODIFY_RETURN or BPF_LSM_MAC
  uint32_t target_btf_id;  // tracing links: the function's id in the kernel's BTF
  uint32_t iter_map_id;  // iterator links (tp_name: the target): bpf_map_elem's map (held), else 0
  uint64_t cgroup_id;  // cgroup links: the cgroup (0 once detached); attach_type says the hook
  // kprobe.multi and uprobe.multi links: how many functions or offsets, the
  // link's BPF_F_*_MULTI_RETURN flag, and for uprobes the file (as the
  // kernel holds it: device and inode; its path at attach) and the process
  // (0: every one). The entries (KprobeMultiEntry or UprobeMultiEntry, then
  // the path) sit at the start of the link's region, before this header.
  uint32_t multi_cnt;
  uint32_t multi_flags;
  int32_t multi_pid;
  uint32_t multi_path_len;
  uint64_t multi_dev;
  uint64_t multi_ino;
  uint64_t multi_created_ns;  // CLOCK_MONOTONIC at attach (probes of one place run newest first)
};

inline constexpr uint32_t kLinkTypeKprobeMulti = 8;   // BPF_LINK_TYPE_KPROBE_MULTI
inline constexpr uint32_t kLinkTypeUprobeMulti = 12;  // BPF_LINK_TYPE_UPROBE_MULTI (6.6+)

struct KprobeMultiEntry {
  uint64_t addr;  // the function's kallsyms address
  uint64_t cookie;
};
struct UprobeMultiEntry {
  uint64_t offset;
  uint64_t ref_ctr_offset;
  uint64_t cookie;
};

class alignas(64) Link final : public Object {
 public:
  explicit Link(Region&& region)
      : Object(ObjKind::kLink, std::move(region)),
        hdr_(this->region().at<LinkHeader>(this->region().size() - kHeaderPage)) {}
  const LinkHeader& header() const { return *hdr_; }
  // What precedes the header: a multi link's entries.
  const uint8_t* data() const { return this->region().template at<uint8_t>(0); }

 private:
  LinkHeader* hdr_;
};

// BPF_RAW_TRACEPOINT_OPEN: a link fd or -errno.
int sys_raw_tracepoint_open(const char* uname, uint32_t prog_fd, uint64_t cookie);
// BPF_LINK_CREATE: prog_fd, target_fd or ifindex, attach_type, flags, and
// the attach type's own fields, the attr's words at 16 and 24 (cgroup and
// tcx links: relative_fd/id, expected_revision; perf links: bpf_cookie at 16;
// tracing links: cookie at 24). A link fd or -errno.
// attr: the whole link_create attr (its bytes from offset 0), for the attach
// types whose fields do not fit those two words (kprobe.multi, uprobe.multi);
// nullptr where the caller has none.
int sys_link_create(uint32_t prog_fd, uint32_t target, uint32_t attach_type, uint32_t flags, uint64_t at16 = 0,
                    uint64_t at24 = 0, const uint8_t* attr = nullptr);
// BPF_LINK_UPDATE and BPF_LINK_DETACH: 0 or -errno.
int sys_link_update(uint32_t link_fd, uint32_t new_prog_fd, uint32_t flags, uint32_t old_prog_fd);
int sys_link_detach(uint32_t link_fd);
// BPF_OBJ_GET_INFO_BY_FD on a link (struct bpf_link_info).
int link_get_info(const Link& link, void* uinfo, uint32_t* info_len);
// fdinfo lines of a link.
int link_fdinfo(const Link& link, char* buf, int size);
// Calls function `func` with its nargs u64 arguments as BPF programs see it
// (emu/trampoline.h: kprobes, fentry, fmod_ret and LSM programs, fexit,
// kretprobes), `ret` being what the function itself returns, on CPU cpu (-1:
// the calling thread's): how many programs ran, or -errno. *result, when
// given: what the caller gets back (ret, or what an fmod_ret or LSM program
// made it).
int fire_function(const char* func, const uint64_t* args, uint32_t nargs, uint64_t ret, int cpu,
                  uint64_t* result = nullptr);
// Whether a uprobe.multi link has a probe at offset of the file with another
// ref_ctr_offset (emu/probe_event.h's uprobe_ref_ctr_taken asks the events too).
bool uprobe_multi_ref_ctr_taken(Store& store, uint64_t dev, uint64_t ino, uint64_t offset, uint64_t ref_ctr);
// Runs the programs of kprobe.multi links on `func` (ret_phase: the
// kretprobe.multi ones) with regs (a struct pt_regs) and each function's
// cookie, newest link first: 0 or -errno when one faulted.
int fire_kprobe_multi(Firing& fire, const char* func, void* regs, uint32_t regs_size, bool ret_phase);
// One program to run at a uprobe's place: an event's or a uprobe.multi
// link's entry, with when it was attached.
struct UprobeConsumer {
  uint64_t created_ns;
  uint32_t prog_id;
  uint64_t cookie;
};
// Appends the entries of uprobe.multi links (entry or return ones) at offset
// of the file (device, inode) for this process to *out.
void uprobe_multi_consumers(Firing& fire, uint64_t dev, uint64_t ino, uint64_t offset, bool ret_phase,
                            std::vector<UprobeConsumer>* out);
// Runs every program linked to raw tracepoint `name` with the nargs u64
// arguments, on CPU cpu (-1: the calling thread's): how many ran, or -errno.
int fire_raw_tracepoint(const char* name, const uint64_t* args, uint32_t nargs, int cpu);

}  // namespace bpfemu::emu
