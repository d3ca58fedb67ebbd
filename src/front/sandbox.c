/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sandbox.c - the front's confinement, entered once it holds everything
 * it needs (listeners, signer sockets, the configuration and CA bundle
 * from the master) and before it reads a byte from a caller.
 *
 * Owns three layers: PR_SET_NO_NEW_PRIVS; a Landlock ruleset that handles
 * every file system right the running kernel's ABI knows (and TCP bind,
 * abstract UNIX sockets and signals outside the front where the ABI has
 * them) with rules for nothing but the resolver's own files, read only,
 * so that no other file can be opened, created or executed; and a
 * seccomp deny-list (execve, execveat, ptrace, process_vm_*, handle-based
 * opens, module and mount calls, io_uring, ...) answered with EPERM.
 * Landlock needs Linux 5.13: without it the front logs
 * `event=sandbox landlock=unavailable` and keeps the rest, unless the
 * configuration says require_landlock = yes.  No logging here: the
 * caller logs what sandbox_enter reports.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/landlock.h>

#ifdef HAVE_SECCOMP
#include <seccomp.h>
#endif

#include "samlbroker.h"

/* Rights of later ABIs than the build host's header may know. */
#define LL_FS_TRUNCATE		(1ULL << 14)	/* ABI 3 */
#define LL_FS_IOCTL_DEV		(1ULL << 15)	/* ABI 5 */
#define LL_NET_BIND_TCP		(1ULL << 0)	/* ABI 4 */
#define LL_SCOPE_ABSTRACT_UNIX	(1ULL << 0)	/* ABI 6 */
#define LL_SCOPE_SIGNAL		(1ULL << 1)	/* ABI 6 */

/* The ruleset attribute as the newest ABI we know has it; older kernels
 * are given only the size they know. */
struct ll_ruleset_attr {
	uint64_t	 handled_access_fs;
	uint64_t	 handled_access_net;
	uint64_t	 scoped;
};

/* What the resolver reads: getaddrinfo for localhost and names through
 * /etc/hosts or DNS.  NSS modules are loaded before the sandbox (a first
 * lookup) and stay loaded. */
static const char *const resolver_files[] = {
	"/etc/hosts", "/etc/resolv.conf", "/etc/nsswitch.conf", "/etc/host.conf",
	"/etc/gai.conf", NULL
};

static int
ll_abi(void)
{
#ifdef SYS_landlock_create_ruleset
	long	 abi = syscall(SYS_landlock_create_ruleset, NULL, 0,
		    LANDLOCK_CREATE_RULESET_VERSION);

	return abi < 0 ? -1 : (int)abi;
#else
	errno = ENOSYS;
	return -1;
#endif
}

static uint64_t
ll_fs_rights(int abi)
{
	uint64_t	 r = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |
	    LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR |
	    LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |
	    LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR |
	    LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK |
	    LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK |
	    LANDLOCK_ACCESS_FS_MAKE_SYM;

	if (abi >= 2)
		r |= 1ULL << 13;	/* REFER */
	if (abi >= 3)
		r |= LL_FS_TRUNCATE;
	if (abi >= 5)
		r |= LL_FS_IOCTL_DEV;
	return r;
}

/* One file readable, nothing else about it; a file that is not there
 * needs no rule. */
static int
ll_allow(int ruleset, const char *path, uint64_t access, char *errbuf, size_t errlen)
{
	struct landlock_path_beneath_attr	 pb;
	int					 fd, rc;

	if ((fd = open(path, O_PATH | O_CLOEXEC)) == -1)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
	memset(&pb, 0, sizeof(pb));
	pb.allowed_access = access;
	pb.parent_fd = fd;
	rc = (int)syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH,
	    &pb, 0);
	close(fd);
	if (rc == -1)
		snprintf(errbuf, errlen, "landlock_add_rule %s: %s", path, strerror(errno));
	return rc;
}

