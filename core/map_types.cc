#include "core/map_types.h"

#include <strings.h>

#include <array>
#include <string_view>

#include "bpfemu/uapi.h"

namespace bpfemu {
namespace {

constexpr MapShape kKeyed = MapShape::kKeyed;
constexpr MapShape kIndexed = MapShape::kIndexed;
constexpr MapShape kLpm = MapShape::kLpm;
constexpr MapShape kQueue = MapShape::kQueue;
constexpr MapShape kBloom = MapShape::kBloom;
constexpr MapShape kFdIndexed = MapShape::kFdIndexed;
constexpr MapShape kFdKeyed = MapShape::kFdKeyed;
constexpr MapShape kStorage = MapShape::kStorage;
constexpr MapShape kRing = MapShape::kRing;
constexpr MapShape kArena = MapShape::kArena;

constexpr MapTypeInfo kTypes[] = {
#define BPF_MAP_TYPE(NAME, id, ops, shape, traits, major, minor) \
  {id, #NAME, shape, static_cast<uint16_t>(traits), major, minor, std::string_view(#ops) != "NotEmulated"},
#include "core/map_types.def"
#undef BPF_MAP_TYPE
};

constexpr bool ids_are_dense() {
  for (size_t i = 0; i < std::size(kTypes); ++i)
    if (kTypes[i].id != i + 1) return false;
  return true;
}
static_assert(ids_are_dense(), "map_types.def lists the types in id order, from 1, without gaps");
static_assert(std::size(kTypes) + 1 == kMaxMapType, "uapi.h's kMaxMapType is one past the table's last type");

}  // namespace

std::span<const MapTypeInfo> all_map_types() { return kTypes; }

const MapTypeInfo* map_type_info(uint32_t type) {
  return type >= 1 && type <= std::size(kTypes) ? &kTypes[type - 1] : nullptr;
}

uint32_t last_map_type_in(int major, int minor) {
  uint32_t last = 0;
  for (const MapTypeInfo& t : kTypes)
    if (t.in_kernel(major, minor)) last = t.id;
  return last;
}

const char* map_type_name(uint32_t type) {
  if (type == 0) return "UNSPEC";
  const MapTypeInfo* t = map_type_info(type);
  return t != nullptr ? t->name : nullptr;
}

uint32_t map_type_from_name(const char* name) {
  if (name == nullptr) return 0;
  if (strncasecmp(name, "BPF_MAP_TYPE_", 13) == 0) name += 13;
  for (const MapTypeInfo& t : kTypes)
    if (strcasecmp(name, t.name) == 0) return t.id;
  return 0;
}

}  // namespace bpfemu
