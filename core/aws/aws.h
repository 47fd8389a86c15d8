/* One AWS request, end to end: resolve the endpoint, sign with SigV4, send
 * through the event loop, retry what is worth retrying (standard mode), fix
 * our clock when AWS says it is skewed, and turn any failure into an
 * es_error with HTTP status, AWS code, message and request id. */
#ifndef ES_AWS_H
#define ES_AWS_H

#include <stdbool.h>
#include <time.h>

#include "base/buf.h"
#include "credentials.h"
#include "endpoints.h"
#include "http.h"
#include "base/loop.h"
#include "protocol.h"
#include "retry.h"

#define ES_AWS_MAX_HEADERS 8

/* A request as a service module describes it; es_aws_call_free() frees it. */
struct es_aws_call {
	const char *service;   /* service id: "cloudformation", "s3", … */
	const char *operation; /* "DescribeStacks": for errors and traces */
	enum es_protocol protocol;
	const char *method;
	struct es_buf path;  /* encoded, begins with '/' (S3: "/bucket/key") */
	struct es_buf query; /* encoded "a=1&b=2" or empty */
	struct es_buf body;
	const char *content_type;          /* static string or NULL */
	char *headers[ES_AWS_MAX_HEADERS]; /* extra signed "Name: value" lines, owned */
	size_t n_headers;
	long timeout_ms; /* 0: default */
	bool mutating;   /* changes something in AWS (for --read-only and logs) */
	/* How much of the body went out (uploads; may be NULL). */
	es_http_progress_fn progress;
	void *progress_ud;
};

/* Start a call. path is appended as given (already encoded). */
int es_aws_call_init(struct es_aws_call *c, const char *service, const char *operation,
                     enum es_protocol proto, const char *method, const char *path);
int es_aws_call_header(struct es_aws_call *c, const char *name, const char *value);
void es_aws_call_free(struct es_aws_call *c);

/* The request ready for the wire: what es_aws_prepare() produces. */
struct es_aws_wire {
	char *url;
	char **headers; /* NULL-terminated "Name: value" lines */
	size_t n_headers;
	const void *body; /* borrowed from the call */
	size_t body_len;
	char *authorization; /* the Authorization value (also in headers); for tests */
};

/* Sign call for endpoint with creds at time `when`. Pure: no I/O. */
int es_aws_prepare(const struct es_aws_call *call, const struct es_endpoint *ep,
                   const struct es_credentials *creds, time_t when, struct es_aws_wire *out);
void es_aws_wire_free(struct es_aws_wire *w);

/* A trace line for every attempt (operation, status, attempt, ms); never
 * carries a secret. Used by the activity log and tests. */
struct es_aws_trace {
	const char *service;
	const char *operation;
	long http_status;
	const char *code; /* AWS error code or "" */
	int attempt;
	long elapsed_ms;
	long retry_in_ms; /* -1 when not retrying */
};
typedef void (*es_aws_trace_fn)(const struct es_aws_trace *t, void *ud);

struct es_aws_client;

/* How the client assumes a role profile's role. The credentials chain runs
 * on a thread of its own (a credential_process or instance metadata can
 * take seconds); its AssumeRole calls come back to the client's loop and
 * go out through these. */
typedef void (*es_assume_role_done_fn)(int rc, const struct es_credentials *creds,
                                       const struct es_error *err, void *ud);
struct es_assume_role_ops {
	/* Send AssumeRole signed with source on c's loop. done runs there
	 * once, never inside this call, unless cancel comes first; *call
	 * names the request for cancel. */
	int (*start)(struct es_aws_client *c, const struct es_credentials *source,
	             const char *role_arn, const char *session_name, const char *external_id,
	             long duration_seconds, es_assume_role_done_fn done, void *ud, void **call);
	void (*cancel)(struct es_aws_client *c, void *call);
};

