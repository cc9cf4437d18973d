/* Static /init for the bpfemu VM runner (conformance/vm/run-vm.sh).
 *
 * Runs as PID 1 inside a Debian 6.1 kernel booted by qemu: mounts proc, sysfs,
 * devtmpfs, /dev/shm (tmpfs), /tmp (tmpfs) and bpffs (/sys/fs/bpf), checks that
 * bpf(2) works, runs /bpfemu-conformance with the arguments in /conformance.args
 * (one per line; default: --backend both --profile 6.1 --format json), prints its
 * stdout between the markers below on the console, and powers the VM off.
 *
 * Console protocol (the host script greps for these lines):
 *   BPFEMU-VM: <info>                 progress / diagnostics
 *   ==== BPFEMU-VM-OUTPUT-BEGIN ====  conformance stdout follows
 *   ==== BPFEMU-VM-OUTPUT-END ====
 *   BPFEMU-VM-EXIT: <status>          conformance exit status
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#define BEGIN_MARK "==== BPFEMU-VM-OUTPUT-BEGIN ===="
#define END_MARK "==== BPFEMU-VM-OUTPUT-END ===="

static void say(const char* fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  dprintf(1, "BPFEMU-VM: %s\n", buf);
}

static double uptime(void) {
  double up = 0;
  FILE* f = fopen("/proc/uptime", "r");
  if (f != NULL) {
    if (fscanf(f, "%lf", &up) != 1) up = 0;
    fclose(f);
  }
  return up;
}

static void do_mount(const char* src, const char* dst, const char* type, const char* data) {
  mkdir(dst, 0755);
  if (mount(src, dst, type, 0, data) != 0 && errno != EBUSY)
    say("mount %s on %s failed: %s", type, dst, strerror(errno));
}

static void power_off(void) {
  sync();
  reboot(RB_POWER_OFF);
  /* Not reached; if it is, exiting PID 1 panics and -no-reboot/panic=-1 end qemu. */
  _exit(1);
}

/* Writes a whole file to fd 1. */
static void cat_file(const char* path) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return;
  char buf[65536];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) {
    ssize_t off = 0;
    while (off < n) {
      ssize_t w = write(1, buf + off, (size_t)(n - off));
      if (w <= 0) break;
      off += w;
    }
  }
  close(fd);
}

static int check_bpf(void) {
  union bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.map_type = BPF_MAP_TYPE_ARRAY;
  attr.key_size = 4;
  attr.value_size = 8;
  attr.max_entries = 1;
  int fd = (int)syscall(__NR_bpf, BPF_MAP_CREATE, &attr, sizeof(attr));
  if (fd < 0) {
    say("bpf(BPF_MAP_CREATE) failed: %s", strerror(errno));
    return -1;
  }
  close(fd);
  say("bpf(BPF_MAP_CREATE) works");
  return 0;
}

int main(void) {
  /* The kernel gives PID 1 /dev/console as fds 0-2 when the initramfs has it;
   * reopen after devtmpfs in case it did not. */
  do_mount("devtmpfs", "/dev", "devtmpfs", NULL);
  if (fcntl(1, F_GETFD) < 0) {
    int fd = open("/dev/console", O_RDWR);
    if (fd >= 0) {
      dup2(fd, 0);
      dup2(fd, 1);
      dup2(fd, 2);
      if (fd > 2) close(fd);
    }
  }
  do_mount("proc", "/proc", "proc", NULL);
  do_mount("sysfs", "/sys", "sysfs", NULL);
  do_mount("bpf", "/sys/fs/bpf", "bpf", NULL);
  do_mount("tmpfs", "/dev/shm", "tmpfs", "mode=1777");
  do_mount("tmpfs", "/tmp", "tmpfs", "mode=1777");

  struct utsname u;
  uname(&u);
  dprintf(1, "\n");  /* the firmware leaves the cursor mid-line */
  say("kernel %s, up %.2f s", u.release, uptime());
  say("version %s", u.version);
  char possible[64] = "?";
  FILE* f = fopen("/sys/devices/system/cpu/possible", "r");
  if (f != NULL) {
    if (fgets(possible, sizeof(possible), f) == NULL) strcpy(possible, "?");
    possible[strcspn(possible, "\n")] = '\0';
    fclose(f);
  }
  say("possible cpus %s, online %ld", possible, sysconf(_SC_NPROCESSORS_ONLN));
  if (check_bpf() != 0) {
    dprintf(1, "BPFEMU-VM-EXIT: bpf-unavailable\n");
    power_off();
  }

  /* Arguments: one per line in /conformance.args. */
  char* argv[64];
  int argc = 0;
  argv[argc++] = "/bpfemu-conformance";
  static char args_buf[4096];
  int afd = open("/conformance.args", O_RDONLY);
  if (afd >= 0) {
    ssize_t n = read(afd, args_buf, sizeof(args_buf) - 1);
    close(afd);
    if (n > 0) {
      args_buf[n] = '\0';
      for (char* line = strtok(args_buf, "\n"); line != NULL && argc < 62; line = strtok(NULL, "\n"))
        if (*line != '\0') argv[argc++] = line;
    }
  }
  if (argc == 1) {
    static char* defaults[] = {"--backend", "both", "--profile", "6.1", "--format", "json"};
    for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); ++i) argv[argc++] = defaults[i];
  }
  argv[argc] = NULL;

  double t0 = uptime();
  say("running bpfemu-conformance (%d args)", argc - 1);
  pid_t pid = fork();
  if (pid == 0) {
    int out = open("/tmp/conformance.out", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open("/tmp/conformance.err", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out >= 0) dup2(out, 1);
    if (err >= 0) dup2(err, 2);
    char* envp[] = {"PATH=/", "HOME=/tmp", NULL};
    execve(argv[0], argv, envp);
    dprintf(2, "execve %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  int status = 0;
  if (pid < 0) {
    say("fork failed: %s", strerror(errno));
    status = 127 << 8;
  } else {
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  double t1 = uptime();
  say("bpfemu-conformance finished in %.2f s", t1 - t0);
  say("stderr follows");
  cat_file("/tmp/conformance.err");
  dprintf(1, "\n%s\n", BEGIN_MARK);
  cat_file("/tmp/conformance.out");
  dprintf(1, "\n%s\n", END_MARK);
  if (WIFEXITED(status))
    dprintf(1, "BPFEMU-VM-EXIT: %d\n", WEXITSTATUS(status));
  else
    dprintf(1, "BPFEMU-VM-EXIT: signal %d\n", WIFSIGNALED(status) ? WTERMSIG(status) : -1);
  say("powering off at %.2f s", uptime());
  power_off();
  return 0;
}
