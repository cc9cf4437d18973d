// Copies between the caller's memory and the emulator's, as the kernel's
// copy_from_user/copy_to_user: a bad pointer (unmapped, read-only for a write,
// a buffer running into a guard page) is an error return, never a crash.
//
// On x86-64 the copies are a few instructions listed in an exception table (the
// kernel's extable): a SIGSEGV or SIGBUS raised at one of them resumes at its
// fixup, which returns how many bytes were left. Any other fault goes to the
// handler that was installed before ours (ASan's, the program's, or the default
// action). Elsewhere the copies go through process_vm_readv/writev on this
// process, which the kernel checks for us.
//
// Rule for callers: copy user memory in before taking a lock and copy results
// out after releasing every lock, so that a fault can never leave a lock held
// or a structure half-built.
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdint>

namespace bpfemu::emu {

// Bytes NOT copied (0 on success); copies what it can up to the first bad byte.
size_t copy_in_partial(void* dst, const void* user_src, size_t n);
size_t copy_out_partial(void* user_dst, const void* src, size_t n);

// 0 or -EFAULT.
inline int copy_from_user(void* dst, const void* user_src, size_t n) {
  if (n == 0) return 0;
  if (user_src == nullptr) return -EFAULT;
  return copy_in_partial(dst, user_src, n) == 0 ? 0 : -EFAULT;
}
inline int copy_to_user(void* user_dst, const void* src, size_t n) {
  if (n == 0) return 0;
  if (user_dst == nullptr) return -EFAULT;
  return copy_out_partial(user_dst, src, n) == 0 ? 0 : -EFAULT;
}
// A user pointer plus off, computed as an integer: the caller's pointer may be
// NULL or wild (the copy then answers EFAULT), and pointer arithmetic on those
// is undefined behaviour.
inline void* user_ptr_add(const void* user_ptr, size_t off) {
  return reinterpret_cast<void*>(reinterpret_cast<uintptr_t>(user_ptr) + off);
}

// Zero-fills n bytes of user memory: 0 or -EFAULT.
int clear_user(void* user_dst, size_t n);

// Reads a NUL-terminated string of at most `size` bytes, NUL included, into
// dst (which holds `size` bytes): its length, -EFAULT, or -ENAMETOOLONG when
// no NUL came within `size` bytes (the kernel's strncpy_from_user + getname).
long strncpy_from_user(char* dst, const char* user_src, size_t size);

// Whether every byte of [user_src, user_src + n) is zero: 1 yes, 0 no, -EFAULT
// (the kernel's memchr_inv on user memory, as bpf_check_uarg_tail_zero uses).
int user_is_zero(const void* user_src, size_t n);

// bpf_check_uarg_tail_zero: a caller's struct of *size bytes, of which the
// kernel knows `known`: above a page is E2BIG, and so is a non-zero byte past
// `known` (-EFAULT when they cannot be read); on 0, *size is clamped to known.
// `what` names the struct in the log line.
int check_uarg_tail_zero(const void* user_src, uint32_t known, uint32_t* size, const char* what);

// Loads and stores of 4 and 8 bytes for the syscall fast path: one
// instruction each (listed in the exception table, see uaccess_x86_64.S), no
// call. True on success, false when the address faulted.
template <class T>
[[gnu::always_inline]] inline bool get_user(T* out, const void* user_src);
template <class T>
[[gnu::always_inline]] inline bool put_user(void* user_dst, T value);

#if defined(__x86_64__)
// The handler must be installed before a fast-path access can fault; the
// copies above install it, and so does a static constructor (uaccess.cc).
// The table entry goes into the instruction's own section group ("a?"), so
// that when the linker keeps one copy of an inline function it keeps that
// copy's entry and drops the others'.
template <class T>
[[gnu::always_inline]] inline bool get_user(T* out, const void* user_src) {
  static_assert(sizeof(T) == 4 || sizeof(T) == 8);
  T v;
  asm goto(
      "1: mov (%1), %0\n"
      ".pushsection bpfemu_extable, \"a?\"\n"
      ".balign 4\n"
      ".long 1b - ., %l[fault] - .\n"
      ".popsection\n"
      : "=r"(v)
      : "r"(user_src)
      : "memory"
      : fault);
  *out = v;
  return true;
fault:
  return false;
}

template <class T>
[[gnu::always_inline]] inline bool put_user(void* user_dst, T value) {
  static_assert(sizeof(T) == 4 || sizeof(T) == 8);
  asm goto(
      "1: mov %0, (%1)\n"
      ".pushsection bpfemu_extable, \"a?\"\n"
      ".balign 4\n"
      ".long 1b - ., %l[fault] - .\n"
      ".popsection\n"
      :
      : "r"(value), "r"(user_dst)
      : "memory"
      : fault);
  return true;
fault:
  return false;
}
#else
template <class T>
inline bool get_user(T* out, const void* user_src) {
  return copy_from_user(out, user_src, sizeof(T)) == 0;
}
template <class T>
inline bool put_user(void* user_dst, T value) {
  return copy_to_user(user_dst, &value, sizeof(T)) == 0;
}
#endif

// Installs the fault handler if it is not installed (idempotent, cheap after
// the first call). The copies install it themselves on first use; entry points
// that may be reached before any copy call this.
void uaccess_init();

}  // namespace bpfemu::emu
