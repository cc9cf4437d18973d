#include "conformance/helper_probe.h"

#include <linux/bpf.h>

#include <cstring>
#include <vector>

namespace bpfemu::conformance {

bool helper_probe_informative(uint32_t prog_type) {
  switch (prog_type) {
    case BPF_PROG_TYPE_LIRC_MODE2:   // loads only with an attach target device
    case BPF_PROG_TYPE_TRACING:      // these need a BTF attach target
    case BPF_PROG_TYPE_STRUCT_OPS:
    case BPF_PROG_TYPE_EXT:
    case BPF_PROG_TYPE_LSM:
    case 32:                         // BPF_PROG_TYPE_NETFILTER: needs its attach type
      return false;
    default:
      return prog_type >= BPF_PROG_TYPE_SOCKET_FILTER && prog_type <= BPF_PROG_TYPE_SYSCALL;
  }
}

std::string helper_classes(Backend& b, uint32_t prog_type, uint32_t max_helper) {
  std::string out;
  std::vector<char> log(65536);
  for (uint32_t h = 1; h <= max_helper; ++h) {
    const bpf_insn insns[] = {{BPF_JMP | BPF_CALL, 0, 0, 0, static_cast<int32_t>(h)},
                              {BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0},
                              {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}};
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.prog_type = prog_type;
    a.insns = reinterpret_cast<uintptr_t>(insns);
    a.insn_cnt = 3;
    a.license = reinterpret_cast<uintptr_t>("GPL");
    a.log_buf = reinterpret_cast<uintptr_t>(log.data());
    a.log_size = static_cast<uint32_t>(log.size());
    a.log_level = 1;
    // What libbpf's probe sets (probe_prog_load) so that these types load at all.
    if (prog_type == BPF_PROG_TYPE_CGROUP_SOCKOPT) a.expected_attach_type = BPF_CGROUP_GETSOCKOPT;
    if (prog_type == BPF_PROG_TYPE_SK_LOOKUP) a.expected_attach_type = BPF_SK_LOOKUP;
    if (prog_type == BPF_PROG_TYPE_CGROUP_SOCK_ADDR) a.expected_attach_type = BPF_CGROUP_INET4_CONNECT;
    if (prog_type == BPF_PROG_TYPE_SYSCALL) a.prog_flags = BPF_F_SLEEPABLE;
    log[0] = '\0';
    const long fd = b.bpf(BPF_PROG_LOAD, &a, sizeof(a));
    if (fd >= 0) b.close(static_cast<int>(fd));
    const bool unknown = fd < 0 && (strstr(log.data(), "unknown func ") || strstr(log.data(), "invalid func ") ||
                                     strstr(log.data(), "cannot use helper "));
    out += unknown ? 'u' : 'o';
  }
  return out;
}

}  // namespace bpfemu::conformance
