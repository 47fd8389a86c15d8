/* Packaging: which properties become artifacts, how the template is
 * rewritten, and that the zips are byte-for-byte reproducible. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <zip.h>

#include "base/error.h"
#include "package.h"
#include "template.h"
#include "testutil.h"
#include "zipdet.h"

/* ------------------------------------------------------------ helpers */

/* Write dir/rel, creating the directories on the way. */
static void put(const char *dir, const char *rel, const char *text)
{
	char *path, *slash;

	assert_true(asprintf(&path, "%s/%s", dir, rel) > 0);
	for (slash = strchr(path + strlen(dir) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(path, 0755);
		*slash = '/';
	}
	free(path);
	free(tu_write_file(dir, rel, text));
}

static char *join(const char *dir, const char *rel)
{
	char *p;
	assert_true(asprintf(&p, "%s/%s", dir, rel) > 0);
	return p;
}

static void sha256_hex(const void *data, size_t len, char hex[65])
{
	unsigned char md[32];
	unsigned int n = 0;

	assert_true(EVP_Digest(data, len, md, &n, EVP_sha256(), NULL));
	for (int i = 0; i < 32; i++)
		sprintf(hex + 2 * i, "%02x", md[i]);
}

static const char *const node_modules[] = {"node_modules"};
static const struct es_package_options opts = {
        .bucket = "artifact-bucket", .prefix = "app", .excludes = node_modules, .n_excludes = 1};

static const char fn_template[] = "Transform: AWS::Serverless-2016-10-31\n"
                                  "Resources:\n"
                                  "  Fn:\n"
                                  "    Type: AWS::Serverless::Function\n"
                                  "    Properties:\n"
                                  "      CodeUri: src/\n"
                                  "      Handler: index.handler\n"
                                  "      Runtime: nodejs18.x\n";

/* The reference app: code, a manifest, git metadata and dependency junk. */
static char *make_app(const char *template_text, bool reverse)
{
	char *dir = tu_mkdtemp();
	static const char *const files[][2] = {
	        {"src/index.js", "exports.handler = async () => ({status: '200', body: "
	                         "'Lambda@Edge is awesome!'});\n"},
	        {"src/package.json", "{\"name\": \"edge\", \"version\": \"1.0.0\"}\n"},
	        {"src/.git/HEAD", "ref: refs/heads/main\n"},
	        {"src/node_modules/junk/index.js", "module.exports = 1;\n"},
	};
	size_t n = sizeof(files) / sizeof(files[0]);

	assert_non_null(dir);
	if (!reverse)
		put(dir, "template.yaml", template_text);
	for (size_t i = 0; i < n; i++) {
		size_t j = reverse ? n - 1 - i : i;
		put(dir, files[j][0], files[j][1]);
	}
	if (reverse)
		put(dir, "template.yaml", template_text);
	return dir;
}

static void package_ok(const char *dir, const struct es_package_options *o, struct es_packaged *p)
{
	char *tpl = join(dir, "template.yaml");
	int rc = es_package_template(tpl, o, p);

	if (rc)
		fail_msg("package failed: %s", es_error_last()->message);
	free(tpl);
}

static void cleanup(char *dir)
{
	tu_rmtree(dir);
	free(dir);
}

/* Property of resource id in a packaged template. */
static json_t *prop(const struct es_packaged *p, const char *id, const char *name)
{
	return json_object_get(
	        json_object_get(json_object_get(json_object_get(p->template, "Resources"), id),
	                        "Properties"),
	        name);
}

/* The entry names of a zip, joined by ','. */
static char *zip_names(const struct es_buf *b)
{
	zip_error_t ze;
	zip_source_t *src;
	zip_t *za;
	char *names = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&names, &len);

	zip_error_init(&ze);
	src = zip_source_buffer_create(b->data, b->len, 0, &ze);
	za = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &ze);
	assert_non_null(za);
	for (zip_int64_t i = 0; i < zip_get_num_entries(za, 0); i++)
		fprintf(f, "%s%s", i ? "," : "", zip_get_name(za, (zip_uint64_t)i, 0));
	zip_close(za);
	zip_error_fini(&ze);
	fclose(f);
	return names;
}

static unsigned le16(const unsigned char *p)
{
	return p[0] | (unsigned)p[1] << 8;
}

static unsigned long le32(const unsigned char *p)
{
	return le16(p) | (unsigned long)le16(p + 2) << 16;
}

/* Walk the central directory and each local header in the raw bytes: no
 * extra fields anywhere (libzip could add an "UT" timestamp) and the DOS
 * stamp 1980-01-01 00:00 (date 0x0021, time 0). */
static void check_raw_headers(const struct es_buf *b)
{
	const unsigned char *z = (const unsigned char *)b->data;
	const unsigned char *eocd = z + b->len - 22;

	assert_true(b->len >= 22);
	assert_int_equal(le32(eocd), 0x06054b50);
	assert_int_equal(le16(eocd + 20), 0); /* no archive comment */
	unsigned n = le16(eocd + 10);
	unsigned long off = le32(eocd + 16);
	for (unsigned i = 0; i < n; i++) {
		const unsigned char *c = z + off;
		assert_int_equal(le32(c), 0x02014b50);
		assert_int_equal(le16(c + 12), 0);      /* time */
		assert_int_equal(le16(c + 14), 0x0021); /* date */
		assert_int_equal(le16(c + 30), 0);      /* extra field length */
		assert_int_equal(le16(c + 32), 0);      /* comment length */
		const unsigned char *l = z + le32(c + 42);
		assert_int_equal(le32(l), 0x04034b50);
		assert_int_equal(le16(l + 10), 0);
		assert_int_equal(le16(l + 12), 0x0021);
		assert_int_equal(le16(l + 28), 0);
		off += 46 + le16(c + 28) + le16(c + 30) + le16(c + 32);
	}
}

