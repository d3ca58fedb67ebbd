/* SPDX-License-Identifier: Apache-2.0 */
/*
 * negotiator.c - the negotiator process (`samlbroker negotiator`, hidden,
 * started by serve's master) and the keytab check of `check` and the
 * master's load.
 *
 * The negotiator alone holds the service's keytab (https_auth =
 * negotiate): the master gives it the keytab's bytes from the generation's
 * recorded configuration (a memfd, negotiate_wire.h), it copies every
 * entry (every key version: an old ticket keeps working while its kvno is
 * in the file) into a MEMORY: keytab and registers that as the acceptor's,
 * and answers the front's tokens one at a time with gss_accept_sec_context:
 * the client principal and the mutual-authentication token, or a refusal
 * class for the log.  SPNEGO is restricted to Kerberos (gss_set_neg_mechs);
 * NTLM, raw or offered alone in SPNEGO, is refused before GSS sees it.
 * MIT's replay cache is STATE_DIRECTORY/krb5.rcache2 (file2); the allowed
 * clock skew is MIT's (krb5.conf [libdefaults] clockskew, 300 s).  The
 * acceptor never contacts a KDC.
 *
 * It owns no socket but its end of the front's socketpair (fd 3), is not
 * dumpable and writes no core.  The front's binary does not link this file.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "samlbroker.h"
#include "commands.h"
#include "master_wire.h"
#include "negotiate_wire.h"

#ifdef HAVE_GSSAPI
#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <gssapi/gssapi_krb5.h>
#include <krb5.h>
#include <profile.h>

#define MEMORY_KEYTAB	"MEMORY:samlbroker-negotiator"

/*
 * Reads a keytab's bytes (through a memfd, as MIT reads only files) and,
 * with mem, copies every entry into it.  NULL, or what is wrong.
 */
static const char *
keytab_read(krb5_context ctx, const char *buf, size_t len, const char *principal,
    krb5_keytab mem)
{
	static char		 why[320];
	krb5_keytab		 kt = NULL;
	krb5_kt_cursor		 cur;
	krb5_keytab_entry	 e;
	krb5_principal		 want = NULL;
	char			 name[64];
	size_t			 n = 0, match = 0;
	int			 fd = -1;
	const char		*ret = NULL;

	if (len < 2 || (unsigned char)buf[0] != 0x05 ||
	    ((unsigned char)buf[1] != 0x01 && (unsigned char)buf[1] != 0x02))
		return "not a keytab (a keytab file begins with the bytes 05 02; "
		    "make it with ktutil, kadmin ktadd or ktpass)";
	if (principal != NULL && principal[0] != '\0' &&
	    krb5_parse_name(ctx, principal, &want) != 0)
		return "krb5_principal is not a principal name";
	if ((fd = memfd_create("samlbroker-keytab", MFD_CLOEXEC)) == -1) {
		ret = "cannot make a memfd";
		goto done;
	}
	for (size_t off = 0; off < len; ) {
		ssize_t w = write(fd, buf + off, len - off);

		if (w <= 0) {
			ret = "cannot write a memfd";
			goto done;
		}
		off += (size_t)w;
	}
	snprintf(name, sizeof(name), "FILE:/proc/self/fd/%d", fd);
	if (krb5_kt_resolve(ctx, name, &kt) != 0 ||
	    krb5_kt_start_seq_get(ctx, kt, &cur) != 0) {
		ret = "not a keytab (cannot read its entries)";
		goto done;
	}
	for (;;) {
		krb5_error_code rc = krb5_kt_next_entry(ctx, kt, &e, &cur);

		if (rc == KRB5_KT_END)
			break;
		if (rc != 0) {
			(void)krb5_kt_end_seq_get(ctx, kt, &cur);
			ret = "not a keytab (an entry does not parse)";
			goto done;
		}
		n++;
		if (want != NULL && krb5_principal_compare(ctx, want, e.principal))
			match++;
		if (mem != NULL && krb5_kt_add_entry(ctx, mem, &e) != 0)
			ret = "cannot copy an entry into memory";
		(void)krb5_free_keytab_entry_contents(ctx, &e);
	}
	(void)krb5_kt_end_seq_get(ctx, kt, &cur);
	if (ret == NULL && n == 0)
		ret = "holds no key";
	else if (ret == NULL && want != NULL && match == 0) {
		snprintf(why, sizeof(why), "holds no key for krb5_principal %.200s "
		    "(klist -k lists what it holds)", principal);
		ret = why;
	}
done:
	if (kt != NULL)
		(void)krb5_kt_close(ctx, kt);
	if (want != NULL)
		krb5_free_principal(ctx, want);
	if (fd != -1)
		close(fd);
	return ret;
}

