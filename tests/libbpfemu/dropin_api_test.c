/* The libbpf drop-in, seen from an unmodified libbpf program.
 *
 * Compiled only against the real <bpf/bpf.h>, this program runs four ways
 * (tests/libbpfemu/CMakeLists.txt): linked with libbpfemu.so, linked with
 * libbpfemu.a, built with -lbpf and run under LD_PRELOAD=libbpfemu.so, and built
 * with -lbpf on the real kernel (root; label "kernel"). Every expectation below
 * holds on the kernel too; that is what makes the emulated runs meaningful.
 *
 * Usage: dropin_api_test emu|kernel. Exit 0 = pass, 1 = failures, 77 = skipped
 * (kernel mode without bpf() or without bpffs on /sys/fs/bpf). */
#define _GNU_SOURCE
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ENOTSUPP_KERNEL 524
#define BPF_FS_MAGIC_VALUE 0xcafe4a11

static int failures;
static const char *mode;

#define CHECK(cond)                                                                                     \
	do {                                                                                            \
		if (!(cond)) {                                                                          \
			fprintf(stderr, "%s:%d: CHECK(%s) failed (errno %d)\n", __FILE__, __LINE__, #cond, \
				errno);                                                                 \
			failures++;                                                                     \
		}                                                                                       \
	} while (0)

/* A libbpf call that must fail with `e`: returns -e AND sets errno = e. */
#define CHECK_ERR(expr, e)                                                                              \
	do {                                                                                            \
		errno = 0;                                                                              \
		long r_ = (long)(expr);                                                                 \
		int errno_ = errno;                                                                     \
		if (r_ != -(long)(e) || errno_ != (e)) {                                                \
			fprintf(stderr, "%s:%d: %s returned %ld errno %d, expected -%d\n", __FILE__,    \
				__LINE__, #expr, r_, errno_, (int)(e));                                 \
			failures++;                                                                     \
		}                                                                                       \
	} while (0)

#define CHECK_OK(expr) CHECK_ERR(expr, 0)

static char dir[128];

static void pathf(char *buf, size_t len, const char *leaf)
{
	snprintf(buf, len, "%s/%s", dir, leaf);
}

/* Whether fd is a handle of the real kernel. Emulated handles answer libc as
 * the kernel's do (anon inode, "anon_inode:bpf-map"), so ask the kernel itself:
 * a raw fstatfs shows the anonymous-inode filesystem only for a kernel handle. */
static int is_kernel_map_fd(int fd)
{
	struct statfs st;

	if (syscall(SYS_fstatfs, fd, &st) != 0)
		return 0;
	return st.f_type == 0x09041934; /* ANON_INODE_FS_MAGIC */
}

static int array_map(const char *name, __u32 max_entries)
{
	int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, name, 4, 8, max_entries, NULL);

	CHECK(fd >= 3);
	return fd;
}

static int hash_map(__u32 max_entries)
{
	int fd = bpf_map_create(BPF_MAP_TYPE_HASH, "h", 4, 8, max_entries, NULL);

	CHECK(fd >= 3);
	return fd;
}

