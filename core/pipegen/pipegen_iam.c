/* The pipeline template's roles, each granting only what its holder does:
 * the pipeline reads and writes its artifacts, drives the stage stacks and
 * invokes the validator; CloudFormation (DeployRole) makes what the app's
 * template holds, under names derived from the stage stacks; the validator
 * writes its logs and reports its result. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "pipegen_int.h"

#define ARN_PREFIX "arn:${AWS::Partition}:"

static json_t *trust(const char *service)
{
	/* One service as a string: moto's CreatePipeline reads it so, and it is
	 * what the policy language documents for one principal. */
	return json_pack("{s:s, s:[{s:s, s:{s:s}, s:s}]}", "Version", "2012-10-17", "Statement",
	                 "Effect", "Allow", "Principal", "Service", service, "Action",
	                 "sts:AssumeRole");
}

static json_t *statement(const char *sid, json_t *actions, json_t *resources)
{
	return json_pack("{s:s, s:s, s:o, s:o}", "Sid", sid, "Effect", "Allow", "Action", actions,
	                 "Resource", resources);
}

static json_t *role(json_t *trust_doc, const char *policy, json_t *statements)
{
	return json_pack("{s:s, s:{s:o, s:[{s:s, s:{s:s, s:o}}]}}", "Type", "AWS::IAM::Role",
	                 "Properties", "AssumeRolePolicyDocument", trust_doc, "Policies",
	                 "PolicyName", policy, "PolicyDocument", "Version", "2012-10-17",
	                 "Statement", statements);
}

/* ARNs of each stage stack's own things: before, the stack's name, after
 * (a stack's ARN, the functions and roles named after it). */
static json_t *per_stack(struct pg *g, const char *before, const char *after)
{
	json_t *a = json_array();
	char s[512];

	for (size_t i = 0; i < g->n; i++) {
		snprintf(s, sizeof(s), "%s%s%s", before, g->stages[i]->stack, after);
		json_array_append_new(a, pg_sub(g, s));
	}
	return a;
}

static json_t *pipeline_role(struct pg *g)
{
	json_t *st = json_array();

	json_array_append_new(st, statement("Artifacts",
	                                    json_pack("[s,s,s]", "s3:GetObject",
	                                              "s3:GetObjectVersion", "s3:PutObject"),
	                                    json_pack("[o]", pg_sub(g, "${ArtifactStore.Arn}/*"))));
	json_array_append_new(
	        st, statement("ArtifactStore",
	                      json_pack("[s,s]", "s3:GetBucketVersioning", "s3:GetBucketLocation"),
	                      json_pack("[o]", pg_getatt("ArtifactStore", "Arn"))));
	if (g->o->source == ES_PIPEGEN_S3) {
		json_array_append_new(
		        st,
		        statement("Source",
		                  json_pack("[s,s]", "s3:GetObject", "s3:GetObjectVersion"),
		                  json_pack("[o]",
		                            pg_sub(g, "${SourceBucket.Arn}/${SourceObjectKey}"))));
		json_array_append_new(
		        st, statement("SourceBucket",
		                      json_pack("[s,s]", "s3:GetBucketVersioning",
		                                "s3:GetBucketLocation"),
		                      json_pack("[o]", pg_getatt("SourceBucket", "Arn"))));
	} else {
		json_array_append_new(
		        st, statement("Connection",
		                      json_pack("[s,s]", "codestar-connections:UseConnection",
		                                "codeconnections:UseConnection"),
		                      json_pack("[o]", pg_ref("ConnectionArn"))));
	}
	json_array_append_new(
	        st,
	        statement("StageStacks",
	                  json_pack("[s,s,s,s,s,s,s,s]", "cloudformation:CreateStack",
	                            "cloudformation:UpdateStack", "cloudformation:DescribeStacks",
	                            "cloudformation:DescribeStackEvents",
	                            "cloudformation:CreateChangeSet",
	                            "cloudformation:DescribeChangeSet",
	                            "cloudformation:ExecuteChangeSet",
	                            "cloudformation:DeleteChangeSet"),
	                  per_stack(g,
	                            ARN_PREFIX
	                            "cloudformation:${AWS::Region}:${AWS::AccountId}:stack/",
	                            "/*")));
	if (g->transform)
		json_array_append_new(
		        st,
		        statement(
		                "Transform", json_pack("[s]", "cloudformation:CreateChangeSet"),
		                json_pack("[o]", pg_sub(g, ARN_PREFIX "cloudformation:${AWS::"
		                                                      "Region}:aws:transform/*"))));
	json_t *pass = statement("PassDeployRole", json_pack("[s]", "iam:PassRole"),
	                         json_pack("[o]", pg_getatt("DeployRole", "Arn")));
	json_object_set_new(pass, "Condition",
	                    json_pack("{s:{s:s}}", "StringEquals", "iam:PassedToService",
	                              "cloudformation.amazonaws.com"));
	json_array_append_new(st, pass);
	json_array_append_new(st,
	                      statement("Validator", json_pack("[s]", "lambda:InvokeFunction"),
	                                json_pack("[o]", pg_getatt("ValidatorFunction", "Arn"))));
	return role(trust("codepipeline.amazonaws.com"), "pipeline", st);
}

