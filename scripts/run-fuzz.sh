#!/bin/sh
# Runs each libFuzzer binary for SECONDS, starting from its seed corpus in
# tests/fuzz/corpus/<name>/ (copied, so new inputs never land in the tree).
# A crash leaves its reproducer in build/fuzz/artifacts/.
set -eu
seconds=$1
shift
mkdir -p build/fuzz/artifacts
for bin in "$@"; do
	name=$(basename "$bin" | sed 's/^fuzz_//')
	work=build/fuzz/corpus-$name
	mkdir -p "$work"
	if [ -d "tests/fuzz/corpus/$name" ]; then
		cp -r "tests/fuzz/corpus/$name/." "$work/"
	fi
	echo "== fuzz $name for ${seconds}s"
	"$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix=build/fuzz/artifacts/"$name"- -print_final_stats=0 "$work" 2>build/fuzz/"$name".log ||
		{ tail -n 40 build/fuzz/"$name".log >&2; echo "fuzz: $name failed, see build/fuzz/$name.log" >&2; exit 1; }
	grep -E '^(#[0-9]+ +DONE|Done [0-9]+ runs)' build/fuzz/"$name".log | tail -n 1 || true
done