static void test_create(void)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	struct {
		struct bpf_map_create_opts o;
		char extra[16];
	} big;
	LIBBPF_OPTS(bpf_map_create_opts, small);
	int fd, fd2;

	/* The backend really is the one under test. */
	fd = array_map("mode_probe", 1);
	CHECK(is_kernel_map_fd(fd) == (strcmp(mode, "kernel") == 0));
	close(fd);

	/* libbpf truncates long names to 15 characters silently. */
	fd = bpf_map_create(BPF_MAP_TYPE_HASH, "abcdefghijklmnopqrstuvwxyz", 4, 4, 8, NULL);
	CHECK(fd >= 3);
	memset(&info, 0, sizeof(info));
	CHECK_OK(bpf_obj_get_info_by_fd(fd, &info, &len));
	CHECK(strcmp(info.name, "abcdefghijklmno") == 0);
	CHECK(info.type == BPF_MAP_TYPE_HASH && info.key_size == 4 && info.max_entries == 8);
	close(fd);

	/* The kernel checks the characters. */
	CHECK_ERR(bpf_map_create(BPF_MAP_TYPE_HASH, "a-b", 4, 4, 8, NULL), EINVAL);

	/* Option structs: sz too small, or unknown trailing bytes not zero. */
	small.sz = 4;
	CHECK_ERR(bpf_map_create(BPF_MAP_TYPE_HASH, "x", 4, 4, 8, &small), EINVAL);
	memset(&big, 0, sizeof(big));
	big.o.sz = sizeof(big);
	fd = bpf_map_create(BPF_MAP_TYPE_HASH, "x", 4, 4, 8, &big.o);
	CHECK(fd >= 3);
	close(fd);
	big.extra[3] = 1;
	CHECK_ERR(bpf_map_create(BPF_MAP_TYPE_HASH, "x", 4, 4, 8, &big.o), EINVAL);

	/* Flags come through the options. */
	small.sz = sizeof(small);
	small.map_flags = BPF_F_NO_PREALLOC;
	fd = bpf_map_create(BPF_MAP_TYPE_HASH, "np", 4, 4, 8, &small);
	CHECK(fd >= 3);
	memset(&info, 0, sizeof(info));
	len = sizeof(info);
	CHECK_OK(bpf_obj_get_info_by_fd(fd, &info, &len));
	CHECK(info.map_flags == BPF_F_NO_PREALLOC);
	close(fd);
	CHECK_ERR(bpf_map_create(BPF_MAP_TYPE_HASH, "z", 0, 4, 8, NULL), EINVAL);

	/* A returned fd is never 0, 1 or 2, even with stdin closed. */
	fd2 = dup(0);
	close(0);
	fd = array_map("lowfd", 1);
	CHECK(fd >= 3);
	close(fd);
	if (fd2 >= 0) {
		CHECK(dup2(fd2, 0) == 0);
		close(fd2);
	}
}

static void test_elements(void)
{
	int a = array_map("arr", 4), h = hash_map(4);
	__u32 k = 1, next = 99;
	__u64 v = 11, out = 0;

	/* errno is untouched by successful calls. */
	errno = 1234;
	CHECK(bpf_map_update_elem(a, &k, &v, BPF_ANY) == 0 && errno == 1234);
	CHECK(bpf_map_lookup_elem(a, &k, &out) == 0 && out == 11 && errno == 1234);
	CHECK_OK(bpf_map_lookup_elem_flags(a, &k, &out, 0));
	CHECK_ERR(bpf_map_update_elem(a, &k, &v, BPF_NOEXIST), EEXIST);
	k = 4;
	CHECK_ERR(bpf_map_update_elem(a, &k, &v, BPF_ANY), E2BIG);
	CHECK_ERR(bpf_map_lookup_elem(a, &k, &out), ENOENT);
	CHECK_ERR(bpf_map_delete_elem(a, &k), EINVAL);
	CHECK_ERR(bpf_map_lookup_and_delete_elem(a, &k, &out), ENOTSUPP_KERNEL);
	CHECK_OK(bpf_map_get_next_key(a, NULL, &next));
	CHECK(next == 0);
	k = 3;
	CHECK_ERR(bpf_map_get_next_key(a, &k, &next), ENOENT);

	k = 7;
	CHECK_ERR(bpf_map_lookup_elem(h, &k, &out), ENOENT);
	CHECK_ERR(bpf_map_update_elem(h, &k, &v, BPF_EXIST), ENOENT);
	CHECK_ERR(bpf_map_update_elem(h, &k, &v, 3), EINVAL);
	CHECK_OK(bpf_map_update_elem(h, &k, &v, BPF_NOEXIST));
	CHECK_OK(bpf_map_get_next_key(h, NULL, &next));
	CHECK(next == 7);
	CHECK_ERR(bpf_map_delete_elem_flags(h, &k, 1), EINVAL);
	out = 0;
	CHECK_OK(bpf_map_lookup_and_delete_elem(h, &k, &out));
	CHECK(out == 11);
	CHECK_ERR(bpf_map_lookup_and_delete_elem_flags(h, &k, &out, 0), ENOENT);
	CHECK_OK(bpf_map_update_elem(h, &k, &v, BPF_ANY));
	CHECK_OK(bpf_map_delete_elem_flags(h, &k, 0));
	CHECK_ERR(bpf_map_delete_elem(h, &k), ENOENT);

	/* Not a map at all. */
	CHECK_ERR(bpf_map_lookup_elem(1, &k, &out), EINVAL);
	close(a);
	close(h);
}

