// What differs between compilers and CPUs, in one place: sanitizer detection
// (GCC and clang say it differently) and the spin-wait hint.
#pragma once

// Built with ThreadSanitizer.
#if defined(__SANITIZE_THREAD__)
#define BPFEMU_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define BPFEMU_TSAN 1
#endif
#endif
#ifndef BPFEMU_TSAN
#define BPFEMU_TSAN 0
#endif

// Built with AddressSanitizer.
#if defined(__SANITIZE_ADDRESS__)
#define BPFEMU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BPFEMU_ASAN 1
#endif
#endif
#ifndef BPFEMU_ASAN
#define BPFEMU_ASAN 0
#endif

namespace bpfemu {

// One iteration of a spin-wait: tells the CPU another thread holds what we wait for.
inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

}  // namespace bpfemu
