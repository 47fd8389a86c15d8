/* What the fake's three files share: its state, the answer being built and
 * small helpers. Only tests/unit/fakeaws*.c include this; tests use
 * fakeaws.h. */
#ifndef ES_FAKEAWS_INT_H
#define ES_FAKEAWS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "aws/http.h"
#include "base/buf.h"
#include "fakeaws.h"

struct fake_rule {
	struct fake_rule *next;
	char *method;  /* NULL: any */
	char *pattern; /* see fakeaws.h */
	long status;   /* FAKE_S3: the in-memory S3 answers */
	char *headers; /* '\n'-separated "Name: value" lines or NULL */
	char *body;    /* NULL: none */
	/* An AWS error whose body is shaped per request (fake_expect_error). */
	char *error_code;
	char *error_message;
	int times; /* uses left; FAKE_FOREVER */
	int hits;
	long delay_ms;
	int curl_code; /* transport error instead of an answer */
	char *curl_text;
	bool lost;
	char *body_has;
	char *header_name;
	char *header_value; /* NULL with header_name: header must be absent */
	char *service;
	fake_hook_fn hook;
	void *hook_ud;
};

struct s3_object {
	char *bucket;
	char *key;
	char *data;
	size_t len;
	char etag[40];
	char content_type[96];
	time_t modified;
};

/* An answer on its way back, held by a loop timer. */
struct pending {
	struct pending *next;
	struct fake_aws *fake;
	struct es_http_call *call;
	struct es_http_response resp;
	uint64_t timer;
};

struct fake_aws {
	struct es_loop *loop;
	struct es_http_transport transport;
	struct fake_rule *rules, *last_rule;
	struct fake_request **log;
	size_t n_log, cap_log;
	size_t next_index; /* survives fake_log_clear so request ids stay unique */
	size_t unmatched;
	struct pending *pending;
	long clock_offset;
	char **expired_keys;
	size_t n_expired;
	char **buckets;
	size_t n_buckets;
	struct s3_object *objects; /* sorted by bucket, then key (byte order) */
	size_t n_objects;
	int page_size;
};

/* An answer being built. */
struct answer {
	long status;
	int curl_code;
	char error[256];
	struct es_buf body;
	char *hdr_names[24];
	char *hdr_values[24];
	size_t n_hdrs;
};

/* Helpers (fakeaws.c). fk_strdup/fk_calloc fail the test on no memory. */
char *fk_strdup(const char *s);
void *fk_calloc(size_t n, size_t size);
/* Percent-decode s[0..len) ('+' as space when form is set); malloc'd. */
char *fk_decode(const char *s, size_t len, bool form);
void fk_xml_escape(struct es_buf *b, const char *s);
void fk_iso8601(time_t t, char out[32]);
void fk_http_date(time_t t, char out[40]);
/* The fake's clock: ours plus fake_set_clock_offset(). */
time_t fk_now(const struct fake_aws *f);
/* Set (or replace) a header of the answer. */
void fk_answer_header(struct answer *a, const char *name, const char *value);
/* An AWS error in the shape the request's protocol uses. */
void fk_error_body(const struct fake_request *q, struct answer *a, long status, const char *code,
                   const char *message);
bool fk_json_service(const char *service);
/* S3 path-style "/bucket" or "/bucket/key…" → decoded parts (malloc'd;
 * *key NULL when there is none). */
void fk_s3_split(const char *path, char **bucket, char **key);

/* The in-memory S3 (fakeaws_s3.c): answer q, setting *applied when the
 * store changed. */
void fk_s3_handle(struct fake_aws *f, const struct fake_request *q, struct answer *a,
                  bool *applied);

#endif
