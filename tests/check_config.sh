#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# check_config.sh - `samlbroker check` on the configuration fixtures.
#
#   tests/data/config/valid/        loads: exit 0, stdout equals expected-stdout
#                                   (one line per tenant, "configuration OK")
#   tests/data/config/ok/<case>/    loads with warnings: exit 0, stderr equals
#                                   `expected`, last stdout line "configuration OK"
#   tests/data/config/invalid/<case>/  exit 1, stderr equals `expected`
# In `expected`, @DIR@ stands for the case directory.  No output may hold a
# secret of the fixtures: every client secret there contains "SECRET-", every
# key password "fixture-password-" or "not-the-password".
# A certificate that expires in 10 days is made here with the openssl CLI,
# since a committed one would not stay 10 days from expiry.
# Set CHECK_CONFIG_ONLY=<case> to run a single case.
set -u
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
bin="$top_builddir/samlbroker"
data="$top_srcdir/tests/data/config"
keys="$top_srcdir/tests/data/keys"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
fail=0

# Secrets the fixtures take from the environment.
SAMLBROKER_TEST_GLOBEX_EWT=SECRET-globex-ewt-from-env
SAMLBROKER_TEST_INITECH_KEY_PASSWORD=$(cat "$keys/vendor-pkcs8/password")
export SAMLBROKER_TEST_GLOBEX_EWT SAMLBROKER_TEST_INITECH_KEY_PASSWORD
unset SAMLBROKER_TEST_UNSET_SECRET

# expand DIR FILE: FILE with @DIR@ replaced by DIR.
expand() {
	esc=$(printf '%s' "$1" | sed 's/[\\&|]/\\&/g')
	sed "s|@DIR@|$esc|g" "$2"
}

# run DIR: samlbroker check on DIR/samlbroker.conf into $tmp/out, $tmp/err, $rc.
# A wrapper's own lines ("==PID==", "--PID--": valgrind's notes on syscalls it
# does not know) are dropped from stderr; its errors still show in $rc.
# The case runs from a copy whose tenant files are mode 0600, as the broker
# demands (git keeps no modes); $rundir is that copy, for expand.
# The copy keeps the case's place under tests/ so that relative file:
# secrets still reach tests/data/keys.
run() {
	rundir="$tmp/mirror/${1#"$top_srcdir"/}"
	mkdir -p "$tmp/mirror/tests/data" "$(dirname "$rundir")"
	if [ ! -e "$tmp/mirror/tests/data/keys" ]; then
		cp -R "$keys" "$tmp/mirror/tests/data/keys" || exit 1
		find "$tmp/mirror/tests/data/keys" -type f -exec chmod 600 {} +
	fi
	rm -rf "$rundir" && cp -R "$1" "$rundir" || exit 1
	# Files of secrets must be the owner's only (the main file, tenant
	# files, file: targets); a case lists the exceptions in world-readable.
	find "$rundir" -type f -exec chmod 600 {} +
	# A case that needs an absolute path of its own (state_directory)
	# writes @DIR@ in its main file.
	[ -d "$rundir/state" ] && chmod 700 "$rundir/state"
	if grep -q '@DIR@' "$rundir/samlbroker.conf"; then
		expand "$rundir" "$1/samlbroker.conf" >"$rundir/samlbroker.conf" || exit 1
	fi
	if [ -f "$rundir/world-readable" ]; then
		while read -r f; do chmod 644 "$rundir/$f"; done <"$rundir/world-readable"
	fi
	${SAMLBROKER_WRAPPER:-} "$bin" check -c "$rundir/samlbroker.conf" \
	    >"$tmp/out" 2>"$tmp/err.raw"
	rc=$?
	sed -E '/^(==|--)[0-9]+(==|--) /d' "$tmp/err.raw" >"$tmp/err"
}

no_secrets() {	# no_secrets NAME
	if grep -aE 'SECRET-|fixture-password-|not-the-password' "$tmp/out" "$tmp/err" \
	    >/dev/null; then
		echo "FAIL $1: a secret reached the output"
		fail=1
	fi
}

same() {	# same NAME WHAT EXPECTED ACTUAL
	if ! cmp -s "$3" "$4"; then
		echo "FAIL $1: $2 differs (expected, then actual):"
		diff -u "$3" "$4" | sed 's/^/    /'
		fail=1
	fi
}

