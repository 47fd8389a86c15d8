#!/bin/sh
# Memory benchmark (not part of `make check`): peak RSS ("Maximum resident
# set size" of /usr/bin/time -v) and the time until the whole history is
# loaded, for edgeship's dashboard and for tig, in the same run, on a real
# git.git (or, without one, an 82,000-commit repository made with git
# fast-import with realistic subjects). Each program runs ROUNDS times,
# interleaved; the table gives medians.
#
# usage: tests/bench/memory.sh [BUILDDIR] [REPO]
#   REPO: a git.git clone (a bare one is cloned next to the run, linked)
#   BEFORE=/path/to/edgeship  adds a row for another build (e.g. the last
#                             release), measured the same way
#   ROUNDS=3  COMMITS=82000 (generated repository only)
# Needs /usr/bin/time (Debian: apt-get install time) and tig for its row.
set -e
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-${ES_BUILDDIR:-.}}
repo=${2:-}
rounds=${ROUNDS:-3}
bin=$(cd "$build" && pwd)/edgeship
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

if [ ! -x /usr/bin/time ]; then
	echo "memory.sh needs GNU time as /usr/bin/time: apt-get install time" >&2
	exit 2
fi

gen_repo() { # DIR N: N commits, subjects of 10 to 72 characters, 300 authors
	git init -q "$1"
	awk -v n="$2" 'BEGIN {
		split("fix add teach make let avoid drop use move rename document refactor", verb, " ")
		split("the parser of config files,a leak in the pack reader,the --format option of log,tests for rebase,the progress meter,an off-by-one in the index,a race in fetch,the help text,error messages,the merge machinery", what, ",")
		for (i = 1; i <= n; i++) {
			msg = sprintf("area%d: %s %s", i % 97, verb[1 + i % 12], what[1 + (i * 7) % 10])
			if (i % 3 == 0) msg = msg " when the repository is shallow"
			if (i % 5 == 0) msg = substr(msg, 1, 10 + i % 20)
			msg = msg "\n\nA body of a few lines, as real commits have.\nSigned-off-by: Dev " (i % 300) " <dev@example.com>"
			data = "v" i "\n"
			printf "commit refs/heads/main\nmark :%d\n", i
			printf "author Dev %d <dev%d@example.com> %d +0000\n", i % 300, i % 300, 1100000000 + i * 9000
			printf "committer Dev %d <dev%d@example.com> %d +0000\n", i % 300, i % 300, 1100000000 + i * 9000
			printf "data %d\n%s\n", length(msg), msg
			if (i > 1) printf "from :%d\n", i - 1
			printf "M 644 inline src/file%d.c\ndata %d\n%s\n", i % 400, length(data), data
		}
	}' | (cd "$1" && git fast-import --quiet && git symbolic-ref HEAD refs/heads/main && git reset -q --hard)
}

if [ -n "$repo" ]; then
	what="$repo at $(git -C "$repo" rev-parse --short HEAD)"
	if [ "$(git -C "$repo" rev-parse --is-bare-repository)" = true ]; then
		# the dashboard needs a working tree: a local clone shares the pack
		git clone -q "$repo" "$tmp/repo"
		repo="$tmp/repo"
	fi
else
	echo "no git.git given: generating a ${COMMITS:-82000}-commit repository with git fast-import..."
	gen_repo "$tmp/repo" "${COMMITS:-82000}"
	repo="$tmp/repo"
	what="a generated repository"
fi
commits=$(git -C "$repo" rev-list --count HEAD)
pack=$(du -shL "$(cd "$repo" && git rev-parse --path-format=absolute --git-common-dir)/objects" | cut -f1)
echo "$what: $commits commits, objects $pack; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"

keys="$tmp/keys"
{
	echo ":wait-idle"
	for _ in $(seq 1 20); do echo "j"; done
	echo "G"
	echo "g"
	echo "/no such subject anywhere<Enter>"
	echo ":dump-screen $tmp/last.txt"
	echo "q"
} >"$keys"

field() { # FILE LABEL: a /usr/bin/time -v field
	awk -F': ' -v k="$2" 'index($0, k) {print $2; exit}' "$1"
}

secs() { # h:mm:ss.ss or m:ss.ss -> ms
	echo "$1" | awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; printf "%d", s * 1000 }'
}

