// The shared attach table (emu/attach_table.h): finding and making hooks,
// mapping the store's file once per process, and the small lookups every
// list kind shares.
#include "emu/attach_table.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <map>
#include <string>

#include "core/log.h"
#include "core/uaccess.h"
#include "emu/objects.h"
#include "emu/program.h"
#include "emu/store.h"

namespace bpfemu::emu {

Hook* Table::find(uint64_t cgroup, uint32_t attach_type) {
  for (Hook& h : file_->hooks)
    if (h.cgroup == cgroup && h.attach_type == attach_type) {
      h.count = std::min(h.count, kMaxProgs);  // a damaged file must not take us out of bounds
      return &h;
    }
  return nullptr;
}

Hook* Table::find_or_make(uint64_t cgroup, uint32_t attach_type) {
  if (Hook* h = find(cgroup, attach_type)) return h;
  for (Hook& h : file_->hooks)
    if (h.cgroup == 0) {
      memset(&h, 0, sizeof(h));
      h.cgroup = cgroup;
      h.attach_type = attach_type;
      h.revision = kFirstRevision;
      return &h;
    }
  return nullptr;
}

namespace {

std::mutex g_tables_mu;
std::map<std::string, Table*>& tables() {
  static auto* m = new std::map<std::string, Table*>();
  return *m;
}

}  // namespace

Table* table_of(Store& store, int* err) {
  std::lock_guard<std::mutex> lock(g_tables_mu);
  const std::string path = store.dir() + "/attachments";
  if (auto it = tables().find(path); it != tables().end()) {
    // The same store still, not one made again at the same path (tests do).
    struct stat now {};
    if (stat(path.c_str(), &now) == 0 && now.st_ino == it->second->ino()) return it->second;
    tables().erase(it);  // the old view stays mapped: another thread may still use it
  }
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    *err = log_reason(-ENOMEM, "cannot open the store's attach table %s", path.c_str());
    return nullptr;
  }
  struct stat st {};
  if (fstat(fd, &st) != 0 || (static_cast<size_t>(st.st_size) < sizeof(TableFile) &&
                              ftruncate(fd, static_cast<off_t>(sizeof(TableFile))) != 0)) {
    ::close(fd);
    *err = log_reason(-ENOMEM, "cannot size the store's attach table");
    return nullptr;
  }
  void* p = mmap(nullptr, sizeof(TableFile), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) {
    ::close(fd);
    *err = log_reason(-ENOMEM, "cannot map the store's attach table");
    return nullptr;
  }
  auto* file = static_cast<TableFile*>(p);
  // A new file is all zeros; one another layout wrote is refused, not misread.
  uint64_t expected = 0;
  std::atomic_ref<uint64_t>(file->magic).compare_exchange_strong(expected, TableFile::kMagic);
  if (expected != 0 && expected != TableFile::kMagic) {
    munmap(p, sizeof(TableFile));
    ::close(fd);
    *err = log_reason(-EINVAL, "%s was written by another bpfemu build", path.c_str());
    return nullptr;
  }
  auto* t = new Table(file, fd, st.st_ino);
  tables()[path] = t;
  return t;
}

Program* prog_of_type(uint32_t fd, uint32_t type, int* err) {
  ObjKind kind = ObjKind::kNone;
  uint8_t access = 0;
  *err = -EBADF;
  Object* obj = object_from_fd_checked(static_cast<int>(fd), &kind, &access, err);
  if (obj == nullptr) {
    *err = log_reason(*err, "fd %u is not a BPF object", fd);
    return nullptr;
  }
  if (kind != ObjKind::kProg) {
    *err = log_reason(-EINVAL, "fd %u is not a program", fd);
    return nullptr;
  }
  auto* prog = static_cast<Program*>(obj);
  if (type != 0 && prog->header().prog_type != type) {
    *err = log_reason(-EINVAL, "program %u is of type %u, not %u", prog->id(), prog->header().prog_type, type);
    return nullptr;
  }
  return prog;
}

int put32(void* uattr, size_t off, uint32_t v) {
  return copy_to_user(user_ptr_add(uattr, off), &v, sizeof(v)) != 0 ? -EFAULT : 0;
}

}  // namespace bpfemu::emu
