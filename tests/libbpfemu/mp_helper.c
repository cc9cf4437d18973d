/* One process of the multi-process tests: a libbpf program (only <bpf/bpf.h>)
 * that a test drives line by line over stdin/stdout.
 *
 * Keys are __u32; values are read and written through their first 8 bytes as a
 * __u64 (per-CPU maps: the first 8 bytes of each CPU's slot).
 * Every command prints one line: "ok ..." or "err <errno>".
 *   create <type> <max> [vsize]   create a map (key 4, value vsize or 8); it
 *                                 becomes the current map
 *   pin <path> | get <path>       pin the current map | open a pin as current
 *   id                            print the current map's id
 *   set <k> <v> | lookup <k>      update (BPF_ANY) | lookup
 *   pset <k> <v0> <v1> ...        per-CPU update (missing CPUs get 0)
 *   plookup <k>                   per-CPU lookup, all CPUs
 *   incr <k> <n>                  n times: lookup (missing = 0), update with +1
 *   hammer <k>                    forever: update k with 1, 2, 3, ... and print
 *                                 "c <i>" after every 64th committed update (so
 *                                 most of the time is spent inside the map);
 *                                 every 4th time also an update whose value runs
 *                                 into an inaccessible page, which must fail
 *                                 with EFAULT and change nothing
 *   fill <n> <byte>               set keys 0..n-1 to values of all <byte>
 *   count                         number of keys (get_next_key walk; ELOOP if
 *                                 the walk returns more keys than max_entries)
 *   quit */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int fd = -1;
static int ncpus;
static __u32 stride = 8; /* bytes per value (per CPU for per-CPU maps) */
static int percpu;
static long max_entries;
static unsigned char *vbuf;   /* one syscall-side value */

static void reply_err(int r)
{
	printf("err %d\n", r < 0 ? -r : r);
}

/* Sizes the value buffer for the current map. */
static int use_map(int new_fd)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	int r;

	memset(&info, 0, sizeof(info));
	r = bpf_obj_get_info_by_fd(new_fd, &info, &len);
	if (r)
		return r;
	fd = new_fd;
	max_entries = info.max_entries;
	percpu = info.type == BPF_MAP_TYPE_PERCPU_ARRAY || info.type == BPF_MAP_TYPE_PERCPU_HASH ||
		 info.type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
	stride = percpu ? (info.value_size + 7) / 8 * 8 : info.value_size;
	if (stride < 8)
		stride = 8;
	free(vbuf);
	vbuf = calloc(percpu ? ncpus : 1, stride);
	return vbuf ? 0 : -ENOMEM;
}

static __u64 get_u64(int cpu)
{
	__u64 v;

	memcpy(&v, vbuf + (size_t)cpu * stride, sizeof(v));
	return v;
}

static void put_u64(int cpu, __u64 v)
{
	memcpy(vbuf + (size_t)cpu * stride, &v, sizeof(v));
}

static int set(__u32 k, __u64 v)
{
	memset(vbuf, 0, (size_t)(percpu ? ncpus : 1) * stride);
	put_u64(0, v);
	return bpf_map_update_elem(fd, &k, vbuf, BPF_ANY);
}

/* A value buffer whose last 4 bytes are cut off by a PROT_NONE page: the
 * copy-in faults part way through. */
static unsigned char *faulting_value(void)
{
	size_t len = (size_t)(percpu ? ncpus : 1) * stride;
	size_t span = (len + 4095) / 4096 * 4096;
	unsigned char *p = mmap(NULL, span + 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED || mprotect(p + span, 4096, PROT_NONE) != 0)
		return NULL;
	memset(p, 0x5a, span);
	return p + span - (len - 4);
}

static void cmd_hammer(__u32 k)
{
	unsigned char *bad = faulting_value();

	if (!bad) {
		reply_err(ENOMEM);
		return;
	}
	for (__u64 i = 1;; i++) {
		int r = set(k, i);

		if (r) {
			reply_err(r);
			return;
		}
		if (i % 4 == 0 && (r = bpf_map_update_elem(fd, &k, bad, BPF_ANY)) != -EFAULT) {
			reply_err(r ? r : EPROTO);
			return;
		}
		if (i % 64 == 0)
			printf("c %llu\n", (unsigned long long)i);
	}
}