selected() {
	[ -z "${CHECK_CONFIG_ONLY:-}" ] || [ "$CHECK_CONFIG_ONLY" = "$1" ]
}

if selected valid; then
	dir="$data/valid"
	run "$dir"
	[ "$rc" -eq 0 ] || { echo "FAIL valid: exit status $rc, not 0"; cat "$tmp/err"; fail=1; }
	: >"$tmp/none"
	same valid stderr "$tmp/none" "$tmp/err"
	expand "$rundir" "$dir/expected-stdout" >"$tmp/exp"
	same valid stdout "$tmp/exp" "$tmp/out"
	no_secrets valid
fi

# check --options: every [broker] option from the table, with its value.
if selected options; then
	run "$data/valid"
	"$bin" check --options -c "$rundir/samlbroker.conf" >"$tmp/out" 2>"$tmp/err" ||
	    { echo "FAIL options: exit status $?"; fail=1; }
	for want in "option max_exchanges_per_tenant = 8 (default 32; a reload changes it)" \
	    "option listen = unix:/run/samlbroker-test/samlbroker.sock tcp:127.0.0.1:18089 tcp:[::1]:18089 (default unix:/run/samlbroker/samlbroker.sock; takes effect on restart)" \
	    "option proxy = (none) (default none; takes effect on restart)" \
	    "option tls_client_identity = (none) (default none; a reload changes it)" \
	    "option signer_priority = batch (default batch; a reload changes it)"; do
		grep -qxF "$want" "$tmp/out" || { echo "FAIL options: no line '$want'"; fail=1; }
	done
	grep -qxF "option user = (none) (default none; takes effect on restart)" "$tmp/out" ||
	    { echo "FAIL options: no line for user"; fail=1; }
	grep -qxF "option persistent_cache = yes (default yes; a reload changes it)" "$tmp/out" ||
	    { echo "FAIL options: no line for persistent_cache"; fail=1; }
	grep -qxF "option state_directory = (none) (default none; a reload changes it)" "$tmp/out" ||
	    { echo "FAIL options: no line for state_directory"; fail=1; }
	[ "$(grep -c '^option ' "$tmp/out")" -eq 38 ] || { echo "FAIL options: not 38 options"; fail=1; }
fi

for dir in "$data"/ok/*/; do
	dir=${dir%/}; name=ok/${dir##*/}
	selected "$name" || continue
	run "$dir"
	[ "$rc" -eq 0 ] || { echo "FAIL $name: exit status $rc, not 0"; fail=1; }
	expand "$rundir" "$dir/expected" >"$tmp/exp"
	same "$name" stderr "$tmp/exp" "$tmp/err"
	[ "$(tail -n 1 "$tmp/out")" = "configuration OK" ] ||
	    { echo "FAIL $name: no 'configuration OK'"; fail=1; }
	no_secrets "$name"
done

# A build without GSS-API refuses negotiate, whatever else is wrong.
gssapi=yes
grep -q '^#define HAVE_GSSAPI 1' "$top_builddir/config.h" 2>/dev/null || gssapi=no
for dir in "$data"/invalid/*/; do
	dir=${dir%/}; name=invalid/${dir##*/}
	selected "$name" || continue
	run "$dir"
	[ "$rc" -eq 1 ] || { echo "FAIL $name: exit status $rc, not 1"; fail=1; }
	case "$gssapi:${dir##*/}" in
	no:negotiate-*)
		printf '%s\n' "$rundir/samlbroker.conf: [broker] https_auth: negotiate: this samlbroker was built without GSS-API (configure --with-gssapi; Debian: libkrb5-dev)" >"$tmp/exp"
		same "$name" stderr "$tmp/exp" "$tmp/err"
		continue ;;
	esac
	expand "$rundir" "$dir/expected" >"$tmp/exp"
	# A build without libhiredis refuses redis itself, whatever else.
	case "$name" in invalid/redis-*)
		if ! grep -q '^#define HAVE_REDIS 1' "$top_builddir/config.h"; then
			grep -v ' \[broker\] redis\(_password\)\{0,1\}: ' "$tmp/exp" >"$tmp/exp.nr"
			printf '%s\n' "$rundir/samlbroker.conf: [broker] redis: this samlbroker was built without Redis support (libhiredis; configure --with-redis)" >>"$tmp/exp.nr"
			mv "$tmp/exp.nr" "$tmp/exp"
		fi
	esac
	same "$name" stderr "$tmp/exp" "$tmp/err"
	[ -s "$tmp/out" ] && { echo "FAIL $name: unexpected stdout"; fail=1; }
	no_secrets "$name"
