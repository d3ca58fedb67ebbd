/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_master_wire.c - master_wire.c: a message and its descriptors
 * cross a SOCK_SEQPACKET socketpair intact; everything malformed (short,
 * long, wrong magic or type, descriptors not as announced, text without
 * its NUL) is refused with every descriptor that came closed; EOF; sealed
 * memory files (what they hold, their size limit, an unsealed one
 * refused).
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "samlbroker.h"
#include "master_wire.h"

static void
pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
}

/* Descriptors this process has open. */
static int
fds_open(void)
{
	int	 n = 0;

	for (int fd = 0; fd < 1024; fd++)
		n += fcntl(fd, F_GETFD) != -1;
	return n;
}

/* Sends raw bytes with one descriptor, as a confused peer would. */
static void
send_raw(int sock, const void *buf, size_t len, int fd)
{
	union {
		char		 b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr	 align;
	}		 u;
	struct iovec	 iov = { (void *)(uintptr_t)buf, len };
	struct msghdr	 msg;
	struct cmsghdr	*c;

	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (fd != -1) {
		memset(&u, 0, sizeof(u));
		msg.msg_control = u.b;
		msg.msg_controllen = sizeof(u.b);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	assert_int_equal(sendmsg(sock, &msg, 0), (ssize_t)len);
}

static void
test_round_trip(void **state)
{
	struct mw_msg	 m, got;
	int		 sv[2], p[2], fds[MW_MAX_FDS];
	struct stat	 a, b;

	(void)state;
	pair(sv);
	assert_int_equal(pipe(p), 0);
	mw_init(&m, MW_GEN_SIGNER);
	m.generation = 7;
	m.index = 2;
	m.pid = 1234;
	snprintf(m.text, sizeof(m.text), "hello");
	assert_int_equal(mw_send(sv[0], &m, p, 2), 0);
	assert_int_equal(mw_recv(sv[1], &got, fds), 1);
	assert_int_equal(got.type, MW_GEN_SIGNER);
	assert_int_equal(got.generation, 7);
	assert_int_equal(got.index, 2);
	assert_int_equal(got.pid, 1234);
	assert_int_equal(got.n_fds, 2);
	assert_string_equal(got.text, "hello");
	/* The same open files, new numbers. */
	assert_int_equal(fstat(p[0], &a), 0);
	assert_int_equal(fstat(fds[0], &b), 0);
	assert_true(a.st_ino == b.st_ino);
	assert_true(fcntl(fds[0], F_GETFD) & FD_CLOEXEC);
	/* Nothing more: EAGAIN, then EOF once the peer is gone. */
	assert_int_equal(mw_recv(sv[1], &got, fds + 0), -1);
	close(sv[0]);
	assert_int_equal(mw_recv(sv[1], &got, fds), 0);
	close(sv[1]);
	close(p[0]);
	close(p[1]);
	assert_int_equal(mw_send(-1, &m, NULL, MW_MAX_FDS + 1), -1);	/* more fds than allowed */
}

static void
test_malformed(void **state)
{
	struct mw_msg	 m, got;
	unsigned char	 big[sizeof(struct mw_msg) + 16];
	int		 sv[2], p[2], fds[MW_MAX_FDS], before;

	(void)state;
	pair(sv);
	assert_int_equal(pipe(p), 0);
	before = fds_open();

	/* Short, with a descriptor: refused, and the descriptor closed. */
	mw_init(&m, MW_LISTENER);
	send_raw(sv[0], &m, sizeof(m) - 1, p[0]);
	assert_int_equal(mw_recv(sv[1], &got, fds), -2);
	assert_int_equal(fds[0], -1);
	/* Long. */
	memset(big, 0, sizeof(big));
	memcpy(big, &m, sizeof(m));
	send_raw(sv[0], big, sizeof(big), -1);
	assert_int_equal(mw_recv(sv[1], &got, fds), -2);
	/* Wrong magic. */
	m.magic = 0x12345678;
	send_raw(sv[0], &m, sizeof(m), -1);
	assert_int_equal(mw_recv(sv[1], &got, fds), -2);
	/* Unknown types. */
	mw_init(&m, MW_LISTENER);
	m.type = MW_TYPE_MAX;
	send_raw(sv[0], &m, sizeof(m), -1);
	assert_int_equal(mw_recv(sv[1], &got, fds), -2);
	m.type = 0;
	send_raw(sv[0], &m, sizeof(m), -1);
	assert_int_equal(mw_recv(sv[1], &got, fds), -2);
	/* A descriptor the message does not announce. */
	mw_init(&m, MW_LISTENER);
	m.n_fds = 0;
	send_raw(sv[0], &m, sizeof(m), p[1]);
	assert_int_equal(mw_recv(sv[1], &got, fds), -2);
	/* Text or path without its NUL. */
	mw_init(&m, MW_RELOAD_FAILED);
	memset(m.text, 'x', sizeof(m.text));
	send_raw(sv[0], &m, sizeof(m), -1);
	assert_int_equal(mw_recv(sv[1], &got, fds), -2);
	mw_init(&m, MW_LISTENER);
	memset(m.path, 'x', sizeof(m.path));
	send_raw(sv[0], &m, sizeof(m), -1);
	assert_int_equal(mw_recv(sv[1], &got, fds), -2);
	/* Every descriptor that came with a refused message was closed. */
	assert_int_equal(fds_open(), before);
	close(sv[0]);
	close(sv[1]);
	close(p[0]);
	close(p[1]);
}

static void
test_memfd(void **state)
{
	char		*buf;
	size_t		 len;
	char		 err[128];
	int		 fd, plain;

	(void)state;
	assert_true((fd = mw_memfd("t", "abc\0def", 7, err, sizeof(err))) >= 0);
	/* Sealed: nobody can write it any more. */
	assert_int_equal(write(fd, "x", 1), -1);
	assert_int_equal(mw_memfd_read(fd, 100, &buf, &len, err, sizeof(err)), 0);
	assert_int_equal(len, 7);
	assert_memory_equal(buf, "abc\0def", 7);
	assert_int_equal(buf[7], '\0');
	free(buf);
	/* Read twice (a signer restarted from the same generation). */
	assert_int_equal(mw_memfd_read(fd, 100, &buf, &len, err, sizeof(err)), 0);
	free(buf);
	assert_int_equal(mw_memfd_read(fd, 6, &buf, &len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "too large"));
	close(fd);
	/* An unsealed memory file could change while read: refused. */
	assert_true((plain = memfd_create("u", MFD_CLOEXEC)) >= 0);
	assert_int_equal(write(plain, "abc", 3), 3);
	assert_int_equal(mw_memfd_read(plain, 100, &buf, &len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not sealed"));
	close(plain);
	/* Not a memory file at all: a pipe. */
	{
		int p[2];

		assert_int_equal(pipe(p), 0);
		assert_int_equal(mw_memfd_read(p[0], 100, &buf, &len, err, sizeof(err)), -1);
		close(p[0]);
		close(p[1]);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_memfd),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
