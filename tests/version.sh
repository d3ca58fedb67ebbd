#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# One version: configure.ac's AC_INIT (config.h's PACKAGE_VERSION) is what
# `samlbroker --version` prints, the newest NEWS entry, the Debian
# changelog's upstream version, the RPM spec's Version and the manual
# pages' header.  scripts/package-deb checks /v1/status of the installed
# package against it too.
set -u
fail=0
version=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"$/\1/p' "$top_builddir/config.h")
[ -n "$version" ] || { echo "FAIL - no PACKAGE_VERSION in config.h"; exit 1; }
same() {	# same WHAT FOUND
	if [ "$2" = "$version" ]; then
		echo "ok   - $1: $2"
	else
		echo "FAIL - $1 is '$2', configure.ac says $version"; fail=1
	fi
}
same "samlbroker --version" "$("$top_builddir/samlbroker" --version | sed -n 's/^samlbroker //p')"
same "NEWS" "$(sed -n 's/^\* samlbroker \([^ ]*\) .*/\1/p' "$top_srcdir/NEWS" | head -1)"
deb=$(sed -n '1s/^samlbroker (\([^)]*\)).*/\1/p' "$top_srcdir/packaging/debian/changelog")
same "packaging/debian/changelog" "${deb%-*}"
same "packaging/rpm/samlbroker.spec" "$(sed -n 's/^Version: *//p' "$top_srcdir/packaging/rpm/samlbroker.spec")"
for m in "$top_srcdir"/man/*.[0-9]; do
	same "man/$(basename "$m")" "$(sed -n '1s/^\.TH .* "samlbroker \([^"]*\)".*/\1/p' "$m")"
done
exit $fail
