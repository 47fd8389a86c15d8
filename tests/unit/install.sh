#!/bin/sh
# `make install DESTDIR=…` puts exactly the program, its themes, both man
# pages and the three completions where each tool looks, and `make
# uninstall` takes every one of them away again.
. "${ES_SRCDIR:-.}/tests/integration/lib.sh"
B="${ES_BUILDDIR:-.}"
S="${ES_SRCDIR:-.}"
tmp="${TMPDIR:-/tmp}/es-install-$$"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/root"
dest=$(cd "$tmp/root" && pwd)

# A make of its own: not the test harness's jobserver or command line.
mk() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u TESTS make -s -C "$B" "$@"; }

dirs=$(mk print-install-dirs) || { echo "Bail out! make print-install-dirs failed"; exit 1; }
eval "$dirs"

{
	echo "$bindir/edgeship"
	for t in "$S"/themes/*.theme; do echo "$pkgdatadir/themes/$(basename "$t")"; done
	echo "$mandir/man1/edgeship.1"
	echo "$mandir/man5/edgeship.conf.5"
	echo "$bashcompletiondir/edgeship"
	echo "$zshcompletiondir/_edgeship"
	echo "$fishcompletiondir/edgeship.fish"
} | sed "s|^|$dest|" | sort >"$tmp/want"

mk install DESTDIR="$dest" >"$tmp/log" 2>&1; rc=$?
check "make install DESTDIR exits 0" test "$rc" = 0
diag <"$tmp/log"
find "$dest" -type f | sort >"$tmp/got"
check "it installs exactly the program, themes, man pages and completions" \
	cmp -s "$tmp/want" "$tmp/got"
diff "$tmp/want" "$tmp/got" | diag
check "edgeship(1) is a man page" grep -q '^\.TH EDGESHIP 1' "$dest$mandir/man1/edgeship.1"
check "edgeship.conf(5) is a man page" grep -q '^\.TH EDGESHIP.CONF 5' \
	"$dest$mandir/man5/edgeship.conf.5"
check "the installed man page renders without a warning" \
	sh -c '! groff -man -ww -z "$1" 2>&1 | grep -q .' _ "$dest$mandir/man1/edgeship.1"
check "the bash completion registers _edgeship" \
	grep -q '^complete -F _edgeship edgeship$' "$dest$bashcompletiondir/edgeship"
check "the zsh completion is autoloadable" \
	sh -c 'head -1 "$1" | grep -qx "#compdef edgeship"' _ "$dest$zshcompletiondir/_edgeship"
check "the installed program runs" "$dest$bindir/edgeship" --version

mk uninstall DESTDIR="$dest" >"$tmp/log" 2>&1; rc=$?
check "make uninstall DESTDIR exits 0" test "$rc" = 0
diag <"$tmp/log"
find "$dest" -type f >"$tmp/left"
check "make uninstall removes every file it installed" test ! -s "$tmp/left"
diag <"$tmp/left"

tap_done