done

# A certificate that expires in 10 days: a warning, still OK.
if selected ok/expiring-soon && command -v openssl >/dev/null; then
	dir="$tmp/expiring-soon"
	mkdir -p "$dir/tenants"
	printf 'fixture-password-expiring-soon' >"$dir/password"
	if openssl req -new -x509 -days 10 -nodes -newkey rsa:2048 \
	    -subj "/CN=samlbroker test expiring soon" \
	    -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null &&
	    openssl rsa -in "$dir/key.pem" -out "$dir/key.pem.enc" -aes256 \
	    -passout "file:$dir/password" 2>/dev/null; then
		cert=$(openssl base64 -in "$dir/cert.pem" | tr -d '\n')
		pkey=$(openssl base64 -in "$dir/key.pem.enc" | tr -d '\n')
		end=$(openssl x509 -in "$dir/cert.pem" -noout -enddate | sed 's/^notAfter=//')
		end=$(date -u -d "$end" +%Y-%m-%dT%H:%M:%SZ)
		cp "$data/ok/service-unknown-option/samlbroker.conf" "$dir/"
		sed -e "s|^certificate = .*|certificate = $cert|" \
		    -e "s|^pkey = .*|pkey = $pkey|" \
		    -e "s|^password = fixture-password.*|password = file:../password|" \
		    -e '/^expire_hours = /d' \
		    "$data/ok/service-unknown-option/tenants/acme.cfg" >"$dir/tenants/acme.cfg"
		run "$dir"
		printf '%s\n' "$rundir/tenants/acme.cfg: warning: [saml] certificate: expires on $end (in 10 days)" \
		    "$rundir/tenants/acme.cfg: warning: [ewt] url: unknown option, ignored" \
		    "$rundir/samlbroker.conf: warning: tenant acme is open: no [access:acme] section, so any caller that can connect may obtain any of its tokens and assertions" >"$tmp/exp"
		[ "$rc" -eq 0 ] || { echo "FAIL ok/expiring-soon: exit status $rc, not 0"; fail=1; }
		same ok/expiring-soon stderr "$tmp/exp" "$tmp/err"
		no_secrets ok/expiring-soon
	else
		echo "FAIL ok/expiring-soon: openssl could not make the certificate"
		fail=1
	fi
fi

# Tenant files readable by others are refused unless the config allows it.
if selected permissions; then
	run "$data/valid"
	chmod 644 "$rundir/tenants/acme.cfg"
	${SAMLBROKER_WRAPPER:-} "$bin" check -c "$rundir/samlbroker.conf" >"$tmp/out" 2>"$tmp/err.raw"
	rc=$?
	sed -E '/^(==|--)[0-9]+(==|--) /d' "$tmp/err.raw" >"$tmp/err"
	printf '%s\n' "$rundir/tenants/acme.cfg: mode 0644 lets other users read the secrets in it; chmod 600 it (or set allow_insecure_permissions = yes in [broker], e.g. for read-only container mounts)" >"$tmp/exp"
	[ "$rc" -eq 1 ] || { echo "FAIL permissions: exit status $rc, not 1"; fail=1; }
	same permissions stderr "$tmp/exp" "$tmp/err"
	no_secrets permissions
	sed -i 's/^\[broker\]$/[broker]\nallow_insecure_permissions = yes/' "$rundir/samlbroker.conf"
	${SAMLBROKER_WRAPPER:-} "$bin" check -c "$rundir/samlbroker.conf" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ "$rc" -eq 0 ] || { echo "FAIL permissions: allow_insecure_permissions = yes did not help"; cat "$tmp/err"; fail=1; }
fi

