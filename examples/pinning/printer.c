/* printer: opens the map pinned by loader.c (another process, run earlier) and
 * prints what it holds. Build with -lbpf; see loader.c for running it on the
 * emulator. */
#include <bpf/bpf.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "/sys/fs/bpf/my_array";
	struct bpf_map_info info;
	__u32 info_len = sizeof(info);
	int key = 1, value = 0;
	int fd, err;

	fd = bpf_obj_get(path);
	if (fd < 0) {
		fprintf(stderr, "printer: bpf_obj_get(%s): %s\n", path, strerror(-fd));
		return 1;
	}
	memset(&info, 0, sizeof(info));
	err = bpf_obj_get_info_by_fd(fd, &info, &info_len);
	if (err) {
		fprintf(stderr, "printer: bpf_obj_get_info_by_fd: %s\n", strerror(-err));
		return 1;
	}
	err = bpf_map_lookup_elem(fd, &key, &value);
	if (err) {
		fprintf(stderr, "printer: bpf_map_lookup_elem: %s\n", strerror(-err));
		return 1;
	}
	printf("printer: %s is map '%s' (type %u, key_size %u, value_size %u, max_entries %u)\n", path, info.name,
	       info.type, info.key_size, info.value_size, info.max_entries);
	printf("printer: key %d = %d\n", key, value);
	close(fd);
	return 0;
}
