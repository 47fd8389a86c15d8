#!/bin/sh
# Build and run every fuzz target for SECONDS each (default 30) on a copy of
# its seed corpus, after replaying the inputs that once broke it. Prints one
# TAP line per target and exits 1 on any crash, leak, timeout or
# out-of-memory. Usage: tests/fuzz/run.sh [SECONDS]
# Environment: FUZZ_BUILD_DIR (see build.sh); FUZZ_TARGETS="xml json" runs
# only those; FUZZ_KEEP=DIR keeps each grown corpus in DIR/NAME;
# FUZZ_ARTIFACTS=DIR is where a failing input and its log are kept (default
# $TMPDIR or /tmp), so that CI can save them.
set -u

here=$(cd "$(dirname "$0")" && pwd)
seconds=${1:-30}
targets=${FUZZ_TARGETS:-template xml json conf awsconfig sigv4 records cdconfig}

case $seconds in
'' | *[!0-9]*)
	echo "usage: $0 [SECONDS]" >&2
	exit 2
	;;
esac

# Inputs are cut to a size a real one has, so time goes to variety rather
# than to ever longer inputs.
max_len() {
	case $1 in
	template) echo 32768 ;;
	xml | records | cdconfig) echo 16384 ;;
	sigv4) echo 4096 ;;
	*) echo 8192 ;;
	esac
}

out=$("$here/build.sh") || {
	echo "Bail out! the fuzz targets did not build"
	exit 1
}
work=$(mktemp -d "${TMPDIR:-/tmp}/edgeship-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
# Leaks count as failures (libFuzzer checks them with LeakSanitizer); UBSan
# already aborts (-fno-sanitize-recover), this only adds stack traces.
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export UBSAN_OPTIONS

set -- $targets
echo "1..$#"
n=0
failed=0
for name in $targets; do
	n=$((n + 1))
	bin="$out/fuzz_$name"
	log="$work/$name.log"
	opts="-rss_limit_mb=2048 -timeout=20 -max_len=$(max_len "$name") -print_final_stats=1"
	mkdir -p "$work/$name" "$work/$name-artifacts"
	opts="$opts -artifact_prefix=$work/$name-artifacts/"

	# Inputs that once crashed, hung or leaked: each must now pass.
	regressions=""
	if [ -d "$here/regressions/$name" ]; then
		regressions=$(find "$here/regressions/$name" -type f ! -name '*.md' | sort)
	fi
	if [ -n "$regressions" ]; then
		# shellcheck disable=SC2086
		if ! nice -n 10 "$bin" $opts $regressions >"$log" 2>&1; then
			echo "not ok $n - fuzz $name: a regression input fails again"
			sed 's/^/# /' "$log" | tail -n 40
			failed=1
			continue
		fi
	fi

	cp -R "$here/corpus/$name/." "$work/$name/"
	# shellcheck disable=SC2086
	nice -n 10 "$bin" $opts -max_total_time="$seconds" "$work/$name" >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	size=$(find "$work/$name" -type f | wc -l | tr -d ' ')
	if [ $rc -ne 0 ]; then
		kept=$(mktemp -d "${FUZZ_ARTIFACTS:-${TMPDIR:-/tmp}}/edgeship-fuzz-$name.XXXXXX")
		cp "$work/$name-artifacts/"* "$log" "$kept/" 2>/dev/null
		echo "not ok $n - fuzz $name: failed after ${runs:-?} runs; input and log in $kept"
		# The report without libFuzzer's progress lines: what the target
		# printed, the sanitizer's finding and its stack.
		grep -a -v -E '^(#[0-9]+[[:space:]]|INFO:|MS:|base unit:|0x|\\x)' "$log" |
			grep -a -v '^$' | head -n 40 | sed 's/^/# /'
		failed=1
		continue
	fi
	if [ -n "${FUZZ_KEEP:-}" ]; then
		mkdir -p "$FUZZ_KEEP/$name"
		cp -R "$work/$name/." "$FUZZ_KEEP/$name/"
	fi
	echo "ok $n - fuzz $name: $seconds s, ${runs:-0} runs, corpus $size"
done
exit $failed
