/* loader: creates an ARRAY map (int key, int value, 100 entries), sets key 1 to
 * 1 and pins the map at /sys/fs/bpf/my_array (or the path given as argv[1]).
 * The map outlives this process because it is pinned; see printer.c.
 *
 * A plain libbpf program: build with -lbpf. On the emulator, run it with
 * LD_PRELOAD=libbpfemu.so (no root needed), or link it with -lbpfemu. */
#include <bpf/bpf.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "/sys/fs/bpf/my_array";
	int key = 1, value = 1;
	int fd, err;

	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "my_array", sizeof(key), sizeof(value), 100, NULL);
	if (fd < 0) {
		fprintf(stderr, "loader: bpf_map_create: %s\n", strerror(-fd));
		return 1;
	}
	err = bpf_map_update_elem(fd, &key, &value, BPF_ANY);
	if (err) {
		fprintf(stderr, "loader: bpf_map_update_elem: %s\n", strerror(-err));
		return 1;
	}
	err = bpf_obj_pin(fd, path);
	if (err) {
		fprintf(stderr, "loader: bpf_obj_pin(%s): %s\n", path, strerror(-err));
		return 1;
	}
	printf("loader: created ARRAY map my_array (100 entries), set key %d = %d, pinned at %s\n", key, value,
	       path);
	close(fd);
	return 0;
}
