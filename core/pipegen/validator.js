// The validator of a generated pipeline (edgeship init --pipeline): a
// CodePipeline Lambda invoke action that fetches the stage's URL and passes
// when it answers the expected status with the expected text in its body.
// UserParameters: {"url": "...", "text": "...", "status": 200, "timeoutMs": 10000,
// "bypass": "?fresh"} (bypass, the stage's probe-bypass, is optional). An
// answer from CloudFront's cache fails: a cached copy may be an older release.
// Embedded in the template as inline code (index.js), so it stays small and
// uses only Node.js (18 or later: fetch) and the AWS SDK Lambda's runtime ships.
'use strict';
const {
  CodePipelineClient,
  PutJobSuccessResultCommand,
  PutJobFailureResultCommand,
} = require('@aws-sdk/client-codepipeline');

const client = new CodePipelineClient({});

// Where to ask: the stage's URL, or with a probe-bypass its path (or, for
// "?query", the URL's path with that query) with a unique edgeship-probe
// added, as edgeship's own probe asks, so the function answers.
function target(p, unique) {
  if (!p.bypass)
    return p.url;
  const u = new URL(p.bypass, p.url);
  u.search = (u.search ? u.search + '&' : '?') + 'edgeship-probe=' + encodeURIComponent(unique);
  return u.toString();
}

// The check itself: null when it passes, else why it failed.
async function check(p, unique) {
  const url = target(p, unique);
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), p.timeoutMs);
  try {
    const res = await fetch(url, { signal: ctl.signal, redirect: 'follow' });
    const body = await res.text();
    const cache = res.headers.get('x-cache') || '';
    if (/^(Hit|RefreshHit)\b/i.test(cache))
      return `${url} was answered from CloudFront's cache (X-Cache: ${cache}): that copy ` +
        'may be an older release, so it proves nothing; give the stage a probe-bypass in ' +
        'edgeship.conf (a path or query the cache never answers) and write the pipeline ' +
        'again, or invalidate the cache after the deploy, then retry the stage';
    if (res.status !== p.status)
      return `${url} answered ${res.status}, expected ${p.status}`;
    if (p.text && !body.includes(p.text))
      return `${url} answered ${res.status} without the text ${JSON.stringify(p.text)}`;
    return null;
  } catch (e) {
    if (ctl.signal.aborted)
      return `${url} did not answer within ${p.timeoutMs} ms`;
    return `${url} could not be fetched: ${e.cause ? e.cause.code || e.cause.message : e.message}`;
  } finally {
    clearTimeout(timer);
  }
}

// UserParameters as the check reads them, or a string saying what is wrong.
function params(job) {
  let p;
  try {
    p = JSON.parse(job.data.actionConfiguration.configuration.UserParameters);
  } catch (e) {
    return 'UserParameters is not JSON: ' + e.message;
  }
  if (!p || typeof p.url !== 'string' || !/^https?:\/\//.test(p.url))
    return 'UserParameters has no http(s) "url"';
  return {
    url: p.url,
    text: typeof p.text === 'string' ? p.text : '',
    status: Number.isInteger(p.status) ? p.status : 200,
    timeoutMs: Number.isInteger(p.timeoutMs) && p.timeoutMs > 0 ? p.timeoutMs : 10000,
    bypass: typeof p.bypass === 'string' ? p.bypass : '',
  };
}

function fail(jobId, type, message) {
  return client.send(new PutJobFailureResultCommand({
    jobId,
    failureDetails: { type, message: message.slice(0, 5000) },
  }));
}

exports.handler = async (event) => {
  const job = event['CodePipeline.job'];
  const p = params(job);
  if (typeof p === 'string')
    return fail(job.id, 'ConfigurationError', p);
  const why = await check(p, job.id);
  if (why)
    return fail(job.id, 'JobFailed', why);
  return client.send(new PutJobSuccessResultCommand({
    jobId: job.id,
    executionDetails: { summary: `${target(p, job.id)} answered ${p.status}`.slice(0, 2048) },
  }));
};
