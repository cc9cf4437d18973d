#include <bpf/bpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "bpfemu/emu_backend.h"
#include "bpfemu/kernel_backend.h"

namespace bpfemu {

bool kernel_bpf_available(std::string* why) {
  int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "probe", 4, 4, 1, nullptr);
  if (fd >= 0) {
    ::close(fd);
    return true;
  }
  if (why != nullptr) {
    int err = errno;
    *why = std::string("bpf(BPF_MAP_CREATE) failed: ") + strerror(err) +
           (err == EPERM ? " — run as root (or with CAP_BPF) to use the kernel backend" : "");
  }
  return false;
}

std::unique_ptr<Backend> make_backend(std::string_view name, std::string* error) {
  if (name == "emu") return std::make_unique<EmuBackend>();
  if (name == "kernel") {
    std::string why;
    if (!kernel_bpf_available(&why)) {
      if (error != nullptr) *error = why;
      return nullptr;
    }
    return std::make_unique<KernelBackend>();
  }
  if (error != nullptr) *error = "unknown backend '" + std::string(name) + "' (expected emu or kernel)";
  return nullptr;
}

}  // namespace bpfemu
