#!/bin/sh
# Real-terminal smoke test in tmux: first frame, resize (larger, narrow,
# below the minimum and back), colours and NO_COLOR, help, escape key,
# typeahead that must not answer a question, quit; the demo's story
# handing the console over.
# TAP output; skipped when tmux is missing.
build="${ES_BUILDDIR:-.}"
src="${ES_SRCDIR:-.}"
bin="$build/edgeship"
n=0
fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fail=1; echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else not_ok "$1"; fi; }

if ! command -v tmux >/dev/null 2>&1; then
	echo "1..0 # SKIP tmux not installed"
	exit 0
fi
if [ ! -x "$bin" ]; then
	echo "1..0 # SKIP $bin not built"
	exit 0
fi
tmp=$(mktemp -d)
sock="$tmp/tmux.sock"
cleanup() { tmux -S "$sock" kill-server 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT INT TERM

cp -r "$src/examples/lambda-edge-app" "$tmp/app"
(cd "$tmp/app" && git init -q && git add . &&
	git -c user.name=t -c user.email=t@example.com commit -qm "Initial sample app") || exit 1

T() { tmux -S "$sock" "$@"; }
screen() { T capture-pane -p -t es; }
# Wait until the shell condition $1 holds (up to 30 s: a loaded machine is
# slow to draw, and a condition met early returns at once).
eventually() {
	i=0
	while [ $i -lt 300 ]; do
		eval "$1" && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}
# the console is still running: the shell has not printed its marker
running() { ! screen | grep -q edgeship-exited; }
# wait until the screen contains $1
wait_for() { eventually "screen | grep -qF -- '$1'"; }

start() { # start ENV [ARGS]
	T kill-session -t es 2>/dev/null
	T new-session -d -s es -x 120 -y 36 -c "$tmp/app" \
		"env $1 TERM=xterm-256color AWS_EC2_METADATA_DISABLED=true HOME=$tmp \
		 AWS_ACCESS_KEY_ID= AWS_PROFILE= ES_THEMES_DIR=$src/themes $bin ${2:-}; \
		 echo edgeship-exited; sleep 30"
}

start ""
check "first frame shows the history" "wait_for 'Initial sample app'"
check "panes are drawn" "screen | grep -q 'Stages' && screen | grep -q 'Activity'"
check "colours are used on a 256-colour terminal" \
	"T capture-pane -p -e -t es | grep -q '\[3[0-9]m\|\[38;5;\|\[4[0-7]m'"
T resize-window -t es -x 70 -y 22
check "narrow terminal: history above the stage list, no separate Propagation pane" \
	"eventually \"screen | grep -q 'History' && screen | grep -q 'Stages' && ! screen | grep -q 'Propagation'\""
check "narrow terminal: every stage has its line" \
	"screen | grep -q 'staging' && screen | grep -q 'production'"
T resize-window -t es -x 50 -y 12
check "below the minimum size a message says so" "wait_for 'needs at least'"
T resize-window -t es -x 140 -y 40
check "back to wide after growing" "wait_for 'Propagation'"
T send-keys -t es '?'
check "? opens the help screen from the request table" "wait_for 'move-down'"
T send-keys -t es Escape
check "Esc closes the help" "wait_for 'Validation'"
T send-keys -t es 'D'
check "D asks before anything is sent" "wait_for 'Prepare a deploy'"
T send-keys -t es 'n'
check "n cancels: nothing was sent" "wait_for 'nothing was sent'"
# D and y in one write: the y was typed before the question was drawn, so
# it must not answer it (the question stays until n)
T send-keys -t es 'Dy'
check "a y typed ahead of the question does not answer it" "wait_for 'Prepare a deploy'"
check "the typed-ahead key is reported as ignored" "wait_for 'typed before this question was shown'"
T send-keys -t es 'n'
check "the question then takes n: nothing was sent" "wait_for 'nothing was sent'"
T send-keys -t es 'q'
check "q quits" "eventually '! running'"

start "NO_COLOR=1"
wait_for 'Initial sample app' >/dev/null
check "NO_COLOR: no colour sequences" \
	"! T capture-pane -p -e -t es | grep -q '\[3[0-7]m\|\[38;5;\|\[4[0-7]m'"
T send-keys -t es 'q'

# The demo's story (ES_SCRIPT_HANDOVER): a key typed during the script
# stops it and is the person's; the end of a script hands the keys over.
printf ':sleep 600000\n' >"$tmp/long.keys"
start "ES_SCRIPT_HANDOVER=1" "--script $tmp/long.keys"
wait_for 'Initial sample app' >/dev/null
T send-keys -t es 'j'
check "story: a key typed during the script stops it" "wait_for 'story stopped: the console is yours'"
T send-keys -t es '?'
check "story: the keys are then the person's (? opens the help)" "wait_for 'move-down'"
T send-keys -t es Escape
wait_for 'Validation' >/dev/null
T send-keys -t es 'q'
check "story: q then quits at once" "eventually '! running'"
printf ':sleep 100\n' >"$tmp/short.keys"
start "ES_SCRIPT_HANDOVER=1" "--script $tmp/short.keys"
check "story: at its end the console is handed over" "wait_for 'the story is over: the console is yours'"
check "story: and keeps running" "running"
T send-keys -t es 'q'
check "story: q quits it" "eventually '! running'"
start "" "--script $tmp/short.keys"
check "without ES_SCRIPT_HANDOVER a script on a terminal ends the console" "eventually '! running'"

echo "1..$n"
exit $fail
