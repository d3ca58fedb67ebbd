/* SPDX-License-Identifier: Apache-2.0 */
/*
 * client.c - `samlbroker token` and `samlbroker status`: small clients of
 * a running broker, over its Unix socket or loopback TCP, for scripts and
 * admins.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <math.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>

#include "commands.h"
#include "samlbroker.h"

#define CLIENT_MAX_BODY	(1024 * 1024)

/* The answer may hold a token: kept in a buffer that cleanses itself. */
static size_t
body_write(char *p, size_t size, size_t n, void *arg)
{
	return secret_buf_add(arg, p, size * n, CLIENT_MAX_BODY) == -1 ? 0 : size * n;
}

/* What an answer said beyond its body. */
struct answer_meta {
	long	 retry_after;	/* seconds; -1 when absent */
};

/* Keeps Retry-After (the only header a caller needs to see). */
static size_t
header_read(char *p, size_t size, size_t n, void *arg)
{
	struct answer_meta	*m = arg;
	size_t			 len = size * n;
	char			 line[64], *end;
	long			 v;

	if (len > 12 && len < sizeof(line) && strncasecmp(p, "Retry-After:", 12) == 0) {
		memcpy(line, p + 12, len - 12);
		line[len - 12] = '\0';
		errno = 0;
		v = strtol(line, &end, 10);
		if (errno == 0 && end != line && v >= 0 && v <= 86400)
			m->retry_after = v;
	}
	return len;
}

/* The group that may pass a file (directory or socket), for a hint. */
static void
group_hint(const struct stat *st, char *buf, size_t len)
{
	struct group	*gr = getgrgid(st->st_gid);

	if (gr != NULL && st->st_gid != 0)
		snprintf(buf, len, "; join group %s (usermod -aG %s USER, then log in "
		    "again) or run as the broker's user", gr->gr_name, gr->gr_name);
	else
		snprintf(buf, len, "; run as root or the broker's user");
}

/*
 * Why connect() to a Unix socket failed, in the admin's words: which path
 * refused this user, or that no broker is there at all.
 */
static void
unix_explain(const char *prog, const char *address, const char *path, int err)
{
	char		 part[1024], hint[256] = "";
	struct stat	 st;
	size_t		 len = strlen(path);

	if (err == EACCES || err == EPERM) {
		/* The first directory this user may not pass, else the socket. */
		for (size_t i = 1; i <= len && i < sizeof(part); i++) {
			if (path[i] != '/' && path[i] != '\0')
				continue;
			memcpy(part, path, i);
			part[i] = '\0';
			if (path[i] == '/' && access(part, X_OK) == -1)
				break;
			if (path[i] == '\0' && access(part, W_OK) == 0)
				break;
		}
		if (stat(part, &st) == 0) {
			group_hint(&st, hint, sizeof(hint));
			fprintf(stderr, "%s: permission denied on %s (mode %04o, uid %u, gid %u)"
			    "%s\n", prog, part, (unsigned)(st.st_mode & 07777),
			    (unsigned)st.st_uid, (unsigned)st.st_gid, hint);
		} else {
			fprintf(stderr, "%s: permission denied on %s\n", prog, path);
		}
	} else if (err == ENOENT || err == ENOTDIR) {
		fprintf(stderr, "%s: no broker listening at %s: %s does not exist "
		    "(is samlbroker.service running? systemctl status samlbroker)\n",
		    prog, address, path);
	} else if (err == ECONNREFUSED) {
		fprintf(stderr, "%s: no broker listening at %s: the socket file is there "
		    "but nothing accepts on it (a stopped broker's leftover? is "
		    "samlbroker.service running?)\n", prog, address);
	} else {
		fprintf(stderr, "%s: cannot connect to %s: %s\n", prog, address,
		    strerror(err));
	}
}

/*
 * Normalises ADDRESS: unix:PATH, tcp:HOST:PORT, or a bare absolute socket
 * path (taken as unix:PATH).  NULL, after saying why, for anything else.
 */