/* ------------------------------------------------------------ tests */

static void app_gives_one_artifact_keyed_by_digest(void **state)
{
	char *dir = make_app(fn_template, false);
	struct es_packaged p;
	char sha[65], uri[256];

	package_ok(dir, &opts, &p);
	assert_int_equal(p.n_artifacts, 1);
	const struct es_artifact *a = &p.artifacts[0];
	assert_string_equal(a->logical_id, "Fn");
	assert_string_equal(a->property, "CodeUri");
	assert_true(a->is_zip);
	assert_false(a->outside_root);
	assert_int_equal(a->n_files, 2); /* index.js, package.json: no .git, no node_modules */
	sha256_hex(a->bytes.data, a->bytes.len, sha);
	assert_string_equal(a->sha256, sha);
	snprintf(uri, sizeof(uri), "app/artifacts/%s.zip", sha);
	assert_string_equal(a->s3_key, uri);
	snprintf(uri, sizeof(uri), "s3://artifact-bucket/app/artifacts/%s.zip", sha);
	assert_string_equal(json_string_value(prop(&p, "Fn", "CodeUri")), uri);
	assert_non_null(strstr(a->local_path, "/src"));
	/* The template's own key follows its JSON. */
	sha256_hex(p.template_json, strlen(p.template_json), sha);
	assert_string_equal(p.template_sha256, sha);
	snprintf(uri, sizeof(uri), "app/templates/%s.json", sha);
	assert_string_equal(p.template_key, uri);
	es_packaged_free(&p);
	cleanup(dir);
}

static void packaging_twice_gives_identical_bytes(void **state)
{
	char *dir = make_app(fn_template, false);
	struct es_packaged a, b;

	package_ok(dir, &opts, &a);
	sleep(1); /* a clock-derived stamp would now differ */
	package_ok(dir, &opts, &b);
	assert_int_equal(a.artifacts[0].bytes.len, b.artifacts[0].bytes.len);
	assert_memory_equal(a.artifacts[0].bytes.data, b.artifacts[0].bytes.data,
	                    a.artifacts[0].bytes.len);
	es_packaged_free(&a);
	es_packaged_free(&b);
	cleanup(dir);
}

static void mtime_and_mode_do_not_change_bytes(void **state)
{
	char *dir = make_app(fn_template, false);
	struct es_packaged a, b;
	const char *rels[] = {"src/index.js", "src/package.json"};
	struct timeval tv[2] = {{1234567890, 0}, {1234567890, 0}};

	package_ok(dir, &opts, &a);
	for (size_t i = 0; i < 2; i++) {
		char *path = join(dir, rels[i]);
		assert_int_equal(utimes(path, tv), 0);
		assert_int_equal(chmod(path, 0600), 0);
		free(path);
	}
	package_ok(dir, &opts, &b);
	assert_string_equal(a.artifacts[0].sha256, b.artifacts[0].sha256);
	assert_memory_equal(a.artifacts[0].bytes.data, b.artifacts[0].bytes.data,
	                    a.artifacts[0].bytes.len);
	es_packaged_free(&a);
	es_packaged_free(&b);
	cleanup(dir);
}

static void creation_order_does_not_change_bytes(void **state)
{
	char *one = make_app(fn_template, false), *two = make_app(fn_template, true);
	struct es_packaged a, b;

	package_ok(one, &opts, &a);
	package_ok(two, &opts, &b);
	assert_int_equal(a.artifacts[0].bytes.len, b.artifacts[0].bytes.len);
	assert_memory_equal(a.artifacts[0].bytes.data, b.artifacts[0].bytes.data,
	                    a.artifacts[0].bytes.len);
	assert_string_equal(a.template_json, b.template_json);
	es_packaged_free(&a);
	es_packaged_free(&b);
	cleanup(one);
	cleanup(two);
}

static void zip_reads_back_sorted_stamped_and_whole(void **state)
{
	char *dir = make_app(fn_template, false);
	struct es_packaged p;
	zip_error_t ze;

	put(dir, "src/lib/b.js", "b\n");
	put(dir, "src/A.js", "A\n");
	put(dir, "src/lib.js", "lib\n");
	package_ok(dir, &opts, &p);
	const struct es_buf *bytes = &p.artifacts[0].bytes;
	check_raw_headers(bytes);
	char *names = zip_names(bytes);
	/* Bytewise: upper case first, '.' (0x2e) before '/' (0x2f). */
	assert_string_equal(names, "A.js,index.js,lib.js,lib/b.js,package.json");
	free(names);

	zip_error_init(&ze);
	zip_source_t *src = zip_source_buffer_create(bytes->data, bytes->len, 0, &ze);
	zip_t *za = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &ze);
	assert_non_null(za);
	for (zip_uint64_t i = 0; i < (zip_uint64_t)zip_get_num_entries(za, 0); i++) {
		zip_stat_t st;
		struct tm tm;
		zip_uint8_t opsys;
		zip_uint32_t attrs;
		assert_int_equal(zip_stat_index(za, i, 0, &st), 0);
		localtime_r(&st.mtime, &tm);
		assert_int_equal(tm.tm_year, 80);
		assert_int_equal(tm.tm_mon, 0);
		assert_int_equal(tm.tm_mday, 1);
		assert_int_equal(tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec, 0);
		assert_int_equal(st.comp_method, ZIP_CM_DEFLATE);
		assert_int_equal(zip_file_get_external_attributes(za, i, 0, &opsys, &attrs), 0);
		assert_int_equal(opsys, ZIP_OPSYS_UNIX);
		assert_int_equal(attrs >> 16, 0100644);
		assert_int_equal(zip_file_extra_fields_count(za, i, ZIP_FL_LOCAL | ZIP_FL_CENTRAL),
		                 0);
		if (!strcmp(st.name, "index.js")) {
			char buf[256] = {0};
			zip_file_t *zf = zip_fopen_index(za, i, 0);
			assert_int_equal(zip_fread(zf, buf, sizeof(buf) - 1), (zip_int64_t)st.size);
			zip_fclose(zf);
			char *path = join(dir, "src/index.js");
			char *disk = tu_read_file(path, NULL);
			assert_string_equal(buf, disk);
			free(disk);
			free(path);
		}
	}
	zip_close(za);
	zip_error_fini(&ze);
	es_packaged_free(&p);
	cleanup(dir);
}

