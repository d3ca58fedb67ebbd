#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The systemd units are valid, and the service's sandbox scores at most
# 2.0 ("OK") in systemd-analyze security.  Skipped without systemd-analyze.
set -u
command -v systemd-analyze >/dev/null 2>&1 || { echo "SKIP: no systemd-analyze"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
for unit in samlbroker.service samlbroker.socket samlbroker-admin.socket; do
	# verify wants the executables to exist: point them at this build.
	sed "s|/usr/bin/samlbroker|$top_builddir/samlbroker|g" \
	    "$top_srcdir/packaging/systemd/$unit" > "$tmp/$unit"
done
if systemd-analyze verify --man=no "$tmp/samlbroker.service" "$tmp/samlbroker.socket" \
    "$tmp/samlbroker-admin.socket" >"$tmp/verify.out" 2>&1; then
	echo "ok   - systemd-analyze verify passes on the units"
else
	echo "FAIL - systemd-analyze verify"; cat "$tmp/verify.out"; fail=1
fi
if systemd-analyze security --offline=true --threshold=20 "$tmp/samlbroker.service" >"$tmp/security.out" 2>&1; then
	echo "ok   - $(tail -1 "$tmp/security.out" | sed 's/→ //')"
else
	echo "FAIL - systemd-analyze security (threshold 2.0)"; tail -25 "$tmp/security.out"; fail=1
fi
for want in "Type=notify" "ExecReload=/bin/kill -HUP \$MAINPID" "NoNewPrivileges=yes" \
    "ProtectSystem=strict" "PrivateTmp=yes" "CapabilityBoundingSet=" \
    "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6" "SystemCallFilter=@system-service" \
    "SystemCallFilter=seccomp" "LimitMEMLOCK=infinity" \
    "SystemCallFilter=memfd_create landlock_create_ruleset landlock_add_rule landlock_restrict_self" \
    "RuntimeDirectory=samlbroker" "StateDirectory=samlbroker" "StateDirectoryMode=0700" \
    "User=samlbroker"; do
	if grep -qxF "$want" "$top_srcdir/packaging/systemd/samlbroker.service"; then
		echo "ok   - service has $want"
	else
		echo "FAIL - service lacks $want"; fail=1
	fi
done
# The broker knows the admin socket by its name.
if grep -qxF "FileDescriptorName=admin" "$top_srcdir/packaging/systemd/samlbroker-admin.socket"; then
	echo "ok   - the admin socket is named admin"
else
	echo "FAIL - samlbroker-admin.socket lacks FileDescriptorName=admin"; fail=1
fi
exit $fail
