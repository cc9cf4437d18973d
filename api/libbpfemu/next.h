// The definitions our libc interposers stand in front of.
//
// Each interposer forwards to the next definition of its name (libc's, or
// another interposer's) found with dlsym(RTLD_NEXT), looked up once. In a
// static binary there is none: raw_syscall() then makes the system call itself
// (next_or_syscall below), so every interposer must handle a null next_<name>.
#pragma once

#include <dlfcn.h>
#include <sys/syscall.h>

#include <cerrno>

namespace bpfemu::dropin {

// Always inlined, on the cache's raw storage through the compiler's atomic
// builtins rather than std::atomic's member functions: those are inline
// functions the linker may take from a sanitizer-instrumented translation
// unit, and ThreadSanitizer's runtime calls some interposers (mmap) while it
// initialises, before instrumented code may run.
template <class Fn>
[[gnu::always_inline]] inline Fn next_fn(void*& cache, const char* name) {
  void* p = __atomic_load_n(&cache, __ATOMIC_ACQUIRE);
  if (p == nullptr) {
    p = dlsym(RTLD_NEXT, name);
    __atomic_store_n(&cache, p, __ATOMIC_RELEASE);
  }
  return reinterpret_cast<Fn>(p);
}

// Declares next_<name>: the next definition of <name> (nullptr when none).
#define BPFEMU_NEXT(name, type)            \
  static void* cache_##name = nullptr;     \
  auto next_##name = ::bpfemu::dropin::next_fn<type>(cache_##name, #name)

// A system call without libc's syscall() (which we interpose): the kernel's
// result, -errno on failure.
long raw_syscall(long nr, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0, long a5 = 0, long a6 = 0);

// libc's convention on top of raw_syscall: -1 with errno set.
inline long libc_syscall(long nr, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0, long a5 = 0, long a6 = 0) {
  long r = raw_syscall(nr, a1, a2, a3, a4, a5, a6);
  if (r < 0 && r > -4096) {
    errno = static_cast<int>(-r);
    return -1;
  }
  return r;
}

// fn(args...) when there is a next definition, else the system call nr with
// the same arguments (a static binary), libc's convention either way. For
// functions whose arguments are exactly the system call's.
template <class R, class... P, class... A>
R next_or_syscall(R (*fn)(P...), long nr, A... args) {
  if (fn != nullptr) return fn(args...);
  return (R)libc_syscall(nr, (long)args...);  // C casts: pointers, offsets and sizes alike
}

}  // namespace bpfemu::dropin