static json_t *deploy_role(struct pg *g)
{
	json_t *st = json_array();

	if (g->groups & PG_CODE) {
		json_array_append_new(
		        st,
		        statement("PackagedCode",
		                  json_pack("[s,s]", "s3:GetObject", "s3:GetObjectVersion"),
		                  json_pack("[o,o]", pg_sub(g, ARN_PREFIX "s3:::${CodeBucket}/*"),
		                            pg_sub(g, "${ArtifactStore.Arn}/*"))));
	}
	if (g->groups & PG_LAMBDA) {
		json_array_append_new(
		        st,
		        statement("Functions",
		                  json_pack("[s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s]",
		                            "lambda:CreateFunction", "lambda:DeleteFunction",
		                            "lambda:GetFunction", "lambda:GetFunctionConfiguration",
		                            "lambda:UpdateFunctionCode",
		                            "lambda:UpdateFunctionConfiguration",
		                            "lambda:PublishVersion",
		                            "lambda:ListVersionsByFunction", "lambda:CreateAlias",
		                            "lambda:UpdateAlias", "lambda:DeleteAlias",
		                            "lambda:GetAlias", "lambda:AddPermission",
		                            "lambda:RemovePermission", "lambda:GetPolicy",
		                            "lambda:ListTags", "lambda:TagResource",
		                            "lambda:UntagResource", "lambda:EnableReplication*"),
		                  per_stack(g,
		                            ARN_PREFIX
		                            "lambda:${AWS::Region}:${AWS::AccountId}:function:",
		                            "-*")));
	}
	if (g->groups & PG_IAM) {
		json_array_append_new(
		        st,
		        statement("Roles",
		                  json_pack("[s,s,s,s,s,s,s,s,s,s,s,s]", "iam:CreateRole",
		                            "iam:DeleteRole", "iam:GetRole", "iam:UpdateRole",
		                            "iam:UpdateAssumeRolePolicy", "iam:PutRolePolicy",
		                            "iam:DeleteRolePolicy", "iam:GetRolePolicy",
		                            "iam:AttachRolePolicy", "iam:DetachRolePolicy",
		                            "iam:TagRole", "iam:UntagRole"),
		                  per_stack(g, ARN_PREFIX "iam::${AWS::AccountId}:role/", "-*")));
		json_t *pass =
		        statement("PassRolesToFunctions", json_pack("[s]", "iam:PassRole"),
		                  per_stack(g, ARN_PREFIX "iam::${AWS::AccountId}:role/", "-*"));
		json_object_set_new(pass, "Condition",
		                    json_pack("{s:{s:s}}", "StringEquals", "iam:PassedToService",
		                              "lambda.amazonaws.com"));
		json_array_append_new(st, pass);
	}
	if (g->groups & PG_CLOUDFRONT) {
		json_array_append_new(
		        st,
		        statement("Distributions",
		                  json_pack("[s,s,s,s,s,s,s,s]", "cloudfront:CreateDistribution",
		                            "cloudfront:UpdateDistribution",
		                            "cloudfront:GetDistribution",
		                            "cloudfront:GetDistributionConfig",
		                            "cloudfront:DeleteDistribution",
		                            "cloudfront:TagResource", "cloudfront:UntagResource",
		                            "cloudfront:ListTagsForResource"),
		                  json_pack("[o]",
		                            pg_sub(g, ARN_PREFIX "cloudfront::${AWS::"
		                                                 "AccountId}:distribution/*"))));
		/* The first Lambda@Edge association makes the replicator's role. */
		json_t *slr =
		        statement("EdgeReplicator", json_pack("[s]", "iam:CreateServiceLinkedRole"),
		                  json_pack("[o]", pg_sub(g, ARN_PREFIX
		                                          "iam::${AWS::AccountId}:role/"
		                                          "aws-service-role/"
		                                          "replicator.lambda.amazonaws.com/"
		                                          "AWSServiceRoleForLambdaReplicator")));
		json_object_set_new(slr, "Condition",
		                    json_pack("{s:{s:s}}", "StringLike", "iam:AWSServiceName",
		                              "replicator.lambda.amazonaws.com"));
		json_array_append_new(st, slr);
	}
	if (!json_array_size(st))
		json_array_append_new(
		        st,
		        statement(
		                "StageStacks", json_pack("[s]", "cloudformation:DescribeStacks"),
		                per_stack(g,
		                          ARN_PREFIX
		                          "cloudformation:${AWS::Region}:${AWS::AccountId}:stack/",
		                          "/*")));
	return role(trust("cloudformation.amazonaws.com"), "deploy", st);
}

