/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_server.c - the listeners the master opens (master_listen.c) as the
 * front's server.c takes them, on a real event_base: Unix socket files
 * (mode, a stale file replaced, a live one or a non-socket refused,
 * removal at the master's end), the one owner of listener on/off (max_connections,
 * the admin cap, shutdown), accept() failing with EMFILE (listeners rest,
 * then accept again), and the descriptor limit raised at start.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "server.h"
#include "master.h"

struct fixture {
	struct server		 srv;
	struct broker_config	 conf;
	struct listen_addr	 la[2];
	char			 dir[64];
	char			 path[2][96];
	char			 text[2][108];
	struct master_listener	*ml;	/* the master's side */
	size_t			 n_ml;
};

/* What the master does (open) and the front (adopt each). */
static int
listeners_open(struct fixture *f, struct server *srv)
{
	struct master_listener	*ml;
	size_t			 n;

	if (master_listeners_open(&f->conf, &ml, &n) == -1)
		return -1;
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(server_listener_adopt(srv, ml[i].fd, ml[i].admin,
		    ml[i].inherited, ml[i].text, ml[i].path), 0);
		ml[i].fd = -1;
	}
	if (srv == &f->srv) {
		f->ml = ml;
		f->n_ml = n;
	} else {
		master_listeners_close(ml, n, false);
	}
	return 0;
}

/* The master's end: our socket files go. */
static void
listeners_remove(struct fixture *f)
{
	master_listeners_close(f->ml, f->n_ml, true);
	f->ml = NULL;
	f->n_ml = 0;
}

static int
setup(void **state)
{
	struct fixture	*f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/test_server.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	for (int i = 0; i < 2; i++) {
		snprintf(f->path[i], sizeof(f->path[i]), "%s/%s.sock", f->dir,
		    i == 0 ? "main" : "admin");
		snprintf(f->text[i], sizeof(f->text[i]), "unix:%s", f->path[i]);
		f->la[i].kind = LISTEN_UNIX;
		f->la[i].text = f->text[i];
		f->la[i].path = f->path[i];
	}
	f->conf.listens = &f->la[0];
	f->conf.n_listens = 1;
	f->conf.socket_mode = 0640;
	f->conf.admin_listen = f->la[1];
	f->conf.has_admin_listen = true;
	server_init(&f->srv, event_base_new());
	f->srv.max_connections = 2;
	f->srv.max_header_size = 1024;
	f->srv.max_body = 16;
	f->srv.client_timeout = 10;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	conns_close_all(&f->srv);
	server_listeners_close(&f->srv);
	server_listeners_free(&f->srv);
	listeners_remove(f);
	evtimer_del(&f->srv.accept_retry);
	event_base_free(f->srv.base);
	unlink(f->path[0]);
	unlink(f->path[1]);
	rmdir(f->dir);
	free(f);
	return 0;
}

static int
connect_to(const char *path)
{
	struct sockaddr_un	 sun;
	int			 fd = socket(AF_UNIX, SOCK_STREAM, 0);

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	return fd;
}

/* Turns the loop until nothing is left to do right now. */
static void
spin(struct server *srv, int times)
{
	for (int i = 0; i < times; i++)
		event_base_loop(srv->base, EVLOOP_NONBLOCK);
}

static void
test_socket_files(void **state)
{
	struct fixture	*f = *state;
	struct stat	 st;
	int		 fd;

	/* A stale socket file (nobody listens) is replaced. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	{
		struct sockaddr_un sun = { .sun_family = AF_UNIX };

		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", f->path[0]);
		assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	}
	close(fd);
	assert_int_equal(listeners_open(f, &f->srv), 0);
	assert_int_equal(f->srv.n_listeners, 2);
	assert_true(f->srv.has_admin_listener);
	assert_true(f->srv.listeners[1].front->admin);
	assert_false(f->srv.listeners[0].front->admin);
	assert_int_equal(stat(f->path[0], &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0640);

	/* A live socket is not stolen by a second server. */
	{
		struct server	 two;

		memset(&two, 0, sizeof(two));
		server_init(&two, f->srv.base);
		assert_int_equal(listeners_open(f, &two), -1);
		server_listeners_close(&two);
		server_listeners_free(&two);
		assert_int_equal(stat(f->path[0], &st), 0);
	}
	/* Closing removes our own files (the master, at its end). */
	server_listeners_close(&f->srv);
	assert_int_equal(stat(f->path[0], &st), 0);
	listeners_remove(f);
	assert_int_equal(stat(f->path[0], &st), -1);
	assert_int_equal(stat(f->path[1], &st), -1);

	/* A file that is not a socket is refused, and kept. */
	server_listeners_free(&f->srv);
	fd = open(f->path[0], O_CREAT | O_WRONLY, 0600);
	close(fd);
	f->srv.has_admin_listener = false;
	assert_int_equal(listeners_open(f, &f->srv), -1);
	assert_int_equal(stat(f->path[0], &st), 0);
	assert_true(S_ISREG(st.st_mode));
}