static const char *
address_socket_path(const char *address)
{
	if (strncmp(address, "unix:", 5) == 0)
		return address + 5;
	if (address[0] == '/')
		return address;
	return NULL;
}

/* GETs PATH from the broker at ADDRESS (unix:PATH, /PATH or tcp:HOST:PORT). */
static int
client_get(const char *address, const char *path, long *ret_status,
    struct secret_buf *ret_body, struct answer_meta *meta, const char *prog)
{
	CURL			*c;
	struct curl_slist	*hdrs = NULL;
	const char		*sock;
	char			 url[2048], errbuf[CURL_ERROR_SIZE] = "";
	CURLcode		 cc;
	long			 oserr = 0;
	int			 rc = -1;

	if ((c = curl_easy_init()) == NULL)
		return -1;
	if ((sock = address_socket_path(address)) != NULL) {
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sock);
		snprintf(url, sizeof(url), "http://localhost%s", path);
	} else if (strncmp(address, "tcp:", 4) == 0) {
		snprintf(url, sizeof(url), "http://%s%s", address + 4, path);
		hdrs = curl_slist_append(hdrs, "X-Samlbroker-Request: true");
	} else {
		fprintf(stderr, "%s: address must be unix:PATH, an absolute socket path "
		    "or tcp:HOST:PORT\n", prog);
		curl_easy_cleanup(c);
		return -1;
	}
	meta->retry_after = -1;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, ret_body);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_read);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, meta);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if ((cc = curl_easy_perform(c)) != CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &oserr);
		if (cc == CURLE_COULDNT_CONNECT && sock != NULL && oserr != 0)
			unix_explain(prog, address, sock, (int)oserr);
		else if (cc == CURLE_COULDNT_CONNECT && oserr == ECONNREFUSED)
			fprintf(stderr, "%s: no broker listening at %s (is samlbroker "
			    "running, and is this one of its listen addresses?)\n",
			    prog, address);
		else if (cc == CURLE_OPERATION_TIMEDOUT)
			fprintf(stderr, "%s: the broker at %s did not answer within 60 s\n",
			    prog, address);
		else
			fprintf(stderr, "%s: cannot reach the broker at %s: %s\n", prog,
			    address, errbuf[0] ? errbuf : curl_easy_strerror(cc));
		goto done;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, ret_status);
	rc = 0;
done:
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	return rc;
}

/* Who this caller is, as the broker sees it on a Unix socket. */
static void
caller_describe(char *buf, size_t len)
{
	struct passwd	*pw = getpwuid(getuid());

	snprintf(buf, len, "uid %u%s%s%s", (unsigned)getuid(), pw ? " (" : "",
	    pw ? pw->pw_name : "", pw ? ")" : "");
}

/* Prints the broker's {"error","message"} answer, and what to do next. */
static void
print_error(const char *prog, long status, const struct secret_buf *b,
    const struct answer_meta *meta)
{
	json_t		*j = b->data ? json_loads(b->data, 0, NULL) : NULL;
	const char	*code = NULL, *msg = NULL, *up = NULL;
	char		 who[128];

	if (j != NULL && json_unpack(j, "{s?s, s?s, s?s}", "error", &code,
	    "message", &msg, "upstream_error", &up) == 0 && code != NULL)
		fprintf(stderr, "%s: %s (HTTP %ld): %s%s%s%s\n", prog, code, status,
		    msg ? msg : "", up ? " [upstream: " : "", up ? up : "", up ? "]" : "");
	else
		fprintf(stderr, "%s: the broker answered HTTP %ld\n", prog, status);
	if (meta->retry_after >= 0)
		fprintf(stderr, "%s: retry after %ld s (the broker's Retry-After)\n",
		    prog, meta->retry_after);
	if (code != NULL && strcmp(code, "unknown_tenant") == 0) {
		caller_describe(who, sizeof(who));
		fprintf(stderr, "%s: hint: either no such tenant, or its [access:TENANT] "
		    "section names no principal of this caller (%s): such a tenant is "
		    "hidden from it\n", prog, who);
	}
	json_decref(j);
}