/* 1 when restricted, 0 when the kernel has no Landlock, -1 with errbuf. */
static int
landlock_enter(const char *const *extra_read, int *ret_abi, char *errbuf, size_t errlen)
{
	struct ll_ruleset_attr	 attr;
	size_t			 size;
	int			 abi, rs;

	if ((abi = ll_abi()) < 1) {
		*ret_abi = 0;
		if (errno == ENOSYS || errno == EOPNOTSUPP)
			return 0;
		snprintf(errbuf, errlen, "landlock ABI: %s (a service manager's system "
		    "call filter must allow landlock_create_ruleset, landlock_add_rule "
		    "and landlock_restrict_self)", strerror(errno));
		return -1;
	}
	*ret_abi = abi;
	memset(&attr, 0, sizeof(attr));
	attr.handled_access_fs = ll_fs_rights(abi);
	size = sizeof(attr.handled_access_fs);
	if (abi >= 4) {
		/* No TCP port may be bound (the listeners came open); connecting
		 * upstream is not handled, so it stays allowed. */
		attr.handled_access_net = LL_NET_BIND_TCP;
		size = offsetof(struct ll_ruleset_attr, scoped);
	}
	if (abi >= 6) {
		attr.scoped = LL_SCOPE_ABSTRACT_UNIX | LL_SCOPE_SIGNAL;
		size = sizeof(attr);
	}
	if ((rs = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0)) == -1) {
		snprintf(errbuf, errlen, "landlock_create_ruleset: %s", strerror(errno));
		return -1;
	}
	for (size_t i = 0; resolver_files[i] != NULL; i++)
		if (ll_allow(rs, resolver_files[i], LANDLOCK_ACCESS_FS_READ_FILE, errbuf,
		    errlen) == -1)
			goto fail;
	for (size_t i = 0; extra_read != NULL && extra_read[i] != NULL; i++)
		if (ll_allow(rs, extra_read[i], LANDLOCK_ACCESS_FS_READ_FILE, errbuf,
		    errlen) == -1)
			goto fail;
#ifdef UNDER_ASAN
	/* Sanitizer builds only: LeakSanitizer reads our own /proc entry
	 * (threads, maps) at exit. */
	{
		char	 self[32];

		snprintf(self, sizeof(self), "/proc/%ld", (long)getpid());
		if (ll_allow(rs, self, LANDLOCK_ACCESS_FS_READ_FILE |
		    LANDLOCK_ACCESS_FS_READ_DIR, errbuf, errlen) == -1)
			goto fail;
	}
#endif
	if (syscall(SYS_landlock_restrict_self, rs, 0) == -1) {
		snprintf(errbuf, errlen, "landlock_restrict_self: %s", strerror(errno));
		goto fail;
	}
	close(rs);
	return 1;
fail:
	close(rs);
	return -1;
}

#ifdef HAVE_SECCOMP
/* Calls the front never makes; each gets EPERM (a subverted front learns
 * nothing it could not guess, and a test can see the refusal). */
static const char *const denied_calls[] = {
	"execve", "execveat", "fork", "vfork",
	"process_vm_readv", "process_vm_writev", "open_by_handle_at",
	"name_to_handle_at", "kexec_load", "kexec_file_load", "init_module",
	"finit_module", "delete_module", "mount", "umount2", "pivot_root", "chroot",
	"setns", "unshare", "bpf", "perf_event_open", "keyctl", "add_key",
	"request_key", "userfaultfd", "io_uring_setup", "io_uring_enter",
	"io_uring_register", "swapon", "swapoff", "reboot", "settimeofday",
	"clock_settime", "clock_adjtime", "adjtimex", "quotactl", "acct",
	"personality", "uselib", "lookup_dcookie", "syslog", "iopl", "ioperm",
#ifndef UNDER_ASAN
	/* LeakSanitizer stops the world with ptrace. */
	"ptrace",
#endif
	NULL
};

static int
seccomp_enter(char *errbuf, size_t errlen)
{
	scmp_filter_ctx	 ctx;
	int		 rc;

	if ((ctx = seccomp_init(SCMP_ACT_ALLOW)) == NULL) {
		snprintf(errbuf, errlen, "seccomp_init failed");
		return -1;
	}
	for (size_t i = 0; denied_calls[i] != NULL; i++) {
		int nr = seccomp_syscall_resolve_name(denied_calls[i]);

		if (nr == __NR_SCMP_ERROR)
			continue;	/* not on this architecture */
		if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0)) < 0) {
			snprintf(errbuf, errlen, "seccomp_rule_add %s: %s", denied_calls[i],
			    strerror(-rc));
			seccomp_release(ctx);
			return -1;
		}
	}
	if ((rc = seccomp_load(ctx)) < 0) {
		snprintf(errbuf, errlen, "cannot install the seccomp filter: %s",
		    strerror(-rc));
		seccomp_release(ctx);
		return -1;
	}
	seccomp_release(ctx);
	return 0;
}
#endif

int
sandbox_enter(const struct sandbox_options *o, struct sandbox_report *ret,
    char *errbuf, size_t errlen)
{
	int	 rc;

	memset(ret, 0, sizeof(*ret));
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		snprintf(errbuf, errlen, "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
		return -1;
	}
	if ((rc = landlock_enter(o->extra_read, &ret->landlock_abi, errbuf, errlen)) == -1)
		return -1;
	if (rc == 0 && o->require_landlock) {
		snprintf(errbuf, errlen, "require_landlock = yes and this kernel has "
		    "no Landlock");
		return -1;
	}
	ret->landlock = rc == 1;
#ifdef HAVE_SECCOMP
	if (seccomp_enter(errbuf, errlen) == -1)
		return -1;
	ret->seccomp = true;
#endif
	return 0;
}
