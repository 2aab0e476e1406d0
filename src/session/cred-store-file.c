/* The credential store's file backend: 0600 file, atomic replace (temp + fsync + rename). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cable/bytes.h"
#include "cable/cred-store.h"
#include "cable/error.h"

static int
write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return CABLE_ERR_IO;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* fsync of the directory holding path, so that the rename itself is durable. */
static int
sync_dir(const char *path)
{
	char *copy = strdup(path);
	int fd, r = CABLE_ERR_IO;

	if (copy == NULL)
		return CABLE_ERR_NOMEM;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		if (fsync(fd) == 0)
			r = 0;
		close(fd);
	}
	free(copy);
	return r;
}

int
cable_cred_store_save_file(const struct cable_cred_store *store, const char *path)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	char *tmp = NULL;
	int fd = -1, r;

	if (store == NULL || path == NULL)
		return CABLE_ERR_ARG;
	if ((r = cable_cred_store_serialize(store, &buf, &len)) != 0)
		goto out;
	r = CABLE_ERR_NOMEM;
	if (asprintf(&tmp, "%s.tmp", path) < 0) {
		tmp = NULL;
		goto out;
	}
	r = CABLE_ERR_IO;
	/* A stale temp file from a crash is ours to replace; O_EXCL after unlink keeps it 0600. */
	(void)unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0)
		goto out;
	if (fchmod(fd, 0600) != 0 || (r = write_all(fd, buf, len)) != 0 || fsync(fd) != 0) {
		r = CABLE_ERR_IO;
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0)
		goto out;
	free(tmp);
	tmp = NULL;
	r = sync_dir(path);
out:
	if (fd >= 0)
		close(fd);
	if (tmp != NULL) {
		(void)unlink(tmp);
		free(tmp);
	}
	if (buf != NULL) {
		cable_wipe(buf, len);
		free(buf);
	}
	return r;
}

int
cable_cred_store_persist_file(void *ctx, const struct cable_cred_store *store)
{
	return cable_cred_store_save_file(store, ctx);
}

int
cable_cred_store_load_file(const char *path, const struct cable_env *env, struct cable_cred_store **out)
{
	struct cable_cred_store *s = NULL;
	struct stat st;
	uint8_t *buf = NULL;
	size_t len = 0;
	int fd = -1, r = CABLE_ERR_STORE;

	if (path == NULL || out == NULL)
		return CABLE_ERR_ARG;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		if (errno != ENOENT)
			goto out;
		/* No file yet: a new store, written at once so its master secret is kept. */
		if ((r = cable_cred_store_new(env, &s)) != 0)
			goto out;
		if ((r = cable_cred_store_save_file(s, path)) != 0)
			goto out;
		*out = s;
		s = NULL;
		r = 0;
		goto out;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    st.st_size > CABLE_CRED_STORE_MAX_FILE)
		goto out;
	len = (size_t)st.st_size;
	if ((buf = malloc(len)) == NULL) {
		r = CABLE_ERR_NOMEM;
		goto out;
	}
	for (size_t got = 0; got < len;) {
		ssize_t n = read(fd, buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto out;
		got += (size_t)n;
	}
	if ((r = cable_cred_store_parse(buf, len, &s)) != 0)
		goto out;
	*out = s;
	s = NULL;
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	if (buf != NULL) {
		cable_wipe(buf, len);
		free(buf);
	}
	cable_cred_store_free(&s);
	return r;
}
