/*
 * signer.h - the wire format between the front (signer.c) and its signer
 * processes (signer_main.c), private to those two files.
 *
 * One socketpair of type SOCK_SEQPACKET per signer: every message is one
 * packet, so there is no framing to get wrong.  The front sends fixed-size
 * requests; the signer answers each, in order, with a header and a text
 * (the base64 SAMLResponse, or a short error that never holds a secret).
 * The first packet a signer sends is READY (or FAILED with the reason,
 * after which it exits).  Both sides check every field they receive.
 */
#ifndef SIGNER_H
#define SIGNER_H

#include <stdint.h>

#include "samlbroker.h"

#define SIGNER_WIRE_MAGIC	0x53424d31u	/* "SBM1" */
#define SIGNER_WIRE_FD		3		/* the signer's end, after exec */
#define SIGNER_WIRE_MAX_TEXT	(64 * 1024)	/* a SAMLResponse is ~8 KiB */

struct signer_wire_request {
	uint32_t	 magic;
	uint32_t	 id;		/* echoed in the reply */
	double		 now;		/* the front's clock: minting time */
	char		 tenant[NAME_MAX_LEN + 1];	/* NUL-terminated */
	char		 email[EMAIL_MAX_LEN + 1];	/* NUL-terminated */
};

enum signer_wire_status {
	SIGNER_WIRE_READY = 1,		/* start-up done; id 0 */
	SIGNER_WIRE_OK,			/* text: the base64 SAMLResponse */
	SIGNER_WIRE_FAILED,		/* text: why (never a secret) */
	SIGNER_WIRE_UNKNOWN_TENANT	/* no such tenant in this signer's configuration */
};

struct signer_wire_reply {
	uint32_t	 magic;
	uint32_t	 id;
	uint32_t	 status;	/* enum signer_wire_status */
	uint32_t	 len;		/* bytes of text after the header, no NUL */
	double		 not_on_or_after;	/* OK only */
};

#endif /* SIGNER_H */