static void executable_files_get_0755(void **state)
{
	char *dir = tu_mkdtemp();
	struct es_buf b = ES_BUF_INIT;
	zip_error_t ze;
	zip_uint8_t opsys;
	zip_uint32_t attrs;

	put(dir, "run.sh", "#!/bin/sh\n");
	char *path = join(dir, "run.sh");
	chmod(path, 0700);
	assert_int_equal(es_zip_dir(dir, NULL, &b, NULL), ES_OK);
	zip_error_init(&ze);
	zip_t *za = zip_open_from_source(zip_source_buffer_create(b.data, b.len, 0, &ze),
	                                 ZIP_RDONLY, &ze);
	assert_int_equal(zip_file_get_external_attributes(za, 0, 0, &opsys, &attrs), 0);
	assert_int_equal(attrs >> 16, 0100755);
	zip_close(za);
	zip_error_fini(&ze);
	es_buf_free(&b);
	free(path);
	cleanup(dir);
}

static void git_is_never_included(void **state)
{
	char *dir = tu_mkdtemp();
	struct es_buf b = ES_BUF_INIT;
	size_t n;

	put(dir, "a.js", "a\n");
	put(dir, ".git/config", "[core]\n");
	put(dir, "sub/.git", "gitdir: ../.git/worktrees/sub\n");
	put(dir, "sub/b.js", "b\n");
	put(dir, ".gitignore", "node_modules\n");
	assert_int_equal(es_zip_dir(dir, NULL, &b, &n), ES_OK);
	assert_int_equal(n, 3);
	char *names = zip_names(&b);
	assert_string_equal(names, ".gitignore,a.js,sub/b.js");
	free(names);
	es_buf_free(&b);
	cleanup(dir);
}

static void excludes_are_honoured(void **state)
{
	char *dir = tu_mkdtemp();
	struct es_buf b = ES_BUF_INIT;
	const char *const ex[] = {"*.log", "test/*", "node_modules", "src/*.map"};
	struct es_zip_options o = {.excludes = ex, .n_excludes = 4};

	put(dir, "index.js", "i\n");
	put(dir, "debug.log", "x\n");
	put(dir, "deep/er/trace.log", "x\n");
	put(dir, "test/unit/t.js", "x\n");
	put(dir, "node_modules/x/index.js", "x\n");
	put(dir, "lib/node_modules/y.js", "x\n");
	put(dir, "src/app.js", "a\n");
	put(dir, "src/app.js.map", "x\n");
	assert_int_equal(es_zip_dir(dir, &o, &b, NULL), ES_OK);
	char *names = zip_names(&b);
	assert_string_equal(names, "index.js,src/app.js");
	free(names);
	es_buf_free(&b);
	cleanup(dir);
}

static void symlinks_followed_only_inside(void **state)
{
	char *dir = tu_mkdtemp();
	struct es_buf b = ES_BUF_INIT;

	put(dir, "real/a.js", "a\n");
	char *inner = join(dir, "link.js"), *outer = join(dir, "passwd"),
	     *up = join(dir, "real/up");
	assert_int_equal(symlink("real/a.js", inner), 0);
	assert_int_equal(symlink("/etc/passwd", outer), 0);
	assert_int_equal(symlink("..", up), 0); /* a loop back to the root */
	assert_int_equal(es_zip_dir(dir, NULL, &b, NULL), ES_OK);
	char *names = zip_names(&b);
	assert_string_equal(names, "link.js,real/a.js");
	free(names);
	free(inner);
	free(outer);
	free(up);
	es_buf_free(&b);
	cleanup(dir);
}

static void zip_dir_refuses_missing_and_empty(void **state)
{
	char *dir = tu_mkdtemp();
	struct es_buf b = ES_BUF_INIT;
	const char *const ex[] = {"*"};
	struct es_zip_options o = {.excludes = ex, .n_excludes = 1};

	assert_int_equal(es_zip_dir("/nonexistent/dir", NULL, &b, NULL), ES_ENOTFOUND);
	assert_string_equal(es_error_last()->message, "/nonexistent/dir: no such directory");
	assert_int_equal(es_zip_dir(dir, NULL, &b, NULL), ES_EINVAL);
	put(dir, "a.js", "a\n");
	assert_int_equal(es_zip_dir(dir, &o, &b, NULL), ES_EINVAL);
	assert_non_null(strstr(es_error_last()->message, "nothing to package"));
	assert_int_equal(b.len, 0);
	cleanup(dir);
}

static void inline_code_gives_no_artifact(void **state)
{
	char *dir = make_app("Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n"
	                     "    Properties:\n      InlineCode: 'exports.handler = 1'\n"
	                     "      Handler: index.handler\n",
	                     false);
	struct es_packaged p;

	package_ok(dir, &opts, &p);
	assert_int_equal(p.n_artifacts, 0);
	assert_null(prop(&p, "Fn", "CodeUri"));
	es_packaged_free(&p);
	cleanup(dir);
}