static const char *
keytab_check(const char *buf, size_t len, const char *principal)
{
	krb5_context	 ctx;
	const char	*why;

	if (krb5_init_context(&ctx) != 0)
		return "cannot start Kerberos (krb5_init_context)";
	why = keytab_read(ctx, buf, len, principal, NULL);
	krb5_free_context(ctx);
	return why;
}

void
negotiator_global_init(void)
{
	config_tls_keytab_check_set(keytab_check);
}

/* The NTLM OID (1.3.6.1.4.1.311.2.2.10) and Kerberos's (RFC 4121, and
 * Microsoft's 1.2.840.48018.1.2.2), DER. */
static const unsigned char oid_ntlm[] = { 0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04,
    0x01, 0x82, 0x37, 0x02, 0x02, 0x0a };
static const unsigned char oid_krb5[] = { 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
    0xf7, 0x12, 0x01, 0x02, 0x02 };
static const unsigned char oid_mskrb5[] = { 0x06, 0x09, 0x2a, 0x86, 0x48, 0x82,
    0xf7, 0x12, 0x01, 0x02, 0x02 };

static bool
has(const unsigned char *buf, size_t len, const unsigned char *what, size_t n)
{
	return memmem(buf, len, what, n) != NULL;
}

/* A raw NTLMSSP message, or SPNEGO offering NTLM and no Kerberos. */
static bool
is_ntlm(const unsigned char *buf, size_t len)
{
	if (len >= 8 && memcmp(buf, "NTLMSSP", 8) == 0)
		return true;
	return has(buf, len, oid_ntlm, sizeof(oid_ntlm)) &&
	    !has(buf, len, oid_krb5, sizeof(oid_krb5)) &&
	    !has(buf, len, oid_mskrb5, sizeof(oid_mskrb5));
}

struct negotiator {
	krb5_context	 ctx;
	krb5_keytab	 mem;	/* kept open: a MEMORY: keytab lives while referenced */
	gss_cred_id_t	 cred;
	int		 skew;
	char		 principal[NEG_PRINCIPAL_MAX + 1];
};

/* The mechanism's text for a minor status (names principals, never keys). */
static void
minor_text(OM_uint32 minor, char *buf, size_t len)
{
	OM_uint32	 maj, min, ctx = 0;
	gss_buffer_desc	 msg = GSS_C_EMPTY_BUFFER;

	buf[0] = '\0';
	maj = gss_display_status(&min, minor, GSS_C_MECH_CODE, GSS_C_NO_OID, &ctx, &msg);
	if (maj == GSS_S_COMPLETE && msg.length > 0)
		snprintf(buf, len, "%.*s", (int)msg.length, (const char *)msg.value);
	(void)gss_release_buffer(&min, &msg);
	for (char *p = buf; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == '"' || *p == '\\')
			*p = ' ';
}