static void test_batch(void)
{
	int h = hash_map(8), a = array_map("arr", 4);
	__u32 keys[8] = {1, 2, 3}, out_keys[8], count, token = 0;
	__u64 vals[8] = {10, 20, 30}, out_vals[8];
	LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = BPF_NOEXIST);
	LIBBPF_OPTS(bpf_map_batch_opts, bad);

	count = 3;
	CHECK_OK(bpf_map_update_batch(h, keys, vals, &count, NULL));
	CHECK(count == 3);
	/* 6.18 rejects NOEXIST/EXIST in batch updates before touching count; libbpf
	 * still writes count back (unchanged here). */
	count = 3;
	CHECK_ERR(bpf_map_update_batch(h, keys, vals, &count, &opts), EINVAL);
	CHECK(count == 3);
	/* Invalid options: nothing is written. */
	bad.sz = 2;
	count = 5;
	CHECK_ERR(bpf_map_update_batch(h, keys, vals, &count, &bad), EINVAL);
	CHECK(count == 5);
	/* Reaching the end is ENOENT, with count = what was copied. */
	count = 8;
	CHECK_ERR(bpf_map_lookup_batch(h, NULL, &token, out_keys, out_vals, &count, NULL), ENOENT);
	CHECK(count == 3);
	/* Deleting stops at the first missing key; count says how many went. */
	keys[1] = 99;
	count = 3;
	CHECK_ERR(bpf_map_delete_batch(h, keys, &count, NULL), ENOENT);
	CHECK(count == 1);
	count = 8;
	CHECK_ERR(bpf_map_lookup_and_delete_batch(h, NULL, &token, out_keys, out_vals, &count, NULL), ENOENT);
	CHECK(count == 2);
	count = 2;
	CHECK_ERR(bpf_map_lookup_and_delete_batch(a, NULL, &token, out_keys, out_vals, &count, NULL),
		  ENOTSUPP_KERNEL);
	close(h);
	close(a);
}

static void test_freeze(void)
{
	int a = array_map("frz", 2);
	__u32 k = 0;
	__u64 v = 5;

	CHECK_OK(bpf_map_freeze(a));
	CHECK_ERR(bpf_map_update_elem(a, &k, &v, BPF_ANY), EPERM);
	CHECK_OK(bpf_map_lookup_elem(a, &k, &v));
	CHECK_ERR(bpf_map_freeze(a), EPERM); /* 6.18: no write permission left */
	close(a);
}

static void test_pins(void)
{
	char pin[192], other[192], sub[192], missing[192];
	LIBBPF_OPTS(bpf_obj_get_opts, ro, .file_flags = BPF_F_RDONLY);
	int fd = array_map("pinned", 4), got, rofd;
	__u32 k = 2;
	__u64 v = 42, out = 0;

	/* Directories on the bpffs, made with plain libc. */
	CHECK(mkdir(dir, 0700) == 0);
	CHECK(mkdir(dir, 0700) == -1 && errno == EEXIST);
	pathf(sub, sizeof(sub), "sub");
	CHECK(mkdirat(AT_FDCWD, sub, 0700) == 0);

	pathf(pin, sizeof(pin), "m");
	pathf(missing, sizeof(missing), "no/such/dir/m");
	CHECK_OK(bpf_obj_pin(fd, pin));
	CHECK_ERR(bpf_obj_pin(fd, pin), EEXIST);
	CHECK_ERR(bpf_obj_pin(fd, missing), ENOENT);
	CHECK_ERR(bpf_obj_pin(fd, "/tmp/bpfemu-not-on-bpffs"), EPERM);
	CHECK(access(pin, F_OK) == 0);

	pathf(other, sizeof(other), "nothing");
	CHECK_ERR(bpf_obj_get(other), ENOENT);
	CHECK_ERR(bpf_obj_get(""), ENOENT);
	CHECK_ERR(bpf_obj_pin(fd, ""), ENOENT);
	got = bpf_obj_get(pin);
	CHECK(got >= 3);
	/* The same map, not a copy. */
	CHECK_OK(bpf_map_update_elem(fd, &k, &v, BPF_ANY));
	CHECK(bpf_map_lookup_elem(got, &k, &out) == 0 && out == 42);

	/* Access flags belong to the fd. */
	rofd = bpf_obj_get_opts(pin, &ro);
	CHECK(rofd >= 3);
	CHECK_OK(bpf_map_lookup_elem(rofd, &k, &out));
	CHECK_ERR(bpf_map_update_elem(rofd, &k, &v, BPF_ANY), EPERM);
	ro.file_flags = BPF_F_RDONLY | BPF_F_WRONLY;
	CHECK_ERR(bpf_obj_get_opts(pin, &ro), EINVAL);
	close(rofd);

	/* remove/unlinkat drop pins, and a second pin of the same map works. */
	pathf(other, sizeof(other), "sub/r");
	CHECK_OK(bpf_obj_pin(got, other));
	CHECK(remove(other) == 0);
	CHECK_OK(bpf_obj_pin(got, other));
	CHECK(unlinkat(AT_FDCWD, other, 0) == 0);
	CHECK(access(other, F_OK) == -1 && errno == ENOENT);

	/* A directory with a pin in it cannot go. */
	CHECK_OK(bpf_obj_pin(got, other));
	CHECK(rmdir(sub) == -1 && errno == ENOTEMPTY);
	CHECK(unlink(other) == 0);
	CHECK(rmdir(sub) == 0);

	/* unlink drops the last pin; the map lives on while an fd holds it. */
	CHECK(unlink(pin) == 0);
	CHECK_ERR(bpf_obj_get(pin), ENOENT);
	CHECK(bpf_map_lookup_elem(got, &k, &out) == 0 && out == 42);
	close(fd);
	close(got);
	CHECK(rmdir(dir) == 0);
}

