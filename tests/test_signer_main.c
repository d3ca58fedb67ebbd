/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_signer_main.c - a signer process (signer_main.c) as the pool starts
 * it: its title, seccomp filter and descriptors, a memory scan
 * (tests/memscan.py, as root) that finds the key but not its password in
 * a signer and neither in this process, the front, which never loaded
 * them; signers that outlive no front killed with SIGKILL; the
 * [broker] signers option; and a signer that signs only for its own
 * clock, whatever time a (fake) front sends on the raw wire.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "samlbroker.h"
#include "signer.h"
#include "signer_fixture.h"

/* Titles, seccomp, no descriptor but stdio and the socketpair. */
static void
test_process_model(void **state)
{
	struct signer_pool	*p = pool_new(2, 0);
	pid_t			 pids[MAX_PIDS];
	size_t			 n = pids_of(p, pids, MAX_PIDS);
	char			 path[128], buf[4096], want[64];

	assert_int_equal(n, 2);
	for (size_t i = 0; i < n; i++) {
		FILE		*f;
		size_t		 len;
		DIR		*d;
		struct dirent	*e;
		bool		 seccomp = false;

		snprintf(path, sizeof(path), "/proc/%ld/cmdline", (long)pids[i]);
		assert_non_null(f = fopen(path, "r"));
		len = fread(buf, 1, sizeof(buf) - 1, f);
		buf[len] = '\0';
		fclose(f);
		snprintf(want, sizeof(want), "samlbroker: signer %zu", i + 1);
		assert_string_equal(buf, want);

		snprintf(path, sizeof(path), "/proc/%ld/status", (long)pids[i]);
		assert_non_null(f = fopen(path, "r"));
		while (fgets(buf, sizeof(buf), f) != NULL) {
			if (strncmp(buf, "Name:", 5) == 0) {
				snprintf(want, sizeof(want), "Name:\tsb-signer-%zu\n", i + 1);
				assert_string_equal(buf, want);
			}
			if (strcmp(buf, "Seccomp:\t2\n") == 0)
				seccomp = true;
		}
		fclose(f);
#if defined(HAVE_SECCOMP) && !defined(UNDER_ASAN)
		if (getenv("SAMLBROKER_SIGNER_NO_SECCOMP") == NULL)
			assert_true(seccomp);
#else
		(void)seccomp;
#endif
		snprintf(path, sizeof(path), "/proc/%ld/fd", (long)pids[i]);
		assert_non_null(d = opendir(path));
		while ((e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			if (atoi(e->d_name) > 3)
				fail_msg("signer %ld has descriptor %s", (long)pids[i], e->d_name);
			if (atoi(e->d_name) == 3) {
				ssize_t k;

				snprintf(path, sizeof(path), "/proc/%ld/fd/3", (long)pids[i]);
				k = readlink(path, buf, sizeof(buf) - 1);
				assert_true(k > 0);
				buf[k] = '\0';
				assert_memory_equal(buf, "socket:", 7);
			}
		}
		closedir(d);
	}
	pool_free_check(p);
}

/*
 * A front killed with SIGKILL (no chance to stop anything) takes its
 * signers with it: they get SIGTERM from the kernel (PR_SET_PDEATHSIG) and
 * EOF on their socket.  This process is the subreaper that waits for them.
 */
static void
test_front_killed(void **state)
{
	int	 fds[2], status;
	pid_t	 front, signer_pid = 0;
	double	 until;

	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
	assert_int_equal(pipe(fds), 0);
	if ((front = fork()) == 0) {
		struct signer_pool		*p;
		struct signer_process_info	 info[4];

		close(fds[0]);
		event_reinit(base);
		p = pool_new(1, 0);
		assert_int_equal(signer_pool_processes(p, info, 4), 1);
		if (write(fds[1], &info[0].pid, sizeof(info[0].pid)) != sizeof(info[0].pid))
			_exit(1);
		for (;;)
			pause();
	}
	assert_true(front > 0);
	close(fds[1]);
	assert_int_equal(read(fds[0], &signer_pid, sizeof(signer_pid)), sizeof(signer_pid));
	close(fds[0]);
	assert_true(signer_pid > 0);
	assert_int_equal(kill(front, SIGKILL), 0);
	assert_int_equal(waitpid(front, &status, 0), front);
	/* The orphaned signer is ours to reap now. */
	until = mono() + 10;
	while (waitpid(signer_pid, &status, WNOHANG) == 0 && mono() < until) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };

		nanosleep(&ts, NULL);
	}
	assert_false(process_exists(signer_pid));
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0), 0);
}

