// Programs and links on cgroups (kernel/bpf/cgroup.c): cgroups known by their
// directory's inode, the parent/child override rules, where an attach places
// a program, effective lists, and the attachments of removed cgroups.
#include <fcntl.h>
#include <linux/bpf.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "core/log.h"
#include "core/profile.h"
#include "core/uaccess.h"
#include "emu/attach_table.h"
#include "emu/link.h"
#include "emu/objects.h"
#include "emu/program.h"
#include "emu/store.h"

namespace bpfemu::emu {
namespace {

constexpr long kCgroup2Magic = 0x63677270;  // CGROUP2_SUPER_MAGIC

// Hooks of cgroups that are gone (rmdir): the kernel detaches their
// programs and links when a cgroup dies. Their programs' references go to
// *progs (the caller drops them unlocked); their links lose their cgroup.
void purge_dead(Table& t, Store& store, std::vector<uint32_t>* progs) {
  for (Hook& h : t.hooks()) {
    if (h.cgroup == 0 || h.path[0] == '\0') continue;
    struct stat st {};
    if (stat(h.path, &st) == 0 && st.st_ino == h.cgroup) continue;
    for (uint32_t i = 0; i < h.count && i < kMaxProgs; ++i) {
      if (h.items[i].link_id == 0) {
        progs->push_back(h.items[i].prog_id);
        continue;
      }
      int err = 0;
      if (Object* obj = view_of(store, ObjKind::kLink, h.items[i].link_id, &err)) {
        auto& lh = const_cast<LinkHeader&>(static_cast<Link*>(obj)->header());
        std::atomic_ref<uint64_t>(lh.cgroup_id).store(0);
      }
    }
    memset(&h, 0, sizeof(h));
  }
}

// hierarchy_allows_attach: the nearest ancestor with programs of this type
// decides; one without BPF_F_ALLOW_OVERRIDE or BPF_F_ALLOW_MULTI forbids.
bool hierarchy_allows(Table& t, const CgroupRef& cg, uint32_t attach_type) {
  for (uint64_t p : cg.ancestors) {
    Hook* h = t.find(p, attach_type);
    if (flags_of(h) & kMulti) return true;
    if (count_of(h) == 1) return (flags_of(h) & kOverride) != 0;
  }
  return true;
}

// get_prog_list's lookups: a cgroup link of prog_type (BPF_F_LINK) or any
// program, by id (BPF_F_ID) or fd.
Anchor cgroup_anchor(Store& store, uint32_t flags, uint32_t relative, uint32_t prog_type) {
  Anchor a;
  if (!active_profile().cgroup_mprog || (!(flags & (kFLink | kFId)) && relative == 0)) return a;
  int err = 0;
  Object* obj = nullptr;
  if (flags & kFLink) {
    if (flags & kFId) {
      obj = relative != 0 ? view_of(store, ObjKind::kLink, relative, &err) : nullptr;
      if (obj == nullptr) a.err = log_reason(-ENOENT, "no link has id %u", relative);
    } else if (relative == 0) {
      a.err = log_reason(-EINVAL, "BPF_F_LINK needs a link fd or id");
    } else {
      ObjKind kind = ObjKind::kNone;
      uint8_t access = 0;
      err = -EBADF;
      obj = object_from_fd_checked(static_cast<int>(relative), &kind, &access, &err);
      if (obj == nullptr) {
        a.err = log_reason(err, "relative_fd %u is not a BPF object", relative);
      } else if (kind != ObjKind::kLink) {
        a.err = log_reason(-EINVAL, "relative_fd %u is not a link", relative);
        obj = nullptr;
      }
    }
    if (obj != nullptr) {
      const LinkHeader& lh = static_cast<Link*>(obj)->header();
      if (lh.type != BPF_LINK_TYPE_CGROUP || lh.prog_type != prog_type)
        a.err = log_reason(-EINVAL, "the relative link is no cgroup link of this program type");
      else
        a.link = obj->id();
    }
    return a;
  }
  if (flags & kFId) {
    obj = relative != 0 ? view_of(store, ObjKind::kProg, relative, &err) : nullptr;
    if (obj == nullptr) a.err = log_reason(-ENOENT, "no program has id %u", relative);
  } else {
    obj = prog_of_type(relative, 0, &err);
    if (obj == nullptr) a.err = err;
  }
  if (obj != nullptr) a.prog = obj->id();
  return a;
}

// What an attach may place, and where (insert_pl_to_hlist, get_anchor_prog).
struct AttachReq {
  uint32_t prog_id;     // the program (for links too)
  uint32_t prog_type;
  uint32_t link_id;     // 0 for BPF_PROG_ATTACH
  uint32_t replace_id;  // BPF_F_REPLACE's program, 0 if none
  uint32_t flags;
  uint32_t relative;
  uint64_t revision;
  Anchor anchor;  // what relative names (cgroup_anchor)
};

// The position of the new item in h's list, or -errno. A relative program
// is matched among the programs attached with BPF_PROG_ATTACH, a relative
// link (BPF_F_LINK, for links only) among the links.
int insert_position(Hook* h, const AttachReq& r) {
  const uint32_t n = count_of(h);
  if (!active_profile().cgroup_mprog) return static_cast<int>(n);
  const bool is_link = (r.flags & kFLink) != 0, is_id = (r.flags & kFId) != 0;
  const bool before = (r.flags & kFBefore) != 0, after = (r.flags & kFAfter) != 0;
  if (is_link || is_id || r.relative != 0) {
    if (before == after) return log_reason(-EINVAL, "a relative position needs one of BPF_F_BEFORE and BPF_F_AFTER");
    if (is_link != (r.link_id != 0))
      return log_reason(-EINVAL, "BPF_F_LINK places links relative to links, programs relative to programs");
  } else if (n != 0 && before && after) {
    return log_reason(-EINVAL, "BPF_F_BEFORE and BPF_F_AFTER together on a non-empty list");
  }
  if (!is_link && !is_id && r.relative == 0) return before ? 0 : static_cast<int>(n);
  if (r.anchor.err != 0) return r.anchor.err;
  const uint32_t anchor = is_link ? r.anchor.link : r.anchor.prog;
  const bool preorder = (r.flags & kFPreorder) != 0;
  for (uint32_t i = 0; i < n; ++i) {
    const Item& it = h->items[i];
    if (is_link ? it.link_id != anchor : (it.link_id != 0 || it.prog_id != anchor)) continue;
    if (((it.flags & kFPreorder) != 0) != preorder)
      return log_reason(-EINVAL, "the relative program's BPF_F_PREORDER differs");
    return static_cast<int>(before ? i : i + 1);
  }
  return log_reason(-ENOENT, "the relative %s is not attached here", is_link ? "link" : "program");
}

// __cgroup_bpf_attach, table locked. *old_prog: a program attached with
// BPF_PROG_ATTACH that the new one replaced (its reference is the caller's
// to drop).
int attach_locked(Table& t, const CgroupRef& cg, uint32_t attach_type, const AttachReq& r, uint32_t* old_prog) {
  const uint32_t flags = r.flags;
  const uint32_t saved = flags & (kOverride | kMulti);
  const bool mprog = active_profile().cgroup_mprog;
  if (((flags & kOverride) && (flags & kMulti)) || ((flags & kFReplace) && !(flags & kMulti)))
    return log_reason(-EINVAL, "BPF_F_ALLOW_OVERRIDE with BPF_F_ALLOW_MULTI, or BPF_F_REPLACE without BPF_F_ALLOW_MULTI");
  if (mprog && (flags & kFReplace) && (flags & (kFBefore | kFAfter)))
    return log_reason(-EINVAL, "BPF_F_REPLACE with BPF_F_BEFORE or BPF_F_AFTER");
  if ((r.replace_id != 0) != ((flags & kFReplace) != 0)) return log_reason(-EINVAL, "BPF_F_REPLACE needs replace_bpf_fd");
  Hook* h = t.find(cg.id, attach_type);
  if (mprog && r.revision != 0 && r.revision != revision_of(h))
    return log_reason(-ESTALE, "expected_revision %llu, the list is at %llu",
                      static_cast<unsigned long long>(r.revision), static_cast<unsigned long long>(revision_of(h)));
  if (!hierarchy_allows(t, cg, attach_type))
    return log_reason(-EPERM, "an ancestor cgroup's program of this type allows no override");
  if (count_of(h) != 0 && flags_of(h) != saved)
    return log_reason(-EPERM, "the cgroup's programs of this type were attached with other flags (0x%x)", flags_of(h));
  if (count_of(h) >= kMaxProgs) return log_reason(-E2BIG, "%u programs are attached here already", kMaxProgs);
  // find_attach_entry: the slot to reuse, or -1 for a new one.
  int reuse = -1;
  if (!(flags & kMulti)) {
    if (count_of(h) != 0) reuse = 0;
  } else {
    for (uint32_t i = 0; i < count_of(h); ++i) {
      const Item& it = h->items[i];
      if (r.link_id == 0 && it.link_id == 0 && it.prog_id == r.prog_id && r.prog_id != r.replace_id)
        return log_reason(-EINVAL, "program %u is attached here already", r.prog_id);
      if (r.link_id != 0 && it.link_id == r.link_id) return log_reason(-EINVAL, "the link is attached here already");
    }
    if (r.replace_id != 0) {
      for (uint32_t i = 0; i < count_of(h) && reuse < 0; ++i)
        if (h->items[i].link_id == 0 && h->items[i].prog_id == r.replace_id) reuse = static_cast<int>(i);
      if (reuse < 0) return log_reason(-ENOENT, "replace_bpf_fd's program is not attached here");
    }
  }
  if (h == nullptr && (h = t.find_or_make(cg.id, attach_type)) == nullptr)
    return log_reason(-ENOMEM, "the attach table is full");
  if (!cg.path.empty() && cg.path.size() < sizeof(h->path)) memcpy(h->path, cg.path.c_str(), cg.path.size() + 1);
  const Item item{r.prog_id, r.link_id, flags & kFPreorder, 0};
  if (reuse >= 0) {
    if (h->items[reuse].link_id == 0) *old_prog = h->items[reuse].prog_id;
    h->items[reuse] = item;
  } else {
    const int pos = insert_position(h, r);
    if (pos < 0) return pos;
    std::copy_backward(h->items + pos, h->items + h->count, h->items + h->count + 1);
    h->items[pos] = item;
    ++h->count;
  }
  h->flags = saved;
  ++h->revision;
  return 0;
}

// __cgroup_bpf_detach, table locked: *old_prog gets the program whose
// attachment reference goes.
int detach_locked(Table& t, const CgroupRef& cg, uint32_t attach_type, uint32_t prog_id, uint64_t revision,
                  uint32_t* old_prog) {
  Hook* h = t.find(cg.id, attach_type);
  if (active_profile().cgroup_mprog && revision != 0 && revision != revision_of(h))
    return log_reason(-ESTALE, "expected_revision %llu, the list is at %llu",
                      static_cast<unsigned long long>(revision), static_cast<unsigned long long>(revision_of(h)));
  int pos = -1;
  if (!(flags_of(h) & kMulti)) {
    // Without BPF_F_ALLOW_MULTI the one program goes, whatever fd was given.
    if (count_of(h) == 0) return log_reason(-ENOENT, "no program of this type is attached here");
    pos = 0;
  } else {
    if (prog_id == 0) return log_reason(-EINVAL, "detaching from a BPF_F_ALLOW_MULTI list needs the program's fd");
    for (uint32_t i = 0; i < h->count && pos < 0; ++i)
      if (h->items[i].link_id == 0 && h->items[i].prog_id == prog_id) pos = static_cast<int>(i);
    if (pos < 0) return log_reason(-ENOENT, "the program is not attached here");
  }
  *old_prog = h->items[pos].prog_id;
  std::copy(h->items + pos + 1, h->items + h->count, h->items + pos);
  --h->count;
  h->items[h->count] = Item{};
  if (h->count == 0) h->flags = 0;
  ++h->revision;
  return 0;
}

// compute_effective_progs: this cgroup's list, then each ancestor's while
// nothing ran yet or the ancestor allows multi; BPF_F_PREORDER programs run
// before all others, ancestors' first.
std::vector<uint32_t> effective_locked(Table& t, const CgroupRef& cg, uint32_t attach_type) {
  std::vector<uint32_t> pre, post;
  std::vector<uint64_t> levels{cg.id};
  levels.insert(levels.end(), cg.ancestors.begin(), cg.ancestors.end());
  size_t cnt = 0;
  for (uint64_t level : levels) {
    Hook* h = t.find(level, attach_type);
    if (cnt > 0 && !(flags_of(h) & kMulti)) continue;
    std::vector<uint32_t> level_pre;
    for (uint32_t i = 0; i < count_of(h); ++i) {
      if (h->items[i].flags & kFPreorder)
        level_pre.push_back(h->items[i].prog_id);
      else
        post.push_back(h->items[i].prog_id);
      ++cnt;
    }
    pre.insert(pre.begin(), level_pre.begin(), level_pre.end());
  }
  pre.insert(pre.end(), post.begin(), post.end());
  return pre;
}

}  // namespace

int cgroup_from_fd(uint32_t fd, CgroupRef* out) {
  struct stat st {};
  struct statfs sfs {};
  const int ifd = static_cast<int>(fd);
  if (ifd < 0 || fstat(ifd, &st) != 0 || fstatfs(ifd, &sfs) != 0 || sfs.f_type != kCgroup2Magic ||
      !S_ISDIR(st.st_mode))
    return log_reason(-EBADF, "fd %d is not a cgroup v2 directory", ifd);
  out->id = st.st_ino;
  out->ancestors.clear();
  char link[64], target[256];
  snprintf(link, sizeof(link), "/proc/self/fd/%d", ifd);
  const ssize_t n = readlink(link, target, sizeof(target) - 1);
  out->path = n > 0 ? std::string(target, static_cast<size_t>(n)) : std::string();
  int cur = ifd;
  const dev_t dev = st.st_dev;
  ino_t ino = st.st_ino;
  for (int depth = 0; depth < 256; ++depth) {
    const int parent = openat(cur, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cur != ifd) ::close(cur);
    if (parent < 0) return 0;
    struct stat pst {};
    if (fstat(parent, &pst) != 0 || pst.st_dev != dev || pst.st_ino == ino) {
      ::close(parent);
      return 0;
    }
    out->ancestors.push_back(pst.st_ino);
    ino = pst.st_ino;
    cur = parent;
  }
  if (cur != ifd) ::close(cur);
  return 0;
}

long cgroup_prog_attach(Program& prog, const ProgAttachAttr& a) {
  const uint32_t ptype = prog.header().prog_type;
  int err = 0;
  CgroupRef cg;
  if (int e = cgroup_from_fd(a.target_fd, &cg); e != 0) return e;
  uint32_t replace_id = 0;
  if ((a.attach_flags & kMulti) && (a.attach_flags & kFReplace)) {
    Program* old = prog_of_type(a.replace_bpf_fd, ptype, &err);
    if (old == nullptr) return err;
    replace_id = old->id();
  }
  Store& store = *prog.store();
  Table* t = table_of(store, &err);
  if (t == nullptr) return err;
  const AttachReq r{prog.id(),           ptype,
                    0,                   replace_id,
                    a.attach_flags,      a.relative,
                    a.expected_revision, cgroup_anchor(store, a.attach_flags, a.relative, ptype)};
  uint32_t old_prog = 0;
  std::vector<uint32_t> drop;
  prog.obj_header().krefs.fetch_add(1);  // the attachment holds the program
  {
    Locked l(*t);
    purge_dead(*t, store, &drop);
    err = attach_locked(*t, cg, a.attach_type, r, &old_prog);
  }
  drop.push_back(err != 0 ? prog.id() : old_prog);
  for (uint32_t id : drop)
    if (id != 0) drop_object_ref(store, ObjKind::kProg, id);
  return err;
}

long cgroup_prog_detach(const ProgAttachAttr& a, uint32_t ptype) {
  CgroupRef cg;
  if (int e = cgroup_from_fd(a.target_fd, &cg); e != 0) return e;
  int err = 0;
  // A bad or other program fd is no program here, not an error.
  Program* prog = prog_of_type(a.attach_bpf_fd, ptype, &err);
  Store* store = prog != nullptr ? prog->store() : Store::current(&err);
  if (store == nullptr) return err;
  Table* t = table_of(*store, &err);
  if (t == nullptr) return err;
  uint32_t old_prog = 0;
  std::vector<uint32_t> drop;
  {
    Locked l(*t);
    purge_dead(*t, *store, &drop);
    err = detach_locked(*t, cg, a.attach_type, prog != nullptr ? prog->id() : 0, a.expected_revision, &old_prog);
  }
  drop.push_back(old_prog);
  for (uint32_t id : drop)
    if (id != 0) drop_object_ref(*store, ObjKind::kProg, id);
  return err;
}

long cgroup_prog_query(void* uattr, const QueryAttr& q) {
  const bool effective = (q.query_flags & kQueryEffective) != 0;
  CgroupRef cg;
  if (int e = cgroup_from_fd(q.target_fd, &cg); e != 0) return e;
  if (effective && q.prog_attach_flags != 0)
    return log_reason(-EINVAL, "prog_attach_flags cannot be asked for with BPF_F_QUERY_EFFECTIVE");
  int err = 0;
  Store* store = Store::current(&err);
  if (store == nullptr) return err;
  Table* t = table_of(*store, &err);
  if (t == nullptr) return err;
  std::vector<uint32_t> ids;
  uint32_t flags = 0;
  uint64_t revision = 0;
  std::vector<uint32_t> drop;
  {
    Locked l(*t);
    purge_dead(*t, *store, &drop);
    Hook* h = l->find(cg.id, q.attach_type);
    if (effective) {
      ids = effective_locked(*t, cg, q.attach_type);
    } else {
      for (uint32_t i = 0; i < count_of(h); ++i) ids.push_back(h->items[i].prog_id);
      flags = flags_of(h);
      revision = revision_of(h);
    }
  }
  for (uint32_t id : drop) drop_object_ref(*store, ObjKind::kProg, id);
  const uint32_t total = static_cast<uint32_t>(ids.size());
  if (put32(uattr, 12, flags) != 0 || put32(uattr, 24, total) != 0)
    return log_reason(-EFAULT, "the attr cannot be written back");
  if (active_profile().cgroup_mprog &&
      copy_to_user(user_ptr_add(uattr, 56), &revision, sizeof(revision)) != 0)
    return log_reason(-EFAULT, "the attr cannot be written back");
  if (q.prog_cnt == 0 || q.prog_ids == 0 || total == 0) return 0;
  uint32_t cnt = total;
  long ret = 0;
  if (q.prog_cnt < total) {
    cnt = q.prog_cnt;
    ret = -ENOSPC;
  }
  void* uids = reinterpret_cast<void*>(static_cast<uintptr_t>(q.prog_ids));
  if (copy_to_user(uids, ids.data(), size_t{cnt} * 4) != 0) return log_reason(-EFAULT, "prog_ids points at bad memory");
  if (q.prog_attach_flags != 0) {
    const std::vector<uint32_t> each(cnt, flags);
    if (copy_to_user(reinterpret_cast<void*>(static_cast<uintptr_t>(q.prog_attach_flags)), each.data(),
                     size_t{cnt} * 4) != 0)
      return log_reason(-EFAULT, "prog_attach_flags points at bad memory");
  }
  if (ret != 0) log_reason(static_cast<int>(ret), "prog_cnt %u is below the %u programs attached", q.prog_cnt, total);
  return ret;
}

int cgroup_link_check_flags(uint32_t flags) {
  const uint32_t ok = active_profile().cgroup_mprog ? (kFId | kFBefore | kFAfter | kFPreorder | kFLink) : 0;
  if (flags & ~ok) return log_reason(-EINVAL, "cgroup link flags 0x%x", flags);
  return 0;
}

int cgroup_link_attach(Store& store, const CgroupRef& cgroup, uint32_t attach_type, uint32_t link_id, uint32_t prog_id,
                       uint32_t prog_type, uint32_t flags, uint32_t relative, uint64_t expected_revision) {
  int err = 0;
  Table* t = table_of(store, &err);
  if (t == nullptr) return err;
  const AttachReq r{prog_id,           prog_type, link_id, 0, flags | kMulti, relative,
                    expected_revision, cgroup_anchor(store, flags, relative, prog_type)};
  uint32_t old_prog = 0;
  std::vector<uint32_t> drop;
  {
    Locked l(*t);
    purge_dead(*t, store, &drop);
    err = attach_locked(*t, cgroup, attach_type, r, &old_prog);
  }
  for (uint32_t id : drop) drop_object_ref(store, ObjKind::kProg, id);
  return err;
}

int cgroup_link_replace(Store& store, uint64_t cgroup, uint32_t attach_type, uint32_t link_id, uint32_t new_prog_id) {
  int err = 0;
  Table* t = table_of(store, &err);
  if (t == nullptr) return err;
  Locked l(*t);
  Hook* h = l->find(cgroup, attach_type);
  for (uint32_t i = 0; i < count_of(h); ++i)
    if (h->items[i].link_id == link_id) {
      h->items[i].prog_id = new_prog_id;
      ++h->revision;
      return 0;
    }
  return log_reason(-ENOENT, "the link is not in its cgroup's list");
}

void cgroup_link_remove(Store& store, uint64_t cgroup, uint32_t attach_type, uint32_t link_id) {
  int err = 0;
  Table* t = table_of(store, &err);
  if (t == nullptr) return;
  Locked l(*t);
  Hook* h = l->find(cgroup, attach_type);
  for (uint32_t i = 0; i < count_of(h); ++i)
    if (h->items[i].link_id == link_id) {
      std::copy(h->items + i + 1, h->items + h->count, h->items + i);
      --h->count;
      h->items[h->count] = Item{};
      if (h->count == 0) h->flags = 0;
      ++h->revision;
      return;
    }
}

}  // namespace bpfemu::emu