/* BPF_F_PATH_FD (kernel 6.5+, libbpf 1.3+): the path is relative to path_fd.
 * libbpf 1.1 has no bpf_obj_pin_opts and drops path_fd, so this runs on the
 * emulator only, with the emulated root itself as the directory. */
#define PATH_FD_FLAG (1U << 14)
struct path_fd_opts {
	size_t sz;
	__u32 file_flags;
	int path_fd;
};

static void test_path_fd(void)
{
	int (*pin_opts)(int, const char *, const struct path_fd_opts *);
	struct path_fd_opts o = {sizeof(o), PATH_FD_FLAG, -1};
	const char *root = getenv("BPFEMU_BPFFS");
	int fd, dirfd, got;

	pin_opts = (int (*)(int, const char *, const struct path_fd_opts *))dlsym(RTLD_DEFAULT, "bpf_obj_pin_opts");
	if (!pin_opts || strcmp(mode, "emu") != 0 || !root)
		return;
	dirfd = open(root, O_RDONLY | O_DIRECTORY);
	CHECK(dirfd >= 0);
	fd = array_map("pathfd", 1);
	o.path_fd = dirfd;
	CHECK(pin_opts(fd, "viafd", &o) == 0);
	got = bpf_obj_get("/sys/fs/bpf/viafd");
	CHECK(got >= 3);
	close(got);
	got = bpf_obj_get_opts("viafd", (const struct bpf_obj_get_opts *)&o);
	CHECK(got >= 3);
	close(got);
	o.file_flags = 0; /* a path_fd without the flag */
	CHECK_ERR(pin_opts(fd, "other", &o), EINVAL);
	CHECK(unlink("/sys/fs/bpf/viafd") == 0);
	close(dirfd);
	close(fd);
}

static void test_ids(void)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info), id, next = 0, cur = 0;
	int fd = array_map("ids", 2), byid, found = 0;
	LIBBPF_OPTS(bpf_get_fd_by_id_opts, ro, .open_flags = BPF_F_RDONLY);
	LIBBPF_OPTS(bpf_get_fd_by_id_opts, bad, .open_flags = 1);
	__u32 k = 0;
	__u64 v = 9, out = 0;

	memset(&info, 0, sizeof(info));
	CHECK_OK(bpf_obj_get_info_by_fd(fd, &info, &len));
	id = info.id;
	CHECK(id > 0);
	byid = bpf_map_get_fd_by_id(id);
	CHECK(byid >= 3);
	CHECK_OK(bpf_map_update_elem(byid, &k, &v, BPF_ANY));
	CHECK(bpf_map_lookup_elem(fd, &k, &out) == 0 && out == 9);
	close(byid);

	byid = bpf_map_get_fd_by_id_opts(id, &ro);
	CHECK(byid >= 3);
	CHECK_ERR(bpf_map_update_elem(byid, &k, &v, BPF_ANY), EPERM);
	close(byid);
	CHECK_ERR(bpf_map_get_fd_by_id_opts(id, &bad), EINVAL);

	while (bpf_map_get_next_id(cur, &next) == 0) {
		found |= next == id;
		cur = next;
	}
	CHECK(found);
	CHECK_ERR(bpf_map_get_next_id(0x7fffffff, &next), EINVAL);

	/* The last fd gone (no pin): the id is free at once. */
	close(fd);
	CHECK_ERR(bpf_map_get_fd_by_id(id), ENOENT);
}

