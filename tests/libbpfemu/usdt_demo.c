/* USDT programs (bpf/usdt_demo.bpf.c) attached with bpf_program__attach_usdt
 * to this binary's probes (usdt_request.c, usdt_probes.c), then the probes
 * fire: on the kernel (root) by running the probed code, which hits the
 * uprobes; on the emulator (linked with libbpfemu, unprivileged) with
 * bpfemu_usdt_fire and the same argument values. Prints what the programs
 * saw; usdt_vs_kernel.sh compares the two outputs. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "usdt_demo.skel.h"
#ifdef BPFEMU_SIDE
#include "bpfemu/programs.h"
#endif

void bpfemu_usdt_request(int id, long latency, const char *name);
void bpfemu_usdt_spilled(short a, long b, unsigned char c);

static const char kName[] = "checkout";

static int fire(void) {
#ifdef BPFEMU_SIDE
  const uint64_t req[3] = {(uint64_t)-7, 123456789012ULL, (uint64_t)(uintptr_t)kName};
  const uint64_t spill[3] = {(uint64_t)-3, 0x1122334455667788ULL, 200};
  if (bpfemu_usdt_fire("/proc/self/exe", "bpfemu_test", "request", req, 3, -1) != 1) return -1;
  if (bpfemu_usdt_fire("/proc/self/exe", "bpfemu_test", "spilled", spill, 3, -1) != 1) return -1;
#else
  bpfemu_usdt_request(-7, 123456789012L, kName);
  bpfemu_usdt_spilled(-3, 0x1122334455667788L, 200);
#endif
  return 0;
}

int main(void) {
  struct usdt_demo *skel = usdt_demo__open_and_load();
  if (!skel) {
    printf("open_and_load: %s\n", strerror(errno));
    return 1;
  }
  struct bpf_link *a = bpf_program__attach_usdt(skel->progs.on_request, -1, "/proc/self/exe", "bpfemu_test",
                                                "request", NULL);
  struct bpf_link *b = bpf_program__attach_usdt(skel->progs.on_spilled, -1, "/proc/self/exe", "bpfemu_test",
                                                "spilled", NULL);
  printf("attach: request %s, spilled %s\n", a ? "ok" : strerror(errno), b ? "ok" : strerror(errno));
  if (!a || !b || fire() != 0) {
    printf("fire failed\n");
    return 1;
  }
  printf("request: id=%lld latency=%lld name=%s hits=%llu\n", (long long)skel->bss->last_id,
         (long long)skel->bss->last_latency, skel->bss->last_name, (unsigned long long)skel->bss->requests);
  printf("spilled: a=%lld b=%#llx c=%lld hits=%llu\n", (long long)skel->bss->spilled_a,
         (unsigned long long)skel->bss->spilled_b, (long long)skel->bss->spilled_c,
         (unsigned long long)skel->bss->spills);
  bpf_link__destroy(a);
  bpf_link__destroy(b);
  usdt_demo__destroy(skel);
  return 0;
}
