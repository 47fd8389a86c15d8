#!/bin/sh
# Dashboard benchmark (not part of `make check`): time to first frame and
# key-to-screen latency on a generated 100,000-commit repository and on the
# example app, measured by the program itself (ES_TIMING) in script mode,
# plus the time until the whole history is loaded.
# usage: tests/bench/dashboard.sh [BUILDDIR] [COMMITS]
set -e
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-${ES_BUILDDIR:-.}}
commits=${2:-100000}
bin=$(cd "$build" && pwd)/edgeship
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

gen_repo() { # DIR N: N commits through git fast-import
	git init -q "$1"
	awk -v n="$2" 'BEGIN {
		for (i = 1; i <= n; i++) {
			msg = "Change " i ": adjust the origin-request handler"
			data = "v" i "\n"
			printf "commit refs/heads/main\nmark :%d\n", i
			printf "author Bench <bench@example.com> %d +0000\n", 1600000000 + i
			printf "committer Bench <bench@example.com> %d +0000\n", 1600000000 + i
			printf "data %d\n%s\n", length(msg), msg
			if (i > 1) printf "from :%d\n", i - 1
			printf "M 644 inline src/file%d.txt\ndata %d\n%s\n", i % 50, length(data), data
		}
	}' | (cd "$1" && git fast-import --quiet && git symbolic-ref HEAD refs/heads/main && git reset -q --hard)
}

script="$tmp/keys"
{
	echo ":wait-idle"
	for i in $(seq 1 20); do echo "j"; done
	echo "G"
	echo "g"
	echo "/Change 5000<Enter>"
	echo "<Enter>"
	echo "q"
	echo ":dump-screen $tmp/last.txt"
} >"$script"

run() { # NAME DIR
	log="$tmp/timing.$1"
	: >"$log"
	t0=$(date +%s%N)
	(cd "$2" && env ES_TIMING="$log" COLUMNS=160 LINES=48 TERM=xterm-256color \
		AWS_EC2_METADATA_DISABLED=true AWS_ACCESS_KEY_ID= AWS_PROFILE= \
		"$bin" --script "$script" >/dev/null 2>"$tmp/err.$1") || true
	t1=$(date +%s%N)
	first=$(awk '/^first-frame/ {print $2; exit}' "$log")
	keys=$(awk '/^key-to-screen/ {n++; s += $2; if ($2 > m) m = $2} END {
		if (n) printf "%d keys, mean %.1f ms, max %d ms", n, s / n, m; else print "none" }' "$log")
	commits_seen=$(grep -o '[0-9]* commits\?' "$tmp/last.txt" | head -1)
	printf "%-12s first frame %s ms | key-to-screen %s | whole run (history loaded + keys) %d ms | %s\n" \
		"$1" "$first" "$keys" $(((t1 - t0) / 1000000)) "$commits_seen"
}

echo "generating a $commits-commit repository with git fast-import..."
g0=$(date +%s%N)
gen_repo "$tmp/big" "$commits"
g1=$(date +%s%N)
echo "  generated in $(((g1 - g0) / 1000000)) ms"
cp -r "$src/examples/lambda-edge-app" "$tmp/app"
(cd "$tmp/app" && git init -q && git add . && git -c user.name=b -c user.email=b@example.com commit -qm "Initial sample app")
run "example-app" "$tmp/app"
run "100k-commits" "$tmp/big"
