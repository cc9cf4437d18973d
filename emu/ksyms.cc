#include "emu/ksyms.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/scope.h"

namespace bpfemu::emu {
namespace {

// Where made-up addresses start: the usual start of x86-64 kernel text, one
// 16-byte slot per line so that every line has its own.
constexpr uint64_t kMadeUpBase = 0xffffffff81000000ULL;

struct Ksyms {
  bool known = false;
  bool made_up = false;
  std::vector<std::string> rest;  // each line after its address: "T name [module]"
  std::vector<uint64_t> addr;
  std::unordered_map<std::string, uint64_t> text_by_name;  // first text symbol of a name
  std::unordered_map<uint64_t, std::string> text_by_addr;  // first text symbol at an address
  std::vector<uint64_t> sorted;                            // every address, once, ascending
};

bool is_text(char type) { return type == 't' || type == 'T'; }

const Ksyms& ksyms() {
  static const Ksyms* k = [] {
    auto* out = new Ksyms();
    EmulatorScope scope;  // the real file, past the interposer that serves ours
    FILE* f = fopen("/proc/kallsyms", "re");
    if (f == nullptr) return out;
    out->known = true;
    char line[1024];
    bool any_addr = false;
    while (fgets(line, sizeof(line), f) != nullptr) {
      unsigned long long a = 0;
      int n = 0;
      if (sscanf(line, "%llx %n", &a, &n) != 1 || n <= 0) continue;
      std::string rest(line + n);
      while (!rest.empty() && (rest.back() == '\n' || rest.back() == '\r')) rest.pop_back();
      any_addr |= a != 0;
      out->addr.push_back(a);
      out->rest.push_back(std::move(rest));
    }
    fclose(f);
    out->made_up = !any_addr && !out->addr.empty();
    for (size_t i = 0; i < out->addr.size(); ++i) {
      if (out->made_up) out->addr[i] = kMadeUpBase + 16 * i;
      const std::string& r = out->rest[i];
      if (r.size() < 3 || !is_text(r[0]) || r[1] != ' ') continue;
      const size_t end = r.find_first_of(" \t", 2);
      std::string name = r.substr(2, end == std::string::npos ? std::string::npos : end - 2);
      out->text_by_name.emplace(name, out->addr[i]);
      out->text_by_addr.emplace(out->addr[i], std::move(name));
    }
    out->sorted = out->addr;
    std::sort(out->sorted.begin(), out->sorted.end());
    out->sorted.erase(std::unique(out->sorted.begin(), out->sorted.end()), out->sorted.end());
    return out;
  }();
  return *k;
}

}  // namespace

uint64_t ksym_text_addr(const std::string& name) {
  const auto& k = ksyms();
  const auto it = k.text_by_name.find(name);
  return it == k.text_by_name.end() ? 0 : it->second;
}

bool ksym_text_at(uint64_t addr, std::string* name, uint64_t* size) {
  const auto& k = ksyms();
  const auto it = k.text_by_addr.find(addr);
  if (it == k.text_by_addr.end()) return false;
  if (name != nullptr) *name = it->second;
  if (size != nullptr) {
    const auto next = std::upper_bound(k.sorted.begin(), k.sorted.end(), addr);
    *size = next != k.sorted.end() ? *next - addr : 16;
  }
  return true;
}

bool ksyms_known() { return ksyms().known; }

bool ksyms_file_text(const char* path, std::string* text) {
  if (path == nullptr || std::string_view(path) != "/proc/kallsyms") return false;
  const auto& k = ksyms();
  if (!k.made_up) return false;
  text->clear();
  text->reserve(k.addr.size() * 48);
  char hex[24];
  for (size_t i = 0; i < k.addr.size(); ++i) {
    snprintf(hex, sizeof(hex), "%016llx ", static_cast<unsigned long long>(k.addr[i]));
    *text += hex;
    *text += k.rest[i];
    *text += '\n';
  }
  return true;
}

}  // namespace bpfemu::emu
