#include "emu/usdt.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <map>

#include "core/log.h"
#include "emu/probe_event.h"

namespace bpfemu::emu {
namespace {

constexpr uint32_t kStapsdtNoteType = 3;  // NT_STAPSDT
constexpr size_t kScratch = 4096;         // a memory operand's buffer; its register points at the middle

struct ExecSegment {
  uint64_t vaddr, memsz, offset;
};

// Every name of an x86-64 register an argument spec may use, by PtRegs word.
int register_index(const std::string& name) {
  struct Names {
    const char* n[4];
    int index;
  };
  static const Names kRegs[] = {
      {{"rax", "eax", "ax", "al"}, PtRegs::kAx},       {{"rbx", "ebx", "bx", "bl"}, PtRegs::kBx},
      {{"rcx", "ecx", "cx", "cl"}, PtRegs::kCx},       {{"rdx", "edx", "dx", "dl"}, PtRegs::kDx},
      {{"rsi", "esi", "si", "sil"}, PtRegs::kSi},      {{"rdi", "edi", "di", "dil"}, PtRegs::kDi},
      {{"rbp", "ebp", "bp", "bpl"}, PtRegs::kBp},      {{"rsp", "esp", "sp", "spl"}, PtRegs::kSp},
      {{"r8", "r8d", "r8w", "r8b"}, PtRegs::kR8},      {{"r9", "r9d", "r9w", "r9b"}, PtRegs::kR9},
      {{"r10", "r10d", "r10w", "r10b"}, PtRegs::kR10}, {{"r11", "r11d", "r11w", "r11b"}, PtRegs::kR11},
      {{"r12", "r12d", "r12w", "r12b"}, PtRegs::kR12}, {{"r13", "r13d", "r13w", "r13b"}, PtRegs::kR13},
      {{"r14", "r14d", "r14w", "r14b"}, PtRegs::kR14}, {{"r15", "r15d", "r15w", "r15b"}, PtRegs::kR15},
      {{"rip", "eip", "", ""}, PtRegs::kIp},
  };
  for (const Names& r : kRegs)
    for (const char* n : r.n)
      if (*n != '\0' && name == n) return r.index;
  return -1;
}

bool valid_size(int size) {
  const int s = size < 0 ? -size : size;
  return s == 1 || s == 2 || s == 4 || s == 8;
}

struct ElfFile {
  int fd = -1;
  Elf* elf = nullptr;
  ~ElfFile() {
    if (elf != nullptr) elf_end(elf);
    if (fd >= 0) close(fd);
  }
};

// The notes of one .note.stapsdt section that name provider:name.
int read_notes(Elf_Scn* scn, uint64_t base_addr, const std::vector<ExecSegment>& segs, const char* provider,
               const char* name, std::vector<UsdtSite>* sites) {
  Elf_Data* data = elf_getdata(scn, nullptr);
  if (data == nullptr) return log_reason(-EINVAL, "usdt: .note.stapsdt has no data");
  GElf_Nhdr nh;
  size_t name_off = 0, desc_off = 0;
  for (size_t off = 0; (off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0;) {
    const char* note_name = static_cast<const char*>(data->d_buf) + name_off;
    if (nh.n_type != kStapsdtNoteType || nh.n_namesz != 8 || memcmp(note_name, "stapsdt", 8) != 0) continue;
    const char* desc = static_cast<const char*>(data->d_buf) + desc_off;
    if (nh.n_descsz < 3 * 8 + 3 || desc[nh.n_descsz - 1] != '\0')
      return log_reason(-EINVAL, "usdt: a stapsdt note of %u bytes is malformed", nh.n_descsz);
    uint64_t loc = 0, note_base = 0, sema = 0;
    memcpy(&loc, desc, 8);
    memcpy(&note_base, desc + 8, 8);
    memcpy(&sema, desc + 16, 8);
    const char* prov = desc + 24;
    const char* probe = prov + strlen(prov) + 1;
    if (probe >= desc + nh.n_descsz) return log_reason(-EINVAL, "usdt: a stapsdt note has no probe name");
    const char* spec = probe + strlen(probe) + 1;
    if (spec >= desc + nh.n_descsz) spec = "";
    if (strcmp(prov, provider) != 0 || strcmp(probe, name) != 0) continue;
    // A prelinked file moved .stapsdt.base: the note's addresses move with it.
    if (base_addr != 0 && note_base != 0) {
      loc += base_addr - note_base;
      if (sema != 0) sema += base_addr - note_base;
    }
    UsdtSite site;
    site.semaphore = sema;
    bool placed = false;
    for (const ExecSegment& s : segs) {
      if (loc >= s.vaddr && loc < s.vaddr + s.memsz) {
        site.file_offset = loc - s.vaddr + s.offset;
        placed = true;
        break;
      }
    }
    if (!placed) return log_reason(-EINVAL, "usdt: %s:%s at 0x%" PRIx64 " is in no executable segment", prov, probe, loc);
    std::string specs(spec);
    for (size_t pos = 0; pos < specs.size();) {
      const size_t end = specs.find(' ', pos);
      const std::string one = specs.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
      pos = end == std::string::npos ? specs.size() : end + 1;
      if (one.empty()) continue;
      UsdtArg arg;
      if (!parse_usdt_arg(one, &arg))
        return log_reason(-EINVAL, "usdt: %s:%s: argument \"%s\" is not a form the emulator reads", prov, probe,
                          one.c_str());
      site.args.push_back(arg);
    }
    sites->push_back(std::move(site));
  }
  return 0;
}

}  // namespace

bool parse_usdt_arg(const std::string& spec, UsdtArg* arg) {
  int size = 0, used = -1;
  long long off = 0;
  char reg[16] = {};
  const char* s = spec.c_str();
  // Whole-string matches only: %n is reached (used >= 0) at the very end.
  auto whole = [&](int matched, int want) {
    const bool ok = matched == want && used >= 0 && s[used] == '\0';
    used = -1;
    return ok;
  };
  UsdtArg a;
  if (whole(sscanf(s, "%d@$%lld%n", &size, &off, &used), 2)) {
    a.kind = UsdtArg::kConst;
    a.value = off;
  } else if (whole(sscanf(s, "%d@%%%15[a-z0-9]%n", &size, reg, &used), 2)) {
    a.kind = UsdtArg::kReg;
    a.reg = register_index(reg);
  } else if (whole(sscanf(s, "%d@%lld(%%%15[a-z0-9])%n", &size, &off, reg, &used), 3)) {
    a.kind = UsdtArg::kRegDeref;
    a.reg = register_index(reg);
    a.value = off;
  } else if (whole(sscanf(s, "%d@(%%%15[a-z0-9])%n", &size, reg, &used), 2)) {
    a.kind = UsdtArg::kRegDeref;
    a.reg = register_index(reg);
  } else {
    return false;
  }
  if (!valid_size(size) || (a.kind != UsdtArg::kConst && a.reg < 0)) return false;
  a.size = size;
  *arg = a;
  return true;
}

int usdt_sites(const char* path, const char* provider, const char* name, std::vector<UsdtSite>* sites) {
  if (path == nullptr || provider == nullptr || name == nullptr || sites == nullptr)
    return log_reason(-EINVAL, "usdt: a file, a provider and a probe name");
  if (elf_version(EV_CURRENT) == EV_NONE) return log_reason(-EINVAL, "usdt: libelf is too old");
  ElfFile f;
  f.fd = open(path, O_RDONLY | O_CLOEXEC);
  if (f.fd < 0) return log_reason(-errno, "usdt: %s: %s", path, strerror(errno));
  f.elf = elf_begin(f.fd, ELF_C_READ, nullptr);
  if (f.elf == nullptr || elf_kind(f.elf) != ELF_K_ELF || gelf_getclass(f.elf) != ELFCLASS64)
    return log_reason(-EINVAL, "usdt: %s is not a 64-bit ELF file", path);
  std::vector<ExecSegment> segs;
  size_t nph = 0;
  if (elf_getphdrnum(f.elf, &nph) != 0) return log_reason(-EINVAL, "usdt: %s has no program headers", path);
  for (size_t i = 0; i < nph; ++i) {
    GElf_Phdr ph;
    if (gelf_getphdr(f.elf, static_cast<int>(i), &ph) != nullptr && ph.p_type == PT_LOAD && (ph.p_flags & PF_X))
      segs.push_back({ph.p_vaddr, ph.p_memsz, ph.p_offset});
  }
  size_t shstrndx = 0;
  if (elf_getshdrstrndx(f.elf, &shstrndx) != 0) return log_reason(-EINVAL, "usdt: %s has no section names", path);
  uint64_t base_addr = 0;
  std::vector<Elf_Scn*> note_sections;
  for (Elf_Scn* scn = elf_nextscn(f.elf, nullptr); scn != nullptr; scn = elf_nextscn(f.elf, scn)) {
    GElf_Shdr sh;
    if (gelf_getshdr(scn, &sh) == nullptr) continue;
    const char* sname = elf_strptr(f.elf, shstrndx, sh.sh_name);
    if (sname == nullptr) continue;
    if (strcmp(sname, ".stapsdt.base") == 0) base_addr = sh.sh_addr;
    if (strcmp(sname, ".note.stapsdt") == 0 && sh.sh_type == SHT_NOTE) note_sections.push_back(scn);
  }
  sites->clear();
  for (Elf_Scn* scn : note_sections)
    if (int e = read_notes(scn, base_addr, segs, provider, name, sites); e != 0) return e;
  return 0;
}

int fire_usdt(const char* path, const char* provider, const char* name, const uint64_t* args, uint32_t nargs,
              int cpu) {
  if (nargs != 0 && args == nullptr) return log_reason(-EINVAL, "usdt: arguments without a buffer");
  std::vector<UsdtSite> sites;
  if (int e = usdt_sites(path, provider, name, &sites); e != 0) return e;
  if (sites.empty()) return log_reason(-ENOENT, "usdt: %s has no probe %s:%s", path, provider, name);
  struct stat st;
  if (stat(path, &st) != 0) return log_reason(-errno, "usdt: %s: %s", path, strerror(errno));
  int ran = 0;
  for (const UsdtSite& site : sites) {
    if (site.args.size() != nargs)
      return log_reason(-EINVAL, "usdt: %s:%s takes %zu arguments, %u given", provider, name, site.args.size(), nargs);
    PtRegs regs;
    // One buffer per register that memory operands go through; the register
    // points at its middle so that negative offsets fit too.
    std::map<int, std::vector<uint8_t>> scratch;
    std::vector<bool> direct(PtRegs::kWords, false);
    for (uint32_t i = 0; i < nargs; ++i) {
      const UsdtArg& a = site.args[i];
      if (a.kind == UsdtArg::kConst) continue;
      // Two arguments in one register are possible only with one value.
      const bool conflict = a.kind == UsdtArg::kReg
                                ? scratch.count(a.reg) != 0 || (direct[a.reg] && regs.w[a.reg] != args[i])
                                : direct[a.reg];
      if (conflict)
        return log_reason(-EINVAL, "usdt: %s:%s: argument %u shares register word %d with another", provider, name,
                          i, a.reg);
      if (a.kind == UsdtArg::kReg) {
        regs.w[a.reg] = args[i];
        direct[a.reg] = true;
        continue;
      }
      const int64_t bytes = a.size < 0 ? -a.size : a.size;
      const int64_t half = kScratch / 2;
      if (a.value < -half || a.value + bytes > half)
        return log_reason(-EINVAL, "usdt: %s:%s: argument %u at offset %lld is too far from its register", provider,
                          name, i, static_cast<long long>(a.value));
      std::vector<uint8_t>& buf = scratch.try_emplace(a.reg, kScratch, 0).first->second;
      uint8_t* base = buf.data() + half;
      memcpy(base + a.value, &args[i], static_cast<size_t>(bytes));  // the low bytes: little-endian
      regs.w[a.reg] = reinterpret_cast<uint64_t>(base);
    }
    regs.w[PtRegs::kIp] = mapped_address(st, site.file_offset);
    const int n = fire_uprobes_regs(path, site.file_offset, regs, 0, cpu);
    if (n < 0) return n;
    ran += n;
  }
  return ran;
}

}  // namespace bpfemu::emu