/* [broker] signers: 1 to 256; anything else names the option. */
static void
test_signers_option(void **state)
{
	static const struct {
		const char	*value;
		int		 ok;
	} cases[] = { { "1", 1 }, { "256", 1 }, { "0", 1 }, { "257", 0 }, { "two", 0 },
	    { "-1", 0 } };	/* 0: one per online CPU */
	char	 path[600], cmd[8192];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/signers.conf", tmpdir);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_non_null(f = fopen(path, "w"));
		fprintf(f, "[broker]\ntenants_dir = tenants\nsigners = %s\n", cases[i].value);
		fclose(f);
		chmod(path, 0600);
		snprintf(cmd, sizeof(cmd), "'%s' check -c '%s' 2>&1 | grep -q "
		    "'signers.conf: \\[broker\\] signers: must be a whole number from 0 to 256'",
		    exe, path);
		if ((system(cmd) == 0) == cases[i].ok)
			fail_msg("signers = %s: wrong verdict", cases[i].value);
	}
	unlink(path);
}

/* The key is in a signer and neither it nor its password is here. */
static void
test_memory_scan(void **state)
{
	struct signer_pool	*p;
	struct outcome		 o;
	pid_t			 pids[MAX_PIDS];
	char			 cmd[8192], keydir[1024];
	const char		*script;

	if (geteuid() != 0 || system("command -v python3 >/dev/null && "
	    "command -v openssl >/dev/null") != 0) {
		print_message("SKIP memory scan: needs root, python3 and openssl\n");
		return;
	}
	p = pool_new(2, 0);
	/* After a reload and 1,000 mints (fewer under valgrind). */
	assert_int_equal(signer_pool_reload(p, NULL, cmd, sizeof(cmd)), 0);
	for (int i = 0; i < (under_valgrind() ? 100 : 1000); i++) {
		mint_wait(p, i % 2 ? "acme" : "globex", EMAIL, &o);
		assert_int_equal(o.status, SIGNER_OK);
		outcome_clear(&o);
	}
	pids_of(p, pids, MAX_PIDS);
	snprintf(keydir, sizeof(keydir), "%s/tests/data/keys/vendor-pkcs8", top("top_srcdir"));
	script = "tests/memscan.py";
	snprintf(cmd, sizeof(cmd), "python3 '%s/%s' --key-dir '%s' --self-test",
	    top("top_srcdir"), script, keydir);
	assert_int_equal(system(cmd), 0);
	/* Positive control: every signer holds acme's primes (and not the
	 * key password, which it wiped after decrypting the key). */
	snprintf(cmd, sizeof(cmd), "python3 '%s/%s' --key-dir '%s' --expect-found "
	    "--pid %ld --pid %ld", top("top_srcdir"), script, keydir, (long)pids[0],
	    (long)pids[1]);
	assert_int_equal(system(cmd), 0);
	/* This process, the front, never loaded a key (under valgrind or ASan
	 * its memory is the tool's, and too large to scan). */
	if (!under_valgrind()) {
#ifndef UNDER_ASAN
		snprintf(cmd, sizeof(cmd), "python3 '%s/%s' --key-dir '%s' --pid %ld",
		    top("top_srcdir"), script, keydir, (long)getpid());
		assert_int_equal(system(cmd), 0);
#endif
	}
	pool_free_check(p);
}

/* One reply packet from a signer: its header, and its text in text. */
static void
wire_read(int fd, struct signer_wire_reply *hdr, char *text, size_t cap)
{
	static unsigned char	 buf[sizeof(*hdr) + SIGNER_WIRE_MAX_TEXT];
	ssize_t			 n = recv(fd, buf, sizeof(buf), 0);
	size_t			 len;

	assert_true(n >= (ssize_t)sizeof(*hdr));
	memcpy(hdr, buf, sizeof(*hdr));
	assert_int_equal(hdr->magic, SIGNER_WIRE_MAGIC);
	len = (size_t)n - sizeof(*hdr);
	assert_int_equal(hdr->len, len);
	assert_true(len < cap);
	memcpy(text, buf + sizeof(*hdr), len);
	text[len] = '\0';
}

