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

run() { # NAME DIR [KEYS]: with SIM_ENDPOINT set, against the simulator
	name=$1 dir=$2 keys_file=${3:-$script}
	log="$tmp/timing.$name"
	: >"$log"
	if [ -n "${SIM_ENDPOINT:-}" ]; then
		aws_env="AWS_ENDPOINT_URL=$SIM_ENDPOINT AWS_ACCESS_KEY_ID=AKIAEDGESIM000000001 AWS_SECRET_ACCESS_KEY=edgesim/test/secret/not-a-real-key/0001"
	else
		aws_env="AWS_ACCESS_KEY_ID="
	fi
	t0=$(date +%s%N)
	# shellcheck disable=SC2086
	(cd "$dir" && env ES_TIMING="$log" COLUMNS=160 LINES=48 TERM=xterm-256color \
		AWS_EC2_METADATA_DISABLED=true AWS_PROFILE= AWS_CONFIG_FILE=/dev/null \
		AWS_SHARED_CREDENTIALS_FILE=/dev/null XDG_STATE_HOME="$tmp/state" $aws_env \
		"$bin" --script "$keys_file" >/dev/null 2>"$tmp/err.$name") || true
	t1=$(date +%s%N)
	first=$(awk '/^first-frame/ {print $2; exit}' "$log")
	keys=$(awk '/^key-to-screen/ {n++; s += $2; if ($2 > m) m = $2} END {
		if (n) printf "%d keys, mean %.1f ms, max %d ms", n, s / n, m; else print "none" }' "$log")
	commits_seen=$(grep -o '[0-9]* commits\?' "$tmp/last.txt" | head -1)
	printf "%-12s first frame %s ms | key-to-screen %s | whole run (history loaded + keys) %d ms | %s\n" \
		"$name" "$first" "$keys" $(((t1 - t0) / 1000000)) "$commits_seen"
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

# Keys pressed while AWS requests are in flight: the simulator delays every
# request by 1.5 s, so the model's polls are always pending; keys come from
# tmux into a real terminal (script mode would wait for idle first).
if command -v tmux >/dev/null && python3 -c 'import moto.server' 2>/dev/null; then
	env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY python3 "$src/tests/sim/edgesim" \
		--state-dir "$tmp/sim" >"$tmp/sim.json" 2>"$tmp/sim.err" &
	sim=$!
	trap 'kill $sim 2>/dev/null; tmux kill-session -t es-bench 2>/dev/null; rm -rf "$tmp"' EXIT INT TERM
	for _ in $(seq 1 100); do [ -s "$tmp/sim.json" ] && break; sleep 0.1; done
	endpoint=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["endpoint"])' "$tmp/sim.json")
	control=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["control"])' "$tmp/sim.json")
	curl -s -X POST -d '{"kind": "delay", "seconds": 1.5, "count": 100000}' "$control/faults" >/dev/null
	log="$tmp/timing.in-flight"
	: >"$log"
	tmux new-session -d -s es-bench -x 160 -y 48 "cd '$tmp/app' && env ES_TIMING='$log' \
		AWS_ENDPOINT_URL='$endpoint' AWS_ACCESS_KEY_ID=AKIAEDGESIM000000001 \
		AWS_SECRET_ACCESS_KEY=edgesim/test/secret/not-a-real-key/0001 AWS_PROFILE= \
		AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
		AWS_EC2_METADATA_DISABLED=true XDG_STATE_HOME='$tmp/state' '$bin'"
	sleep 1
	for _ in $(seq 1 20); do
		tmux send-keys -t es-bench j; sleep 0.15
		tmux send-keys -t es-bench Tab; sleep 0.15
	done
	inflight=$(curl -s "$control/log" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["entries"]))')
	tmux send-keys -t es-bench q
	sleep 0.5
	keys=$(awk '/^key-to-screen/ {n++; s += $2; if ($2 > m) m = $2} END {
		if (n) printf "%d keys, mean %.1f ms, max %d ms", n, s / n, m; else print "none" }' "$log")
	printf "%-12s key-to-screen %s | %s AWS requests answered, each after 1.5 s\n" \
		"in-flight" "$keys" "$inflight"
	kill $sim 2>/dev/null
fi
