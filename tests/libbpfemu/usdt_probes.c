/* The USDT probes usdt_test.cc fires, as an application writes them with
 * <sys/sdt.h>. This file is compiled without optimisation so that the
 * compiler passes the "spilled" probe's arguments in memory, at offsets from
 * %rbp, where "request" (optimised as the test's own code is not) may get
 * registers; both argument forms are then laid out by bpfemu_usdt_fire. */
#include <sys/sdt.h>

__attribute__((noinline)) void bpfemu_usdt_spilled(short a, long b, unsigned char c) {
  DTRACE_PROBE3(bpfemu_test, spilled, a, b, c);
}
