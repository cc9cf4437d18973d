// The format rules of bpf_trace_printk and bpf_seq_printf (the kernel's
// bpf_bprintf_prepare, then its binary printf), shared by both helpers.
#pragma once

#include <cstdint>
#include <string>

namespace bpfemu::emu {

// Formats fmt, which must end in a NUL within its fmt_size bytes, with the
// nargs u64 arguments and appends the text to *out: 0, or -EINVAL when the
// kernel refuses the format (a character that is not printable ASCII, more
// conversions than arguments, a conversion it does not know). %s and %pks /
// %pus strings are read fault-safe: a bad pointer prints as an empty string,
// as the kernel prints it.
int bprintf_format(const char* fmt, uint32_t fmt_size, const uint64_t* args, uint32_t nargs, std::string* out);

}  // namespace bpfemu::emu