/*
 * A fake front on the raw wire: a signer started by hand (as signer_proc.c
 * starts one) is sent times a front taken over might send.  Only the
 * request with the signer's own time is signed, and the assertion's
 * NotOnOrAfter is within the signer's own window.
 */
static void
test_own_clock(void **state)
{
	static const struct {
		const char	*what;
		double		 offset;	/* from now; NAN/INFINITY as is */
		bool		 absolute;
		double		 value;
	} cases[] = {
		{ "now + 1 year", 365.0 * 86400, false, 0 },
		{ "year 9999", 0, true, 253402214400.0 },	/* 9999-12-31 */
		{ "now - 1 day", -86400, false, 0 },
		{ "now + 6 s", 6, false, 0 },
		{ "NaN", 0, true, NAN },
		{ "infinity", 0, true, INFINITY },
		{ "-infinity", 0, true, -INFINITY },
		{ "now", 0, false, 0 },
	};
	struct signer_wire_request	 rq;
	struct signer_wire_reply	 hdr;
	static char			 text[SIGNER_WIRE_MAX_TEXT + 1];
	char				 cfg[600];
	int				 sv[2], status;
	pid_t				 pid;

	snprintf(cfg, sizeof(cfg), "%s", conf_path);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	if ((pid = fork()) == 0) {
		char *argv[] = { exe, (char *)"signer", (char *)"-c", cfg,
		    (char *)"--fd", (char *)"3", (char *)"--index", (char *)"1", NULL };

		if (dup2(sv[1], 3) == -1)
			_exit(127);
		if (sv[0] != 3)
			close(sv[0]);
		execv(exe, argv);
		_exit(127);
	}
	assert_true(pid > 0);
	close(sv[1]);
	wire_read(sv[0], &hdr, text, sizeof(text));
	assert_int_equal(hdr.status, SIGNER_WIRE_READY);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		double	 before = clock_now();

		memset(&rq, 0, sizeof(rq));
		rq.magic = SIGNER_WIRE_MAGIC;
		rq.id = (uint32_t)i + 1;
		rq.now = cases[i].absolute ? cases[i].value : before + cases[i].offset;
		snprintf(rq.tenant, sizeof(rq.tenant), "acme");
		snprintf(rq.email, sizeof(rq.email), "%s", EMAIL);
		assert_int_equal(send(sv[0], &rq, sizeof(rq), 0), (ssize_t)sizeof(rq));
		wire_read(sv[0], &hdr, text, sizeof(text));
		assert_int_equal(hdr.id, rq.id);
		if (strcmp(cases[i].what, "now") != 0) {
			if (hdr.status != SIGNER_WIRE_REFUSED)
				fail_msg("%s: signed (status %u)", cases[i].what, hdr.status);
			assert_string_equal(text, "time out of range");
			continue;
		}
		/* The signer's own time: signed, valid from its clock on. */
		assert_int_equal(hdr.status, SIGNER_WIRE_OK);
		assert_int_equal(verify_b64(text, "vendor-pkcs8", EMAIL), 0);
		/* assertion_lifetime 300 s from the signer's second. */
		assert_true(hdr.not_on_or_after >= floor(before) + 300);
		assert_true(hdr.not_on_or_after <= clock_now() + 300);
		{
			unsigned char	*xml;
			size_t		 len;
			char		 want[40], *at;

			assert_int_equal(base64_decode_lenient(text, &xml, &len), 0);
			assert_int_equal(format_rfc3339(hdr.not_on_or_after, want,
			    sizeof(want)), 0);
			at = strstr((char *)xml, "NotOnOrAfter=\"");
			assert_non_null(at);
			assert_memory_equal(at + strlen("NotOnOrAfter=\""), want,
			    strlen(want));
			secret_free((char *)xml);
		}
	}
	close(sv[0]);	/* EOF: the signer exits cleanly */
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_process_model),
		cmocka_unit_test(test_memory_scan),
		cmocka_unit_test(test_front_killed),
		cmocka_unit_test(test_signers_option),
		cmocka_unit_test(test_own_clock),
	};

	log_init(LOG_LEVEL_ERROR, "test_signer_main");
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("signer process", tests, fixture_setup,
	    fixture_teardown);
}
