#include "core/uaccess.h"

#include "core/log.h"

#include <signal.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <mutex>

namespace bpfemu::emu {

#if defined(__x86_64__)

extern "C" {
size_t bpfemu_uaccess_copy(void* dst, const void* src, size_t n);
int bpfemu_uaccess_is_zero(const void* src, size_t n);
long bpfemu_uaccess_strncpy(char* dst, const char* src, size_t size);
}

namespace {

// One entry per instruction that may fault on a user pointer: offsets from the
// entry's own fields to the instruction and to where it resumes.
struct ExtableEntry {
  int32_t insn;
  int32_t fixup;
};

extern "C" const ExtableEntry __start_bpfemu_extable[] __attribute__((visibility("hidden")));
extern "C" const ExtableEntry __stop_bpfemu_extable[] __attribute__((visibility("hidden")));

uintptr_t fixup_for(uintptr_t pc) {
  for (const ExtableEntry* e = __start_bpfemu_extable; e < __stop_bpfemu_extable; ++e) {
    const auto insn = reinterpret_cast<uintptr_t>(&e->insn) + static_cast<intptr_t>(e->insn);
    if (insn == pc) return reinterpret_cast<uintptr_t>(&e->fixup) + static_cast<intptr_t>(e->fixup);
  }
  return 0;
}

struct sigaction g_prev[2];  // SIGSEGV, SIGBUS: the handlers ours replaced

struct sigaction& prev_for(int sig) { return g_prev[sig == SIGBUS ? 1 : 0]; }

void on_fault(int sig, siginfo_t* info, void* context) {
  auto* uc = static_cast<ucontext_t*>(context);
  if (uintptr_t fixup = fixup_for(static_cast<uintptr_t>(uc->uc_mcontext.gregs[REG_RIP])); fixup != 0) {
    uc->uc_mcontext.gregs[REG_RIP] = static_cast<greg_t>(fixup);
    return;
  }
  // Not ours: what was there before us handles it.
  const struct sigaction& prev = prev_for(sig);
  if (prev.sa_flags & SA_SIGINFO) {
    prev.sa_sigaction(sig, info, context);
    return;
  }
  if (prev.sa_handler != SIG_DFL && prev.sa_handler != SIG_IGN) {
    prev.sa_handler(sig);
    return;
  }
  // Default action: restore it and let the instruction fault again.
  signal(sig, SIG_DFL);
}

void install() {
  struct sigaction sa {};
  sa.sa_sigaction = on_fault;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGSEGV, &sa, &g_prev[0]);
  sigaction(SIGBUS, &sa, &g_prev[1]);
}

std::once_flag g_once;
std::atomic<bool> g_installed{false};

inline void ensure_installed() {
  if (!g_installed.load(std::memory_order_acquire)) [[unlikely]]
    uaccess_init();
}

// Installed before main() too, so a bad pointer in the very first call is
// already caught.
struct InstallAtStart {
  InstallAtStart() { uaccess_init(); }
} g_install_at_start;

}  // namespace

void uaccess_init() {
  std::call_once(g_once, [] {
    const int saved = errno;
    install();
    errno = saved;
    g_installed.store(true, std::memory_order_release);
  });
}

size_t copy_in_partial(void* dst, const void* user_src, size_t n) {
  ensure_installed();
  return bpfemu_uaccess_copy(dst, user_src, n);
}

size_t copy_out_partial(void* user_dst, const void* src, size_t n) {
  ensure_installed();
  return bpfemu_uaccess_copy(user_dst, src, n);
}

long strncpy_from_user(char* dst, const char* user_src, size_t size) {
  if (user_src == nullptr) return -EFAULT;
  ensure_installed();
  const long r = bpfemu_uaccess_strncpy(dst, user_src, size);
  if (r < 0) return -EFAULT;
  if (static_cast<size_t>(r) == size) return -ENAMETOOLONG;
  return r;
}

int user_is_zero(const void* user_src, size_t n) {
  if (n == 0) return 1;
  if (user_src == nullptr) return -EFAULT;
  ensure_installed();
  const int r = bpfemu_uaccess_is_zero(user_src, n);
  return r < 0 ? -EFAULT : r;
}

#else  // not x86-64: the kernel checks the pointers for us

namespace {
size_t vm_copy(void* dst, const void* src, size_t n, bool to_user) {
  size_t done = 0;
  while (done < n) {
    struct iovec local {};
    struct iovec remote {};
    if (to_user) {
      local = {const_cast<uint8_t*>(static_cast<const uint8_t*>(src)) + done, n - done};
      remote = {static_cast<uint8_t*>(dst) + done, n - done};
    } else {
      local = {static_cast<uint8_t*>(dst) + done, n - done};
      remote = {const_cast<uint8_t*>(static_cast<const uint8_t*>(src)) + done, n - done};
    }
    const ssize_t r = to_user ? process_vm_writev(getpid(), &local, 1, &remote, 1, 0)
                              : process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
    if (r <= 0) break;
    done += static_cast<size_t>(r);
  }
  return n - done;
}
}  // namespace

void uaccess_init() {}

size_t copy_in_partial(void* dst, const void* user_src, size_t n) {
  const int saved = errno;
  const size_t left = vm_copy(dst, user_src, n, false);
  errno = saved;
  return left;
}

size_t copy_out_partial(void* user_dst, const void* src, size_t n) {
  const int saved = errno;
  const size_t left = vm_copy(user_dst, src, n, true);
  errno = saved;
  return left;
}

long strncpy_from_user(char* dst, const char* user_src, size_t size) {
  if (user_src == nullptr) return -EFAULT;
  for (size_t i = 0; i < size; ++i) {
    if (copy_in_partial(dst + i, user_src + i, 1) != 0) return -EFAULT;
    if (dst[i] == '\0') return static_cast<long>(i);
  }
  return -ENAMETOOLONG;
}

int user_is_zero(const void* user_src, size_t n) {
  uint8_t buf[256];
  const auto* p = static_cast<const uint8_t*>(user_src);
  while (n > 0) {
    const size_t chunk = n < sizeof(buf) ? n : sizeof(buf);
    if (copy_from_user(buf, p, chunk) != 0) return -EFAULT;
    for (size_t i = 0; i < chunk; ++i)
      if (buf[i] != 0) return 0;
    p += chunk;
    n -= chunk;
  }
  return 1;
}

#endif

int clear_user(void* user_dst, size_t n) {
  static const uint8_t kZeros[256] = {};
  auto* p = static_cast<uint8_t*>(user_dst);
  while (n > 0) {
    const size_t chunk = n < sizeof(kZeros) ? n : sizeof(kZeros);
    if (copy_to_user(p, kZeros, chunk) != 0) return -EFAULT;
    p += chunk;
    n -= chunk;
  }
  return 0;
}

int check_uarg_tail_zero(const void* user_src, uint32_t known, uint32_t* size, const char* what) {
  if (*size > 4096) return log_reason(-E2BIG, "%s: %u bytes is above a page", what, *size);
  if (*size <= known) return 0;
  const int zero = user_is_zero(user_ptr_add(user_src, known), *size - known);
  if (zero < 0) return log_reason(-EFAULT, "%s points at bad memory", what);
  if (zero == 0) return log_reason(-E2BIG, "%s: bytes past the kernel's %u are not zero", what, known);
  *size = known;
  return 0;
}

}  // namespace bpfemu::emu
