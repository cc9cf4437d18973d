#include "emu/btf_targets.h"

#include <algorithm>

#include "core/profile.h"

namespace bpfemu::emu {
namespace {

template <size_t N>
bool in(const std::string_view (&set)[N], std::string_view name) {
  return std::find(set, set + N, name) != set + N;
}

constexpr std::string_view kModifyReturnSet[] = {
    "bpf_modify_return_test", "bpf_modify_return_test2", "bpf_modify_return_test_tp", "bpf_fentry_test1"};

constexpr std::string_view kDisabledHooks[] = {
    "vm_enough_memory", "inode_need_killpriv", "inode_getsecurity", "inode_listsecurity",
    "inode_copy_up_xattr", "getselfattr", "getprocattr", "setprocattr",
    "key_getsecurity", "audit_rule_match", "xfrm_decode_session", "ismaclabel"};

constexpr std::string_view kBooleanHooks[] = {"xfrm_state_pol_flow_match", "audit_rule_known",
                                                          "inode_xattr_skipcap"};

// Hooks called where sleeping is allowed.
constexpr std::string_view kSleepableHooks[] = {
    "bpf", "bpf_map", "bpf_map_create", "bpf_map_free", "bpf_prog", "bpf_prog_load", "bpf_token_create",
    "bpf_token_free", "bpf_token_cmd", "bpf_token_capable", "bpf_map_alloc_security", "bpf_map_free_security",
    "bprm_check_security", "bprm_committed_creds", "bprm_committing_creds", "bprm_creds_for_exec",
    "bprm_creds_from_file", "capget", "capset", "cred_prepare", "file_ioctl", "file_lock", "file_open",
    "file_post_open", "file_receive", "inet_conn_established", "inode_create", "inode_free_security",
    "inode_getattr", "inode_getxattr", "inode_mknod", "inode_need_killpriv", "inode_post_setxattr",
    "inode_post_removexattr", "inode_readlink", "inode_removexattr", "inode_rename", "inode_rmdir",
    "inode_setattr", "inode_setxattr", "inode_symlink", "inode_unlink", "kernel_module_request",
    "kernel_read_file", "kernfs_init_security", "key_free", "path_unlink", "path_mkdir", "path_rmdir",
    "path_truncate", "path_symlink", "path_link", "path_rename", "path_chmod", "path_chown", "mmap_file",
    "netlink_send", "path_notify", "release_secctx", "sb_alloc_security", "sb_eat_lsm_opts",
    "sb_kern_mount", "sb_mount", "sb_remount", "sb_set_mnt_opts", "sb_show_options", "sb_statfs",
    "sb_umount", "settime", "socket_accept", "socket_bind", "socket_connect", "socket_create",
    "socket_getpeername", "socket_getpeersec_dgram", "socket_getsockname", "socket_getsockopt",
    "socket_listen", "socket_post_create", "socket_recvmsg", "socket_sendmsg", "socket_shutdown",
    "socket_socketpair", "syslog", "task_alloc", "task_prctl", "task_setscheduler", "userns_create",
    "bdev_alloc_security", "bdev_setintegrity"};

}  // namespace

bool modify_return_allowed(std::string_view func) {
  return (active_profile().fmodret_set && in(kModifyReturnSet, func)) || func.starts_with("security_");
}

bool tracing_sleepable_allowed(std::string_view func) {
  return active_profile().fmodret_set && func == "bpf_fentry_test1";
}

bool lsm_hook_disabled(std::string_view hook) { return in(kDisabledHooks, hook); }

bool lsm_hook_sleepable(std::string_view hook) { return in(kSleepableHooks, hook); }

bool lsm_hook_boolean(std::string_view hook) { return in(kBooleanHooks, hook); }

bool lsm_return_in_range(std::string_view func, uint64_t r0) {
  if (!active_profile().lsm_retval_range) return true;
  constexpr int32_t kMaxErrno = 4095;
  const auto v = static_cast<int32_t>(r0);
  if (func.starts_with("bpf_lsm_") && lsm_hook_boolean(func.substr(8))) return v == 0 || v == 1;
  return v >= -kMaxErrno && v <= 0;
}

}  // namespace bpfemu::emu
