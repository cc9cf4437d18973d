// libbpf's BTF-defined map-in-map through bpf_object__load: opens
// prog_map_in_map.bpf.o (conformance/bpf/), whose ARRAY_OF_MAPS and
// HASH_OF_MAPS libbpf creates from an inner map template and fills from
// `.values`, then checks the slots from user space (the ids of inner_a and
// inner_b) and runs its program, which writes through an outer lookup into an
// inner map. Exits 1 when an answer is not the one Linux 6.18 gave.
// Run linked with libbpfemu, under LD_PRELOAD, or plainly on the kernel
// (exit 77 when the kernel refuses bpf()).
//
//   map_in_map_object <prog_map_in_map.bpf.o>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

struct mim_args {
  unsigned outer, op, slot, key;
  unsigned long long value;
  long long ret;
};

static unsigned id_of(int fd) {
  struct bpf_map_info info;
  unsigned len = sizeof(info);
  memset(&info, 0, sizeof(info));
  return bpf_obj_get_info_by_fd(fd, &info, &len) == 0 ? info.id : 0;
}

static int failed;

static void expect(const char* what, long long got, long long want) {
  printf("%s: %lld\n", what, got);
  if (got != want) {
    printf("  expected %lld\n", want);
    failed = 1;
  }
}

static int progs[2];

static long long run(unsigned outer, unsigned op, unsigned slot, unsigned key, unsigned long long* value) {
  struct mim_args a = {outer, op, slot, key, *value, 0};
  LIBBPF_OPTS(bpf_test_run_opts, t, .ctx_in = &a, .ctx_size_in = sizeof(a));
  if (bpf_prog_test_run_opts(progs[outer], &t) != 0) return -errno * 1000000LL;
  *value = a.value;
  return a.ret;
}

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  struct bpf_object* obj = bpf_object__open_file(argv[1], NULL);
  if (obj == NULL) {
    printf("open: %s\n", strerror(errno));
    return 1;
  }
  const int loaded = bpf_object__load(obj);
  if (loaded == -EPERM) return 77;  // on a kernel without the privilege: skipped
  expect("load", loaded, 0);
  const int arr = bpf_map__fd(bpf_object__find_map_by_name(obj, "outer_arr"));
  const int hash = bpf_map__fd(bpf_object__find_map_by_name(obj, "outer_hash"));
  const int a = bpf_map__fd(bpf_object__find_map_by_name(obj, "inner_a"));
  const int b = bpf_map__fd(bpf_object__find_map_by_name(obj, "inner_b"));
  progs[0] = bpf_program__fd(bpf_object__find_program_by_name(obj, "mim_arr_op"));
  progs[1] = bpf_program__fd(bpf_object__find_program_by_name(obj, "mim_hash_op"));
  if (arr < 0 || hash < 0 || a < 0 || b < 0 || progs[0] < 0 || progs[1] < 0) {
    printf("missing maps or program\n");
    return 1;
  }
  unsigned key = 0, id = 0;
  expect("outer_arr[0] lookup", bpf_map_lookup_elem(arr, &key, &id), 0);
  expect("outer_arr[0] is inner_a", id == id_of(a), 1);
  expect("outer_hash[0] lookup", bpf_map_lookup_elem(hash, &key, &id), 0);
  expect("outer_hash[0] is inner_b", id == id_of(b), 1);
  key = 2;
  expect("outer_arr[2] lookup", bpf_map_lookup_elem(arr, &key, &id), -ENOENT);
  // The program writes 7 at key 1 of the map in outer_arr[1] (inner_b) and
  // reads it back through outer_hash[0] (inner_b too).
  unsigned long long v = 7;
  expect("prog update via outer_arr[1]", run(0, 1, 1, 1, &v), 0);
  v = 0;
  expect("prog lookup via outer_hash[0]", run(1, 0, 0, 1, &v), 0);
  expect("value", (long long)v, 7);
  expect("prog lookup via empty outer_arr[3]", run(0, 0, 3, 1, &v), -1000);
  expect("prog update past inner max_entries", run(1, 1, 1, 4, &v), -E2BIG);
  key = 1;
  v = 0;
  expect("inner_b[1] from user space", bpf_map_lookup_elem(b, &key, &v), 0);
  expect("inner_b[1]", (long long)v, 7);
  bpf_object__close(obj);
  return failed;
}