/* The refusal class of a failed accept, with what to do. */
static void
refusal(const struct negotiator *ng, OM_uint32 major, OM_uint32 minor,
    char *reason, size_t len)
{
	char		 text[200], plain[200], server[NEG_PRINCIPAL_MAX + 1] = "";
	const char	*rs;
	bool		 absent;

	minor_text(minor, text, sizeof(text));
	/* The words looked for below are looked for in plain: the text
	 * without the ticket's server name, which the client chooses (a
	 * service named HTTP/replay is not a replay). */
	memcpy(plain, text, sizeof(plain));
	/* MIT names the ticket's server when it is not the acceptor's name
	 * ("... (request ticket server HTTP/other@REALM)"), or when the keytab
	 * has no key for it: "Request ticket server S not found in keytab
	 * (ticket kvno N)" (no such principal; the kvno case is "S kvno N not
	 * found in keytab"). */
	if ((rs = strcasestr(text, "request ticket server ")) != NULL) {
		rs += strlen("request ticket server ");
		snprintf(server, sizeof(server), "%.*s", (int)strcspn(rs, ") "), rs);
		memset(plain + (rs - text), ' ', strcspn(rs, ") "));
	}
	absent = server[0] != '\0' && strstr(plain, "not found in keytab (ticket kvno") != NULL;
	if (GSS_ROUTINE_ERROR(major) == GSS_S_DUPLICATE_TOKEN ||
	    GSS_SUPPLEMENTARY_INFO(major) & GSS_S_DUPLICATE_TOKEN ||
	    (krb5_error_code)minor == KRB5KRB_AP_ERR_REPEAT ||
	    strstr(plain, "replay") != NULL)
		snprintf(reason, len, "replayed authenticator (this token was "
		    "accepted before: %.150s)", text);
	else if ((krb5_error_code)minor == KRB5KRB_AP_ERR_SKEW ||
	    strstr(plain, "skew") != NULL)
		snprintf(reason, len, "clock skew (the client's clock and the "
		    "broker's differ by more than the allowed %d s, krb5.conf "
		    "clockskew: synchronize both with NTP)", ng->skew);
	else if (server[0] != '\0' && ((ng->principal[0] != '\0' &&
	    strcmp(server, ng->principal) != 0) || absent))
		snprintf(reason, len, "ticket for another service (the ticket is for "
		    "%.150s; this broker is %.150s: the client used another name, or "
		    "the SPN is on another account)", server, ng->principal[0] != '\0' ?
		    ng->principal : "any principal of its keytab");
	else if ((krb5_error_code)minor == KRB5_KT_KVNONOTFOUND ||
	    strstr(plain, "kvno") != NULL)
		snprintf(reason, len, "unknown key version (%.150s: the keytab lacks the "
		    "key the ticket was made with; put the service's current key "
		    "into krb5_keytab (ktadd, ktpass) and send SIGHUP)", text);
	else if ((krb5_error_code)minor == KRB5_KT_NOTFOUND ||
	    (krb5_error_code)minor == KRB5KRB_AP_WRONG_PRINC ||
	    strstr(plain, "No key table entry") != NULL ||
	    strstr(plain, "Wrong principal") != NULL)
		snprintf(reason, len, "ticket for another service (%.150s; this broker "
		    "is %.255s)", text, ng->principal[0] != '\0' ? ng->principal :
		    "any principal of its keytab");
	else
		snprintf(reason, len, "invalid token (%.150s)", text[0] != '\0' ? text :
		    "GSS-API refused it");
}

/* One token: reply filled; *out the mutual token the caller releases. */
static void
accept_one(struct negotiator *ng, const unsigned char *tok, size_t len,
    struct neg_wire_reply *r, gss_buffer_desc *out)
{
	OM_uint32	 major, minor, min;
	gss_ctx_id_t	 gctx = GSS_C_NO_CONTEXT;
	gss_name_t	 src = GSS_C_NO_NAME;
	gss_OID		 mech = GSS_C_NO_OID;
	gss_buffer_desc	 in = { len, (void *)(uintptr_t)tok }, name = GSS_C_EMPTY_BUFFER;

	r->status = NEG_WIRE_REFUSED;
	if (is_ntlm(tok, len)) {
		snprintf(r->reason, sizeof(r->reason), "NTLM was offered (the client "
		    "got no Kerberos ticket for this broker: the name it used has no "
		    "SPN HTTP/NAME (setspn -S), or it is not the SPN's name, such as "
		    "a CNAME or an address)");
		return;
	}
	major = gss_accept_sec_context(&minor, &gctx, ng->cred, &in,
	    GSS_C_NO_CHANNEL_BINDINGS, &src, &mech, out, NULL, NULL, NULL);
	if (major == GSS_S_CONTINUE_NEEDED) {
		snprintf(r->reason, sizeof(r->reason), "invalid token (more than one "
		    "round trip: only Kerberos, in one, is accepted)");
		(void)gss_release_buffer(&min, out);
	} else if (GSS_ERROR(major)) {
		refusal(ng, major, minor, r->reason, sizeof(r->reason));
		(void)gss_release_buffer(&min, out);
	} else if (mech == GSS_C_NO_OID || mech->length != sizeof(oid_krb5) - 2 ||
	    memcmp(mech->elements, oid_krb5 + 2, mech->length) != 0) {
		snprintf(r->reason, sizeof(r->reason), "invalid token (a mechanism "
		    "other than Kerberos)");
		(void)gss_release_buffer(&min, out);
	} else if (gss_display_name(&min, src, &name, NULL) != GSS_S_COMPLETE ||
	    name.length == 0 || name.length > NEG_PRINCIPAL_MAX) {
		snprintf(r->reason, sizeof(r->reason), "invalid token (no client name)");
		(void)gss_release_buffer(&min, out);
	} else {
		memcpy(r->principal, name.value, name.length);
		r->principal[name.length] = '\0';
		r->status = NEG_WIRE_OK;
	}
	(void)gss_release_buffer(&min, &name);
	(void)gss_release_name(&min, &src);
	if (gctx != GSS_C_NO_CONTEXT)
		(void)gss_delete_sec_context(&min, &gctx, GSS_C_NO_BUFFER);
}