static json_t *validator_role(struct pg *g)
{
	/* PutJob*Result cannot be scoped to a pipeline: it takes "*". */
	json_t *st =
	        json_pack("[o]", statement("Report",
	                                   json_pack("[s,s]", "codepipeline:PutJobSuccessResult",
	                                             "codepipeline:PutJobFailureResult"),
	                                   json_string("*")));
	return role(trust("lambda.amazonaws.com"), "report", st);
}

/* Its logs go to the log group the template makes: a policy of its own, so
 * the function (named by CloudFormation) and the group need no cycle. */
static json_t *validator_logs(struct pg *g)
{
	return json_pack("{s:s, s:{s:s, s:[o], s:{s:s, s:[o]}}}", "Type", "AWS::IAM::Policy",
	                 "Properties", "PolicyName", "logs", "Roles", pg_ref("ValidatorRole"),
	                 "PolicyDocument", "Version", "2012-10-17", "Statement",
	                 statement("Logs",
	                           json_pack("[s,s]", "logs:CreateLogStream", "logs:PutLogEvents"),
	                           json_pack("[o]", pg_getatt("ValidatorLogGroup", "Arn"))));
}

static json_t *trigger_role(struct pg *g)
{
	json_t *st = json_pack(
	        "[o]",
	        statement("Start", json_pack("[s]", "codepipeline:StartPipelineExecution"),
	                  json_pack("[o]", pg_sub(g, ARN_PREFIX "codepipeline:${AWS::Region}:"
	                                                        "${AWS::AccountId}:${Pipeline}"))));
	return role(trust("events.amazonaws.com"), "start-pipeline", st);
}

int pg_roles(struct pg *g)
{
	json_t *r = g->resources;

	if (json_object_set_new(r, "PipelineRole", pipeline_role(g)) ||
	    json_object_set_new(r, "DeployRole", deploy_role(g)) ||
	    json_object_set_new(r, "ValidatorRole", validator_role(g)) ||
	    json_object_set_new(r, "ValidatorLogPolicy", validator_logs(g)) ||
	    (g->o->source == ES_PIPEGEN_S3 &&
	     json_object_set_new(r, "TriggerRole", trigger_role(g))))
		return es_fail(ES_ENOMEM, "out of memory building the roles");
	return ES_OK;
}
