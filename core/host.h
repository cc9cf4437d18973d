// What the emulator reads from the machine it runs on, behind one interface so
// that tests can pretend to be another machine (another kernel release, CPU
// count or shared-memory root) without depending on the host they run on.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace bpfemu {

class Host {
 public:
  virtual ~Host() = default;
  // The running kernel's release (uname -r), e.g. "6.18.44-fc".
  virtual std::string kernel_release() const = 0;
  // Possible CPUs as libbpf counts them (/sys/devices/system/cpu/possible).
  virtual int possible_cpus() const = 0;
  // Directory for per-user emulator state by default (a tmpfs: /dev/shm).
  virtual std::string shm_root() const = 0;
  // sizeof(struct <name>) in the running kernel, from its BTF; nullopt when
  // the BTF or the structure cannot be read.
  virtual std::optional<unsigned> kernel_struct_size(std::string_view name) const = 0;
};

// The machine itself.
const Host& real_host();
// The host the emulator consults now: the real one unless a test installed another.
const Host& host();

// Installs `h` for the scope's lifetime (tests). Resets the cached CPU count so
// the fake's count takes effect; not thread-safe against concurrent emulator use.
class ScopedHost {
 public:
  explicit ScopedHost(const Host& h);
  ~ScopedHost();
  ScopedHost(const ScopedHost&) = delete;
  ScopedHost& operator=(const ScopedHost&) = delete;

 private:
  const Host* saved_;
};

// A host whose answers are fields.
struct FakeHost final : Host {
  std::string release = "6.18.0";
  int cpus = 2;
  std::string shm = "/dev/shm";
  std::string kernel_release() const override { return release; }
  int possible_cpus() const override { return cpus; }
  std::string shm_root() const override { return shm; }
  // No BTF: maps use their profile's built-in sizes.
  std::optional<unsigned> kernel_struct_size(std::string_view) const override { return std::nullopt; }
};

}  // namespace bpfemu
