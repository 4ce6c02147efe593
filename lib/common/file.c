/*
 * Reading a small whole file named by the user (configuration, policy,
 * keys, the host's registry configuration): every such file is hostile
 * input, so it must be a regular file (a FIFO or a device named by a hostile
 * config must not block or stream forever) and the read stops at the
 * buffer's limit instead of trusting the size the file claims.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

int registry__read_file_capped(const char *path, registry__buf *out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR
		               ? REGISTRY_ENOTFOUND
		               : registry__fail(REGISTRY_EIO, "cannot open %s: %s", path, registry__errno_text(errno));
	struct stat st;
	int rc = 0;
	if (fstat(fd, &st) != 0)
		rc = registry__fail(REGISTRY_EIO, "cannot stat %s: %s", path, registry__errno_text(errno));
	else if (!S_ISREG(st.st_mode))
		rc = registry__fail(REGISTRY_EIO, "%s is not a regular file", path);
	else if (out->limit && (unsigned long long)st.st_size > out->limit)
		rc = registry__fail(REGISTRY_ETOOLARGE, "%s is larger than %zu bytes", path, out->limit);
	char buf[8192];
	while (!rc) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = registry__fail(REGISTRY_EIO, "reading %s: %s", path, registry__errno_text(errno));
		} else if ((rc = registry__buf_append(out, buf, (size_t)n)) == REGISTRY_ETOOLARGE) {
			rc = registry__fail(rc, "%s is larger than %zu bytes", path, out->limit);
		} else if (rc) {
			rc = registry__nomem();
		}
	}
	close(fd);
	return rc;
}
