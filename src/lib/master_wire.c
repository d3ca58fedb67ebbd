/* SPDX-License-Identifier: Apache-2.0 */
/*
 * master_wire.c - sending and receiving the master's and the front's
 * messages (master_wire.h) with their descriptors, and the sealed memory
 * files that carry a generation's snapshot and CA bundle to a process
 * that may not open files.  No logging: callers say what failed.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "samlbroker.h"
#include "master_wire.h"

void
mw_init(struct mw_msg *m, enum mw_type type)
{
	memset(m, 0, sizeof(*m));
	m->magic = MW_MAGIC;
	m->type = (uint32_t)type;
}

int
mw_send(int sock, struct mw_msg *m, const int *fds, size_t n)
{
	union {
		char		 buf[CMSG_SPACE(sizeof(int) * MW_MAX_FDS)];
		struct cmsghdr	 align;
	}			 u;
	struct iovec		 iov = { m, sizeof(*m) };
	struct msghdr		 msg;
	ssize_t			 w;

	if (n > MW_MAX_FDS) {
		errno = EINVAL;
		return -1;
	}
	m->n_fds = (uint32_t)n;
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (n > 0) {
		struct cmsghdr *c;

		memset(&u, 0, sizeof(u));
		msg.msg_control = u.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * n);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * n);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
	}
	do
		w = sendmsg(sock, &msg, MSG_NOSIGNAL);
	while (w == -1 && errno == EINTR);
	if (w == -1)
		return -1;
	if (w != (ssize_t)sizeof(*m)) {
		errno = EMSGSIZE;
		return -1;
	}
	return 0;
}

static void
fds_close(int fds[MW_MAX_FDS])
{
	for (size_t i = 0; i < MW_MAX_FDS; i++) {
		if (fds[i] != -1)
			close(fds[i]);
		fds[i] = -1;
	}
}

int
mw_recv(int sock, struct mw_msg *m, int fds[MW_MAX_FDS])
{
	union {
		char		 buf[CMSG_SPACE(sizeof(int) * MW_MAX_FDS)];
		struct cmsghdr	 align;
	}			 u;
	struct iovec		 iov = { m, sizeof(*m) };
	struct msghdr		 msg;
	struct cmsghdr		*c;
	size_t			 got = 0;
	ssize_t			 r;

	for (size_t i = 0; i < MW_MAX_FDS; i++)
		fds[i] = -1;
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = u.buf;
	msg.msg_controllen = sizeof(u.buf);
	do
		r = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	while (r == -1 && errno == EINTR);
	if (r == -1)
		return -1;
	for (c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
		size_t	 n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (got < MW_MAX_FDS)
				fds[got++] = fd;
			else
				close(fd);
		}
	}
	if (r == 0 && got == 0)
		return 0;
	if (r != (ssize_t)sizeof(*m) || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
	    m->magic != MW_MAGIC || m->type == 0 || m->type >= MW_TYPE_MAX ||
	    m->n_fds != got || memchr(m->text, '\0', sizeof(m->text)) == NULL ||
	    memchr(m->path, '\0', sizeof(m->path)) == NULL) {
		fds_close(fds);
		return -2;
	}
	return 1;
}

int
mw_memfd(const char *name, const void *buf, size_t len, char *errbuf, size_t errlen)
{
	const char	*p = buf;
	size_t		 done = 0;
	int		 fd;

	if ((fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING)) == -1) {
		snprintf(errbuf, errlen, "memfd_create: %s", strerror(errno));
		return -1;
	}
	while (done < len) {
		ssize_t w = write(fd, p + done, len - done);

		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0) {
			snprintf(errbuf, errlen, "memfd write: %s", strerror(errno));
			close(fd);
			return -1;
		}
		done += (size_t)w;
	}
	/* Whoever receives it reads what was written, nothing else. */
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE |
	    F_SEAL_SEAL) == -1) {
		snprintf(errbuf, errlen, "memfd seal: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int
mw_memfd_read(int fd, size_t max, char **ret_buf, size_t *ret_len, char *errbuf,
    size_t errlen)
{
	struct stat	 st;
	char		*buf;
	size_t		 len, done = 0;
	int		 seals;

	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(errbuf, errlen, "not a memory file");
		return -1;
	}
	/* Sealed: its size cannot change while it is read. */
	if ((seals = fcntl(fd, F_GET_SEALS)) == -1 ||
	    (seals & (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW)) !=
	    (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW)) {
		snprintf(errbuf, errlen, "memory file not sealed");
		return -1;
	}
	if (st.st_size < 0 || (size_t)st.st_size > max) {
		snprintf(errbuf, errlen, "memory file too large (%lld bytes)",
		    (long long)st.st_size);
		return -1;
	}
	len = (size_t)st.st_size;
	buf = xmalloc(len + 1);
	while (done < len) {
		ssize_t r = pread(fd, buf + done, len - done, (off_t)done);

		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			snprintf(errbuf, errlen, "memory file read: %s",
			    r == 0 ? "short" : strerror(errno));
			OPENSSL_cleanse(buf, done);
			free(buf);
			return -1;
		}
		done += (size_t)r;
	}
	buf[len] = '\0';
	*ret_buf = buf;
	*ret_len = len;
	return 0;
}