static void cmd_incr(__u32 k, long n)
{
	__u64 v = 0;

	for (long i = 0; i < n; i++) {
		int r = bpf_map_lookup_elem(fd, &k, vbuf);

		if (r == -ENOENT)
			v = 0;
		else if (r) {
			reply_err(r);
			return;
		} else {
			v = get_u64(0);
		}
		r = set(k, v + 1);
		if (r) {
			reply_err(r);
			return;
		}
		v++;
	}
	printf("ok %llu\n", (unsigned long long)v);
}

static void cmd_fill(unsigned long n, int byte)
{
	memset(vbuf, byte, (size_t)(percpu ? ncpus : 1) * stride);
	for (__u32 k = 0; k < n; k++) {
		int r = bpf_map_update_elem(fd, &k, vbuf, BPF_ANY);

		if (r) {
			reply_err(r);
			return;
		}
	}
	printf("ok\n");
}

static void cmd_count(void)
{
	__u32 key, next;
	void *prev = NULL;
	long n = 0;
	int r;

	while ((r = bpf_map_get_next_key(fd, prev, &next)) == 0) {
		if (++n > max_entries) { /* a key came back twice: a cycle */
			r = -ELOOP;
			break;
		}
		key = next;
		prev = &key;
	}
	if (r != -ENOENT)
		reply_err(r);
	else
		printf("ok %ld\n", n);
}

/* Runs one command line; returns 0 to go on, 1 to quit. */
static int run(char *line)
{
	char arg[4000];
	unsigned long a, b, c;
	int r = 0, n;

	if ((n = sscanf(line, "create %lu %lu %lu", &a, &b, &c)) >= 2) {
		r = bpf_map_create((enum bpf_map_type)a, "mp", 4, n == 3 ? (__u32)c : 8, (__u32)b, NULL);
		if (r >= 0)
			r = use_map(r);
	} else if (sscanf(line, "pin %3999s", arg) == 1) {
		r = bpf_obj_pin(fd, arg);
	} else if (sscanf(line, "get %3999s", arg) == 1) {
		r = bpf_obj_get(arg);
		if (r >= 0)
			r = use_map(r);
	} else if (strncmp(line, "id", 2) == 0) {
		struct bpf_map_info info;
		__u32 len = sizeof(info);

		memset(&info, 0, sizeof(info));
		r = bpf_obj_get_info_by_fd(fd, &info, &len);
		if (!r) {
			printf("ok %u\n", info.id);
			return 0;
		}
	} else if (sscanf(line, "set %lu %lu", &a, &b) == 2) {
		r = set((__u32)a, b);
	} else if (sscanf(line, "lookup %lu", &a) == 1) {
		__u32 k = (__u32)a;

		r = bpf_map_lookup_elem(fd, &k, vbuf);
		if (!r) {
			printf("ok %llu\n", (unsigned long long)get_u64(0));
			return 0;
		}
	} else if (strncmp(line, "pset ", 5) == 0) {
		char *p = line + 5, *end;
		__u32 k = (__u32)strtoul(p, &end, 10);

		memset(vbuf, 0, (size_t)ncpus * stride);
		for (int i = 0; i < ncpus; i++) {
			p = end;
			put_u64(i, strtoull(p, &end, 10));
			if (end == p)
				break;
		}
		r = bpf_map_update_elem(fd, &k, vbuf, BPF_ANY);
	} else if (sscanf(line, "plookup %lu", &a) == 1) {
		__u32 k = (__u32)a;

		r = bpf_map_lookup_elem(fd, &k, vbuf);
		if (!r) {
			printf("ok");
			for (int i = 0; i < ncpus; i++)
				printf(" %llu", (unsigned long long)get_u64(i));
			printf("\n");
			return 0;
		}
	} else if (sscanf(line, "incr %lu %lu", &a, &b) == 2) {
		cmd_incr((__u32)a, (long)b);
		return 0;
	} else if (sscanf(line, "hammer %lu", &a) == 1) {
		cmd_hammer((__u32)a);
		return 0;
	} else if (sscanf(line, "fill %lu %lu", &a, &b) == 2) {
		cmd_fill(a, (int)b);
		return 0;
	} else if (strncmp(line, "count", 5) == 0) {
		cmd_count();
		return 0;
	} else if (strncmp(line, "quit", 4) == 0) {
		return 1;
	} else {
		r = -EINVAL;
	}
	if (r)
		reply_err(r);
	else
		printf("ok\n");
	return 0;
}

int main(void)
{
	char line[4096];

	ncpus = libbpf_num_possible_cpus();
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (fgets(line, sizeof(line), stdin))
		if (run(line))
			break;
	free(vbuf);
	return 0;
}