/* Sets up the acceptor from the master's memfd; 0, or -1 with why. */
static int
negotiator_setup(struct negotiator *ng, int fd, char *why, size_t whylen)
{
	struct neg_config	 nc;
	char			*buf = NULL, env[NEG_PATH_MAX + 64], err[256];
	size_t			 len = 0;
	const char		*bad;
	gss_OID_desc		 krb5 = { 9, (void *)(uintptr_t)"\x2a\x86\x48\x86\xf7\x12\x01\x02\x02" };
	gss_OID_desc		 both[2] = { { 9, (void *)(uintptr_t)"\x2a\x86\x48\x86\xf7\x12\x01\x02\x02" },
				    { 6, (void *)(uintptr_t)"\x2b\x06\x01\x05\x05\x02" } };
	gss_OID_set_desc	 mechs = { 1, &krb5 }, acquire = { 2, both };
	gss_name_t		 name = GSS_C_NO_NAME;
	OM_uint32		 major, minor;
	profile_t		 prof = NULL;
	int			 rc = -1;

	if (mw_memfd_read(fd, sizeof(nc) + (4u << 20), &buf, &len, err, sizeof(err)) == -1) {
		snprintf(why, whylen, "%s", err);
		return -1;
	}
	memcpy(&nc, buf, len < sizeof(nc) ? len : sizeof(nc));
	if (len < sizeof(nc) || nc.magic != NEG_CONFIG_MAGIC ||
	    nc.keytab_len != len - sizeof(nc) ||
	    memchr(nc.principal, '\0', sizeof(nc.principal)) == NULL ||
	    memchr(nc.state_directory, '\0', sizeof(nc.state_directory)) == NULL) {
		snprintf(why, whylen, "malformed configuration from the master");
		goto done;
	}
	snprintf(ng->principal, sizeof(ng->principal), "%s", nc.principal);
	/* MIT's file2 replay cache, in the broker's state directory. */
	snprintf(env, sizeof(env), "file2:%s/krb5.rcache2", nc.state_directory);
	if (setenv("KRB5RCACHENAME", env, 1) == -1 ||
	    krb5_init_context(&ng->ctx) != 0) {
		snprintf(why, whylen, "cannot start Kerberos");
		goto done;
	}
	ng->skew = 300;
	if (krb5_get_profile(ng->ctx, &prof) == 0) {
		int v = 300;

		if (profile_get_integer(prof, "libdefaults", "clockskew", NULL, 300,
		    &v) == 0 && v > 0)
			ng->skew = v;
		profile_release(prof);
	}
	if (krb5_kt_resolve(ng->ctx, MEMORY_KEYTAB, &ng->mem) != 0) {
		snprintf(why, whylen, "cannot make a memory keytab");
		goto done;
	}
	if ((bad = keytab_read(ng->ctx, buf + sizeof(nc), nc.keytab_len,
	    nc.principal, ng->mem)) != NULL) {
		snprintf(why, whylen, "krb5_keytab: %s", bad);
		goto done;
	}
	if (krb5_gss_register_acceptor_identity(MEMORY_KEYTAB) != GSS_S_COMPLETE) {
		snprintf(why, whylen, "cannot register the memory keytab");
		goto done;
	}
	if (nc.principal[0] != '\0') {
		gss_buffer_desc b = { strlen(nc.principal), nc.principal };

		if (gss_import_name(&minor, &b, GSS_KRB5_NT_PRINCIPAL_NAME,
		    &name) != GSS_S_COMPLETE) {
			snprintf(why, whylen, "krb5_principal: not a principal name");
			goto done;
		}
	}
	/* Kerberos and SPNEGO only: no IAKERB (which would reach a KDC for
	 * the client), no other mechanism. */
	major = gss_acquire_cred(&minor, name, GSS_C_INDEFINITE, &acquire,
	    GSS_C_ACCEPT, &ng->cred, NULL, NULL);
	if (GSS_ERROR(major)) {
		minor_text(minor, err, sizeof(err));
		snprintf(why, whylen, "cannot acquire the acceptor's credentials: %s", err);
		goto done;
	}
	/* SPNEGO negotiates Kerberos alone. */
	if (GSS_ERROR(gss_set_neg_mechs(&minor, ng->cred, &mechs))) {
		snprintf(why, whylen, "cannot restrict SPNEGO to Kerberos");
		goto done;
	}
	rc = 0;
done:
	if (name != GSS_C_NO_NAME)
		(void)gss_release_name(&minor, &name);
	OPENSSL_cleanse(buf, len);
	free(buf);
	return rc;
}

