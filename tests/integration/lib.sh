# Shared helpers for the shell tests: TAP output, a free port, and a moto
# server that is always stopped on exit.
tap_n=0
tap_failed=0

ok() { tap_n=$((tap_n + 1)); echo "ok $tap_n - $*"; }
not_ok() { tap_n=$((tap_n + 1)); tap_failed=$((tap_failed + 1)); echo "not ok $tap_n - $*"; }
check() { # check "description" command...
	desc=$1; shift
	if "$@" >/dev/null 2>&1; then ok "$desc"; else not_ok "$desc"; fi
}
diag() { sed 's/^/# /'; }
tap_done() { echo "1..$tap_n"; [ "$tap_failed" -eq 0 ]; }

free_port() {
	"${PYTHON3:-python3}" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Isolate every test from the developer's own AWS setup.
aws_isolate() {
	export HOME="${TMPDIR:-/tmp}/es-home-$$"
	mkdir -p "$HOME"
	export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
	export AWS_EC2_METADATA_DISABLED=true
	unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL \
		AWS_CONTAINER_CREDENTIALS_RELATIVE_URI AWS_CONTAINER_CREDENTIALS_FULL_URI \
		AWS_ROLE_ARN AWS_WEB_IDENTITY_TOKEN_FILE
}

# Start moto's server on a free loopback port; sets MOTO_URL and MOTO_PID.
moto_start() {
	if ! "${PYTHON3:-python3}" -c 'import moto.server' 2>/dev/null; then
		echo "Bail out! moto is not installed: pip install 'moto[server]' aws-sam-translator"
		exit 1
	fi
	port=$(free_port)
	moto_log="${TMPDIR:-/tmp}/es-moto-$$.log"
	"${PYTHON3:-python3}" "${ES_SRCDIR:-.}/tests/integration/moto_serve.py" -H 127.0.0.1 -p "$port" >"$moto_log" 2>&1 &
	MOTO_PID=$!
	trap 'kill $MOTO_PID 2>/dev/null; wait $MOTO_PID 2>/dev/null; rm -f "$moto_log"' EXIT
	MOTO_URL="http://127.0.0.1:$port"
	for _ in $(seq 1 100); do
		if "${PYTHON3:-python3}" -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1] + '/moto-api/', timeout=1)" "$MOTO_URL" 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	echo "Bail out! moto server did not start on $MOTO_URL"
	diag <"$moto_log"
	exit 1
}