# [broker] user: as root, files are judged for the named user (here the
# system user daemon, as a package's samlbroker would be), not for root:
# tenant files and file: secrets owned by it and the main file 0640
# root:<its group> pass; without user = the same files fail as before;
# a file the named user cannot read fails.  Needs root (chown).
if selected user; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "SKIP user: not root (the case chowns files to the user daemon)"
	elif ! daemon_gid=$(id -g daemon 2>/dev/null); then
		echo "SKIP user: no system user daemon"
	else
		run "$data/valid"
		keysdir="$tmp/mirror/tests/data/keys"
		chown -R daemon:daemon "$rundir" "$keysdir"
		chown "root:$daemon_gid" "$rundir/samlbroker.conf"
		chmod 640 "$rundir/samlbroker.conf"
		ucheck() {
			${SAMLBROKER_WRAPPER:-} "$bin" check -c "$rundir/samlbroker.conf" \
			    >"$tmp/out" 2>"$tmp/err.raw"
			rc=$?
			sed -E '/^(==|--)[0-9]+(==|--) /d' "$tmp/err.raw" >"$tmp/err"
		}
		ucheck
		[ "$rc" -eq 1 ] && grep -qF "acme.cfg: it belongs to uid $(id -u daemon), neither root nor the broker's user (uid 0); chown it" "$tmp/err" ||
		    { echo "FAIL user: without user =, root did not refuse daemon's files (exit $rc)"; cat "$tmp/err"; fail=1; }
		sed -i 's/^\[broker\]$/[broker]\nuser = daemon/' "$rundir/samlbroker.conf"
		ucheck
		[ "$rc" -eq 0 ] && [ "$(tail -n 1 "$tmp/out")" = "configuration OK" ] ||
		    { echo "FAIL user: user = daemon, as root: exit $rc"; cat "$tmp/err"; fail=1; }
		chown root:root "$rundir/tenants/acme.cfg"
		ucheck
		printf '%s\n' "$rundir/tenants/acme.cfg: the broker's user daemon (uid $(id -u daemon), [broker] user) cannot read it (owner uid 0, group gid 0, mode 0600); chown daemon it, or chgrp daemon and chmod g+r it (or set allow_insecure_permissions = yes in [broker], e.g. for read-only container mounts)" >"$tmp/exp"
		[ "$rc" -eq 1 ] || { echo "FAIL user: a file daemon cannot read passed (exit $rc)"; fail=1; }
		same user stderr "$tmp/exp" "$tmp/err"
		no_secrets user
		chown -R root:root "$keysdir"
	fi
fi

# A fresh copy of the shipped example: every problem in one run, the
# placeholder certificate's too, not only the missing secrets.
if selected example-copy; then
	mkdir -p "$tmp/example/tenants"
	cp "$top_srcdir/conf/tenants/example.cfg.example" "$tmp/example/tenants/acme.cfg"
	printf '[broker]\nlisten = unix:%s/s.sock\ntenants_dir = tenants\n' "$tmp/example" \
	    >"$tmp/example/samlbroker.conf"
	chmod 600 "$tmp/example/samlbroker.conf" "$tmp/example/tenants/acme.cfg"
	${SAMLBROKER_WRAPPER:-} "$bin" check -c "$tmp/example/samlbroker.conf" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ "$rc" -eq 1 ] || { echo "FAIL example-copy: exit status $rc, not 1"; fail=1; }
	for want in "[saml] password:" "[saml] certificate:" "[saml_auth] password:"; do
		grep -qF "$want" "$tmp/err" ||
		    { echo "FAIL example-copy: no '$want' line"; cat "$tmp/err"; fail=1; }
	done
fi

