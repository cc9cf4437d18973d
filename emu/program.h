// Program objects: what BPF_PROG_LOAD makes.
//
// Loading makes the kernel's checks that need no verifier -- attributes, flags,
// program and attach types, instruction count, the license, the name, the log
// buffer's attributes -- and a structural pass over the instructions (known
// classes, well-formed ld_imm64 pairs, map references that name maps, jumps
// that stay inside the program, a last instruction that ends it). It is not the
// verifier: a program the kernel's verifier would reject for what it does
// (uninitialised registers, out-of-bounds accesses, unbounded loops, helper
// argument types) loads here; the interpreter (emu/interpreter.h) checks what
// a program does as it runs instead.
//
// A program holds a reference on every map it uses (ObjHeader::krefs of the
// map), dropped when the program is freed, as the kernel's used_maps.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>

#include "core/object.h"
#include "emu/interp_code.h"

namespace bpfemu::emu {

inline constexpr uint32_t kMaxUsedMaps = 64;  // the kernel's MAX_USED_MAPS

struct ProgHeader {
  ObjHeader obj;
  uint32_t prog_type;
  uint32_t expected_attach_type;
  uint32_t insn_cnt;
  uint32_t prog_flags;
  uint32_t gpl_compatible;
  uint32_t nr_map_ids;
  char name[16];
  uint32_t map_ids[kMaxUsedMaps];
  uint32_t attach_btf_id;  // tracing programs: the target's id in the kernel's BTF
  char attach_target[128];  // ... and its name (a function, or a tracepoint for tp_btf)
  uint8_t tag[8];           // bpf_prog_calc_tag's, of the instructions as loaded
  uint32_t btf_id;          // the program's BTF object (prog_btf_fd), held; 0: none
};

class alignas(64) Program final : public Object {
 public:
  explicit Program(Region&& region)
      : Object(ObjKind::kProg, std::move(region)),
        hdr_(this->region().at<ProgHeader>(this->region().size() - kHeaderPage)) {}
  const ProgHeader& header() const { return *hdr_; }
  const uint8_t* insns() const { return data(); }
  // The instructions as the interpreter runs them, decoded on first use in
  // this process (the instructions never change once loaded).
  const interp::Code& code() const;

 private:
  ProgHeader* hdr_;
  mutable std::once_flag code_once_;
  mutable std::unique_ptr<interp::Code> code_;
};

// What BPF_PROG_LOAD takes (union bpf_attr's prog part); pointers are the caller's.
struct ProgLoadAttr {
  uint32_t prog_type;
  uint32_t insn_cnt;
  const void* insns;
  const char* license;
  uint32_t log_level;
  uint32_t log_size;
  void* log_buf;
  uint32_t kern_version;
  uint32_t prog_flags;
  char prog_name[16];
  uint32_t prog_ifindex;
  uint32_t expected_attach_type;
  uint32_t prog_btf_fd;
  uint32_t func_info_rec_size;
  uint32_t func_info_cnt;
  uint32_t line_info_rec_size;
  uint32_t line_info_cnt;
  uint32_t attach_btf_id;
  uint32_t attach_prog_fd;
  const void* fd_array;
  uint32_t fd_array_cnt;
  uint64_t signature;
  uint32_t* log_true_size;  // where to report the log's size (nullptr: the attr is too short)
};

// BPF_PROG_LOAD: an fd or -errno.
int sys_prog_load(const ProgLoadAttr& attr);
// BPF_OBJ_GET_INFO_BY_FD on a program (struct bpf_prog_info).
int prog_get_info(Program& prog, void* uinfo, uint32_t* info_len);

}  // namespace bpfemu::emu
