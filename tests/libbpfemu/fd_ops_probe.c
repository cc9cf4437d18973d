/* Plain syscalls on BPF fds, printed one per line ("call -> result"), so that
 * fd_ops_vs_kernel.sh can compare the emulator (LD_PRELOAD) with the kernel:
 * a map fd must answer read/write/lseek/fstat/... as the kernel's anon-inode
 * file does, and none of them may change the map. Run ids and inode numbers
 * are printed only as comparisons ("same as an eventfd's"). */
#define _GNU_SOURCE
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <linux/perf_event.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

static const char *err_name(int e)
{
	switch (e) {
	case EINVAL: return "EINVAL";
	case EBADF: return "EBADF";
	case ESPIPE: return "ESPIPE";
	case ENODEV: return "ENODEV";
	case ENOTTY: return "ENOTTY";
	case EACCES: return "EACCES";
	case EPERM: return "EPERM";
	case EIO: return "EIO";
	case ENOENT: return "ENOENT";
	case 524: return "ENOTSUPP";
	default: return "E?";
	}
}

static void show(const char *what, long r)
{
	if (r < 0)
		printf("%s -> -1 %s\n", what, err_name(errno));
	else
		printf("%s -> %ld\n", what, r);
}

static void plain_calls(const char *kind, int fd)
{
	char buf[64] = {0}, what[128];
	struct stat st, anon;
	struct statfs sfs;
	int n = 0, efd = eventfd(0, EFD_CLOEXEC);

#define CALL(name, expr) do { snprintf(what, sizeof(what), "%s: %s", kind, name); errno = 0; show(what, (long)(expr)); } while (0)
	CALL("read(8)", read(fd, buf, 8));
	CALL("read(0)", read(fd, buf, 0));
	CALL("write(8)", write(fd, buf, 8));
	CALL("write(0)", write(fd, buf, 0));
	CALL("pread", pread(fd, buf, 8, 0));
	CALL("pwrite", pwrite(fd, buf, 8, 0));
	CALL("lseek(0,SEEK_SET)", lseek(fd, 0, SEEK_SET));
	CALL("lseek(0,SEEK_END)", lseek(fd, 0, SEEK_END));
	CALL("ftruncate(0)", ftruncate(fd, 0));
	CALL("fallocate", fallocate(fd, 0, 0, 4096));
	CALL("fsync", fsync(fd));
	CALL("fdatasync", fdatasync(fd));
	CALL("ioctl(FIONREAD)", ioctl(fd, FIONREAD, &n));
	CALL("fcntl(F_GETFL)", fcntl(fd, F_GETFL) & (O_ACCMODE | O_APPEND | O_NONBLOCK));
	CALL("fcntl(F_GETFD)", fcntl(fd, F_GETFD));
	{
		struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT };
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 7 }, got = { 0 };
		int ep = epoll_create1(EPOLL_CLOEXEC);
		CALL("poll(POLLIN|POLLOUT)", poll(&p, 1, 0));
		printf("%s: poll revents -> %#x\n", kind, (unsigned)p.revents);
		CALL("epoll_ctl(ADD, EPOLLIN)", epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));
		CALL("epoll_ctl(ADD) again", epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));
		CALL("epoll_wait(0)", epoll_wait(ep, &got, 1, 0));
		printf("%s: epoll events -> %#x data %llu\n", kind, (unsigned)got.events, (unsigned long long)got.data.u64);
		ev.events = EPOLLOUT;
		CALL("epoll_ctl(MOD, EPOLLOUT)", epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev));
		CALL("epoll_ctl(DEL)", epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL));
		CALL("epoll_ctl(DEL) again", epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL));
		close(ep);
	}
	if (fstat(fd, &st) == 0 && fstat(efd, &anon) == 0)
		printf("%s: fstat -> mode=%o size=%lld nlink=%lu blocks=%lld, the anon inode: %s\n", kind,
		       (unsigned)st.st_mode, (long long)st.st_size, (unsigned long)st.st_nlink,
		       (long long)st.st_blocks,
		       st.st_ino == anon.st_ino && st.st_dev == anon.st_dev ? "yes" : "no");
	else
		printf("%s: fstat -> -1 %s\n", kind, err_name(errno));
	if (fstatfs(fd, &sfs) == 0)
		printf("%s: fstatfs -> f_type=%#lx\n", kind, (unsigned long)sfs.f_type);
	snprintf(buf, sizeof(buf), "/proc/self/fd/%d", fd);
	{
		char target[128] = {0};
		ssize_t len = readlink(buf, target, sizeof(target) - 1);
		printf("%s: readlink(/proc/self/fd) -> %s\n", kind, len >= 0 ? target : err_name(errno));
	}
	{
		struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT };
		int r = poll(&p, 1, 0);
		printf("%s: poll(IN|OUT) -> %d revents=%#x\n", kind, r, p.revents);
	}
	close(efd);
