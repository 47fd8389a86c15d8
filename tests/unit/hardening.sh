#!/bin/sh
# The hardening configure turned on (ES_HARDENING, e.g. "fortify=3
# stack-protector-strong pie relro+now") is in the edgeship binary: a
# position-independent executable, full RELRO (a GNU_RELRO segment and
# BIND_NOW), stack canaries and the fortified libc calls. Read with readelf,
# as hardening-check (devscripts) would.
. "${ES_SRCDIR:-.}/tests/integration/lib.sh"
bin="${ES_BUILDDIR:-.}/edgeship"
want=" ${ES_HARDENING:-} "

if ! command -v readelf >/dev/null 2>&1; then
	echo "Bail out! readelf not found: apt-get install binutils"
	exit 1
fi
if [ ! -x "$bin" ]; then
	echo "Bail out! $bin is not built"
	exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
readelf -W -h "$bin" >"$tmp/h" && readelf -W -d "$bin" >"$tmp/d" &&
	readelf -W -l "$bin" >"$tmp/l" && readelf -W --dyn-syms "$bin" >"$tmp/s" || {
	echo "Bail out! readelf cannot read $bin"
	exit 1
}
has() { grep -qE "$1" "$tmp/$2"; }

case $want in
*" pie "*)
	if has 'Type:[[:space:]]+DYN' h && has 'FLAGS_1.*PIE' d; then
		ok "the binary is a position-independent executable (ELF type DYN, FLAGS_1 PIE)"
	else
		not_ok "the binary is a position-independent executable"
		grep -E 'Type:|FLAGS' "$tmp/h" "$tmp/d" | diag
	fi
	;;
esac
case $want in
*" relro+now "*)
	if has 'GNU_RELRO' l; then
		ok "it has a GNU_RELRO segment"
	else
		not_ok "it has a GNU_RELRO segment"
	fi
	if has '\(BIND_NOW\)|\(FLAGS\).*BIND_NOW|\(FLAGS_1\).*NOW' d; then
		ok "symbols are bound at start (BIND_NOW): full RELRO"
	else
		not_ok "symbols are bound at start (BIND_NOW): full RELRO"
		grep -E 'FLAGS' "$tmp/d" | diag
	fi
	;;
esac
case $want in
*" stack-protector-strong "*)
	if has ' __stack_chk_fail' s; then
		ok "functions carry stack canaries (__stack_chk_fail is linked)"
	else
		not_ok "functions carry stack canaries (__stack_chk_fail is linked)"
	fi
	;;
esac
case $want in
*" fortify="*)
	if has ' __[a-z_]*_chk(@|$)' s; then
		ok "libc calls are fortified ($(grep -oE ' __[a-z_]*_chk' "$tmp/s" | sort -u | wc -l) __*_chk functions)"
	else
		not_ok "libc calls are fortified (__*_chk functions are linked)"
	fi
	;;
esac
if [ "$tap_n" -eq 0 ]; then
	# configure --disable-hardening (or a compiler with none of it).
	if has '\(BIND_NOW\)|\(FLAGS\).*BIND_NOW' d; then
		not_ok "hardening is off, and the binary is not bound at start"
	else
		ok "hardening is off (configure --disable-hardening), and the binary is not bound at start"
	fi
fi
tap_done
