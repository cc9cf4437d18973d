/* A user of skel_demo.bpf.o through its bpftool-generated skeleton, as a
 * libbpf daemon would be: open, set .rodata, load (pinning `seen` under the
 * pin root given), run the XDP program on three packets and the raw
 * tracepoint program on four syscalls with BPF_PROG_TEST_RUN, read the ring
 * buffer through libbpf's ring_buffer (epoll and mmap), then print every map. The same source runs on the kernel (plain libbpf, as root) and on the
 * emulator (linked with libbpfemu, unprivileged); the outputs must match. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "skel_demo.skel.h"

static int on_record(void *ctx, void *data, size_t size) {
  (void)ctx;
  if (size == 16) {
    const unsigned *w = data;
    printf("  ring event: len %u proto 0x%x seq %u\n", w[0], w[1], w[2]);
  } else if (size == 8) {
    printf("  ring syscall nr %llu\n", *(unsigned long long *)data);
  } else {
    printf("  ring record of %zu bytes\n", size);
  }
  return 0;
}

static void on_sample(void *ctx, int cpu, void *data, __u32 size) {
  (void)ctx;
  const unsigned char *b = data;
  printf("  perf sample on CPU %d, %u bytes: len %u, bytes 12-13 %02x%02x\n", cpu, size, *(const unsigned *)data,
         b[4 + 12], b[4 + 13]);
}

static void on_lost(void *ctx, int cpu, __u64 n) {
  (void)ctx;
  printf("  perf lost %llu on CPU %d\n", (unsigned long long)n, cpu);
}

/* Reads the ring buffer as a libbpf consumer does: epoll, then the records. */
static void drain_ring(struct bpf_map *m) {
  struct ring_buffer *ring = ring_buffer__new(bpf_map__fd(m), on_record, NULL, NULL);
  if (!ring) {
    printf("ring_buffer__new: %s\n", strerror(errno));
    return;
  }
  printf("ring poll: %d records\n", ring_buffer__poll(ring, 1000));
  printf("ring poll again: %d records\n", ring_buffer__poll(ring, 10));
  printf("ring consume: %d records\n", ring_buffer__consume(ring));
  ring_buffer__free(ring);
}

static void dump(struct bpf_map *m) {
  int fd = bpf_map__fd(m);
  unsigned ks = bpf_map__key_size(m), vs = bpf_map__value_size(m);
  printf("map %s type %d key %u value %u max %u\n", bpf_map__name(m), bpf_map__type(m), ks, vs,
         bpf_map__max_entries(m));
  if (bpf_map__type(m) == BPF_MAP_TYPE_RINGBUF || bpf_map__type(m) == BPF_MAP_TYPE_PERF_EVENT_ARRAY) {
    errno = 0;
    int r = bpf_map_lookup_elem(fd, NULL, NULL);
    printf("  lookup: %d (%s)\n", r, strerror(errno));
    return;
  }
  if (bpf_map__type(m) == BPF_MAP_TYPE_QUEUE) {
    unsigned long long v;
    while (bpf_map_lookup_and_delete_elem(fd, NULL, &v) == 0) printf("  pop %llu\n", v);
    printf("  then: %s\n", strerror(errno));
    return;
  }
  /* Walk in key order so hash layouts do not matter. */
  for (unsigned key = 0; key < 256; key++) {
    unsigned char v[64] = {0};
    if (bpf_map_lookup_elem(fd, &key, v) != 0) continue;
    printf("  %u:", key);
    for (unsigned i = 0; i < vs && i < sizeof(v); i++) printf(" %02x", v[i]);
    printf("\n");
  }
}

