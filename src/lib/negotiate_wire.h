/* SPDX-License-Identifier: Apache-2.0 */
/*
 * negotiate_wire.h - the wire between the front (server_negotiate.c) and
 * the negotiator process (negotiator.c), private to those two files.
 *
 * One SOCK_SEQPACKET socketpair: the front sends a request (a header and
 * the token's bytes, decoded from base64) and the negotiator answers each
 * in order with a header and, on success, the mutual-authentication token.
 * Both sides check every field.  Nothing on it is a secret but the token,
 * which is worth nothing once accepted (the replay cache).
 */
#ifndef NEGOTIATE_WIRE_H
#define NEGOTIATE_WIRE_H

#include <stdint.h>

#define NEG_WIRE_MAGIC		0x53424e31u	/* "SBN1" */
#define NEG_WIRE_FD		3		/* the negotiator's end, after exec */
/* A token at most: 64 KiB of header is at most 48 KiB of bytes. */
#define NEG_TOKEN_MAX		(48 * 1024)
#define NEG_PRINCIPAL_MAX	255
#define NEG_REASON_MAX		512
/* Requests the front has sent and not had answered, at most. */
#define NEG_IN_FLIGHT		64

struct neg_wire_request {
	uint32_t	 magic;
	uint32_t	 id;		/* echoed in the reply */
	uint32_t	 len;		/* bytes of token after the header */
	uint32_t	 reserved;
};

enum neg_wire_status {
	NEG_WIRE_OK = 1,	/* principal; out_len bytes of mutual token */
	NEG_WIRE_REFUSED	/* reason: one of the log reasons, with detail */
};

struct neg_wire_reply {
	uint32_t	 magic;
	uint32_t	 id;
	uint32_t	 status;	/* enum neg_wire_status */
	uint32_t	 out_len;	/* bytes of token after the header */
	char		 principal[NEG_PRINCIPAL_MAX + 1];	/* NUL-terminated */
	char		 reason[NEG_REASON_MAX];		/* NUL-terminated */
};

/*
 * What the master gives a negotiator (a sealed memfd on fd 4): this
 * header, then keytab_len bytes of keytab, from the generation's recorded
 * configuration; the negotiator reads it once and closes it.
 */
#define NEG_CONFIG_MAGIC	0x53424e43u	/* "SBNC" */
#define NEG_PATH_MAX		4096
struct neg_config {
	uint32_t	 magic;
	uint32_t	 keytab_len;
	char		 principal[NEG_PRINCIPAL_MAX + 1];	/* "": any in the keytab */
	char		 state_directory[NEG_PATH_MAX];
};

#endif /* NEGOTIATE_WIRE_H */
