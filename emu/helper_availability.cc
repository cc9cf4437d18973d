#include "emu/helper_availability.h"

#include <cstdio>
#include <cstring>

namespace bpfemu::emu {
namespace {

struct TypeRow {
  uint32_t prog_type;
  const char* helpers;  // helpers[id - 1]: 'u' refused, 'o' allowed
};

#include "emu/helper_availability_data.inc"

template <size_t N>
const char* row_of(const TypeRow (&rows)[N], uint32_t prog_type) {
  for (const TypeRow& r : rows)
    if (r.prog_type == prog_type) return r.helpers;
  return nullptr;
}

bool is_6_1(const KernelProfile& p) { return p.major < 6 || (p.major == 6 && p.minor < 18); }

}  // namespace

bool helper_allowed_for_type(const KernelProfile& p, uint32_t prog_type, uint32_t id) {
  const char* row = is_6_1(p) ? row_of(kRows6_1, prog_type) : row_of(kRows6_18, prog_type);
  if (row == nullptr || id == 0 || id > strlen(row)) return true;
  return row[id - 1] != 'u';
}

std::string helper_refusal_text(const KernelProfile& p, const char* helper_name, uint32_t id) {
  char text[160];
  // 6.1 says what it says of a helper it does not know at all.
  snprintf(text, sizeof(text), is_6_1(p) ? "unknown func bpf_%s#%u" : "program of this type cannot use helper bpf_%s#%u",
           helper_name, id);
  return text;
}

}  // namespace bpfemu::emu
