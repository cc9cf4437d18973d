// BTF blobs for scenarios, made with libbpf's BTF writer: the types most
// scenarios need (u8, u16, u32, u64, struct bpf_spin_lock) and what a
// scenario adds, with member offsets in bytes.
#pragma once

#include <bpf/btf.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace bpfemu::conformance {

class Recorder;

class BtfBuilder {
 public:
  // A member (or a DATASEC's variable): its type and byte offset.
  struct Member {
    int type;
    uint32_t offset;
  };

  BtfBuilder();
  ~BtfBuilder();
  BtfBuilder(const BtfBuilder&) = delete;
  BtfBuilder& operator=(const BtfBuilder&) = delete;

  int add_struct(const char* name, uint32_t size, std::initializer_list<Member> members);
  int add_union(const char* name, uint32_t size, std::initializer_list<Member> members);
  int array(int elem, uint32_t n);
  int typedef_of(const char* name, int type);
  int volatile_of(int type);
  int const_of(int type);
  int ptr_to(int type);
  int type_tag(const char* value, int type);
  // A decl tag on member `member` of struct `type` (-1: on the type itself).
  int decl_tag(const char* value, int type, int member);
  // A DATASEC of global variables, each of the member's type and size.
  int datasec(const char* name, uint32_t size, std::initializer_list<Member> vars);
  std::vector<uint8_t> blob() const;

  int u8, u16, u32, u64, lock;  // type ids

 private:
  int add_members(int id, std::initializer_list<Member> members);
  btf* b_;
  int vars_ = 0;
};

// BPF_BTF_LOAD of blob, recorded under label: the BTF's fd or -errno.
int load_btf(Recorder& r, const std::vector<uint8_t>& blob, const std::string& label);

}  // namespace bpfemu::conformance