#undef CALL
}

/* /proc/self/fdinfo of fd, with the id and inode lines' values left out. */
static void fdinfo(const char *kind, int fd)
{
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f) {
		printf("%s: fdinfo -> %s\n", kind, err_name(errno));
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "map_id:", 7) || !strncmp(line, "btf_id:", 7) || !strncmp(line, "link_id:", 8) || !strncmp(line, "prog_id:", 8) ||
		    !strncmp(line, "ino:", 4) || !strncmp(line, "mnt_id:", 7) || !strncmp(line, "prog_tag:", 9) ||
		    !strncmp(line, "prog_jited:", 11) || (!strncmp(line, "memlock:", 8) && strstr(kind, "prog")))
			continue;
		printf("%s: fdinfo %s", kind, line);
	}
	fclose(f);
}

int main(void)
{
	LIBBPF_OPTS(bpf_map_create_opts, mm, .map_flags = BPF_F_MMAPABLE);
	LIBBPF_OPTS(bpf_map_create_opts, ro, .map_flags = BPF_F_RDONLY);
	__u32 k = 1;
	__u64 v = 0x1234, out = 0;
	int hash = bpf_map_create(BPF_MAP_TYPE_HASH, "h", 4, 8, 4, NULL);
	int arr = bpf_map_create(BPF_MAP_TYPE_ARRAY, "a", 4, 8, 4, &mm);
	int rdonly = bpf_map_create(BPF_MAP_TYPE_HASH, "r", 4, 8, 4, &ro);
	struct btf *btf = btf__new_empty();
	int btf_fd;
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int prog = bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "p", "GPL", insns, 2, NULL);
	int xdp = bpf_prog_load(BPF_PROG_TYPE_XDP, "x", "GPL", insns, 2, NULL);
	int ring = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "rb", 0, 0, 4096, NULL);
	/* An XDP link on lo (ifindex 1): the program passes every packet on. */
	int link = xdp >= 0 ? bpf_link_create(xdp, 1, BPF_XDP, NULL) : -1;
	/* A BPF-output perf event on CPU 0, as libbpf's perf_buffer opens it. */
	struct perf_event_attr pattr = { .size = sizeof(pattr), .type = PERF_TYPE_SOFTWARE,
					 .config = PERF_COUNT_SW_BPF_OUTPUT, .sample_type = PERF_SAMPLE_RAW,
					 .sample_period = 1, .wakeup_events = 1 };
	int perf = (int)syscall(__NR_perf_event_open, &pattr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);

	if (hash < 0 || arr < 0 || rdonly < 0 || prog < 0 || !btf || ring < 0 || link < 0 || perf < 0) {
		printf("setup failed: hash %d array %d rdonly %d prog %d ring %d link %d perf %d\n", hash, arr, rdonly,
		       prog, ring, link, perf);
		return 1;
	}
	btf__add_int(btf, "int", 4, BTF_INT_SIGNED);
	if (btf__load_into_kernel(btf) != 0) {
		printf("setup failed: BTF load\n");
		return 1;
	}
	btf_fd = btf__fd(btf);
	if (bpf_map_update_elem(hash, &k, &v, BPF_ANY) != 0 || bpf_map_freeze(arr) != 0) {
		printf("setup failed: update or freeze\n");
		return 1;
	}
	plain_calls("hash", hash);
	plain_calls("array(mmapable, frozen)", arr);
	plain_calls("hash(BPF_F_RDONLY)", rdonly);
	plain_calls("btf", btf_fd);
	plain_calls("prog", prog);
	plain_calls("ringbuf", ring);
	plain_calls("xdp link", link);
	plain_calls("perf event", perf);
	fdinfo("hash", hash);
	fdinfo("array(mmapable, frozen)", arr);
	fdinfo("hash(BPF_F_RDONLY)", rdonly);
	fdinfo("btf", btf_fd);
	fdinfo("prog", prog);
	fdinfo("ringbuf", ring);
	fdinfo("xdp link", link);
	fdinfo("perf event", perf);
	close(link);
	/* None of the calls above changed the map. */
	errno = 0;
	show("hash: lookup after the plain calls", bpf_map_lookup_elem(hash, &k, &out));
	printf("hash: value after the plain calls -> %#llx\n", (unsigned long long)out);
	btf__free(btf);
	return 0;
}