run_edgeship() { # NAME BINARY ROUND
	log="$tmp/timing.$1.$3"
	: >"$log"
	(cd "$repo" && env ES_TIMING="$log" COLUMNS=160 LINES=48 TERM=xterm-256color \
		AWS_EC2_METADATA_DISABLED=true AWS_PROFILE= AWS_CONFIG_FILE=/dev/null \
		AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_ACCESS_KEY_ID= XDG_STATE_HOME="$tmp/state" \
		/usr/bin/time -v -o "$tmp/time.$1.$3" "$2" --script "$keys" >/dev/null 2>"$tmp/err.$1") || true
	rss=$(field "$tmp/time.$1.$3" "Maximum resident set size")
	cpu=$(awk -F': ' '/User time|System time/ {s += $2} END {printf "%d", s * 1000}' "$tmp/time.$1.$3")
	first=$(awk '/^first-frame/ {print $2; exit}' "$log")
	loaded=$(awk '/^history-loaded/ {print $2; exit}' "$log")
	loaded_cpu=$(awk '/^history-loaded/ {print $7; exit}' "$log")
	if [ -z "$loaded" ]; then
		# a build before history-loaded was logged: the whole run, keys included
		loaded=$(secs "$(field "$tmp/time.$1.$3" "Elapsed (wall clock)")")
		loaded="$loaded*"
		loaded_cpu="$cpu*"
	fi
	keymax=$(awk '/^key-to-screen/ {if ($2 > m) m = $2} END {printf "%d", m}' "$log")
	seen=$(grep -o '[0-9]* commits' "$tmp/last.txt" | head -1 | cut -d' ' -f1)
	echo "$1 $((rss / 1024)) $loaded $loaded_cpu $cpu ${first:-?} $keymax ${seen:-?}" >>"$tmp/rows"
}

run_tig() { # ROUND: tig runs its script once every view is loaded
	printf ':save-display %s\n:quit\n' "$tmp/tig.txt" >"$tmp/tig-script"
	(cd "$repo" && script -qec "env TIG_SCRIPT='$tmp/tig-script' TERM=xterm-256color COLUMNS=160 LINES=48 \
		/usr/bin/time -v -o '$tmp/time.tig.$1' tig" /dev/null >/dev/null </dev/null) || true
	rss=$(field "$tmp/time.tig.$1" "Maximum resident set size")
	wall=$(secs "$(field "$tmp/time.tig.$1" "Elapsed (wall clock)")")
	cpu=$(awk -F': ' '/User time|System time/ {s += $2} END {printf "%d", s * 1000}' "$tmp/time.tig.$1")
	seen=$(grep -o 'of [0-9]*' "$tmp/tig.txt" | tail -1 | cut -d' ' -f2)
	echo "tig $((rss / 1024)) $wall $cpu* $cpu - - ${seen:-?}" >>"$tmp/rows"
}

run_git_log() { # ROUND: the floor, git itself printing what the History pane shows
	(cd "$repo" && /usr/bin/time -v -o "$tmp/time.git.$1" \
		git log --format='%H %at %an %s' >/dev/null) || true
	rss=$(field "$tmp/time.git.$1" "Maximum resident set size")
	wall=$(secs "$(field "$tmp/time.git.$1" "Elapsed (wall clock)")")
	cpu=$(awk -F': ' '/User time|System time/ {s += $2} END {printf "%d", s * 1000}' "$tmp/time.git.$1")
	echo "git-log $((rss / 1024)) $wall $cpu $cpu - - $commits" >>"$tmp/rows"
}

: >"$tmp/rows"
for r in $(seq 1 "$rounds"); do
	run_git_log "$r"
	[ -n "${BEFORE:-}" ] && run_edgeship before "$BEFORE" "$r"
	run_edgeship edgeship "$bin" "$r"
	command -v tig >/dev/null && run_tig "$r"
done

# medians per program, in the order first seen
printf "\n%-10s %10s %16s %16s %10s %12s %10s %8s\n" program "peak RSS" "history loaded" "its CPU" "run CPU" "first frame" "key max" commits
printf "%-10s %10s %16s %16s %10s %12s %10s %8s\n" ---------- ---------- ---------------- ---------------- ---------- ------------ ---------- --------
awk '{ print $1 }' "$tmp/rows" | awk '!seen[$0]++' | while read -r name; do
	med() { # COLUMN
		awk -v n="$name" -v c="$1" '$1 == n {print $c}' "$tmp/rows" | sort -n | awk '{v[NR] = $0} END {print v[int((NR + 1) / 2)]}'
	}
	printf "%-10s %7s MB %13s ms %13s ms %7s ms %9s ms %7s ms %8s\n" "$name" "$(med 2)" "$(med 3)" \
		"$(med 4)" "$(med 5)" "$(med 6)" "$(med 7)" "$(med 8)"
done
echo
echo "history loaded: wall time from the start to the last commit read (ES_TIMING history-loaded),"
echo "  and the processor time until then; tig runs its script only once every view is loaded, so"
echo "  its whole run counts (git log included); * = the whole run (no history-loaded logged)."
echo "git-log: git log printing id, date, author and subject of every commit, for reference."
echo "run CPU: user + system of the whole run. key max: slowest key-to-screen of 23 keys after loading."