static void code_as_mapping_is_untouched(void **state)
{
	char *dir = make_app("Resources:\n"
	                     "  A:\n    Type: AWS::Lambda::Function\n"
	                     "    Properties:\n      Code: {ZipFile: 'exports.handler = 1'}\n"
	                     "  B:\n    Type: AWS::Lambda::Function\n"
	                     "    Properties:\n      Code: {S3Bucket: b, S3Key: k.zip}\n",
	                     false);
	struct es_packaged p;

	package_ok(dir, &opts, &p);
	assert_int_equal(p.n_artifacts, 0);
	assert_string_equal(
	        p.template_json,
	        "{\"Resources\":{\"A\":{\"Type\":\"AWS::Lambda::Function\","
	        "\"Properties\":{\"Code\":{\"ZipFile\":\"exports.handler = 1\"}}},"
	        "\"B\":{\"Type\":\"AWS::Lambda::Function\","
	        "\"Properties\":{\"Code\":{\"S3Bucket\":\"b\",\"S3Key\":\"k.zip\"}}}}}");
	es_packaged_free(&p);
	cleanup(dir);
}

static void lambda_code_becomes_bucket_and_key(void **state)
{
	char *dir = make_app("Resources:\n  Fn:\n    Type: AWS::Lambda::Function\n"
	                     "    Properties:\n      Code: ./src\n",
	                     false);
	struct es_packaged p;

	package_ok(dir, &opts, &p);
	assert_int_equal(p.n_artifacts, 1);
	json_t *code = prop(&p, "Fn", "Code");
	assert_string_equal(json_string_value(json_object_get(code, "S3Bucket")),
	                    "artifact-bucket");
	assert_string_equal(json_string_value(json_object_get(code, "S3Key")),
	                    p.artifacts[0].s3_key);
	assert_int_equal(json_object_size(code), 2);
	es_packaged_free(&p);
	cleanup(dir);
}

static void missing_codeuri_zips_template_dir(void **state)
{
	char *dir = make_app("Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n"
	                     "    Properties:\n      Handler: src/index.handler\n",
	                     false);
	struct es_packaged p;

	put(dir, ".git/HEAD", "ref: refs/heads/main\n");
	package_ok(dir, &opts, &p);
	assert_int_equal(p.n_artifacts, 1);
	char *names = zip_names(&p.artifacts[0].bytes);
	assert_string_equal(names, "src/index.js,src/package.json,template.yaml");
	free(names);
	assert_non_null(
	        strstr(json_string_value(prop(&p, "Fn", "CodeUri")), "s3://artifact-bucket/"));
	es_packaged_free(&p);
	cleanup(dir);
}

static void missing_path_is_a_clear_error(void **state)
{
	char *dir = tu_mkdtemp();
	char *tpl = join(dir, "template.yaml");
	struct es_packaged p;

	put(dir, "template.yaml", fn_template);
	assert_int_equal(es_package_template(tpl, &opts, &p), ES_ENOTFOUND);
	assert_string_equal(es_error_last()->message,
	                    "template.yaml:6: resource Fn property CodeUri: path src/ does not "
	                    "exist");
	assert_null(p.template);
	assert_int_equal(p.n_artifacts, 0);
	free(tpl);
	cleanup(dir);
}

static void globals_codeuri_is_honoured(void **state)
{
	char *dir = make_app("Globals:\n  Function:\n    CodeUri: src/\n    Runtime: nodejs18.x\n"
	                     "Resources:\n"
	                     "  A:\n    Type: AWS::Serverless::Function\n"
	                     "    Properties: {Handler: index.a}\n"
	                     "  B:\n    Type: AWS::Serverless::Function\n"
	                     "    Properties: {Handler: index.b}\n",
	                     false);
	struct es_packaged p;
	char uri[256];

	package_ok(dir, &opts, &p);
	assert_int_equal(p.n_artifacts, 1);
	assert_string_equal(p.artifacts[0].logical_id, "Globals");
	assert_int_equal(p.artifacts[0].n_files, 2);
	snprintf(uri, sizeof(uri), "s3://artifact-bucket/%s", p.artifacts[0].s3_key);
	json_t *g = json_object_get(json_object_get(p.template, "Globals"), "Function");
	assert_string_equal(json_string_value(json_object_get(g, "CodeUri")), uri);
	assert_null(prop(&p, "A", "CodeUri")); /* inherited through SAM's Globals */
	assert_null(prop(&p, "B", "CodeUri"));
	es_packaged_free(&p);
	cleanup(dir);
}

static void s3_uri_is_left_alone(void **state)
{
	char *dir = make_app("Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n"
	                     "    Properties:\n      CodeUri: s3://other/code.zip\n",
	                     false);
	struct es_packaged p;

	package_ok(dir, &opts, &p);
	assert_int_equal(p.n_artifacts, 0);
	assert_string_equal(json_string_value(prop(&p, "Fn", "CodeUri")), "s3://other/code.zip");
	es_packaged_free(&p);
	cleanup(dir);
}

static void shared_codeuri_is_listed_once(void **state)
{
	char *dir = make_app("Resources:\n"
	                     "  A:\n    Type: AWS::Serverless::Function\n"
	                     "    Properties: {CodeUri: src/, Handler: index.a}\n"
	                     "  B:\n    Type: AWS::Serverless::Function\n"
	                     "    Properties: {CodeUri: ./src, Handler: index.b}\n",
	                     false);
	struct es_packaged p;

	package_ok(dir, &opts, &p);
	assert_int_equal(p.n_artifacts, 1);
	assert_string_equal(p.artifacts[0].logical_id, "A");
	assert_string_equal(json_string_value(prop(&p, "A", "CodeUri")),
	                    json_string_value(prop(&p, "B", "CodeUri")));
	es_packaged_free(&p);
	cleanup(dir);
}

