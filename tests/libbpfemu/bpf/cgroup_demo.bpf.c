// Cgroup programs as a daemon would attach them with libbpf: a cgroup_skb
// program (bpf_program__attach_cgroup, a cgroup link) and a cgroup/sock_create
// program (bpf_prog_attach_opts). They count what they see in global data.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

__u64 packets;
__u64 sockets;

SEC("cgroup_skb/ingress")
int count_ingress(struct __sk_buff *skb) {
  __sync_fetch_and_add(&packets, 1);
  return 1;
}

SEC("cgroup/sock_create")
int count_sockets(struct bpf_sock *sk) {
  __sync_fetch_and_add(&sockets, 1);
  return 1;
}

char LICENSE[] SEC("license") = "GPL";
