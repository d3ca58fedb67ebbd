/* SPDX-License-Identifier: Apache-2.0 */
/*
 * master_wire.h - the messages between serve's master (master.c) and its
 * front (front_control.c), private to those files and master_wire.c.
 *
 * Two SOCK_SEQPACKET socketpairs, each message one fixed-size packet with
 * at most MW_MAX_FDS descriptors (SCM_RIGHTS), in the manner of OpenSSH's
 * monitor: the control channel (the front's fd 3) carries the
 * configuration generations, listeners and signer sockets to the front
 * and the front's signer requests to the master; the query channel (fd 4)
 * carries the one question the front asks synchronously: a uid's login
 * name.  At start the master may hand the front the cached tokens it read
 * back, and the front hands it the tokens to keep (the persistent cache:
 * plaintext here, sealed by the master).  Each side accepts a message type only in the state that needs
 * it, and checks every field.
 */
#ifndef MASTER_WIRE_H
#define MASTER_WIRE_H

#include <stdint.h>
#include <sys/types.h>

#define MW_MAGIC		0x53424d57u	/* "SBMW" */
#define MW_CONTROL_FD		3	/* the front's ends, after exec */
#define MW_QUERY_FD		4
#define MW_MAX_FDS		3
#define MW_TEXT_MAX		512
#define MW_PATH_MAX		108	/* sun_path */

enum mw_type {
	/* master -> front, control channel */
	MW_LISTENER = 1,	/* fd: a listening socket; flags MWF_ADMIN,
				 * MWF_INHERITED; text: its address; path */
	MW_GENERATION,		/* fds: the configuration snapshot (memfd),
				 * with MWF_CA the CA bundle (memfd), with
				 * MWF_KEYS the shared cache's keys (memfd,
				 * "TENANT HEX\n" lines); count:
				 * MW_GEN_SIGNER messages that follow */
	MW_GEN_SIGNER,		/* fd: a ready signer of generation; index, pid */
	MW_RELOAD_FAILED,	/* text: why (the master kept the old generation) */
	MW_SIGNER_STARTED,	/* fd: a restarted signer, ready; generation,
				 * index, seq, pid */
	MW_SIGNER_FAILED,	/* generation, index, seq; text: why */
	MW_NEGOTIATOR,		/* fd: the negotiator's socket (replaces the
				 * last one); generation, pid */
	/* front -> master, control channel */
	MW_FRONT_READY,		/* the front serves generation */
	MW_GEN_TAKEN,		/* generation; flags MWF_OK, else text: why not */
	MW_SIGNER_START,	/* generation, index, seq */
	MW_SIGNER_STOP,		/* pid; flags MWF_GRACEFUL (else kill now) */
	/* query channel */
	MW_LOGIN_QUERY,		/* front -> master: uid */
	MW_LOGIN_ANSWER,	/* master -> front: flags MWF_OK with text */
	/* the persistent cache, control channel (cache_seal.h's batches) */
	MW_CACHE_LOAD,		/* master -> front, at start before MW_GENERATION:
				 * fd: the tokens read back (memfd) */
	MW_CACHE_SAVE,		/* front -> master: fd: changed tenants' tokens
				 * (memfd), at most once a second and at exit */
	MW_TYPE_MAX
};

#define MWF_ADMIN	0x01u
#define MWF_INHERITED	0x02u
#define MWF_CA		0x04u
#define MWF_OK		0x08u
#define MWF_GRACEFUL	0x10u
#define MWF_KEYS	0x20u

struct mw_msg {
	uint32_t	 magic;
	uint32_t	 type;		/* enum mw_type */
	uint64_t	 generation;
	int64_t		 pid;
	uint32_t	 index;
	uint32_t	 seq;
	uint32_t	 count;
	uint32_t	 uid;
	uint32_t	 flags;
	uint32_t	 n_fds;		/* descriptors that came with it */
	char		 text[MW_TEXT_MAX];	/* NUL-terminated */
	char		 path[MW_PATH_MAX];	/* NUL-terminated */
};

/* master_wire.c */
/* A message of type with the rest zeroed. */
void	 mw_init(struct mw_msg *, enum mw_type);
/* Sends one message with n fds (the caller keeps them); 0 or -1 (errno). */
int	 mw_send(int sock, struct mw_msg *, const int *fds, size_t n);
/* Receives one message and its fds into fds[MW_MAX_FDS] (-1 where none):
 * 1, 0 at EOF, -1 on error (errno; EAGAIN when non-blocking and nothing
 * is there), -2 when malformed (every fd that came is closed). */
int	 mw_recv(int sock, struct mw_msg *, int fds[MW_MAX_FDS]);
/* Writes len bytes into a new sealed memfd (read-only for whoever gets
 * it); the fd, or -1 with errbuf. */
int	 mw_memfd(const char *name, const void *buf, size_t len, char *errbuf,
	    size_t errlen);
/* Reads a whole memfd (from offset 0, at most max bytes) into a new
 * buffer the caller frees with secret_free; 0 or -1 with errbuf. */
int	 mw_memfd_read(int fd, size_t max, char **ret_buf, size_t *ret_len,
	    char *errbuf, size_t errlen);

#endif /* MASTER_WIRE_H */