struct es_aws_options {
	const char *profile;   /* NULL: AWS_PROFILE / default */
	const char *region;    /* NULL: from the environment/profile; else us-east-1 */
	bool lazy_credentials; /* do not resolve until the first request */
	/* NULL: role profiles fail. es_aws_open() passes STS AssumeRole. */
	const struct es_assume_role_ops *assume_role;
	/* A role assumed with the chain's credentials (refreshed before it
	 * expires); role.role_arn NULL: the chain's own credentials. */
	struct es_cred_role role;
};

/* Create a client on loop. Credentials are resolved now (waiting for
 * them) or, lazily, when the first request needs them; a failure to find
 * them is kept and reported by each request, so a console can still open.
 * Only a broken configuration fails here.
 *
 * Credentials are resolved off the loop: while the chain runs (the first
 * time, when temporary credentials come within five minutes of expiring,
 * or after AWS said ExpiredToken), requests wait for it in line and the
 * loop keeps turning. Every request waiting then goes on with the answer. */
int es_aws_client_new(struct es_loop *loop, const struct es_aws_options *o,
                      struct es_aws_client **out);
void es_aws_client_free(struct es_aws_client *c);

const struct es_aws_settings *es_aws_settings_of(const struct es_aws_client *c);
/* Who these credentials are (the caller ARN STS gave), so a denial can say
 * "account X, ARN cannot do …"; copied. */
void es_aws_set_principal(struct es_aws_client *c, const char *arn);
/* The role the client assumes over its chain (es_aws_options.role), or NULL. */
const char *es_aws_role_arn(const struct es_aws_client *c);
/* Credentials, or NULL with the reason left as the last error. Resolves
 * them first when needed, waiting in quiet turns of the loop: headless
 * commands only (on the screen's loop, that wait is a freeze). */
const struct es_credentials *es_aws_credentials(struct es_aws_client *c);
/* The same without waiting: fn runs on the loop, never inside this call,
 * with the credentials (then err is NULL) or NULL and why. */
typedef void (*es_aws_credentials_fn)(const struct es_credentials *creds,
                                      const struct es_error *err, void *ud);
int es_aws_credentials_async(struct es_aws_client *c, es_aws_credentials_fn fn, void *ud);
/* Endpoint for a service id (cached), or NULL with the last error set. */
const struct es_endpoint *es_aws_endpoint(struct es_aws_client *c, const char *service);
const char *es_aws_region(const struct es_aws_client *c);
/* Seconds we add to the local clock after AWS reported skew. */
long es_aws_clock_offset(const struct es_aws_client *c);
void es_aws_set_trace(struct es_aws_client *c, es_aws_trace_fn fn, void *ud);
/* Override the retry budget (tests); attempts >= 1. */
void es_aws_set_max_attempts(struct es_aws_client *c, int attempts);
struct es_loop *es_aws_loop(const struct es_aws_client *c);

/* State another module keeps per client, such as the caller identity that
 * is asked of STS once per client: found by key (the address of something
 * that module owns) and freed with the client by free_fn, so the pipeline
 * never has to know the module. */
#define ES_AWS_MAX_ATTACHMENTS 4
typedef void (*es_aws_detach_fn)(void *data);
void *es_aws_attachment(const struct es_aws_client *c, const void *key);
/* Attach data under key (at most ES_AWS_MAX_ATTACHMENTS keys per client);
 * a second attach under the same key replaces (and frees) the first. */
int es_aws_attach(struct es_aws_client *c, const void *key, void *data, es_aws_detach_fn free_fn);

/* Result of a call: on success rc == ES_OK and resp is the 2xx answer; on
 * failure err says why (resp is the last answer or NULL). Both are valid
 * only during the callback. */
typedef void (*es_aws_done_fn)(int rc, const struct es_http_response *resp,
                               const struct es_error *err, void *ud);

/* Send call (which the client takes over and frees). */
int es_aws_send(struct es_aws_client *c, struct es_aws_call *call, es_aws_done_fn done, void *ud);

/* Send and turn the loop until the answer is in: headless commands only.
 * On success *out holds the answer (free with es_http_response_free). On
 * failure the last error is set. The call is consumed either way. */
int es_aws_send_sync(struct es_aws_client *c, struct es_aws_call *call,
                     struct es_http_response *out);

#endif