static void template_json_is_stable(void **state)
{
	char *one = make_app(fn_template, false), *two = make_app(fn_template, true);
	struct es_packaged a, b, c;

	package_ok(one, &opts, &a);
	package_ok(one, &opts, &b);
	package_ok(two, &opts, &c); /* another checkout, another directory */
	assert_string_equal(a.template_json, b.template_json);
	assert_string_equal(a.template_json, c.template_json);
	assert_string_equal(a.template_key, c.template_key);
	es_packaged_free(&a);
	es_packaged_free(&b);
	es_packaged_free(&c);
	cleanup(one);
	cleanup(two);
}

static void single_file_is_zipped_unless_zip(void **state)
{
	char *dir = make_app("Resources:\n"
	                     "  A:\n    Type: AWS::Serverless::Function\n"
	                     "    Properties: {CodeUri: src/index.js}\n"
	                     "  L:\n    Type: AWS::Lambda::LayerVersion\n"
	                     "    Properties: {Content: layer.zip}\n",
	                     false);
	struct es_packaged p;
	struct es_buf layer = ES_BUF_INIT;

	put(dir, "layer/x.js", "x\n");
	char *ldir = join(dir, "layer"), *lzip = join(dir, "layer.zip");
	assert_int_equal(es_zip_dir(ldir, NULL, &layer, NULL), ES_OK);
	FILE *f = fopen(lzip, "wb");
	fwrite(layer.data, 1, layer.len, f);
	fclose(f);
	package_ok(dir, &opts, &p);
	assert_int_equal(p.n_artifacts, 2);
	char *names = zip_names(&p.artifacts[0].bytes);
	assert_string_equal(names, "index.js");
	free(names);
	assert_int_equal(p.artifacts[1].bytes.len, layer.len); /* uploaded as-is */
	assert_memory_equal(p.artifacts[1].bytes.data, layer.data, layer.len);
	assert_true(p.artifacts[1].is_zip);
	es_buf_free(&layer);
	free(ldir);
	free(lzip);
	es_packaged_free(&p);
	cleanup(dir);
}

static void definition_uri_is_uploaded_as_is(void **state)
{
	char *dir = make_app("Resources:\n  Api:\n    Type: AWS::Serverless::Api\n"
	                     "    Properties: {StageName: v1, DefinitionUri: api.yaml}\n",
	                     false);
	struct es_packaged p;

	put(dir, "api.yaml", "openapi: 3.0.1\n");
	package_ok(dir, &opts, &p);
	assert_int_equal(p.n_artifacts, 1);
	assert_false(p.artifacts[0].is_zip);
	assert_string_equal(p.artifacts[0].bytes.data, "openapi: 3.0.1\n");
	assert_non_null(strstr(p.artifacts[0].s3_key, ".yaml"));
	es_packaged_free(&p);
	cleanup(dir);
}

/* Options whose root is dir (the repository being packaged). */
static struct es_package_options rooted(const char *dir)
{
	struct es_package_options o = opts;
	o.root = dir;
	return o;
}

/* Package dir/rel with root dir; expect a refusal whose message is want. */
static void expect_refused(const char *dir, const char *rel, const char *want)
{
	struct es_package_options o = rooted(dir);
	char *tpl = join(dir, rel);
	struct es_packaged p;

	assert_int_equal(es_package_template(tpl, &o, &p), ES_EREFUSED);
	if (!strstr(es_error_last()->message, want))
		fail_msg("expected \"%s\" in: %s", want, es_error_last()->message);
	assert_null(p.template);
	assert_int_equal(p.n_artifacts, 0);
	free(tpl);
}

static void subfolder_template_may_use_parent_inside_the_repository(void **state)
{
	char *dir = tu_mkdtemp();
	char *tpl = join(dir, "app/template.yaml");
	struct es_package_options o = rooted(dir);
	struct es_packaged p;

	put(dir, "app/template.yaml",
	    "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n"
	    "    Properties: {CodeUri: ../shared}\n");
	put(dir, "shared/x.js", "x\n");
	assert_int_equal(es_package_template(tpl, &o, &p), ES_OK);
	assert_int_equal(p.n_artifacts, 1);
	assert_true(p.artifacts[0].outside_root);
	assert_string_equal(p.artifacts[0].property, "CodeUri");
	es_packaged_free(&p);
	/* Without a repository root, the template's directory is the limit. */
	assert_int_equal(es_package_template(tpl, &opts, &p), ES_EREFUSED);
	assert_string_equal(es_error_last()->message,
	                    "template.yaml:4: resource Fn property CodeUri: ../shared leaves the "
	                    "template's directory: only files committed in the template's "
	                    "directory are deployed; move them into it and point CodeUri at "
	                    "them, e.g. CodeUri: src/");
	free(tpl);
	cleanup(dir);
}

static void parent_outside_the_repository_is_refused(void **state)
{
	char *dir = tu_mkdtemp();

	put(dir, "repo/template.yaml",
	    "Transform: AWS::Serverless-2016-10-31\n"
	    "Resources:\n"
	    "  Fn:\n"
	    "    Type: AWS::Serverless::Function\n"
	    "    Properties:\n"
	    "      Handler: index.handler\n"
	    "      CodeUri: ../outside-dir/\n");
	put(dir, "outside-dir/secret.js", "secret\n");
	char *repo = join(dir, "repo");
	expect_refused(repo, "template.yaml",
	               "template.yaml:7: resource Fn property CodeUri: ../outside-dir/ leaves the "
	               "repository: only files committed in the repository are deployed; move "
	               "them into it and point CodeUri at them, e.g. CodeUri: src/");
	/* Climbing out and back in through the root's own name still leaves. */
	put(dir, "repo/sub/t.yaml",
	    "Resources:\n  Fn:\n    Type: AWS::Lambda::Function\n"
	    "    Properties:\n      Code: ../../repo/sub\n");
	expect_refused(repo, "sub/t.yaml",
	               "sub/t.yaml:5: resource Fn property Code: ../../repo/sub leaves the "
	               "repository");
	free(repo);
	cleanup(dir);
}

