#!/bin/sh
# The generated completions as each shell runs them, in a repository whose
# edgeship.conf has three stages: commands, options, stage names read from
# edgeship.conf and revisions from git. bash's is driven through COMP_WORDS,
# fish's through `complete -C`; zsh's is parsed and checked for every
# command. The commands expected are read from tui/cli/cli.c's ES_COMMANDS.
. "${ES_SRCDIR:-.}/tests/integration/lib.sh"
B="${ES_BUILDDIR:-.}"
BASH_FILE="$B/completion/bash/edgeship"
ZSH_FILE="$B/completion/zsh/_edgeship"
FISH_FILE="$B/completion/fish/edgeship.fish"
for f in "$BASH_FILE" "$ZSH_FILE" "$FISH_FILE"; do
	if [ ! -s "$f" ]; then
		echo "Bail out! $f is missing: run make first"
		exit 1
	fi
done
for sh in bash zsh fish git; do
	if ! command -v $sh >/dev/null 2>&1; then
		echo "Bail out! $sh is not installed: sh tools/install-deps"
		exit 1
	fi
done
BASH_FILE=$(cd "$(dirname "$BASH_FILE")" && pwd)/edgeship
ZSH_FILE=$(cd "$(dirname "$ZSH_FILE")" && pwd)/_edgeship
FISH_FILE=$(cd "$(dirname "$FISH_FILE")" && pwd)/edgeship.fish
COMMANDS=$(sed -n '/^#define ES_COMMANDS/,/^$/p' "${ES_SRCDIR:-.}/tui/cli/cli.c" |
	sed -n 's/.*X("\([a-z]*\)".*/\1/p')

tmp="${TMPDIR:-/tmp}/es-completion-$$"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/repo/sub" "$tmp/norepo"
export HOME="$tmp" GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.invalid \
	GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.invalid
cat >"$tmp/repo/edgeship.conf" <<'EOF'
[app]
	name = site
	bucket = site-artifacts
[stage "staging"]
	stack = site-staging
[stage "production"]
	stack = site-production
	promotes-from = staging
[stage "canary-eu"]
	stack = site-canary
[check "home"]
	path = /
EOF
(cd "$tmp/repo" && git init -q && git symbolic-ref HEAD refs/heads/trunk &&
	git add edgeship.conf && git commit -qm first && git tag v1.0 &&
	git branch feature-x) || { echo "Bail out! cannot make a test repository"; exit 1; }

# bash: COMPREPLY for the words given (the last is the one being completed),
# one per line, run in directory $DIR.
DIR="$tmp/repo"
comp() {
	(cd "$DIR" && bash -c '
		. "$1"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
		_edgeship
		printf "%s\n" "${COMPREPLY[@]}"' _ "$BASH_FILE" "$@")
}
has() { # has WORD: stdin has a line that is exactly WORD
	grep -qx -- "$1"
}

check "bash: the file parses" bash -n "$BASH_FILE"
out=$(comp edgeship dep)
check "bash: 'edgeship dep' offers deploy" sh -c 'echo "$1" | grep -qx deploy' _ "$out"
out=$(comp edgeship deploy --st)
check "bash: 'edgeship deploy --st' offers --stage" sh -c 'echo "$1" | grep -qx -- --stage' _ "$out"
out=$(comp edgeship deploy --stage "")
want=$(printf 'canary-eu\nproduction\nstaging')
check "bash: 'edgeship deploy --stage ' offers the stages of edgeship.conf, only them" \
	test "$(echo "$out" | sort)" = "$want"
printf '%s\n' "$out" | diag
DIR="$tmp/repo/sub"
out=$(comp edgeship validate -s p)
check "bash: from a subdirectory, 'validate -s p' offers production" test "$out" = production
DIR="$tmp/repo"
out=$(comp edgeship promote --to "")
check "bash: 'promote --to' offers stages" sh -c 'echo "$1" | grep -qx canary-eu' _ "$out"
out=$(comp edgeship rollback --stage staging --to "")
check "bash: 'rollback --to' offers revisions (tags, branches, HEAD)" \
	sh -c 'echo "$1" | grep -qx v1.0 && echo "$1" | grep -qx feature-x && echo "$1" | grep -qx HEAD' _ "$out"
out=$(comp edgeship deploy f)
check "bash: 'edgeship deploy f' offers the branch feature-x" test "$out" = feature-x
out=$(comp edgeship --profile prod deploy --y)
check "bash: a global option's value is not taken for the command" \
	sh -c 'echo "$1" | grep -qx -- --yes' _ "$out"
out=$(comp edgeship --theme m)
check "bash: '--theme m' offers mono" sh -c 'echo "$1" | grep -qx mono' _ "$out"
out=$(comp edgeship help inv)
check "bash: 'help inv' offers invalidate" test "$out" = invalidate
out=$(comp edgeship --re)
check "bash: 'edgeship --re' offers the global options" \
	sh -c 'echo "$1" | grep -qx -- --region && echo "$1" | grep -qx -- --read-only' _ "$out"
out=$(comp edgeship deploy --timeout "")
check "bash: nothing is offered for a duration" test -z "$out"
DIR="$tmp/norepo"
out=$(comp edgeship deploy --stage "" 2>&1)
check "bash: outside a repository, no stage and no error" test -z "$out"
DIR="$tmp/repo"
for c in $COMMANDS; do
	out=$(comp edgeship "$c")
	check "bash: offers $c" sh -c 'echo "$1" | grep -qx "$2"' _ "$out" "$c"
done

# zsh: parses, is an autoloadable completion, names every command.
check "zsh: the file parses (zsh -n)" zsh -n "$ZSH_FILE"
check "zsh: the first line is #compdef edgeship" sh -c 'head -1 "$1" | grep -qx "#compdef edgeship"' _ "$ZSH_FILE"
check "zsh: the file loads with compinit" zsh -f -c "autoload -U compinit && compinit -u -d '$tmp/zcomp' && source '$ZSH_FILE'"
for c in $COMMANDS; do
	check "zsh: lists $c" sh -c 'grep -q "^	'"'"'$2:" "$1" && grep -q "^		$2)" "$1"' _ "$ZSH_FILE" "$c"
done

# fish: parses, and its own completion engine answers.
check "fish: the file parses (fish -n)" fish -n "$FISH_FILE"
fcomp() {
	(cd "$tmp/repo" && fish --no-config -c "source '$FISH_FILE'; complete -C '$1'") | cut -f1
}
out=$(fcomp "edgeship dep")
check "fish: 'edgeship dep' offers deploy" sh -c 'echo "$1" | grep -qx deploy' _ "$out"
out=$(fcomp "edgeship deploy --st")
check "fish: 'edgeship deploy --st' offers --stage" sh -c 'echo "$1" | grep -qx -- --stage' _ "$out"
out=$(fcomp "edgeship deploy --stage ")
check "fish: 'edgeship deploy --stage ' offers the stages" \
	test "$(echo "$out" | sort)" = "$want"
printf '%s\n' "$out" | diag
out=$(fcomp "edgeship rollback --stage staging --to ")
check "fish: 'rollback --to' offers revisions" sh -c 'echo "$1" | grep -qx v1.0' _ "$out"
all=$(fcomp "edgeship ")
for c in $COMMANDS; do
	check "fish: offers $c" sh -c 'echo "$1" | grep -qx "$2"' _ "$all" "$c"
done

tap_done
