// Map type -> ops, from the one table (core/map_types.def).
#include "maptypes/families.h"

namespace bpfemu::maptypes {
namespace {

constexpr std::nullptr_t kNotEmulated = nullptr;
constexpr const MapOps* ops_of(const MapOps& ops) { return &ops; }
constexpr const MapOps* ops_of(std::nullptr_t) { return nullptr; }

const MapOps* const kTable[] = {
    nullptr,  // 0: BPF_MAP_TYPE_UNSPEC
#define BPF_MAP_TYPE(NAME, id, ops, shape, traits, major, minor) ops_of(k##ops),
#include "core/map_types.def"
#undef BPF_MAP_TYPE
};

}  // namespace

const MapOps* ops_for_type(uint32_t map_type) {
  return map_type < std::size(kTable) ? kTable[map_type] : nullptr;
}

}  // namespace bpfemu::maptypes