# Safe reading: every file is opened once, without blocking and (but the
# main file) without following a symbolic link, and judged by fstat on
# that descriptor.  A FIFO must fail at once: each run gets a time limit of
# 10 times a normal run (measured here, so a wrapper or a slow machine
# scales it) plus 5 s, and a run that reaches it fails the case.
if selected safe-reading; then
	start=$(date +%s%N)
	run "$data/valid"
	[ "$rc" -eq 0 ] || { echo "FAIL safe-reading: the valid case fails"; cat "$tmp/err"; fail=1; }
	limit=$(( ($(date +%s%N) - start) * 10 / 1000000000 + 5 ))
	base="$rundir"
	# safe NAME EXPECTED-RC EXPECTED-STDERR-LINE...: check on $case.
	safe() {
		name=$1 want=$2
		shift 2
		timeout "$limit" ${SAMLBROKER_WRAPPER:-} "$bin" check -c "$case/samlbroker.conf" \
		    >"$tmp/out" 2>"$tmp/err.raw"
		rc=$?
		sed -E '/^(==|--)[0-9]+(==|--) /d' "$tmp/err.raw" >"$tmp/err"
		if [ "$rc" -eq 124 ]; then
			echo "FAIL safe-reading $name: check hung (no answer in ${limit}s)"
			fail=1
			return
		fi
		[ "$rc" -eq "$want" ] || { echo "FAIL safe-reading $name: exit status $rc, not $want"; cat "$tmp/err"; fail=1; }
		if [ $# -gt 0 ]; then
			printf '%s\n' "$@" >"$tmp/exp"
			same "safe-reading $name" stderr "$tmp/exp" "$tmp/err"
		fi
		no_secrets "safe-reading $name"
	}
	fresh() {	# a copy of the valid case in $case
		case="${base%/*}/safe-$1"	# beside valid: its relative paths hold
		rm -rf "$case" && cp -Rp "$base" "$case"
	}
	insecure() {
		sed -i 's/^\[broker\]$/[broker]\nallow_insecure_permissions = yes/' "$case/samlbroker.conf"
	}

	fresh main-0622; chmod 622 "$case/samlbroker.conf"
	safe main-0622 1 "$case/samlbroker.conf: is writable by group or others (mode 0622): chmod go-w it"
	insecure; chmod 622 "$case/samlbroker.conf"
	safe main-0622-insecure 1 "$case/samlbroker.conf: is writable by group or others (mode 0622): chmod go-w it"
	# The package's mode: group-readable, not group-writable.
	fresh main-0640; chmod 640 "$case/samlbroker.conf"
	safe main-0640 0

	fresh tenant-0622; chmod 622 "$case/tenants/acme.cfg"
	safe tenant-0622 1 "$case/tenants/acme.cfg: is writable by group or others (mode 0622): chmod go-w it"
	fresh tenant-0620; chmod 620 "$case/tenants/acme.cfg"
	safe tenant-0620 1 "$case/tenants/acme.cfg: is writable by group or others (mode 0620): chmod go-w it"

	fresh tenant-fifo; mkfifo "$case/tenants/zeta.cfg"
	safe tenant-fifo 1 "$case/tenants/zeta.cfg: not a regular file"
	fresh map-fifo; rm "$case/globex.map"; mkfifo "$case/globex.map"
	safe map-fifo 1 "$case/samlbroker.conf: [access:globex] agent_map: cannot read $case/globex.map: not a regular file"
	fresh map-0666; chmod 666 "$case/globex.map"
	safe map-0666 1 "$case/samlbroker.conf: [access:globex] agent_map: $case/globex.map: is writable by group or others (mode 0666): chmod go-w it"
	# A map holds no secret: others may read it.
	fresh map-0644; chmod 644 "$case/globex.map"
	safe map-0644 0

	# Symbolic links: the main file's path is the administrator's own
	# (followed: /etc alternatives); files the configuration names are
	# not, unless allow_insecure_permissions = yes (container mounts).
	fresh main-link; mv "$case/samlbroker.conf" "$case/real.conf"
	ln -s real.conf "$case/samlbroker.conf"
	safe main-link 0
	fresh tenant-link; mv "$case/tenants/acme.cfg" "$case/acme.cfg.real"
	ln -s ../acme.cfg.real "$case/tenants/acme.cfg"
	safe tenant-link 1 "$case/tenants/acme.cfg: a symbolic link, not followed (name the file itself)"
	insecure
	safe tenant-link-insecure 0
	fresh secret-link; mv "$case/tenants/secrets/globex-saml-auth" "$case/globex-saml-auth"
	ln -s ../../globex-saml-auth "$case/tenants/secrets/globex-saml-auth"
	safe secret-link 1 "$case/tenants/globex.cfg: [saml_auth] client_secret: file:$case/tenants/secrets/globex-saml-auth: a symbolic link, not followed (name the file itself)"
	fresh map-link; mv "$case/globex.map" "$case/globex.map.real"
	ln -s globex.map.real "$case/globex.map"
	safe map-link 1 "$case/samlbroker.conf: [access:globex] agent_map: cannot read $case/globex.map: a symbolic link, not followed (name the file itself)"
fi

exit $fail
