// Scenarios about objects rather than one map type: fds, ids, pins, info, freeze.
#include "conformance/scenario.h"

namespace bpfemu::conformance {
namespace {
constexpr uint32_t H = BPF_MAP_TYPE_HASH;
constexpr uint32_t A = BPF_MAP_TYPE_ARRAY;
}  // namespace

SCENARIO("COMMON", "create", "unknown_map_types") {
  r.create(0, 4, 8, 4);
  r.create(200, 4, 8, 4);
  r.create(0xFFFFFFFF, 4, 8, 4);
}

SCENARIO("COMMON", "fd", "bad_fds") {
  r.update(-1, u32(0), u64(0));
  r.lookup(-1, u32(0), 0, 8);
  r.remove(12345, u32(0));
  r.next_key(12345, std::nullopt, 4);
  r.freeze(-1);
  r.info(-1);
  r.lookup(0, u32(0), 0, 8);   // stdin: an fd, but not a map
  r.info(0);
  r.lookup(-1, u32(0), 3, 8);  // flags are checked before the fd
  r.remove(-1, u32(0), 1);
  r.remove(-1, u32(0), BPF_F_LOCK);
  r.lookup_and_delete(-1, u32(0), 1, 8);
  r.update(-1, u32(0), u64(0), 77);
}

SCENARIO("COMMON", "info", "fields_and_lengths") {
  int fd = r.create(H, 4, 8, 10, BPF_F_NO_PREALLOC | BPF_F_RDONLY_PROG, "info_map");
  r.info(fd);
  r.info(fd, 8);
  r.info(fd, 0);
  r.info(fd, 200);
  r.info(fd, 8192);
  int ro = r.create(A, 4, 8, 2, BPF_F_RDONLY, "ro");
  r.info(ro);
  // Fields the kernel does not fill for a plain map come back as the caller gave them.
  MapInfo in{};
  in.ifindex = 7;
  in.netns_ino = 9;
  in.btf_key_type_id = 3;
  in.btf_vmlinux_value_type_id = 5;
  in.type = 99;
  uint32_t len = sizeof(in);
  errno = 0;
  int rc = r.backend().obj_get_info_by_fd(fd, &in, &len);
  r.note("info echo ifindex", rc == 0 ? in.ifindex : rc);
  r.note("info echo netns_ino", static_cast<long>(in.netns_ino));
  r.note("info echo btf_key_type_id", in.btf_key_type_id);
  r.note("info btf_vmlinux_value_type_id", in.btf_vmlinux_value_type_id);
  r.note("info type", in.type);
  r.note("info len", len);
}

SCENARIO("COMMON", "create", "name_charset") {
  const char* names[] = {"\xc0x", "\xd7x", "\xf7x", "\xffx", "\x80x", "a:b", "a/b", "A.Z_9"};
  for (const char* n : names) r.create(A, 4, 4, 1, 0, n);
}

SCENARIO("COMMON", "ids", "get_fd_by_id_and_next_id") {
  int fd = r.create(H, 4, 8, 4);
  r.update(fd, u32(1), u64(1));
  int fd2 = r.get_fd_by_id_of(fd);
  r.lookup(fd2, u32(1));
  r.next_id_finds(fd);
  r.close(fd);
  r.lookup(fd2, u32(1));
}

SCENARIO("COMMON", "lifetime", "close_frees_map") {
  int fd = r.create(A, 4, 8, 2);
  MapInfo info{};
  uint32_t len = sizeof(info);
  r.backend().obj_get_info_by_fd(fd, &info, &len);
  r.close(fd);
  errno = 0;
  int again = r.backend().map_get_fd_by_id(info.id);
  r.note("get_fd_by_id after close", again >= 0 ? 1 : again);
  if (again >= 0) r.backend().close(again);
  r.close(fd);
}

SCENARIO("COMMON", "pin", "pin_get_unpin") {
  int fd = r.create(A, 4, 8, 4);
  r.update(fd, u32(1), u64(77));
  std::string p = r.pin_path("arr");
  r.pin(fd, p);
  r.pin(fd, p);
  r.pin(fd, r.pin_path("missing_dir/arr"));
  int g = r.get(p);
  r.lookup(g, u32(1));
  r.update(g, u32(2), u64(78));
  r.lookup(fd, u32(2));
  r.get(r.pin_path("nope"));
  int ro = r.get(p, BPF_F_RDONLY);
  r.update(ro, u32(2), u64(1));
  r.lookup(ro, u32(2));
  r.get(p, BPF_F_RDONLY | BPF_F_WRONLY);
  r.get(p, 1U << 20);
  r.unpin(p);
  r.get(p);
}

SCENARIO("COMMON", "pin", "pinned_map_outlives_fds") {
  int fd = r.create(H, 4, 8, 4);
  r.update(fd, u32(5), u64(55));
  std::string p = r.pin_path("outlive");
  r.pin(fd, p);
  r.close(fd);
  int g = r.get(p);
  r.lookup(g, u32(5));
  r.unpin(p);
  r.lookup(g, u32(5));
}

SCENARIO("COMMON", "freeze", "refreeze_and_writes") {
  int fd = r.create(H, 4, 8, 4);
  r.update(fd, u32(1), u64(1));
  r.freeze(fd);
  r.freeze(fd);
  r.update(fd, u32(2), u64(2));
  r.remove(fd, u32(1));
  r.lookup_and_delete(fd, u32(1));
  r.lookup(fd, u32(1));
  r.delete_batch(fd, {u32(1)}, 1);
  r.lookup_batch(fd, std::nullopt, 4, 4, 8, {}, true);
  int fd2 = r.get_fd_by_id_of(fd);
  r.update(fd2, u32(2), u64(2));
}

SCENARIO("COMMON", "freeze", "freeze_via_rdonly_fd") {
  int fd = r.create(A, 4, 8, 4, BPF_F_RDONLY);
  r.freeze(fd);
  r.freeze(fd);
}

}  // namespace bpfemu::conformance
