// The kernel's symbols as kprobe.multi links need them: libbpf resolves a
// SEC("kprobe.multi/<pattern>") by reading /proc/kallsyms and passes the
// addresses it found, and a link's info and bpf_get_func_ip give addresses
// back. Read from the running kernel's /proc/kallsyms once. When that shows
// no addresses (kptr_restrict, an unprivileged reader: every one is 0), the
// emulator gives each line a made-up address, stable for the boot (the file's
// order does not change), and serves /proc/kallsyms with them to the
// processes it runs in (api/libbpfemu), so what libbpf reads resolves here.
#pragma once

#include <cstdint>
#include <string>

namespace bpfemu::emu {

// The address of the first text symbol (t/T) called `name`, or 0 when the
// kernel has none (or /proc/kallsyms cannot be read).
uint64_t ksym_text_addr(const std::string& name);
// Whether addr is a text symbol's address; *name gets the first such symbol
// and *size its size as %pS prints it (up to the next symbol's address).
bool ksym_text_at(uint64_t addr, std::string* name = nullptr, uint64_t* size = nullptr);
// Whether /proc/kallsyms could be read at all (else every name is taken and
// has address 0: nothing can be checked).
bool ksyms_known();
// When the emulator made the addresses up: true with the whole file as it
// serves it (the kernel's lines, each with its made-up address).
bool ksyms_file_text(const char* path, std::string* text);

}  // namespace bpfemu::emu
