/* A probe whose arguments the optimiser keeps in registers (see usdt_probes.c). */
#include <sys/sdt.h>

__attribute__((noinline)) void bpfemu_usdt_request(int id, long latency, const char *name) {
  DTRACE_PROBE3(bpfemu_test, request, id, latency, name);
}
