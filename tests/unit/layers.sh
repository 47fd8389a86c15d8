#!/bin/sh
# The layer rules of STYLE.md, checked: core/ never touches curses or calls
# exit(); core/aws/ (the AWS client) and core/base/ include nothing of the
# release engine; tui/ never talks to libgit2, libcurl, OpenSSL or jansson.
. "${ES_SRCDIR:-.}/tests/integration/lib.sh"
src="${ES_SRCDIR:-.}"
build="${ES_BUILDDIR:-.}"

if grep -rnE '#[[:space:]]*include[[:space:]]*[<"]n?curses' "$src/core" >/dev/null; then
	not_ok "core/ includes no curses header"
else
	ok "core/ includes no curses header"
fi
if grep -rnE --include='*.c' '\<(exit|_exit|abort)[[:space:]]*\(' "$src/core" >/dev/null; then
	not_ok "core/ never calls exit() or abort()"
else
	ok "core/ never calls exit() or abort()"
fi
lib="$build/core/libedgeship-core.a"
if [ ! -f "$lib" ]; then
	not_ok "core library exists at $lib"
else
	ok "core library exists"
	if nm "$lib" 2>/dev/null | grep -E ' [UTtDdBb] (initscr|newterm|wrefresh|endwin|stdscr|waddnstr|wgetch|getch|newwin|COLS|LINES)$' >/dev/null; then
		not_ok "core library has no curses symbols"
	else
		ok "core library has no curses symbols"
	fi
	if nm -u "$lib" 2>/dev/null | grep -E ' U (exit|_exit|abort)$' >/dev/null; then
		not_ok "core library links no exit()/abort()"
	else
		ok "core library links no exit()/abort()"
	fi
fi
if grep -rnE '#[[:space:]]*include[[:space:]]*<(git2|curl/|jansson|openssl/|libxml/|yaml|zip)' "$src/tui" >/dev/null; then
	not_ok "tui/ includes no libgit2/libcurl/OpenSSL/jansson/libxml2/yaml/zip header"
else
	ok "tui/ includes no libgit2/libcurl/OpenSSL/jansson/libxml2/yaml/zip header"
fi
bad=""
tui_objs=$(find "$build/tui" -name '*.o' 2>/dev/null)
for o in $tui_objs; do
	if nm -u "$o" | grep -E ' U (curl_|json_|git_|EVP_|HMAC|SHA256|xml|yaml_|zip_)' >/dev/null; then
		bad="$bad $o"
	fi
done
if [ -n "$tui_objs" ]; then
	if [ -n "$bad" ]; then not_ok "tui objects call no library below core:$bad"; else ok "tui objects call no library below core"; fi
else
	not_ok "tui objects found in $build/tui"
fi
# The AWS client knows nothing of releases; the base knows nothing of AWS.
engine_headers=$(cd "$src/core" && ls *.h | sed 's/\.h$//' | tr '\n' '|' | sed 's/|$//')
if grep -rnE "#[[:space:]]*include[[:space:]]*\"($engine_headers)\.h\"" "$src/core/aws" "$src/core/base" >/dev/null; then
	not_ok "core/aws/ and core/base/ include no release-engine header"
else
	ok "core/aws/ and core/base/ include no release-engine header"
fi
if grep -rnE '#[[:space:]]*include[[:space:]]*"aws/' "$src/core/base" >/dev/null; then
	not_ok "core/base/ includes nothing of core/aws/"
else
	ok "core/base/ includes nothing of core/aws/"
fi
tap_done