int
negotiator_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "fd",		required_argument, NULL, 'f' },
		{ "config-fd",	required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 }
	};
	struct negotiator	 ng;
	struct rlimit		 none = { 0, 0 };
	unsigned char		*req;
	char			 why[512];
	int			 ch, sock = NEG_WIRE_FD, cfd = -1;

	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			sock = atoi(optarg);
			break;
		case 'c':
			cfd = atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: samlbroker negotiator --fd N --config-fd N "
			    "(started by serve)\n");
			return 2;
		}
	}
	log_init(LOG_LEVEL_INFO, "samlbroker");
	/* The keytab is never in a core or under ptrace of our uid. */
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	(void)setrlimit(RLIMIT_CORE, &none);
	memset(&ng, 0, sizeof(ng));
	if (cfd < 0 || negotiator_setup(&ng, cfd, why, sizeof(why)) == -1) {
		log_errorx("event=negotiator_failed error=\"%s\"", cfd < 0 ?
		    "no --config-fd" : why);
		return 1;
	}
	close(cfd);
	log_info("event=negotiator_ready pid=%ld principal=%s skew=%d", (long)getpid(),
	    ng.principal[0] != '\0' ? ng.principal : "any", ng.skew);
	req = xmalloc(sizeof(struct neg_wire_request) + NEG_TOKEN_MAX);
	for (;;) {
		struct neg_wire_request	 h;
		struct neg_wire_reply	 r;
		gss_buffer_desc		 out = GSS_C_EMPTY_BUFFER;
		struct iovec		 iov[2];
		struct msghdr		 mh;
		OM_uint32		 min;
		ssize_t			 n;

		n = recv(sock, req, sizeof(h) + NEG_TOKEN_MAX, 0);
		if (n == 0)
			break;		/* the front is gone */
		if (n == -1 && errno == EINTR)
			continue;
		if (n < (ssize_t)sizeof(h))
			fatalx("negotiator: bad request from the front");
		memcpy(&h, req, sizeof(h));
		if (h.magic != NEG_WIRE_MAGIC || h.len != (size_t)n - sizeof(h))
			fatalx("negotiator: malformed request from the front");
		memset(&r, 0, sizeof(r));
		r.magic = NEG_WIRE_MAGIC;
		r.id = h.id;
		accept_one(&ng, req + sizeof(h), h.len, &r, &out);
		r.out_len = r.status == NEG_WIRE_OK ? (uint32_t)out.length : 0;
		if (r.out_len > NEG_TOKEN_MAX) {
			r.status = NEG_WIRE_REFUSED;
			r.out_len = 0;
			r.principal[0] = '\0';
			snprintf(r.reason, sizeof(r.reason), "invalid token (answer too large)");
		}
		iov[0].iov_base = &r;
		iov[0].iov_len = sizeof(r);
		iov[1].iov_base = out.value;
		iov[1].iov_len = r.out_len;
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = iov;
		mh.msg_iovlen = r.out_len > 0 ? 2 : 1;
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
		(void)gss_release_buffer(&min, &out);
		if (n == -1)
			break;
	}
	free(req);
	return 0;
}

#else /* !HAVE_GSSAPI */

void
negotiator_global_init(void)
{
}

int
negotiator_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "samlbroker: built without GSS-API (configure --with-gssapi)\n");
	return 1;
}

#endif
