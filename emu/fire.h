// What every way of firing attached programs shares (raw tracepoints,
// tracepoints, fentry/fexit): the store, the CPU the programs run on, walking
// the objects that say what is attached, and running one program.
#pragma once

#include <cstdint>
#include <optional>

#include "bpfemu/controls.h"
#include "core/object.h"
#include "core/scope.h"
#include "emu/objects.h"
#include "emu/store.h"

namespace bpfemu::emu {

class Firing {
 public:
  // cpu: the CPU the programs see (-1: the calling thread's).
  explicit Firing(int cpu);
  Firing(const Firing&) = delete;
  Firing& operator=(const Firing&) = delete;

  // Nonzero (-errno, with its reason logged) when nothing can run: no store,
  // or a CPU that does not exist.
  int error() const { return error_; }
  Store& store() const { return *store_; }
  // Calls fn on every object of `kind` this process can see, in id order.
  template <class Fn>
  void each(ObjKind kind, Fn fn) {
    int err = 0;
    for (uint32_t id = 0;;) {
      uint32_t next = 0;
      if (store_->next_id(kind, id, &next) != 0) return;
      id = next;
      if (Object* obj = view_of(*store_, kind, id, &err); obj != nullptr) fn(*obj);
    }
  }
  // Runs program prog_id once with r1 = ctx (ctx_size bytes it may read) and
  // `cookie` as its bpf_get_attach_cookie: 0, or -errno when it faulted. A
  // program that is gone is skipped (0). *r0, when given: what it returned.
  int run(uint32_t prog_id, void* ctx, uint32_t ctx_size, uint64_t cookie = 0, uint64_t* r0 = nullptr);
  // How many programs ran.
  int ran() const { return ran_; }
  // What bpf_get_func_ip answers the programs run from now on: the traced
  // function's address (a uprobe's: the probed instruction's), 0 if unknown.
  uint64_t func_ip = 0;
  // Or the traced kernel function's name, its address looked up only when a
  // program asks (reading /proc/kallsyms is not free).
  const char* func_name = nullptr;

 private:
  EmulatorScope scope_;
  Store* store_ = nullptr;
  std::optional<ScopedCpu> on_;
  int error_ = 0;
  int ran_ = 0;
};

}  // namespace bpfemu::emu