/* max_connections and the admin cap each switch their own listeners. */
static void
test_connection_limits(void **state)
{
	struct fixture	*f = *state;
	int		 c[2], admin[SERVER_ADMIN_MAX_CONNECTIONS + 1];

	assert_int_equal(listeners_open(f, &f->srv), 0);
	c[0] = connect_to(f->path[0]);
	spin(&f->srv, 5);
	assert_int_equal(f->srv.n_conns, 1);
	assert_true(f->srv.listeners[0].enabled);
	c[1] = connect_to(f->path[0]);
	spin(&f->srv, 5);
	assert_int_equal(f->srv.n_conns, 2);
	assert_true(f->srv.token_full);
	assert_false(f->srv.listeners[0].enabled);
	assert_true(f->srv.listeners[1].enabled);	/* the admin address */

	for (int i = 0; i <= SERVER_ADMIN_MAX_CONNECTIONS; i++)
		admin[i] = connect_to(f->path[1]);
	spin(&f->srv, 10);
	assert_int_equal(f->srv.n_admin_conns, SERVER_ADMIN_MAX_CONNECTIONS);
	assert_false(f->srv.listeners[1].enabled);
	assert_true(f->srv.admin_full);

	/* One admin caller leaves: the waiting one is taken. */
	close(admin[0]);
	spin(&f->srv, 10);
	assert_int_equal(f->srv.n_admin_conns, SERVER_ADMIN_MAX_CONNECTIONS);
	/* One token caller leaves: accepting again. */
	close(c[0]);
	spin(&f->srv, 10);
	assert_int_equal(f->srv.n_conns, 1);
	assert_true(f->srv.listeners[0].enabled);
	assert_false(f->srv.token_full);

	/* Shutdown switches everything off. */
	f->srv.stopping = true;
	server_listeners_update(&f->srv);
	assert_false(f->srv.listeners[0].enabled);
	f->srv.stopping = false;
	close(c[1]);
	for (int i = 1; i <= SERVER_ADMIN_MAX_CONNECTIONS; i++)
		close(admin[i]);
}

/* accept() fails with EMFILE: every listener rests, once the descriptors
 * are back the waiting caller is taken. */
static void
test_accept_emfile(void **state)
{
	struct fixture	*f = *state;
	struct rlimit	 old, low;
	struct timespec	 rest = { 0, (SERVER_ACCEPT_RETRY_MS + 50) * 1000000L };
	int		 client, client2, fds[64], n = 0;

	f->conf.has_admin_listen = false;
	f->srv.max_connections = 8;
	assert_int_equal(listeners_open(f, &f->srv), 0);
	client = connect_to(f->path[0]);
	/* Use up every descriptor under a low limit. */
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = (rlim_t)client + 16;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	while (n < 64 && (fds[n] = dup(0)) != -1)
		n++;
	assert_int_equal(errno, EMFILE);
	spin(&f->srv, 3);
	assert_int_equal(f->srv.n_conns, 0);
	assert_true(evtimer_pending(&f->srv.accept_retry, NULL));
	assert_false(f->srv.listeners[0].enabled);

	while (n > 0)
		close(fds[--n]);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	nanosleep(&rest, NULL);
	/* A second caller: under valgrind the first is lost (valgrind closes
	 * a descriptor the kernel gave beyond its limit). */
	client2 = connect_to(f->path[0]);
	/* Slow under valgrind: give the loop up to 2 s. */
	for (int i = 0; i < 200 && f->srv.n_conns == 0; i++) {
		struct timespec	 ms10 = { 0, 10000000L };

		spin(&f->srv, 5);
		nanosleep(&ms10, NULL);
	}
	assert_false(evtimer_pending(&f->srv.accept_retry, NULL));
	assert_true(f->srv.listeners[0].enabled);
	assert_true(f->srv.n_conns >= 1);
	close(client);
	close(client2);
}

static void
test_nofile_raise(void **state)
{
	struct rlimit	 old, rl;

	(void)state;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	if (old.rlim_max == RLIM_INFINITY || old.rlim_max < 128)
		skip();
	rl = old;
	rl.rlim_cur = 64;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	server_nofile_raise(16);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	assert_int_equal(rl.rlim_cur, old.rlim_max);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_socket_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connection_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_accept_emfile, setup, teardown),
		cmocka_unit_test(test_nofile_raise),
	};

	log_init(LOG_LEVEL_ERROR, "test_server");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
