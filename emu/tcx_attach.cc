// Programs and links on a device's tcx hooks (kernel/bpf/tcx.c), ordered by
// kernel/bpf/mprog.c's rules: relative positions, replace and revisions.
#include <net/if.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <vector>

#include "core/log.h"
#include "core/uaccess.h"
#include "emu/attach_table.h"
#include "emu/link.h"
#include "emu/objects.h"
#include "emu/program.h"
#include "emu/store.h"

namespace bpfemu::emu {
namespace {

// A device's list for one direction is a hook keyed by kTcxKey | ifindex.
// The kernel frees an emptied list: a hook with no items is no list (query
// and detach answer ENOENT), and the next one starts at revision 1 again.
constexpr uint64_t kTcxKey = 1ULL << 63;
constexpr uint32_t kTcxIngress = 46, kTcxEgress = 47;
constexpr int kMprogMax = 63;  // bpf_mprog_max()


int tcx_device(uint32_t ifindex) {
  char name[IF_NAMESIZE];
  if (ifindex == 0 || if_indextoname(ifindex, name) == nullptr)
    return log_reason(-ENODEV, "no network device with ifindex %u here", ifindex);
  return 0;
}

// A program or a link with its program (bpf_tuple); prog 0: none.
struct Tuple {
  uint32_t prog = 0;
  uint32_t link = 0;
};

// bpf_mprog_tuple_relative: what id_or_fd names, checked against type (0: any).
int mprog_lookup(Store& store, uint32_t id_or_fd, uint32_t flags, uint32_t type, Tuple* t) {
  *t = Tuple{};
  int err = 0;
  if (flags & kFLink) {
    Object* obj = nullptr;
    if (flags & kFId) {
      obj = id_or_fd != 0 ? view_of(store, ObjKind::kLink, id_or_fd, &err) : nullptr;
      if (obj == nullptr) return log_reason(-ENOENT, "no link has id %u", id_or_fd);
    } else {
      if (id_or_fd == 0) return log_reason(-EINVAL, "BPF_F_LINK needs a link fd or id");
      ObjKind kind = ObjKind::kNone;
      uint8_t access = 0;
      err = -EBADF;
      obj = object_from_fd_checked(static_cast<int>(id_or_fd), &kind, &access, &err);
      if (obj == nullptr) return log_reason(err, "relative_fd %u is not a BPF object", id_or_fd);
      if (kind != ObjKind::kLink) return log_reason(-EINVAL, "relative_fd %u is not a link", id_or_fd);
    }
    const LinkHeader& lh = static_cast<Link*>(obj)->header();
    if (type != 0 && lh.prog_type != type) return log_reason(-EINVAL, "the relative link's program is of another type");
    t->link = obj->id();
    t->prog = std::atomic_ref<uint32_t>(const_cast<uint32_t&>(lh.prog_id)).load();
    return 0;
  }
  if (!(flags & kFId) && id_or_fd == 0) return 0;
  Object* obj = nullptr;
  if (flags & kFId) {
    obj = id_or_fd != 0 ? view_of(store, ObjKind::kProg, id_or_fd, &err) : nullptr;
    if (obj == nullptr) return log_reason(-ENOENT, "no program has id %u", id_or_fd);
  } else {
    obj = prog_of_type(id_or_fd, 0, &err);
    if (obj == nullptr) return err;
  }
  if (type != 0 && static_cast<Program*>(obj)->header().prog_type != type)
    return log_reason(-EINVAL, "the relative program is of another type");
  t->prog = obj->id();
  return 0;
}

Anchor mprog_relative(Store& store, uint32_t id_or_fd, uint32_t flags, uint32_t type) {
  Tuple t;
  Anchor a;
  a.err = mprog_lookup(store, id_or_fd, flags, type, &t);
  a.prog = t.prog;
  a.link = t.link;
  return a;
}

int pos_exact(Hook* h, const Tuple& t) {
  for (uint32_t i = 0; i < count_of(h); ++i)
    if (h->items[i].prog_id == t.prog)
      return h->items[i].link_id == t.link ? static_cast<int>(i) : log_reason(-EBUSY, "the program is attached by a link");
  return log_reason(-ENOENT, "the program is not attached here");
}

int pos_before(Hook* h, const Tuple& t) {
  for (uint32_t i = 0; i < count_of(h); ++i)
    if (h->items[i].prog_id == t.prog && (t.link == 0 || t.link == h->items[i].link_id)) return static_cast<int>(i) - 1;
  return t.prog != 0 ? log_reason(-ENOENT, "the relative program is not attached here") : -1;
}

int pos_after(Hook* h, const Tuple& t) {
  for (uint32_t i = 0; i < count_of(h); ++i)
    if (h->items[i].prog_id == t.prog && (t.link == 0 || t.link == h->items[i].link_id)) return static_cast<int>(i) + 1;
  return t.prog != 0 ? log_reason(-ENOENT, "the relative program is not attached here") : static_cast<int>(count_of(h));
}

// The position both rules (replace/exact, before, after) agree on, as
// bpf_mprog_attach and bpf_mprog_detach work it out: >= -1, or -errno;
// *flags becomes BPF_F_AFTER when nothing chose a position.
int mprog_position(Hook* h, const Tuple& rt, int idx, uint32_t* flags) {
  if (*flags & kFBefore) {
    const int t = pos_before(h, rt);
    if (t < -1 || (idx >= -1 && t != idx)) return t < -1 ? t : log_reason(-ERANGE, "the positions disagree");
    idx = t;
  }
  if (*flags & kFAfter) {
    const int t = pos_after(h, rt);
    if (t < -1 || (idx >= -1 && t != idx)) return t < 0 ? t : log_reason(-ERANGE, "the positions disagree");
    idx = t;
  }
  if (idx < -1) {
    if (rt.prog != 0 || *flags != 0) return log_reason(-EINVAL, "flags 0x%x choose no position", *flags);
    idx = static_cast<int>(count_of(h));
    *flags = kFAfter;
  }
  if (idx >= kMprogMax) return log_reason(-ERANGE, "%d programs at most", kMprogMax);
  return idx;
}

constexpr int kNoPos = -ERANGE;  // bpf_mprog_attach's "no position yet"

// bpf_mprog_attach, table locked. *old_prog: a program the new one replaced.
int tcx_attach_locked(Table& t, uint32_t ifindex, uint32_t attach_type, uint32_t prog_id, uint32_t link_id,
                      uint32_t old_id, uint32_t flags, const Anchor& rel, uint64_t revision, uint32_t* old_prog) {
  Hook* h = t.find(kTcxKey | ifindex, attach_type);
  if (revision != 0 && revision != (count_of(h) != 0 ? h->revision : kFirstRevision))
    return log_reason(-ESTALE, "expected_revision %llu is not the list's", static_cast<unsigned long long>(revision));
  for (uint32_t i = 0; i < count_of(h); ++i)
    if (h->items[i].prog_id == prog_id) return log_reason(-EEXIST, "program %u is attached here already", prog_id);
  if (rel.err != 0) return rel.err;
  const Tuple rt{rel.prog, rel.link};
  int idx = kNoPos;
  if (flags & kFReplace) {
    idx = pos_exact(h, Tuple{old_id, link_id});
    if (idx < 0) return idx;
  }
  idx = mprog_position(h, rt, idx, &flags);
  if (idx < -1) return idx;
  if (h == nullptr || h->count == 0) {
    if (h == nullptr && (h = t.find_or_make(kTcxKey | ifindex, attach_type)) == nullptr)
      return log_reason(-ENOMEM, "the attach table is full");
    h->revision = kFirstRevision;
  }
  const Item item{prog_id, link_id, 0, 0};
  if (flags & kFReplace) {
    if (link_id == 0) *old_prog = h->items[idx].prog_id;
    h->items[idx] = item;
  } else {
    int at = idx;
    if (idx != static_cast<int>(h->count) && (flags & kFBefore)) at = idx + 1;
    std::copy_backward(h->items + at, h->items + h->count, h->items + h->count + 1);
    h->items[at] = item;
    ++h->count;
  }
  ++h->revision;
  return 0;
}

// bpf_mprog_detach, table locked: *gone gets the program whose list
// reference goes (0 for a link's).
int tcx_detach_locked(Table& t, uint32_t ifindex, uint32_t attach_type, uint32_t prog_id, uint32_t link_id,
                      uint32_t flags, const Anchor& rel, uint64_t revision, uint32_t* gone) {
  Hook* h = t.find(kTcxKey | ifindex, attach_type);
  if (count_of(h) == 0) return log_reason(-ENOENT, "nothing is attached there");
  if (flags & kFReplace) return log_reason(-EINVAL, "BPF_F_REPLACE does not detach");
  if (revision != 0 && revision != h->revision)
    return log_reason(-ESTALE, "expected_revision %llu is not the list's", static_cast<unsigned long long>(revision));
  if (rel.err != 0) return rel.err;
  const Tuple rt{rel.prog, rel.link};
  int idx = kNoPos;
  if (prog_id != 0) {
    idx = pos_exact(h, Tuple{prog_id, link_id});
    if (idx < 0) return idx;
  }
  idx = mprog_position(h, rt, idx, &flags);
  if (idx < -1) return idx;
  if (idx == -1) idx = 0;
  if (idx == static_cast<int>(h->count)) idx = static_cast<int>(h->count) - 1;
  if (h->items[idx].link_id != 0 && link_id == 0) return log_reason(-EBUSY, "a link's program is detached through the link");
  *gone = h->items[idx].link_id == 0 ? h->items[idx].prog_id : 0;
  std::copy(h->items + idx + 1, h->items + h->count, h->items + idx);
  --h->count;
  h->items[h->count] = Item{};
  ++h->revision;
  return 0;
}

}  // namespace

bool is_tcx(uint32_t attach_type) { return attach_type == kTcxIngress || attach_type == kTcxEgress; }

long tcx_prog_attach(Program& prog, const ProgAttachAttr& a) {
  if (int e = tcx_device(a.target_fd); e != 0) return e;
  int err = 0;
  uint32_t old_id = 0;
  if (a.attach_flags & kFReplace) {
    Program* old = prog_of_type(a.replace_bpf_fd, prog.header().prog_type, &err);
    if (old == nullptr) return err;
    old_id = old->id();
  }
  Store& store = *prog.store();
  Table* t = table_of(store, &err);
  if (t == nullptr) return err;
  uint32_t old_prog = 0;
  const Anchor rel = mprog_relative(store, a.relative, a.attach_flags & ~kFReplace, prog.header().prog_type);
  prog.obj_header().krefs.fetch_add(1);  // the list holds the program
  {
    Locked l(*t);
    err = tcx_attach_locked(*t, a.target_fd, a.attach_type, prog.id(), 0, old_id, a.attach_flags, rel,
                            a.expected_revision, &old_prog);
  }
  if (err != 0) old_prog = prog.id();
  if (old_prog != 0) drop_object_ref(store, ObjKind::kProg, old_prog);
  return err;
}

long tcx_prog_detach(Program* prog, const ProgAttachAttr& a) {
  if (int e = tcx_device(a.target_fd); e != 0) return e;
  int err = 0;
  Store* store = prog != nullptr ? prog->store() : Store::current(&err);
  if (store == nullptr) return err;
  Table* t = table_of(*store, &err);
  if (t == nullptr) return err;
  uint32_t gone = 0;
  const Anchor rel = mprog_relative(*store, a.relative, a.attach_flags, prog != nullptr ? prog->header().prog_type : 0);
  {
    Locked l(*t);
    err = tcx_detach_locked(*t, a.target_fd, a.attach_type, prog != nullptr ? prog->id() : 0, 0, a.attach_flags,
                            rel, a.expected_revision, &gone);
  }
  if (gone != 0) drop_object_ref(*store, ObjKind::kProg, gone);
  return err;
}

// bpf_mprog_query: programs and links in order; the flags are always 0.
long tcx_prog_query(void* uattr, const uint8_t* attr) {
  uint32_t ifindex, attach_type, query_flags, attach_flags, count;
  uint64_t uprog_ids, uprog_flags, ulink_ids, ulink_flags;
  memcpy(&ifindex, attr, 4);
  memcpy(&attach_type, attr + 4, 4);
  memcpy(&query_flags, attr + 8, 4);
  memcpy(&attach_flags, attr + 12, 4);
  memcpy(&uprog_ids, attr + 16, 8);
  memcpy(&count, attr + 24, 4);
  memcpy(&uprog_flags, attr + 32, 8);
  memcpy(&ulink_ids, attr + 40, 8);
  memcpy(&ulink_flags, attr + 48, 8);
  if (int e = tcx_device(ifindex); e != 0) return e;
  int err = 0;
  Store* store = Store::current(&err);
  if (store == nullptr) return err;
  Table* t = table_of(*store, &err);
  if (t == nullptr) return err;
  std::vector<Item> items;
  uint64_t revision = 0;
  {
    Locked l(*t);
    // An empty list answers as a fresh one (6.18 queries a device with no
    // tcx entry without ENOENT).
    Hook* h = l->find(kTcxKey | ifindex, attach_type);
    if (count_of(h) != 0) items.assign(h->items, h->items + h->count);
    revision = count_of(h) != 0 ? h->revision : kFirstRevision;
  }
  if (query_flags != 0 || attach_flags != 0) return log_reason(-EINVAL, "query_flags and attach_flags must be 0 for tcx");
  const uint32_t zero = 0, total = static_cast<uint32_t>(items.size());
  if (put32(uattr, 12, zero) != 0 || copy_to_user(user_ptr_add(uattr, 56), &revision, sizeof(revision)) != 0 ||
      put32(uattr, 24, total) != 0)
    return log_reason(-EFAULT, "the attr cannot be written back");
  if (count == 0 || uprog_ids == 0 || total == 0) return 0;
  long ret = 0;
  uint32_t n = total;
  if (count < total) {
    n = count;
    ret = log_reason(-ENOSPC, "count %u is below the %u programs attached", count, total);
  }
  auto out = [](uint64_t base, uint32_t i, uint32_t v) {
    return base == 0 || copy_to_user(reinterpret_cast<void*>(static_cast<uintptr_t>(base + 4ULL * i)), &v, 4) == 0;
  };
  for (uint32_t i = 0; i < n; ++i)
    if (!out(uprog_ids, i, items[i].prog_id) || !out(uprog_flags, i, 0) || !out(ulink_ids, i, items[i].link_id) ||
        !out(ulink_flags, i, 0))
      return log_reason(-EFAULT, "an id array points at bad memory");
  return ret;
}

int tcx_link_attach(Store& store, uint32_t ifindex, uint32_t attach_type, uint32_t link_id, uint32_t prog_id,
                    uint32_t prog_type, uint32_t flags, uint32_t relative, uint64_t expected_revision) {
  int err = 0;
  Table* t = table_of(store, &err);
  if (t == nullptr) return err;
  uint32_t old_prog = 0;
  const Anchor rel = mprog_relative(store, relative, flags & ~kFReplace, prog_type);
  Locked l(*t);
  return tcx_attach_locked(*t, ifindex, attach_type, prog_id, link_id, 0, flags, rel, expected_revision, &old_prog);
}

int tcx_link_replace(Store& store, uint32_t ifindex, uint32_t attach_type, uint32_t link_id, uint32_t old_prog_id,
                     uint32_t new_prog_id, uint32_t new_prog_type) {
  int err = 0;
  Table* t = table_of(store, &err);
  if (t == nullptr) return err;
  uint32_t old_prog = 0;
  const Anchor rel = mprog_relative(store, old_prog_id, kFId, new_prog_type);
  Locked l(*t);
  if (count_of(l->find(kTcxKey | ifindex, attach_type)) == 0) return log_reason(-ENOENT, "nothing is attached there");
  return tcx_attach_locked(*t, ifindex, attach_type, new_prog_id, link_id, old_prog_id, kFReplace | kFId, rel, 0,
                           &old_prog);
}

void tcx_link_remove(Store& store, uint32_t ifindex, uint32_t attach_type, uint32_t link_id, uint32_t prog_id) {
  int err = 0;
  Table* t = table_of(store, &err);
  if (t == nullptr) return;
  uint32_t gone = 0;
  Locked l(*t);
  tcx_detach_locked(*t, ifindex, attach_type, prog_id, link_id, 0, Anchor{}, 0, &gone);
}

int tcx_check_device(uint32_t ifindex) { return tcx_device(ifindex); }

}  // namespace bpfemu::emu