static void absolute_paths_are_refused(void **state)
{
	char *dir = tu_mkdtemp();
	char text[512];

	snprintf(text, sizeof(text),
	         "Resources:\n  Api:\n    Type: AWS::Serverless::Api\n"
	         "    Properties:\n      StageName: v1\n      DefinitionUri: %s/api.yaml\n",
	         dir);
	put(dir, "template.yaml", text);
	put(dir, "api.yaml", "openapi: 3.0.1\n");
	expect_refused(dir, "template.yaml",
	               "template.yaml:6: resource Api property DefinitionUri: ");
	expect_refused(dir, "template.yaml", "/api.yaml is an absolute path");
	cleanup(dir);
}

static void symlink_escapes_are_refused(void **state)
{
	char *dir = tu_mkdtemp();
	char *outside = tu_mkdtemp();
	char *link;

	put(outside, "code/index.js", "leak\n");
	/* A property that names a link out of the tree. */
	put(dir, "template.yaml",
	    "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n"
	    "    Properties:\n      CodeUri: vendored\n");
	link = join(dir, "vendored");
	char *target = join(outside, "code");
	assert_int_equal(symlink(target, link), 0);
	expect_refused(dir, "template.yaml",
	               "template.yaml:5: resource Fn property CodeUri: vendored goes through a "
	               "symbolic link to ");
	expect_refused(dir, "template.yaml", "outside the repository");
	free(link);

	/* A link inside a zipped directory. */
	put(dir, "template.yaml",
	    "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n"
	    "    Properties:\n      CodeUri: src/\n");
	put(dir, "src/index.js", "ok\n");
	link = join(dir, "src/lib");
	assert_int_equal(symlink(target, link), 0);
	expect_refused(dir, "template.yaml",
	               "template.yaml:5: resource Fn property CodeUri: src/lib is a symbolic "
	               "link to ");
	free(link);
	link = join(dir, "src/lib");
	unlink(link);
	free(link);

	/* The template itself. */
	char *real_tpl = join(outside, "t.yaml");
	put(outside, "t.yaml", "Resources: {}\n");
	link = join(dir, "linked.yaml");
	assert_int_equal(symlink(real_tpl, link), 0);
	expect_refused(dir, "linked.yaml", "linked.yaml is a symbolic link to ");
	free(link);
	free(real_tpl);
	free(target);
	cleanup(outside);
	cleanup(dir);
}

static void nested_templates_share_the_root(void **state)
{
	char *dir = make_app("Resources:\n  Child:\n    Type: AWS::Serverless::Application\n"
	                     "    Properties:\n      Location: nested/child.yaml\n",
	                     false);
	struct es_package_options o = rooted(dir);
	struct es_packaged p;
	char *tpl = join(dir, "template.yaml");

	/* The child may reach the root's src/ … */
	put(dir, "nested/child.yaml",
	    "Resources:\n  Fn:\n    Type: AWS::Lambda::Function\n"
	    "    Properties: {Code: ../src}\n");
	assert_int_equal(es_package_template(tpl, &o, &p), ES_OK);
	assert_int_equal(p.n_artifacts, 2);
	assert_string_equal(p.artifacts[1].property, "Location");
	assert_non_null(strstr(json_string_value(prop(&p, "Child", "Location")),
	                       "https://s3.amazonaws.com/artifact-bucket/app/templates/"));
	es_packaged_free(&p);
	/* … but not beyond it, and the message names the child and its line. */
	put(dir, "nested/child.yaml",
	    "Resources:\n  Fn:\n    Type: AWS::Lambda::Function\n"
	    "    Properties:\n      Handler: x\n      Code: ../../elsewhere\n");
	expect_refused(dir, "template.yaml",
	               "nested/child.yaml:6: resource Fn property Code: ../../elsewhere leaves "
	               "the repository");
	free(tpl);
	cleanup(dir);
}

