#!/bin/sh
# Runs every cmocka unit test binary in DIR; fails if any fails.
set -eu
dir=$1
failed=0
for t in "$dir"/test_*; do
	[ -x "$t" ] || continue
	echo "== $(basename "$t")"
	if ! "$t"; then
		failed=$((failed + 1))
	fi
done
if [ "$failed" -ne 0 ]; then
	echo "unit: $failed test program(s) failed" >&2
	exit 1
fi
