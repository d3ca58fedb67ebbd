#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# modules.sh - every source file below src/*/ and emulator/ has a row in
# tests/README's table "Module -> its tests", and every test a row names
# exists, so that a new module cannot come without its tests.
set -u

: "${top_srcdir:=.}"
cd "$top_srcdir" || exit 1
readme=tests/README
rc=0

rows=$(sed -n 's/^| \(src\/[^ ]*\.c\|emulator\/[^ ]*\.c\) *|\(.*\)|$/\1 \2/p' "$readme")
# One directory per kind of process (src/lib, src/master, src/front,
# src/signer, src/tools); no source may sit in src/ itself.
for f in src/*.c src/*.h; do
	[ -e "$f" ] || continue
	echo "FAIL: $f is not in a process's directory (src/lib, src/master, ...)"
	rc=1
done
for f in src/*/*.c emulator/*.c; do
	if ! printf '%s\n' "$rows" | grep -q "^$f "; then
		echo "FAIL: $f has no row in $readme (module -> its tests)"
		rc=1
	fi
done
printf '%s\n' "$rows" | while read -r module tests; do
	[ -f "$module" ] || { echo "FAIL: $readme lists $module, which does not exist"; exit 1; }
	found=0
	for t in $tests; do
		case "$t" in
		tests/*)
			[ -f "$t" ] || { echo "FAIL: $readme: $module: no $t"; exit 1; }
			found=1 ;;
		esac
	done
	[ "$found" = 1 ] || { echo "FAIL: $readme: $module names no test"; exit 1; }
done || rc=1
[ "$rc" = 0 ] && echo "ok: $(printf '%s\n' "$rows" | wc -l) modules, each with its tests"
exit "$rc"
