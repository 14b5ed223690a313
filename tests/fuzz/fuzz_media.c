/*
 * fuzz_media.c - libFuzzer harness for vg_media_inspect_fd.
 *
 * Each input becomes a memfd of exactly its length, so a read outside
 * [0, size) is a short read (an I/O error the harness treats as a bug)
 * rather than a silent pass. Besides crashes and sanitizer reports, the
 * harness aborts on answers the API does not allow: I/O errors on a good fd,
 * an OK without a container or with a duration below -1, a failure that left
 * *out filled in or gave no reason.
 *
 *   clang-14 -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Ilib \
 *       lib/vg_media.c tests/fuzz/fuzz_media.c -o fuzz_media
 *   ./fuzz_media -max_total_time=60 corpus/ tests/fixtures/
 */
#include "vg_media.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	struct vg_media_info info;
	enum vg_media_status st;
	char why[128];
	size_t off = 0;

	if (fd < 0) {
		fd = memfd_create("fuzz_media", MFD_CLOEXEC);
		if (fd < 0)
			abort();
	}
	if (ftruncate(fd, 0) != 0)
		abort();
	while (off < size) {
		ssize_t n = pwrite(fd, data + off, size - off, (off_t)off);

		if (n <= 0)
			abort();
		off += (size_t)n;
	}
	st = vg_media_inspect_fd(fd, size, &info, why, sizeof(why));
	switch (st) {
	case VG_MEDIA_OK:
		if (!info.container[0] || info.duration_ms < -1)
			abort();
		break;
	case VG_MEDIA_UNSUPPORTED:
	case VG_MEDIA_MALFORMED:
		if (info.container[0] || info.duration_ms != -1 || !why[0])
			abort();
		break;
	default:
		abort();
	}
	return 0;
}
