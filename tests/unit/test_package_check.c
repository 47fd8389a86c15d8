/* Checks made before anything is uploaded: each function's zip holds its
 * handler's module, and edge functions keep to Lambda@Edge's rules. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "base/error.h"
#include "package.h"
#include "testutil.h"

static const struct es_package_options opts = {.bucket = "artifact-bucket", .prefix = "app"};

/* Write dir/rel (len bytes of data), creating the directories on the way. */
static void put_bytes(const char *dir, const char *rel, const void *data, size_t len)
{
	char *path, *slash;
	FILE *f;

	assert_true(asprintf(&path, "%s/%s", dir, rel) > 0);
	for (slash = strchr(path + strlen(dir) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(path, 0755);
		*slash = '/';
	}
	assert_non_null(f = fopen(path, "wb"));
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
	free(path);
}

static void put(const char *dir, const char *rel, const char *text)
{
	put_bytes(dir, rel, text, strlen(text));
}

/* Package dir/template.yaml; the status, and the message in *msg. */
static int package(const char *dir, const char **msg)
{
	struct es_package_options o = opts;
	struct es_packaged p;
	char *tpl;
	int rc;

	o.root = dir;
	assert_true(asprintf(&tpl, "%s/template.yaml", dir) > 0);
	rc = es_package_template(tpl, &o, &p);
	*msg = rc ? es_error_last()->message : "";
	if (rc) {
		assert_null(p.template);
		assert_int_equal(p.n_artifacts, 0);
	}
	es_packaged_free(&p);
	free(tpl);
	return rc;
}

static void expect_ok(const char *dir)
{
	const char *msg;
	if (package(dir, &msg))
		fail_msg("packaging failed: %s", msg);
}

static void expect_refused(const char *dir, const char *want)
{
	const char *msg;
	int rc = package(dir, &msg);

	if (rc != ES_EREFUSED || !strstr(msg, want))
		fail_msg("expected a refusal with \"%s\", got %d: %s", want, rc, msg);
}

static char *app(const char *template_text)
{
	char *dir = tu_mkdtemp();
	assert_non_null(dir);
	put(dir, "template.yaml", template_text);
	return dir;
}

static void done(char *dir)
{
	tu_rmtree(dir);
	free(dir);
}

#define SAM_FN(codeuri, handler, runtime)                                                          \
	"Transform: AWS::Serverless-2016-10-31\n"                                                  \
	"Resources:\n"                                                                             \
	"  Fn:\n"                                                                                  \
	"    Type: AWS::Serverless::Function\n"                                                    \
	"    Properties:\n"                                                                        \
	"      CodeUri: " codeuri "\n"                                                             \
	"      Handler: " handler "\n"                                                             \
	"      Runtime: " runtime "\n"

/* ------------------------------------------------------------ handlers */

static void node_handler_in_a_subfolder_is_found(void **state)
{
	char *dir = app(SAM_FN(".", "src/index.handler", "nodejs20.x"));

	put(dir, "src/index.js", "exports.handler = async () => 1;\n");
	expect_ok(dir);
	done(dir);
}

static void node_handler_may_be_mjs_or_cjs(void **state)
{
	char *dir = app(SAM_FN("src/", "index.handler", "nodejs22.x"));

	put(dir, "src/index.mjs", "export const handler = async () => 1;\n");
	expect_ok(dir);
	put(dir, "template.yaml", SAM_FN("lib/", "app.handler", "nodejs18.x"));
	put(dir, "lib/app.cjs", "module.exports.handler = async () => 1;\n");
	expect_ok(dir);
	done(dir);
}

static void missing_node_handler_is_refused_with_the_listing(void **state)
{
	char *dir = app(SAM_FN("src/", "index.handler", "nodejs22.x"));

	put(dir, "src/main.js", "exports.handler = async () => 1;\n");
	put(dir, "src/package.json", "{}\n");
	expect_refused(dir, "template.yaml:7: resource Fn: Handler index.handler (nodejs22.x) "
	                    "needs index.js, index.mjs or index.cjs in its code (src), which "
	                    "holds: main.js, package.json; commit the file or fix Handler");
	done(dir);
}

static void python_handler_nests_with_dots(void **state)
{
	char *dir = app(SAM_FN("fn/", "pkg.app.handler", "python3.12"));

	put(dir, "fn/pkg/__init__.py", "");
	put(dir, "fn/app.py", "def handler(e, c): pass\n");
	expect_refused(dir, "Handler pkg.app.handler (python3.12) needs pkg/app.py in its code "
	                    "(fn), which holds: app.py, pkg/__init__.py");
	put(dir, "fn/pkg/app.py", "def handler(e, c): pass\n");
	expect_ok(dir);
	put(dir, "template.yaml", SAM_FN("fn/", "app.handler", "python3.12"));
	expect_ok(dir);
	done(dir);
}

static void single_file_code_holds_its_module(void **state)
{
	char *dir = app(SAM_FN("handler.py", "handler.main", "python3.11"));

	put(dir, "handler.py", "def main(e, c): pass\n");
	expect_ok(dir);
	put(dir, "template.yaml", SAM_FN("handler.py", "other.main", "python3.11"));
	expect_refused(dir, "needs other.py in its code (handler.py), which holds: handler.py");
	done(dir);
}

static void globals_give_handler_runtime_and_code(void **state)
{
	char *dir = app("Transform: AWS::Serverless-2016-10-31\n"
	                "Globals:\n"
	                "  Function:\n"
	                "    CodeUri: src/\n"
	                "    Handler: index.handler\n"
	                "    Runtime: nodejs20.x\n"
	                "Resources:\n"
	                "  Fn:\n"
	                "    Type: AWS::Serverless::Function\n");

	put(dir, "src/lib.js", "\n");
	expect_refused(dir, "resource Fn: Handler index.handler (nodejs20.x) needs index.js");
	put(dir, "src/index.js", "exports.handler = async () => 1;\n");
	expect_ok(dir);
	done(dir);
}

static void lambda_function_code_is_checked(void **state)
{
	char *dir = app("Resources:\n"
	                "  Fn:\n"
	                "    Type: AWS::Lambda::Function\n"
	                "    Properties:\n"
	                "      Code: code\n"
	                "      Handler: main.handler\n"
	                "      Runtime: nodejs20.x\n"
	                "      Role: arn:aws:iam::123456789012:role/r\n");

	put(dir, "code/index.js", "\n");
	expect_refused(dir, "template.yaml:6: resource Fn: Handler main.handler (nodejs20.x) "
	                    "needs main.js");
	done(dir);
}

static void runtimes_without_a_module_file_are_not_checked(void **state)
{
	char *dir = app(SAM_FN("build/", "com.example.Handler::handleRequest", "java21"));

	put(dir, "build/app.jar", "jar\n");
	expect_ok(dir);
	done(dir);
}

static void node_handler_without_a_dot_is_refused(void **state)
{
	char *dir = app(SAM_FN("src/", "handler", "nodejs20.x"));

	put(dir, "src/index.js", "\n");
	expect_refused(dir, "Handler handler is not FILE.FUNCTION");
	done(dir);
}

/* ------------------------------------------------------------ Lambda@Edge */

/* A distribution whose default behaviour runs Fn as event, Fn's extra
 * properties given; the association names arn. */
static char *edge_app(const char *event, const char *arn, const char *extra)
{
	char *text;

	assert_true(asprintf(&text,
	                     "Transform: AWS::Serverless-2016-10-31\n"
	                     "Resources:\n"
	                     "  CF:\n"
	                     "    Type: AWS::CloudFront::Distribution\n"
	                     "    Properties:\n"
	                     "      DistributionConfig:\n"
	                     "        DefaultCacheBehavior:\n"
	                     "          TargetOriginId: o\n"
	                     "        CacheBehaviors:\n"
	                     "          - PathPattern: /api/*\n"
	                     "            LambdaFunctionAssociations:\n"
	                     "              - EventType: %s\n"
	                     "                LambdaFunctionARN: %s\n"
	                     "  Ver:\n"
	                     "    Type: AWS::Lambda::Version\n"
	                     "    Properties:\n"
	                     "      FunctionName: !Ref Fn\n"
	                     "  Fn:\n"
	                     "    Type: AWS::Serverless::Function\n"
	                     "    Properties:\n"
	                     "      CodeUri: src/\n"
	                     "      Handler: index.handler\n"
	                     "      AutoPublishAlias: live\n"
	                     "%s",
	                     event, arn, extra) > 0);
	char *dir = app(text);
	free(text);
	put(dir, "src/index.js", "exports.handler = async () => 1;\n");
	return dir;
}

static void edge_runtime_must_be_node_or_python(void **state)
{
	char *dir = edge_app("origin-request", "!Ref Fn.Version", "      Runtime: ruby3.3\n");

	put(dir, "src/index.rb", "\n");
	expect_refused(dir, "resource Fn: Lambda@Edge rule \"runtimes: Node.js and Python only\": "
	                    "Runtime is ruby3.3 and it runs as origin-request on CF");
	done(dir);
}

static void edge_function_has_no_environment(void **state)
{
	char *dir = edge_app("viewer-request", "!Ref Ver",
	                     "      Runtime: nodejs20.x\n"
	                     "      Environment:\n"
	                     "        Variables: {MODE: prod}\n");

	expect_refused(dir, "Lambda@Edge rule \"no environment variables\"");
	done(dir);
	/* The same function behind no distribution may have them. */
	dir = app(SAM_FN("src/", "index.handler", "nodejs20.x") "      Environment:\n"
	                                                        "        Variables: {MODE: prod}\n");
	put(dir, "src/index.js", "\n");
	expect_ok(dir);
	done(dir);
}

static void viewer_and_origin_memory_and_timeout(void **state)
{
	char *dir = edge_app("viewer-response", "!GetAtt Fn.Arn",
	                     "      Runtime: python3.12\n      MemorySize: 256\n");

	put(dir, "src/index.py", "def handler(e, c): pass\n");
	expect_refused(dir, "template.yaml:25: resource Fn: Lambda@Edge rule \"viewer triggers: "
	                    "memory at most 128 MB\": MemorySize is 256 and it runs as "
	                    "viewer-response on CF; lower MemorySize or use an origin trigger");
	done(dir);
	dir = edge_app("origin-response", "!Ref Fn.Version",
	               "      Runtime: python3.12\n      MemorySize: 256\n      Timeout: 30\n");
	put(dir, "src/index.py", "def handler(e, c): pass\n");
	expect_ok(dir);
	done(dir);
	dir = edge_app("viewer-request", "!Ref Fn.Version", "      Runtime: nodejs20.x\n      Timeout: 6\n");
	expect_refused(dir, "Lambda@Edge rule \"viewer triggers: timeout at most 5 s\": Timeout is 6");
	done(dir);
	dir = edge_app("origin-request", "!Ref Fn.Alias", "      Runtime: nodejs20.x\n      Timeout: 31\n");
	expect_refused(dir, "Lambda@Edge rule \"origin triggers: timeout at most 30 s\": Timeout is 31");
	done(dir);
}

static void edge_zip_size_per_trigger_kind(void **state)
{
	/* Bytes that do not compress: the zip stays above 1 MB. */
	size_t len = 1100 * 1024;
	unsigned char *noise = malloc(len);
	unsigned long x = 12345;
	char *dir;

	assert_non_null(noise);
	for (size_t i = 0; i < len; i++) {
		x = x * 6364136223846793005UL + 1442695040888963407UL;
		noise[i] = (unsigned char)(x >> 56);
	}
	dir = edge_app("viewer-request", "!Ref Fn.Version", "      Runtime: nodejs20.x\n");
	put_bytes(dir, "src/data.bin", noise, len);
	expect_refused(dir, "Lambda@Edge rule \"viewer triggers: zip at most 1 MB\": the zip of src "
	                    "is ");
	done(dir);
	dir = edge_app("origin-request", "!Ref Fn.Version", "      Runtime: nodejs20.x\n");
	put_bytes(dir, "src/data.bin", noise, len);
	expect_ok(dir);
	done(dir);
	free(noise);
}

static void edge_arm64_is_refused(void **state)
{
	char *dir = edge_app("origin-request", "!Ref Fn.Version",
	                     "      Runtime: nodejs20.x\n      Architectures: [arm64]\n");

	expect_refused(dir, "Lambda@Edge rule \"x86_64 only\"");
	done(dir);
}

static void edge_function_has_no_layers(void **state)
{
	char *dir = edge_app("origin-request", "!Ref Fn.Version",
	                     "      Runtime: nodejs20.x\n      Layers: [!Ref Layer]\n"
	                     "  Layer:\n"
	                     "    Type: AWS::Serverless::LayerVersion\n"
	                     "    Properties:\n"
	                     "      ContentUri: layer/\n");

	put(dir, "layer/nodejs/lib.js", "\n");
	expect_refused(dir, "template.yaml:25: resource Fn: Lambda@Edge rule \"no layers\": it names "
	                    "Layers and it runs as origin-request on CF");
	done(dir);
	/* A regional function beside it may use the layer. */
	dir = app(SAM_FN("src/", "index.handler", "nodejs20.x") "      Layers: [!Ref Layer]\n"
	                                                        "  Layer:\n"
	                                                        "    Type: AWS::Serverless::LayerVersion\n"
	                                                        "    Properties:\n"
	                                                        "      ContentUri: layer/\n");
	put(dir, "src/index.js", "\n");
	put(dir, "layer/nodejs/lib.js", "\n");
	expect_ok(dir);
	done(dir);
}

/* A parent whose distribution runs a function of a nested stack, named by
 * one of the child's outputs; type is the nested resource's type and prop
 * its template property. */
static char *nested_app(const char *type, const char *prop, const char *extra)
{
	char *parent, *child;

	assert_true(asprintf(&parent,
	                     "Transform: AWS::Serverless-2016-10-31\n"
	                     "Resources:\n"
	                     "  Edge:\n"
	                     "    Type: %s\n"
	                     "    Properties:\n"
	                     "      %s: stacks/edge.yaml\n"
	                     "  CF:\n"
	                     "    Type: AWS::CloudFront::Distribution\n"
	                     "    Properties:\n"
	                     "      DistributionConfig:\n"
	                     "        DefaultCacheBehavior:\n"
	                     "          LambdaFunctionAssociations:\n"
	                     "            - EventType: viewer-request\n"
	                     "              LambdaFunctionARN: !GetAtt Edge.Outputs.Version\n",
	                     type, prop) > 0);
	assert_true(asprintf(&child,
	                     "Transform: AWS::Serverless-2016-10-31\n"
	                     "Resources:\n"
	                     "  Fn:\n"
	                     "    Type: AWS::Serverless::Function\n"
	                     "    Properties:\n"
	                     "      CodeUri: ../src/\n"
	                     "      Handler: index.handler\n"
	                     "      Runtime: nodejs20.x\n"
	                     "      AutoPublishAlias: live\n"
	                     "%s"
	                     "Outputs:\n"
	                     "  Version:\n"
	                     "    Value: !Ref Fn.Version\n",
	                     extra) > 0);
	char *dir = app(parent);
	put(dir, "stacks/edge.yaml", child);
	put(dir, "src/index.js", "exports.handler = async () => 1;\n");
	free(parent);
	free(child);
	return dir;
}

static void edge_rules_follow_nested_stack_outputs(void **state)
{
	char *dir = nested_app("AWS::CloudFormation::Stack", "TemplateURL",
	                       "      Environment:\n        Variables: {MODE: prod}\n");

	expect_refused(dir, "stacks/edge.yaml:10: resource Fn: Lambda@Edge rule \"no environment "
	                    "variables\": it sets Environment Variables and it runs as "
	                    "viewer-request on CF");
	done(dir);
	dir = nested_app("AWS::Serverless::Application", "Location", "      Timeout: 6\n");
	expect_refused(dir, "stacks/edge.yaml:10: resource Fn: Lambda@Edge rule \"viewer triggers: "
	                    "timeout at most 5 s\"");
	done(dir);
	dir = nested_app("AWS::CloudFormation::Stack", "TemplateURL", "      Timeout: 5\n");
	expect_ok(dir);
	done(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(node_handler_in_a_subfolder_is_found),
	        cmocka_unit_test(node_handler_may_be_mjs_or_cjs),
	        cmocka_unit_test(missing_node_handler_is_refused_with_the_listing),
	        cmocka_unit_test(python_handler_nests_with_dots),
	        cmocka_unit_test(single_file_code_holds_its_module),
	        cmocka_unit_test(globals_give_handler_runtime_and_code),
	        cmocka_unit_test(lambda_function_code_is_checked),
	        cmocka_unit_test(runtimes_without_a_module_file_are_not_checked),
	        cmocka_unit_test(node_handler_without_a_dot_is_refused),
	        cmocka_unit_test(edge_runtime_must_be_node_or_python),
	        cmocka_unit_test(edge_function_has_no_environment),
	        cmocka_unit_test(viewer_and_origin_memory_and_timeout),
	        cmocka_unit_test(edge_zip_size_per_trigger_kind),
	        cmocka_unit_test(edge_arm64_is_refused),
	        cmocka_unit_test(edge_function_has_no_layers),
	        cmocka_unit_test(edge_rules_follow_nested_stack_outputs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
