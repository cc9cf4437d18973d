// USDT probes (the .note.stapsdt notes <sys/sdt.h> leaves in a binary):
// libbpf attaches SEC("usdt/...") programs to them as uprobes at each probe
// site, with a cookie naming the site's argument spec, and the program's
// bpf_usdt_arg reads each argument where the note says it is (a register, a
// memory operand off(%reg), a constant). Firing one here lays the test's
// argument values out that way and fires the uprobes at the site.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace bpfemu::emu {

// One argument of a probe site, as its note spells it ("-4@%edi",
// "8@-16(%rbp)", "4@$5").
struct UsdtArg {
  enum Kind { kConst, kReg, kRegDeref } kind = kConst;
  int size = 0;        // bytes, negative when signed
  int reg = -1;        // PtRegs word index (kReg, kRegDeref)
  int64_t value = 0;   // kConst: the constant; kRegDeref: the offset
};

struct UsdtSite {
  uint64_t file_offset = 0;  // where libbpf puts the uprobe
  uint64_t semaphore = 0;    // its address in the file's image, 0 if none
  std::vector<UsdtArg> args;
};

// The sites of probe provider:name in ELF file `path`: 0 and *sites (empty
// when the file has none of that name), or -errno (-EINVAL for a note or an
// argument this cannot read, with the reason logged).
int usdt_sites(const char* path, const char* provider, const char* name, std::vector<UsdtSite>* sites);

// Parses one argument spec of a note: true with *arg.
bool parse_usdt_arg(const std::string& spec, UsdtArg* arg);

// bpfemu_usdt_fire (bpfemu/programs.h).
int fire_usdt(const char* path, const char* provider, const char* name, const uint64_t* args, uint32_t nargs,
              int cpu);

}  // namespace bpfemu::emu
