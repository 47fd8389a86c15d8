'use strict';

// A release that fails on 20 % of requests: the example app's handler, but
// every request whose path ends in a multiple of 5 (/t/5, /t/10, ...: the
// simulator's traffic generator numbers its requests) throws, as a bug in
// one code path would. The edge then answers 503 LambdaExecutionError.
// A one-request validation of / passes.
const RELEASE = 'flaky';

const content = 'Lambda@Edge is awesome!';

exports.handler = async (event, context) => {
  const request = event.Records[0].cf.request;
  const n = Number((request.uri.match(/(\d+)$/) || [])[1]);
  if (n && n % 5 === 0) {
    throw new Error(`TypeError: cannot read properties of undefined (reading 'user') at ${request.uri}`);
  }
  return {
    status: '200',
    statusDescription: 'OK',
    headers: {
      'content-type': [{ key: 'Content-Type', value: 'text/plain; charset=utf-8' }],
      'cache-control': [{ key: 'Cache-Control', value: 'max-age=300' }],
      'x-edgeship-release': [{ key: 'X-Edgeship-Release', value: RELEASE }],
      'x-edgeship-version': [
        { key: 'X-Edgeship-Version', value: String(context.functionVersion) },
      ],
      'x-edgeship-uri': [{ key: 'X-Edgeship-Uri', value: request.uri }],
    },
    body: content,
  };
};
