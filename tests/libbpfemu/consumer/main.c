/* Creates, pins, re-opens and reads a map through <bpf/bpf.h>: enough to show
 * that the installed libbpfemu is found, links and runs. */
#include <bpf/bpf.h>
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	int key = 1, value = 42, out = 0, fd, again;

	fd = bpf_map_create(BPF_MAP_TYPE_HASH, "consumer", sizeof(key), sizeof(value), 4, NULL);
	if (fd < 0 || bpf_map_update_elem(fd, &key, &value, BPF_ANY) ||
	    bpf_obj_pin(fd, "/sys/fs/bpf/consumer"))
		return 1;
	again = bpf_obj_get("/sys/fs/bpf/consumer");
	if (again < 0 || bpf_map_lookup_elem(again, &key, &out) || out != 42)
		return 2;
	unlink("/sys/fs/bpf/consumer");
	close(fd);
	close(again);
	printf("consumer ok\n");
	return 0;
}