int main(int argc, char **argv) {
  LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = argc > 1 ? argv[1] : NULL);
  struct skel_demo *s = skel_demo__open_opts(&opts);
  if (!s) {
    printf("open failed: %s\n", strerror(errno));
    return 1;
  }
  /* One CPU, so every perf sample lands in the same ring on both sides. */
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(0, &one);
  if (sched_setaffinity(0, sizeof(one), &one) != 0) printf("sched_setaffinity: %s\n", strerror(errno));
  s->rodata->bump = 3;
  int err = skel_demo__load(s);
  printf("load: %d\n", err);
  if (err) return 1;
  printf("configured %llu\n", (unsigned long long)s->data->configured);

  struct perf_buffer *pb = perf_buffer__new(bpf_map__fd(s->maps.pkts), 4, on_sample, on_lost, NULL, NULL);
  printf("perf_buffer__new: %s\n", pb ? "ok" : strerror(errno));

  unsigned char pkt[200];
  for (unsigned i = 0; i < sizeof(pkt); i++) pkt[i] = (unsigned char)(i * 7);
  pkt[12] = 0x08, pkt[13] = 0x00;
  unsigned sizes[] = {60, 150, 10};
  for (int i = 0; i < 3; i++) {
    unsigned char out[256];
    LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = pkt, .data_size_in = sizes[i], .data_out = out,
                .data_size_out = sizeof(out), .repeat = 2);
    err = bpf_prog_test_run_opts(bpf_program__fd(s->progs.count_xdp), &t);
    printf("xdp %u bytes: %d (%s) retval %u out %u\n", sizes[i], err, err ? strerror(errno) : "ok", t.retval,
           t.data_size_out);
  }
  unsigned long long syscalls[] = {0, 1, 59, 231};
  for (int i = 0; i < 4; i++) {
    unsigned long long args[2] = {0, syscalls[i]};
    LIBBPF_OPTS(bpf_test_run_opts, t, .ctx_in = args, .ctx_size_in = sizeof(args));
    err = bpf_prog_test_run_opts(bpf_program__fd(s->progs.on_enter), &t);
    printf("raw_tp nr %llu: %d retval %u count_sum %llu loop_sum %llu\n", syscalls[i], err, t.retval,
           (unsigned long long)s->bss->count_sum, (unsigned long long)s->bss->loop_sum);
  }
  printf("packets %llu last_len %u\n", (unsigned long long)s->bss->packets, s->bss->last_len);
  drain_ring(s->maps.rb);
  if (pb) {
    printf("perf poll: %d\n", perf_buffer__poll(pb, 1000));
    printf("perf poll again: %d\n", perf_buffer__poll(pb, 10));
    perf_buffer__free(pb);
  }
  struct bpf_map *m;
  bpf_object__for_each_map(m, s->obj) dump(m);
  /* Last, as on the kernel the program then runs on every system call. */
  err = skel_demo__attach(s);
  printf("attach: %d, links: on_enter %s, on_write %s, count_xdp %s\n", err, s->links.on_enter ? "yes" : "no",
         s->links.on_write ? "yes" : "no", s->links.count_xdp ? "yes" : "no");
  if (s->links.on_enter) {
    struct bpf_link_info info = {0};
    char name[32] = {0};
    info.raw_tracepoint.tp_name = (unsigned long)name;
    info.raw_tracepoint.tp_name_len = sizeof(name);
    unsigned len = sizeof(info);
    err = bpf_obj_get_info_by_fd(bpf_link__fd(s->links.on_enter), &info, &len);
    printf("link info: %d type %u tp_name %s\n", err, info.type, name);
  }
  if (s->links.on_write) {
    /* A perf link; its perf_event part (6.6+ uapi, past this header's) read by offset. */
    unsigned char raw[sizeof(struct bpf_link_info) + 64] = {0};
    char name[32] = {0};
    unsigned long long uname = (unsigned long)name;
    unsigned name_len = sizeof(name);
    memcpy(raw + 24, &uname, 8);
    memcpy(raw + 32, &name_len, 4);
    unsigned len = sizeof(raw);
    err = bpf_obj_get_info_by_fd(bpf_link__fd(s->links.on_write), raw, &len);
    unsigned type, perf_type;
    memcpy(&type, raw, 4);
    memcpy(&perf_type, raw + 16, 4);
    memcpy(&name_len, raw + 32, 4);
    printf("tp link info: %d len %u type %u perf_event type %u name %s name_len %u\n", err, len, type, perf_type,
           name, name_len);
  }
  skel_demo__destroy(s);
  return 0;
}
