/*
 * Reading the host's configuration files: regular files only (a FIFO or a
 * device named by a hostile config must not block or stream forever),
 * bounded in size, read whole.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hostconfig.h"

int registry__read_config_file(const char *path, size_t limit, registry__buf *out)
{
	registry__buf_init(out, limit);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return REGISTRY_ENOTFOUND;
		return registry__fail(REGISTRY_EIO, "cannot open %s: %s", path, registry__errno_text(errno));
	}
	struct stat st;
	int rc = 0;
	if (fstat(fd, &st) != 0)
		rc = registry__fail(REGISTRY_EIO, "cannot stat %s: %s", path, registry__errno_text(errno));
	else if (!S_ISREG(st.st_mode))
		rc = registry__fail(REGISTRY_EIO, "%s is not a regular file", path);
	else if ((unsigned long long)st.st_size > limit)
		rc = registry__fail(REGISTRY_ETOOLARGE, "%s is larger than %zu bytes", path, limit);
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
			rc = registry__fail(rc, "%s is larger than %zu bytes", path, limit);
		} else if (rc) {
			rc = registry__nomem();
		}
	}
	close(fd);
	if (!rc && !out->data && registry__buf_append(out, "", 0))
		rc = registry__nomem();
	return rc;
}
