#!/bin/sh
# The edgeship binary as a user and a script see it: help, version, exit
# codes, whoami in both output modes, and no secret in any output.
. "${ES_SRCDIR:-.}/tests/integration/lib.sh"
aws_isolate
ES="${ES_BUILDDIR:-.}/edgeship"
SECRET=edgeship-cli-test-secret-value
out="${TMPDIR:-/tmp}/es-cli-$$"
mkdir -p "$out"
trap 'rm -rf "$out"' EXIT

"$ES" --version >"$out/v" 2>&1
check "--version prints the version" grep -q "^edgeship [0-9]" "$out/v"
"$ES" --help >"$out/h" 2>&1
check "--help lists whoami" grep -q "whoami" "$out/h"
check "--help documents exit codes" grep -q "Exit codes" "$out/h"
"$ES" no-such-command >/dev/null 2>"$out/e"; rc=$?
check "an unknown command exits 2" test "$rc" = 2
check "an unknown command says how to get help" grep -q "edgeship --help" "$out/e"
"$ES" whoami --bogus >/dev/null 2>&1; rc=$?
check "an unknown option exits 2" test "$rc" = 2

# No credentials anywhere: a clear message listing what was tried, exit 5.
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
AWS_ENDPOINT_URL=http://127.0.0.1:9 "$ES" whoami >"$out/o" 2>"$out/e"; rc=$?
check "whoami without credentials exits 5" test "$rc" = 5
check "whoami without credentials lists the environment" grep -qi "environment" "$out/e"
check "whoami without credentials lists instance metadata" grep -qi "metadata" "$out/e"
AWS_ENDPOINT_URL=http://127.0.0.1:9 "$ES" whoami --json >"$out/o" 2>"$out/e"; rc=$?
check "whoami --json failure is JSON with ok=false" \
	"${PYTHON3:-python3}" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["ok"] is False and d["error"]["message"]' "$out/o"

# Against moto: the identity, in text and JSON, never the secret.
moto_start
export AWS_ENDPOINT_URL="$MOTO_URL" AWS_ACCESS_KEY_ID=AKIAEDGESHIPCLI00001 AWS_SECRET_ACCESS_KEY=$SECRET
export AWS_REGION=eu-west-1
"$ES" whoami >"$out/o" 2>"$out/e"; rc=$?
check "whoami succeeds against moto" test "$rc" = 0
check "whoami shows the caller ARN" grep -q "^arn  *arn:aws:" "$out/o"
check "whoami shows the region and where it came from" grep -q "eu-west-1 (AWS_REGION)" "$out/o"
check "whoami shows the endpoint override" grep -q "$MOTO_URL (AWS_ENDPOINT_URL)" "$out/o"
check "whoami names the credential source" grep -q "environment" "$out/o"
"$ES" whoami --json >"$out/j" 2>>"$out/e"; rc=$?
check "whoami --json exits 0" test "$rc" = 0
check "whoami --json is JSON with account and arn" \
	"${PYTHON3:-python3}" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d["account"]) == 12 and d["arn"].startswith("arn:aws:") and d["credential_source"]' "$out/j"
if cat "$out"/* | grep -q "$SECRET"; then not_ok "no output contains the secret key"; else ok "no output contains the secret key"; fi
# A profile that does not exist is a configuration error, said at once.
"$ES" --profile nope whoami >/dev/null 2>"$out/e"; rc=$?
check "an unknown profile exits 5" test "$rc" = 5
check "an unknown profile is named in the message" grep -q "nope" "$out/e"
tap_done
