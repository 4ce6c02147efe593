/*
 * Reading a small whole file named by the user (configuration, policy,
 * keys): every such file is hostile input, so the read stops at the
 * buffer's limit instead of trusting the size the file claims.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "internal.h"

int registry__read_file_capped(const char *path, registry__buf *out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? REGISTRY_ENOTFOUND
		                       : registry__fail(REGISTRY_EIO, "cannot open %s: %s", path, registry__errno_text(errno));
	char buf[8192];
	ssize_t n;
	int rc = 0;
	while (!rc && (n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = registry__fail(REGISTRY_EIO, "reading %s: %s", path, registry__errno_text(errno));
			break;
		}
		rc = registry__buf_append(out, buf, (size_t)n);
		if (rc == REGISTRY_ETOOLARGE)
			rc = registry__fail(rc, "%s is larger than %zu bytes", path, out->limit);
	}
	close(fd);
	return rc;
}
