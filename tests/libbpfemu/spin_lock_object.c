// libbpf's whole object flow on values holding a struct bpf_spin_lock: opens
// the clang-built spin_lock.bpf.o (the compiler's BTF for the values), loads
// it, runs its XDP program from several threads at once (BPF_PROG_TEST_RUN)
// and reads the counters back with BPF_F_LOCK. Exits 1 when a count is off.
// Linked with libbpfemu it runs on the emulator, with libbpf on the kernel
// (spin_lock_vs_kernel.sh compares the two outputs).
//
//   spin_lock_object <spin_lock.bpf.o>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

struct counter {
  unsigned long long packets;
  unsigned int lock;
  unsigned int last_len;
  unsigned long long bytes;
};

enum { kThreads = 4, kRepeat = 200 };
static int prog_fd;

static void* run(void* arg) {
  unsigned char pkt[128] = {0};
  const unsigned len = (unsigned)(unsigned long)arg;
  LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = pkt, .data_size_in = len, .repeat = kRepeat);
  const int err = bpf_prog_test_run_opts(prog_fd, &t);
  return (void*)(long)(err != 0 || t.retval != XDP_PASS);
}

static int check(const char* what, int fd, unsigned key, unsigned long long packets, unsigned long long bytes) {
  struct counter c;
  memset(&c, 0xaa, sizeof(c));
  const int err = bpf_map_lookup_elem_flags(fd, &key, &c, BPF_F_LOCK);
  printf("%s: lookup %d, packets %llu, bytes %llu, lock word %u\n", what, err, c.packets, c.bytes, c.lock);
  return err != 0 || c.packets != packets || c.bytes != bytes || c.lock != 0;
}

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  struct bpf_object* obj = bpf_object__open_file(argv[1], NULL);
  if (obj == NULL) {
    printf("open: %s\n", strerror(errno));
    return 1;
  }
  const int err = bpf_object__load(obj);
  printf("load: %d\n", err);
  if (err != 0) return 1;
  prog_fd = bpf_program__fd(bpf_object__find_program_by_name(obj, "count_packets"));
  const int total = bpf_map__fd(bpf_object__find_map_by_name(obj, "total"));
  const int by_len = bpf_map__fd(bpf_object__find_map_by_name(obj, "by_len"));
  pthread_t threads[kThreads];
  unsigned long long all_bytes = 0;
  for (int i = 0; i < kThreads; ++i) {
    const unsigned len = 64 + 16 * (i % 2);  // two threads per length
    all_bytes += (unsigned long long)len * kRepeat;
    pthread_create(&threads[i], NULL, run, (void*)(unsigned long)len);
  }
  int failed = 0;
  for (int i = 0; i < kThreads; ++i) {
    void* bad = NULL;
    pthread_join(threads[i], &bad);
    failed |= bad != NULL;
  }
  printf("runs: %s\n", failed ? "a run failed" : "all passed");
  failed |= check("total", total, 0, kThreads * kRepeat, all_bytes);
  failed |= check("length 64", by_len, 64, 2 * kRepeat, 64ULL * 2 * kRepeat);
  failed |= check("length 80", by_len, 80, 2 * kRepeat, 80ULL * 2 * kRepeat);
  bpf_object__close(obj);
  return failed;
}
