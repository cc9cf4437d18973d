// Programs attached with BPF_PROG_ATTACH and links to the same hooks: cgroups
// (kernel/bpf/cgroup.c) and tcx (kernel/bpf/tcx.c on mprog.c). Per cgroup (a
// cgroup v2 directory, known by its inode number, which is the kernel's
// cgroup id) and attach type there is one ordered list of programs and links,
// with the list's flags (BPF_F_ALLOW_OVERRIDE / BPF_F_ALLOW_MULTI) and
// revision; per device and tcx direction another. The lists live in one
// shared file of the store, so every process of the user sees the same
// attachments. An attached program never runs by itself: a test fires it
// (bpfemu_prog_fire). The syscalls' dispatch is emu/prog_attach.cc, the
// table emu/attach_table.{h,cc}, the hooks emu/cgroup_attach.cc and
// emu/tcx_attach.cc.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace bpfemu::emu {

class Program;
class Store;

// The program type attach_type belongs to on the active profile's kernel (0:
// none), as syscall.c's attach_type_to_prog_type.
uint32_t prog_type_of_attach(uint32_t attach_type);
// Whether prog_type attaches to cgroups (is_cgroup_prog_type, LSM aside).
bool is_cgroup_prog_type(uint32_t prog_type);
// bpf_prog_attach_check_attach_type for the program types attached here: 0
// or -EINVAL.
int check_prog_attach_type(const Program& prog, uint32_t attach_type);

// The fields of attr that BPF_PROG_ATTACH and BPF_PROG_DETACH read.
struct ProgAttachAttr {
  uint32_t target_fd;
  uint32_t attach_bpf_fd;
  uint32_t attach_type;
  uint32_t attach_flags;
  uint32_t replace_bpf_fd;
  uint32_t relative;  // relative_fd or, with BPF_F_ID, relative_id
  uint64_t expected_revision;
};
long sys_prog_attach(const ProgAttachAttr& a);
long sys_prog_detach(const ProgAttachAttr& a);
// BPF_PROG_QUERY: attr is the copied union bpf_attr, uattr the caller's (the
// answers are written into it).
long sys_prog_query(void* uattr, const uint8_t* attr);

// A cgroup as the attach code knows it: its id and its ancestors' (nearest
// first), read from a cgroup v2 directory fd.
struct CgroupRef {
  uint64_t id = 0;
  std::vector<uint64_t> ancestors;
  std::string path;  // where this process found it ("" if unknown)
};
// cgroup_get_from_fd: 0, or -EBADF when fd is no cgroup v2 directory.
int cgroup_from_fd(uint32_t fd, CgroupRef* out);
// BPF_LINK_CREATE of a cgroup link, the checks before the link exists
// (flags): 0 or -errno.
int cgroup_link_check_flags(uint32_t flags);
// Adds link link_id (holding prog, of prog_type) to cgroup's list of
// attach_type: 0 or -errno.
int cgroup_link_attach(Store& store, const CgroupRef& cgroup, uint32_t attach_type, uint32_t link_id, uint32_t prog_id,
                       uint32_t prog_type, uint32_t flags, uint32_t relative, uint64_t expected_revision);
// The link's program changed: 0, or -ENOENT when the link is not in the list.
int cgroup_link_replace(Store& store, uint64_t cgroup, uint32_t attach_type, uint32_t link_id, uint32_t new_prog_id);
// Takes the link out of its list (link detach or release).
void cgroup_link_remove(Store& store, uint64_t cgroup, uint32_t attach_type, uint32_t link_id);

// tcx links (BPF_LINK_CREATE with BPF_TCX_INGRESS/EGRESS on a device of this
// host), in the device's list with the programs BPF_PROG_ATTACH put there.
// -ENODEV when ifindex names no device.
int tcx_check_device(uint32_t ifindex);
int tcx_link_attach(Store& store, uint32_t ifindex, uint32_t attach_type, uint32_t link_id, uint32_t prog_id,
                    uint32_t prog_type, uint32_t flags, uint32_t relative, uint64_t expected_revision);
// tcx_link_update's list change: the link's program old_prog_id becomes new_prog_id.
int tcx_link_replace(Store& store, uint32_t ifindex, uint32_t attach_type, uint32_t link_id, uint32_t old_prog_id,
                     uint32_t new_prog_id, uint32_t new_prog_type);
void tcx_link_remove(Store& store, uint32_t ifindex, uint32_t attach_type, uint32_t link_id, uint32_t prog_id);

}  // namespace bpfemu::emu