/*
 * GETs PATH and checks the answer: 0 with a 200 answer's body in *b to
 * read, 1 when --json printed it whole, -1 after saying what went wrong.
 */
static int
client_fetch(const char *address, const char *path, const char *prog,
    int json, struct secret_buf *b)
{
	struct answer_meta	 meta;
	long			 status = 0;

	if (client_get(address, path, &status, b, &meta, prog) == -1)
		return -1;
	if (status != 200) {
		print_error(prog, status, b, &meta);
		return -1;
	}
	if (json) {
		fputs(b->data ? b->data : "", stdout);
		return 1;
	}
	return 0;
}

int
cmd_token(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket",	required_argument,	NULL, 's' },
		{ "tenant",	required_argument,	NULL, 't' },
		{ "user",	required_argument,	NULL, 'u' },
		{ "service",	required_argument,	NULL, 'S' },
		{ "json",	no_argument,		NULL, 'j' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*address = SAMLBROKER_DEFAULT_SOCKET, *tenant = NULL;
	const char	*user = NULL, *service = NULL, *token;
	const char	*prog = "samlbroker token";
	struct secret_buf b = { NULL, 0, 0 };
	char		 path[1024], *et = NULL, *es = NULL;
	json_t		*j = NULL;
	int		 ch, json = 0, got, rc = 1;

	while ((ch = getopt_long(argc, argv, "s:t:u:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 's': address = optarg; break;
		case 't': tenant = optarg; break;
		case 'u': user = optarg; break;
		case 'S': service = optarg; break;
		case 'j': json = 1; break;
		case 'h':
			printf("usage: samlbroker token [-s ADDRESS] -t TENANT (-u EMAIL | --service NAME) [--json]\n"
			    "Prints the access token from a running broker (ADDRESS is\n"
			    "unix:PATH, a socket's absolute path or tcp:HOST:PORT; default %s).\n"
			    "--json prints the broker's whole answer instead.\n",
			    SAMLBROKER_DEFAULT_SOCKET);
			return 0;
		default:
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", prog, argv[optind]);
		return 2;
	}
	if (tenant == NULL) {
		fprintf(stderr, "%s: give the tenant: -t TENANT\n"
		    "usage: samlbroker token [-s ADDRESS] -t TENANT (-u EMAIL | --service NAME)\n",
		    prog);
		return 2;
	}
	if ((user == NULL) == (service == NULL)) {
		fprintf(stderr, "%s: give %s: -u EMAIL for an agent's token or "
		    "--service NAME for a service's\n"
		    "usage: samlbroker token [-s ADDRESS] -t TENANT (-u EMAIL | --service NAME)\n",
		    prog, user == NULL ? "one of" : "only one of");
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	et = curl_easy_escape(NULL, tenant, 0);
	es = curl_easy_escape(NULL, user ? user : service, 0);
	if (et == NULL || es == NULL)
		goto done;
	snprintf(path, sizeof(path), "/v1/tenants/%s/%s/%s/token", et,
	    user ? "users" : "services", es);
	if ((got = client_fetch(address, path, prog, json, &b)) != 0) {
		rc = got == 1 ? 0 : 1;
		goto done;
	}
	if (b.data == NULL || (j = json_loads(b.data, 0, NULL)) == NULL ||
	    json_unpack(j, "{s:s}", "access_token", &token) == -1) {
		fprintf(stderr, "%s: malformed answer from the broker\n", prog);
		goto done;
	}
	printf("%s\n", token);
	rc = 0;
done:
	json_decref(j);
	secret_buf_clear(&b);
	curl_free(et);
	curl_free(es);
	curl_global_cleanup();
	return rc;
}

static const char *
str_or(json_t *o, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : dflt;
}

/* The last reload's line, when the broker has reloaded at all. */
static void
reload_print(json_t *reload)
{
	json_t	*time = json_object_get(reload, "time");
	int	 ok = json_is_true(json_object_get(reload, "ok"));

	if (time == NULL || json_is_null(time))
		return;
	printf("last reload %s: %s%s%s\n", str_or(reload, "time", "?"),
	    ok ? "ok" : "FAILED", ok ? "" : ": ",
	    ok ? "" : str_or(reload, "error", ""));
}

/* One tenant's two lines: health, cache and certificate, then upstream. */
static void
tenant_print(json_t *t)
{
	json_t		*cert = json_object_get(t, "certificate");
	json_t		*cache = json_object_get(t, "cache");
	json_t		*up = json_object_get(t, "upstream");
	json_int_t	 fails = json_integer_value(json_object_get(up,
			    "consecutive_failures"));

	json_t		*roll = json_object_get(t, "rollover");
	bool		 expired = json_is_true(json_object_get(cert, "expired"));

	printf("tenant %s (%s): %s; cache %lld entries, %lld hits, %lld misses; "
	    "certificate %s %s\n", str_or(t, "name", "?"),
	    str_or(t, "organization_sname", "?"),
	    expired ? "CERTIFICATE EXPIRED" : fails > 0 ? "FAILING" : "ok",
	    (long long)json_integer_value(json_object_get(cache, "entries")),
	    (long long)json_integer_value(json_object_get(cache, "hits")),
	    (long long)json_integer_value(json_object_get(cache, "misses")),
	    expired ? "expired" : "expires", str_or(cert, "not_after", "?"));
	if (roll != NULL && strcmp(str_or(roll, "state", "none"), "none") != 0)
		printf("  rollover %s%s%s\n", str_or(roll, "state", "?"),
		    json_object_get(roll, "next") != NULL ? "; next certificate expires " : "",
		    json_object_get(roll, "next") != NULL ?
		    str_or(json_object_get(roll, "next"), "not_after", "?") : "");
	if (fails > 0)
		printf("  last error %s at %s, %lld consecutive failures, backoff %.0fs\n",
		    str_or(up, "last_error", "?"), str_or(up, "last_failure", "?"),
		    (long long)fails,
		    json_real_value(json_object_get(up, "current_backoff")));
	else
		printf("  last success %s\n", str_or(up, "last_success", "never"));
}

int
cmd_status(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket",	required_argument,	NULL, 's' },
		{ "json",	no_argument,		NULL, 'j' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*address = SAMLBROKER_DEFAULT_SOCKET, *prog = "samlbroker status";
	struct secret_buf b = { NULL, 0, 0 };
	json_t		*j = NULL, *t;
	size_t		 i;
	int		 ch, json = 0, got, rc = 1;

	while ((ch = getopt_long(argc, argv, "s:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 's': address = optarg; break;
		case 'j': json = 1; break;
		case 'h':
			printf("usage: samlbroker status [-s ADDRESS] [--json]\n"
			    "Summarises a running broker's status (GET /v1/status; ADDRESS\n"
			    "is unix:PATH, a socket's absolute path or tcp:HOST:PORT).\n");
			return 0;
		default:
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "usage: samlbroker status [-s ADDRESS] [--json]\n");
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if ((got = client_fetch(address, "/v1/status", prog, json, &b)) != 0) {
		rc = got == 1 ? 0 : 1;
		goto done;
	}
	if (b.data == NULL || (j = json_loads(b.data, 0, NULL)) == NULL) {
		fprintf(stderr, "%s: malformed answer from the broker\n", prog);
		goto done;
	}
	printf("samlbroker %s, up %llds since %s, config %s\n",
	    str_or(j, "version", "?"),
	    (long long)json_integer_value(json_object_get(j, "uptime")),
	    str_or(j, "started", "?"), str_or(j, "config_file", "?"));
	reload_print(json_object_get(j, "last_reload"));
	json_array_foreach(json_object_get(j, "tenants"), i, t)
		tenant_print(t);
	if (json_array_size(json_object_get(j, "tenants")) == 0) {
		char who[128];

		caller_describe(who, sizeof(who));
		printf("no tenant visible to this caller (%s): a tenant with an "
		    "[access:TENANT] section is shown only to the principals it names; "
		    "the admin address (admin_listen) shows every tenant\n", who);
	}
	rc = 0;
done:
	json_decref(j);
	secret_buf_clear(&b);
	curl_global_cleanup();
	return rc;
}
