#!/bin/sh
# Runs the C client against moto's server: the real signing, endpoint,
# protocol and error paths, over real HTTP.
. "${ES_SRCDIR:-.}/tests/integration/lib.sh"
aws_isolate
moto_start
export AWS_ENDPOINT_URL="$MOTO_URL"
export AWS_ACCESS_KEY_ID=AKIAEDGESHIPTEST0001 AWS_SECRET_ACCESS_KEY=edgeship-test-secret-not-real
export AWS_REGION=us-east-1
# A port nothing listens on, for the retry test.
export ES_DEAD_ENDPOINT="http://127.0.0.1:$(free_port)"
# Short backoff is fine: three attempts at most.
"${ES_BUILDDIR:-.}/tests/integration/moto_client"