static void every_exported_property_is_packaged(void **state)
{
	char *dir = make_app("Metadata:\n"
	                     "  AWS::ServerlessRepo::Application:\n"
	                     "    ReadmeUrl: docs/README.txt\n"
	                     "Resources:\n"
	                     "  Rest:\n"
	                     "    Type: AWS::ApiGateway::RestApi\n"
	                     "    Properties:\n"
	                     "      BodyS3Location: api/openapi.yaml\n"
	                     "  Job:\n"
	                     "    Type: AWS::Glue::Job\n"
	                     "    Properties:\n"
	                     "      Command: {Name: glueetl, ScriptLocation: jobs/etl.py}\n"
	                     "  Repo:\n"
	                     "    Type: AWS::CodeCommit::Repository\n"
	                     "    Properties:\n"
	                     "      RepositoryName: seed\n"
	                     "      Code: {S3: src}\n"
	                     "  Machine:\n"
	                     "    Type: AWS::StepFunctions::StateMachine\n"
	                     "    Properties:\n"
	                     "      DefinitionS3Location: {Bucket: elsewhere, Key: k}\n"
	                     "  Bucket:\n"
	                     "    Type: AWS::S3::Bucket\n"
	                     "    Properties:\n"
	                     "      Fn::Transform:\n"
	                     "        Name: AWS::Include\n"
	                     "        Parameters: {Location: snippets/bucket.yaml}\n",
	                     false);
	struct es_package_options o = rooted(dir);
	struct es_packaged p;
	char *tpl = join(dir, "template.yaml");

	put(dir, "docs/README.txt", "read me\n");
	put(dir, "api/openapi.yaml", "openapi: 3.0.1\n");
	put(dir, "jobs/etl.py", "print(1)\n");
	put(dir, "snippets/bucket.yaml", "BucketName: b\n");
	assert_int_equal(es_package_template(tpl, &o, &p), ES_OK);
	assert_int_equal(p.n_artifacts, 5);
	json_t *body = prop(&p, "Rest", "BodyS3Location");
	assert_string_equal(json_string_value(json_object_get(body, "Bucket")), "artifact-bucket");
	assert_non_null(strstr(json_string_value(json_object_get(body, "Key")), ".yaml"));
	const char *script =
	        json_string_value(json_object_get(prop(&p, "Job", "Command"), "ScriptLocation"));
	assert_int_equal(strncmp(script, "s3://artifact-bucket/app/artifacts/", 35), 0);
	json_t *seed = json_object_get(prop(&p, "Repo", "Code"), "S3");
	assert_non_null(strstr(json_string_value(json_object_get(seed, "Key")), ".zip"));
	/* An S3 location already given is left alone. */
	assert_string_equal(json_string_value(json_object_get(
	                            prop(&p, "Machine", "DefinitionS3Location"), "Bucket")),
	                    "elsewhere");
	json_t *params = json_object_get(prop(&p, "Bucket", "Fn::Transform"), "Parameters");
	assert_int_equal(strncmp(json_string_value(json_object_get(params, "Location")),
	                         "s3://artifact-bucket/app/artifacts/", 35),
	                 0);
	const char *readme = json_string_value(
	        json_object_get(json_object_get(json_object_get(p.template, "Metadata"),
	                                        "AWS::ServerlessRepo::Application"),
	                        "ReadmeUrl"));
	assert_int_equal(strncmp(readme, "s3://artifact-bucket/app/artifacts/", 35), 0);
	es_packaged_free(&p);

	/* Each of them is confined too. */
	put(dir, "template.yaml",
	    "Resources:\n"
	    "  Bucket:\n"
	    "    Type: AWS::S3::Bucket\n"
	    "    Properties:\n"
	    "      Tags:\n"
	    "        - Fn::Transform:\n"
	    "            Name: AWS::Include\n"
	    "            Parameters:\n"
	    "              Location: ../include.yaml\n");
	expect_refused(dir, "template.yaml",
	               "template.yaml:9: AWS::Include Location: ../include.yaml leaves the "
	               "repository");
	put(dir, "template.yaml",
	    "Resources:\n  Job:\n    Type: AWS::Glue::Job\n    Properties:\n"
	    "      Command:\n        ScriptLocation: /etc/passwd\n");
	expect_refused(dir, "template.yaml",
	               "template.yaml:6: resource Job property Command.ScriptLocation: /etc/passwd "
	               "is an absolute path");
	put(dir, "template.yaml",
	    "Metadata:\n  AWS::ServerlessRepo::Application:\n    LicenseUrl: ../LICENSE\n");
	expect_refused(dir, "template.yaml",
	               "template.yaml:3: Metadata LicenseUrl: ../LICENSE leaves the repository");
	free(tpl);
	cleanup(dir);
}

static void json_template_errors_name_the_line(void **state)
{
	char *dir = tu_mkdtemp();

	put(dir, "template.json",
	    "{\n"
	    "  \"Resources\": {\n"
	    "    \"Fn\": {\n"
	    "      \"Type\": \"AWS::Serverless::Function\",\n"
	    "      \"Properties\": {\n"
	    "        \"Handler\": \"index.handler\",\n"
	    "        \"CodeUri\": \"../x\"\n"
	    "      }\n"
	    "    }\n"
	    "  }\n"
	    "}\n");
	expect_refused(dir, "template.json",
	               "template.json:7: resource Fn property CodeUri: ../x leaves the "
	               "repository");
	cleanup(dir);
}

static void nested_stack_is_packaged(void **state)
{
	char *dir = make_app("Resources:\n  Child:\n    Type: AWS::CloudFormation::Stack\n"
	                     "    Properties: {TemplateURL: nested/child.yaml}\n",
	                     false);
	struct es_packaged p;
	char url[256];

	put(dir, "nested/child.yaml",
	    "Resources:\n  Fn:\n    Type: AWS::Lambda::Function\n"
	    "    Properties: {Code: ../src}\n");
	package_ok(dir, &opts, &p);
	assert_int_equal(p.n_artifacts, 2);
	assert_string_equal(p.artifacts[0].logical_id, "Fn"); /* the child's code first */
	assert_string_equal(p.artifacts[1].property, "TemplateURL");
	assert_non_null(strstr(p.artifacts[1].bytes.data, p.artifacts[0].s3_key));
	assert_int_equal(strncmp(p.artifacts[1].s3_key, "app/templates/", 14), 0);
	snprintf(url, sizeof(url), "https://s3.amazonaws.com/artifact-bucket/%s",
	         p.artifacts[1].s3_key);
	assert_string_equal(json_string_value(prop(&p, "Child", "TemplateURL")), url);
	es_packaged_free(&p);
	cleanup(dir);
}

/* As the CLI does for the properties it packages even when absent
 * (PACKAGE_NULL_PROPERTY): the template's directory is zipped. */