static void test_info(void)
{
	unsigned char buf[256];
	__u32 len;
	int fd = array_map("info", 3), p[2];
	int (*typed)(int, struct bpf_map_info *, __u32 *);

	/* Only the bytes the kernel knows come back, and info_len says how many. */
	memset(buf, 0, sizeof(buf));
	len = 200;
	CHECK_OK(bpf_obj_get_info_by_fd(fd, buf, &len));
	CHECK(len >= 88 && len < 200);
	/* info_len is written back on success only. */
	len = 5000;
	CHECK_ERR(bpf_obj_get_info_by_fd(fd, buf, &len), E2BIG);
	CHECK(len == 5000);
	buf[190] = 1;
	len = 200;
	CHECK_ERR(bpf_obj_get_info_by_fd(fd, buf, &len), E2BIG);
	CHECK(len == 200);
	CHECK(pipe(p) == 0);
	len = sizeof(struct bpf_map_info);
	CHECK_ERR(bpf_obj_get_info_by_fd(p[0], buf, &len), EINVAL);
	close(p[0]);
	close(p[1]);

	/* libbpf 1.2+'s typed form, where the library has it. */
	typed = (int (*)(int, struct bpf_map_info *, __u32 *))dlsym(RTLD_DEFAULT, "bpf_map_get_info_by_fd");
	if (typed) {
		memset(buf, 0, sizeof(buf));
		len = sizeof(struct bpf_map_info);
		CHECK(typed(fd, (struct bpf_map_info *)buf, &len) == 0);
		CHECK(((struct bpf_map_info *)buf)->max_entries == 3);
	}
	close(fd);
	len = sizeof(struct bpf_map_info);
	CHECK_ERR(bpf_obj_get_info_by_fd(fd, buf, &len), EBADFD);
}

/* close/dup/fcntl on map fds with plain libc keep working like kernel fds. */
static void test_fd_ops(void)
{
	int fd = array_map("dups", 2), d1, d2, d3, null;
	__u32 k = 1;
	__u64 v = 77, out = 0;

	CHECK_OK(bpf_map_update_elem(fd, &k, &v, BPF_ANY));
	d1 = dup(fd);
	CHECK(d1 >= 0);
	close(fd);
	CHECK(bpf_map_lookup_elem(d1, &k, &out) == 0 && out == 77);
	d2 = fcntl(d1, F_DUPFD_CLOEXEC, 100);
	CHECK(d2 >= 100);
	CHECK_OK(bpf_map_lookup_elem(d2, &k, &out));
	d3 = dup2(d1, 200);
	CHECK(d3 == 200);
	CHECK_OK(bpf_map_lookup_elem(d3, &k, &out));
	CHECK(dup3(d1, 201, O_CLOEXEC) == 201);
	CHECK_OK(bpf_map_lookup_elem(201, &k, &out));
	close(d1);
	close(d2);

	/* A closed map fd's number, reused for a regular file, is not a map. If
	 * open() does not hand out that number, a raw dup2 syscall takes it, so
	 * that only close() could have told the emulator. */
	null = open("/dev/null", O_RDONLY);
	if (null != fd) {
		CHECK(syscall(SYS_dup2, null, fd) == fd);
		close(null);
	}
	CHECK_ERR(bpf_map_lookup_elem(fd, &k, &out), EINVAL);
	/* dup2 over a map fd closes that handle. */
	CHECK(dup2(fd, 200) == 200);
	CHECK_ERR(bpf_map_lookup_elem(200, &k, &out), EINVAL);
	CHECK_OK(bpf_map_lookup_elem(201, &k, &out));
	close(fd);
	close(200);
	close(201);
	CHECK_ERR(bpf_map_lookup_elem(201, &k, &out), EBADF);

	/* close_range() closes map fds too. */
	fd = array_map("range", 2);
	CHECK(dup2(fd, 300) == 300 && dup2(fd, 301) == 301);
	CHECK(close_range(300, 301, 0) == 0);
	null = open("/dev/null", O_RDONLY);
	CHECK(syscall(SYS_dup2, null, 301) == 301);
	CHECK_ERR(bpf_map_lookup_elem(301, &k, &out), EINVAL);
	CHECK_OK(bpf_map_lookup_elem(fd, &k, &out));
	close(null);
	close(301);
	close(fd);
}

