/* libbpf calls that libbpfemu does not provide as symbols, so they reach the
 * emulator only through the bpf(2) syscall libbpf makes itself: program
 * loading, BTF loading and reading back, libbpf's own feature probes, info of
 * every object kind, id walks. The same checks run on the kernel ("kernel")
 * and on the emulator in each way of using it (LD_PRELOAD with libbpf.so,
 * -lbpfemu before a shared or a static libbpf, libbpfemu.a).
 *
 *   libbpf_syscall_test emu|kernel
 */
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

static int failures;

#define CHECK(cond)                                                                  \
	do {                                                                         \
		if (!(cond)) {                                                       \
			fprintf(stderr, "%s:%d: CHECK(%s) failed (errno %d)\n", __FILE__, \
				__LINE__, #cond, errno);                              \
			failures++;                                                  \
		}                                                                    \
	} while (0)

/* A raw fstatfs shows the anonymous-inode filesystem only for a kernel handle. */
static int is_kernel_fd(int fd)
{
	struct statfs st;

	return syscall(SYS_fstatfs, fd, &st) == 0 && st.f_type == 0x09041934;
}

static void test_prog_and_maps(int kernel)
{
	__u32 k = 3, next = 0, id = 0;
	__u64 v = 0x77, out = 0;
	int map = bpf_map_create(BPF_MAP_TYPE_ARRAY, "sysmap", 4, 8, 4, NULL);
	struct bpf_insn insns[] = {
		{ .code = BPF_LD | BPF_IMM | BPF_DW, .dst_reg = 1, .src_reg = BPF_PSEUDO_MAP_FD, .imm = map },
		{ 0 },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	struct bpf_prog_info pinfo;
	struct bpf_map_info minfo;
	__u32 len, map_ids[2] = { 0, 0 };
	int prog, again;

	CHECK(map >= 3);
	CHECK(is_kernel_fd(map) == kernel);
	CHECK(bpf_map_update_elem(map, &k, &v, BPF_ANY) == 0);
	prog = bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "sysprog", "GPL", insns, 4, NULL);
	CHECK(prog >= 3);
	memset(&pinfo, 0, sizeof(pinfo));
	pinfo.nr_map_ids = 2;
	pinfo.map_ids = (__u64)(unsigned long)map_ids;
	len = sizeof(pinfo);
	CHECK(bpf_obj_get_info_by_fd(prog, &pinfo, &len) == 0);
	CHECK(pinfo.type == BPF_PROG_TYPE_SOCKET_FILTER);
	CHECK(strcmp(pinfo.name, "sysprog") == 0);
	CHECK(pinfo.nr_map_ids == 1);
	memset(&minfo, 0, sizeof(minfo));
	len = sizeof(minfo);
	CHECK(bpf_obj_get_info_by_fd(map, &minfo, &len) == 0);
	CHECK(map_ids[0] == minfo.id);
	CHECK(pinfo.gpl_compatible == 1);
	/* The program holds the map: it outlives its fd. */
	close(map);
	again = bpf_map_get_fd_by_id(minfo.id);
	CHECK(again >= 3);
	CHECK(bpf_map_lookup_elem(again, &k, &out) == 0 && out == 0x77);
	close(again);
	/* Programs are listed by id. */
	CHECK(bpf_prog_get_next_id(pinfo.id - 1, &next) == 0 && next == pinfo.id);
	again = bpf_prog_get_fd_by_id(pinfo.id);
	CHECK(again >= 3);
	close(again);
	close(prog);
	/* With the program gone, nothing holds the map. The kernel frees a
	 * program after an RCU grace period, so its maps go a moment later. */
	for (int i = 0; i < 200; i++) {
		again = bpf_map_get_fd_by_id(minfo.id);
		if (again < 0)
			break;
		close(again);
		usleep(10000);
	}
	CHECK(again == -ENOENT);
	(void)id;
}

static void test_btf(void)
{
	struct btf *btf = btf__new_empty(), *back;
	struct bpf_btf_info info;
	__u32 len = sizeof(info), next = 0;
	int fd;

	CHECK(btf != NULL);
	CHECK(btf__add_int(btf, "int", 4, BTF_INT_SIGNED) == 1);
	CHECK(btf__load_into_kernel(btf) == 0);
	fd = btf__fd(btf);
	CHECK(fd >= 3);
	memset(&info, 0, sizeof(info));
	CHECK(bpf_obj_get_info_by_fd(fd, &info, &len) == 0);
	CHECK(info.id > 0);
	CHECK(bpf_btf_get_next_id(info.id - 1, &next) == 0 && next == info.id);
	/* libbpf reads the blob back through the object's info. */
	back = btf__load_from_kernel_by_id(info.id);
	CHECK(back != NULL);
	if (back) {
		CHECK(btf__type_cnt(back) == 2);
		CHECK(btf__find_by_name(back, "int") == 1);
		btf__free(back);
	}
	btf__free(btf);
}

static void test_probes(void)
{
	/* libbpf's probes create and load throw-away objects through bpf(2). */
	CHECK(libbpf_probe_bpf_map_type(BPF_MAP_TYPE_HASH, NULL) == 1);
	CHECK(libbpf_probe_bpf_map_type(BPF_MAP_TYPE_LPM_TRIE, NULL) == 1);
	CHECK(libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_SOCKET_FILTER, NULL) == 1);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "emu";
	int kernel = strcmp(mode, "kernel") == 0;

	if (kernel) {
		int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, NULL, 4, 4, 1, NULL);

		if (fd < 0)
			return 77; /* bpf() not usable here */
		close(fd);
	}
	test_prog_and_maps(kernel);
	test_btf();
	test_probes();
	if (failures) {
		fprintf(stderr, "%d check(s) failed (%s)\n", failures, mode);
		return 1;
	}
	printf("all checks passed (%s)\n", mode);
	return 0;
}