static void missing_code_of_other_kinds_zips_template_dir(void **state)
{
	char *dir = make_app("Resources:\n"
	                     "  Layer:\n"
	                     "    Type: AWS::Lambda::LayerVersion\n"
	                     "    Properties: {LayerName: l}\n"
	                     "  Job:\n"
	                     "    Type: AWS::Glue::Job\n"
	                     "    Properties: {Role: r}\n"
	                     "  Api:\n"
	                     "    Type: AWS::Serverless::Api\n"
	                     "    Properties: {StageName: prod}\n"
	                     "  Inline:\n"
	                     "    Type: AWS::Serverless::Function\n"
	                     "    Properties: {InlineCode: 'x', Handler: index.handler, "
	                     "Runtime: nodejs22.x}\n",
	                     false);
	struct es_packaged p;

	package_ok(dir, &opts, &p);
	/* One zip of the directory, shared by the layer and the Glue job. */
	assert_int_equal(p.n_artifacts, 1);
	char *names = zip_names(&p.artifacts[0].bytes);
	assert_string_equal(names, "src/index.js,src/package.json,template.yaml");
	free(names);
	json_t *content = prop(&p, "Layer", "Content");
	assert_string_equal(json_string_value(json_object_get(content, "S3Key")),
	                    p.artifacts[0].s3_key);
	const char *script =
	        json_string_value(json_object_get(prop(&p, "Job", "Command"), "ScriptLocation"));
	assert_non_null(script);
	assert_non_null(strstr(script, p.artifacts[0].s3_key));
	/* Properties the CLI skips when absent stay absent. */
	assert_null(prop(&p, "Api", "DefinitionUri"));
	assert_null(prop(&p, "Inline", "CodeUri"));
	es_packaged_free(&p);
	cleanup(dir);
}

static void for_each_blocks_are_packaged(void **state)
{
	char *dir = make_app("Transform: [AWS::LanguageExtensions, AWS::Serverless-2016-10-31]\n"
	                     "Resources:\n"
	                     "  Fn::ForEach::Fns:\n"
	                     "    - Name\n"
	                     "    - [A, B]\n"
	                     "    - ${Name}Fn:\n"
	                     "        Type: AWS::Serverless::Function\n"
	                     "        Properties:\n"
	                     "          CodeUri: src/\n"
	                     "          Handler: index.handler\n"
	                     "          Runtime: nodejs18.x\n",
	                     false);
	struct es_packaged p;

	package_ok(dir, &opts, &p);
	assert_int_equal(p.n_artifacts, 1);
	json_t *block = json_object_get(json_object_get(p.template, "Resources"), "Fn::ForEach::Fns");
	json_t *fn = json_object_get(json_array_get(block, 2), "${Name}Fn");
	json_t *props = json_object_get(fn, "Properties");
	char want[200];
	snprintf(want, sizeof(want), "s3://artifact-bucket/%s", p.artifacts[0].s3_key);
	assert_string_equal(json_string_value(json_object_get(props, "CodeUri")), want);
	es_packaged_free(&p);

	put(dir, "template.yaml", "Resources:\n  Fn::ForEach::Bad: {Type: x}\n");
	char *tpl = join(dir, "template.yaml");
	assert_int_equal(es_package_template(tpl, &opts, &p), ES_EINVAL);
	assert_string_equal(es_error_last()->message,
	                    "template.yaml: Fn::ForEach::Bad must be [Identifier, Collection, "
	                    "{Resources}]");
	free(tpl);
	cleanup(dir);
}

static void bucket_is_required(void **state)
{
	struct es_package_options o = {.bucket = NULL};
	struct es_packaged p;

	assert_int_equal(es_package_template("template.yaml", &o, &p), ES_EINVAL);
	assert_string_equal(es_error_last()->message, "packaging needs an artifact bucket");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(app_gives_one_artifact_keyed_by_digest),
	        cmocka_unit_test(packaging_twice_gives_identical_bytes),
	        cmocka_unit_test(mtime_and_mode_do_not_change_bytes),
	        cmocka_unit_test(creation_order_does_not_change_bytes),
	        cmocka_unit_test(zip_reads_back_sorted_stamped_and_whole),
	        cmocka_unit_test(executable_files_get_0755),
	        cmocka_unit_test(git_is_never_included),
	        cmocka_unit_test(excludes_are_honoured),
	        cmocka_unit_test(symlinks_followed_only_inside),
	        cmocka_unit_test(zip_dir_refuses_missing_and_empty),
	        cmocka_unit_test(inline_code_gives_no_artifact),
	        cmocka_unit_test(code_as_mapping_is_untouched),
	        cmocka_unit_test(lambda_code_becomes_bucket_and_key),
	        cmocka_unit_test(missing_codeuri_zips_template_dir),
	        cmocka_unit_test(missing_path_is_a_clear_error),
	        cmocka_unit_test(globals_codeuri_is_honoured),
	        cmocka_unit_test(s3_uri_is_left_alone),
	        cmocka_unit_test(shared_codeuri_is_listed_once),
	        cmocka_unit_test(template_json_is_stable),
	        cmocka_unit_test(single_file_is_zipped_unless_zip),
	        cmocka_unit_test(definition_uri_is_uploaded_as_is),
	        cmocka_unit_test(subfolder_template_may_use_parent_inside_the_repository),
	        cmocka_unit_test(parent_outside_the_repository_is_refused),
	        cmocka_unit_test(absolute_paths_are_refused),
	        cmocka_unit_test(symlink_escapes_are_refused),
	        cmocka_unit_test(nested_templates_share_the_root),
	        cmocka_unit_test(every_exported_property_is_packaged),
	        cmocka_unit_test(json_template_errors_name_the_line),
	        cmocka_unit_test(nested_stack_is_packaged),
	        cmocka_unit_test(missing_code_of_other_kinds_zips_template_dir),
	        cmocka_unit_test(for_each_blocks_are_packaged),
	        cmocka_unit_test(bucket_is_required),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