static void test_btf_and_cpus(void)
{
	/* A minimal valid BTF: one 32-bit signed int named "int". */
	struct {
		__u16 magic;
		__u8 version, flags;
		__u32 hdr_len, type_off, type_len, str_off, str_len;
		__u32 name_off, info, size, int_data;
		char strings[5];
	} __attribute__((packed)) btf = {
		0xeB9F, 1, 0, 24, 0, 16, 16, 5, 1, 1u << 24, 4, (1u << 24) | 32, "\0int",
	};
	int ncpus = libbpf_num_possible_cpus(), fd, i;
	__u64 *vals;
	__u32 k = 0;

	fd = bpf_btf_load(&btf, sizeof(btf), NULL);
	CHECK(fd >= 3);
	close(fd);
	btf.magic = 0x1234;
	CHECK_ERR(bpf_btf_load(&btf, sizeof(btf), NULL), EINVAL);

	CHECK(ncpus >= 1);
	vals = calloc(ncpus, sizeof(*vals));
	fd = bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "pcpu", 4, 8, 1, NULL);
	CHECK(fd >= 3);
	for (i = 0; i < ncpus; i++)
		vals[i] = 100 + i;
	CHECK_OK(bpf_map_update_elem(fd, &k, vals, BPF_ANY));
	memset(vals, 0, ncpus * sizeof(*vals));
	CHECK_OK(bpf_map_lookup_elem(fd, &k, vals));
	for (i = 0; i < ncpus; i++)
		CHECK(vals[i] == (__u64)(100 + i));
	free(vals);
	close(fd);
}

/* The pre-1.0 create calls exist in libbpfemu only (libbpf 1.x dropped them). */
static void test_legacy_create(void)
{
	int (*create)(enum bpf_map_type, int, int, int, __u32);
	int fd;

	create = (int (*)(enum bpf_map_type, int, int, int, __u32))dlsym(RTLD_DEFAULT, "bpf_create_map");
	if (!create || strcmp(mode, "kernel") == 0)
		return;
	fd = create(BPF_MAP_TYPE_HASH, 4, 8, 4, 0);
	CHECK(fd >= 3);
	close(fd);
}

static int kernel_usable(void)
{
	struct statfs fs;
	int fd;

	if (statfs("/sys/fs/bpf", &fs) != 0 || (unsigned long)fs.f_type != BPF_FS_MAGIC_VALUE) {
		fprintf(stderr, "skip: no bpffs mounted at /sys/fs/bpf\n");
		return 0;
	}
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, NULL, 4, 4, 1, NULL);
	if (fd < 0) {
		fprintf(stderr, "skip: bpf() not permitted here (%s)\n", strerror(-fd));
		return 0;
	}
	close(fd);
	return 1;
}

int main(int argc, char **argv)
{
	mode = argc > 1 ? argv[1] : "emu";
	if (strcmp(mode, "kernel") == 0 && !kernel_usable())
		return 77;
	snprintf(dir, sizeof(dir), "/sys/fs/bpf/bpfemu_api_%d", (int)getpid());

	test_create();
	test_elements();
	test_batch();
	test_freeze();
	test_pins();
	test_path_fd();
	test_ids();
	test_info();
	test_fd_ops();
	test_btf_and_cpus();
	test_legacy_create();

	if (failures) {
		fprintf(stderr, "%d check(s) failed (%s)\n", failures, mode);
		return 1;
	}
	printf("all checks passed (%s)\n", mode);
	return 0;
}
