#!/bin/sh
# Build the libFuzzer targets in tests/fuzz with clang, AddressSanitizer and
# UndefinedBehaviorSanitizer, straight from core/'s sources (automake's build
# uses gcc, which has no libFuzzer). Usage: tests/fuzz/build.sh [BUILD_DIR]
# (default $FUZZ_BUILD_DIR, else _build-fuzz at the top of the source tree).
# Prints the build directory; the targets are BUILD_DIR/fuzz_NAME.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
out=${1:-${FUZZ_BUILD_DIR:-$top/_build-fuzz}}
cc=${FUZZ_CC:-clang}
pkgs="libcurl libcrypto jansson libgit2 libxml-2.0 yaml-0.1 libzip inih"

command -v "$cc" >/dev/null 2>&1 || {
	echo "build.sh: $cc not found: apt-get install clang libclang-rt-14-dev" >&2
	exit 1
}
pkg_cflags=$(pkg-config --cflags $pkgs)
pkg_libs=$(pkg-config --libs $pkgs)

# Sanitizer findings must stop the run: -fno-sanitize-recover makes UBSan
# abort, so libFuzzer records the input like any crash.
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
cflags="-std=c11 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Wno-unused-parameter $san"

mkdir -p "$out/obj/base" "$out/obj/aws"

# config.h as configure would write it, as far as core/ needs it; rewritten
# only when it changes so objects are not rebuilt for nothing.
version=$(sed -n 's/^AC_INIT(\[edgeship\], \[\([^]]*\)\].*/\1/p' "$top/configure.ac")
printf '/* Written by tests/fuzz/build.sh. */\n#define PACKAGE_VERSION "%s"\n' "$version" \
	>"$out/config.h.new"
if cmp -s "$out/config.h.new" "$out/config.h"; then
	rm -f "$out/config.h.new"
else
	mv "$out/config.h.new" "$out/config.h"
fi

# An object is stale when its source, config.h or any header of core/ is
# newer: coarse, but core/ compiles in a minute and edits are rare here.
stale() {
	[ ! -f "$2" ] || [ "$1" -nt "$2" ] || [ "$out/config.h" -nt "$2" ] ||
		[ -n "$(find "$top/core" -name '*.h' -newer "$2" | head -n 1)" ]
}

objs=""
built=0
cd "$top/core"
for src in *.c base/*.c aws/*.c; do
	obj="$out/obj/${src%.c}.o"
	objs="$objs $obj"
	if stale "$src" "$obj"; then
		echo "  CC       core/$src" >&2
		# shellcheck disable=SC2086
		nice -n 10 "$cc" $cflags -fsanitize=fuzzer-no-link -I"$out" -I"$top/core" \
			$pkg_cflags -c "$src" -o "$obj"
		built=1
	fi
done
if [ $built = 1 ] || [ ! -f "$out/libcore.a" ]; then
	rm -f "$out/libcore.a"
	# shellcheck disable=SC2086
	ar rcs "$out/libcore.a" $objs
fi

for harness in "$here"/fuzz_*.c; do
	name=$(basename "$harness" .c)
	bin="$out/$name"
	if [ ! -f "$bin" ] || [ "$harness" -nt "$bin" ] || [ "$out/libcore.a" -nt "$bin" ]; then
		echo "  CCLD     tests/fuzz/$name" >&2
		# shellcheck disable=SC2086
		nice -n 10 "$cc" $cflags -Werror -fsanitize=fuzzer -I"$out" -I"$top/core" \
			$pkg_cflags "$harness" "$out/libcore.a" $pkg_libs -o "$bin"
	fi
done
echo "$out"
