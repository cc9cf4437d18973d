#include "emu/bprintf.h"

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/log.h"
#include "core/uaccess.h"

namespace bpfemu::emu {
namespace {

constexpr size_t kMaxStringBytes = 512;  // the kernel's per-call buffer for copied strings (MAX_BPRINTF_BUF)

// The string at address v, as far as it can be read (empty when it cannot).
std::string read_string(uint64_t v, size_t room) {
  if (room == 0) return "";
  std::string s(room, '\0');
  const long n = strncpy_from_user(s.data(), reinterpret_cast<const char*>(v), static_cast<long>(room) - 1);
  if (n < 0) return "";
  s.resize(strnlen(s.c_str(), static_cast<size_t>(n)));
  return s;
}

// %pI4 / %pi4 / %pI6 / %pi6: the address's bytes at v, printed as printk does.
bool format_ip(char kind, char family, uint64_t v, std::string* out) {
  uint8_t b[16] = {};
  const size_t n = family == '4' ? 4 : 16;
  if (copy_from_user(b, reinterpret_cast<const void*>(v), n) != 0) memset(b, 0, n);
  char buf[64];
  if (family == '4') {
    snprintf(buf, sizeof(buf), kind == 'i' ? "%03u.%03u.%03u.%03u" : "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
  } else if (kind == 'i') {
    for (size_t i = 0; i < 16; ++i) snprintf(buf + 2 * i, 3, "%02x", b[i]);
  } else {
    int w = 0;
    for (size_t i = 0; i < 16; i += 2) w += snprintf(buf + w, sizeof(buf) - w, "%s%02x%02x", i ? ":" : "", b[i], b[i + 1]);
  }
  *out += buf;
  return true;
}

template <class T>
void append(std::string* out, const std::string& spec, T v) {
  char buf[128];
  snprintf(buf, sizeof(buf), spec.c_str(), v);
  *out += buf;
}

}  // namespace

int bprintf_format(const char* fmt, uint32_t fmt_size, const uint64_t* args, uint32_t nargs, std::string* out) {
  if (fmt_size == 0 || memchr(fmt, '\0', fmt_size) == nullptr)
    return log_reason(-EINVAL, "the format is not NUL-terminated within fmt_size");
  uint32_t spec_count = 0;
  size_t strings = 0;
  for (size_t i = 0; fmt[i] != '\0'; ++i) {
    const auto ch = static_cast<unsigned char>(fmt[i]);
    if (!isascii(ch) || (!isprint(ch) && !isspace(ch)))
      return log_reason(-EINVAL, "format byte %zu (0x%02x) is not printable ASCII", i, ch);
    if (ch != '%') {
      *out += static_cast<char>(ch);
      continue;
    }
    if (fmt[i + 1] == '%') {
      *out += '%';
      ++i;
      continue;
    }
    if (spec_count >= nargs) return log_reason(-EINVAL, "more conversions than the %u arguments", nargs);
    const uint64_t v = args[spec_count++];
    std::string spec = "%";
    ++i;
    while (fmt[i] == '0' || fmt[i] == '+' || fmt[i] == '-' || fmt[i] == ' ') spec += fmt[i++];
    if (fmt[i] >= '1' && fmt[i] <= '9')
      while (fmt[i] >= '0' && fmt[i] <= '9') spec += fmt[i++];
    const char c = fmt[i];
    if (c == 'p') {
      const char n1 = fmt[i + 1];
      if ((n1 == 'k' || n1 == 'u') && fmt[i + 2] == 's') {
        const std::string s = read_string(v, kMaxStringBytes - strings);
        strings += s.size() + 1;
        append(out, spec + "s", s.c_str());
        i += 2;
      } else if ((n1 == 'i' || n1 == 'I') && (fmt[i + 2] == '4' || fmt[i + 2] == '6')) {
        format_ip(n1, fmt[i + 2], v, out);
        i += 2;
      } else if (n1 == '\0' || isspace(static_cast<unsigned char>(n1)) || ispunct(static_cast<unsigned char>(n1)) ||
                 n1 == 'K' || n1 == 'x' || n1 == 's' || n1 == 'S' || n1 == 'B') {
        // Pointers print as their value here: the kernel's hashing and symbol
        // names have no emulated counterpart.
        *out += "0x";
        append(out, spec + "llx", static_cast<unsigned long long>(v));
        if (n1 != '\0' && !isspace(static_cast<unsigned char>(n1)) && !ispunct(static_cast<unsigned char>(n1))) ++i;
      } else {
        return log_reason(-EINVAL, "%%p%c is not a pointer format the kernel takes", n1);
      }
      continue;
    }
    if (c == 's') {
      const std::string s = read_string(v, kMaxStringBytes - strings);
      strings += s.size() + 1;
      append(out, spec + "s", s.c_str());
      continue;
    }
    if (c == 'c') {
      append(out, spec + "c", static_cast<int>(static_cast<char>(v)));
      continue;
    }
    int longs = 0;
    while (longs < 2 && fmt[i] == 'l') ++longs, ++i;
    const char conv = fmt[i];
    if (conv != 'i' && conv != 'd' && conv != 'u' && conv != 'x' && conv != 'X')
      return log_reason(-EINVAL, "conversion %%%s%c is not one the kernel takes", longs ? "l" : "", conv);
    spec += "ll";
    spec += conv;
    const bool is_signed = conv == 'i' || conv == 'd';
    if (longs != 0)
      is_signed ? append(out, spec, static_cast<long long>(v)) : append(out, spec, static_cast<unsigned long long>(v));
    else
      is_signed ? append(out, spec, static_cast<long long>(static_cast<int32_t>(v)))
                : append(out, spec, static_cast<unsigned long long>(static_cast<uint32_t>(v)));
  }
  return 0;
}

}  // namespace bpfemu::emu
