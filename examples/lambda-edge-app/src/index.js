'use strict';

// The release marker: change it (or any other line) and redeploy to publish a
// new function version; edges report it in the x-edgeship-release header.
const RELEASE = 'r1';

const content = 'Lambda@Edge is awesome!';

// Origin-request trigger: answer every request at the edge without calling
// the origin.
exports.handler = async (event, context) => {
  const request = event.Records[0].cf.request;
  return {
    status: '200',
    statusDescription: 'OK',
    headers: {
      'content-type': [{ key: 'Content-Type', value: 'text/plain; charset=utf-8' }],
      'cache-control': [{ key: 'Cache-Control', value: 'max-age=300' }],
      'x-edgeship-release': [{ key: 'X-Edgeship-Release', value: RELEASE }],
      // The Lambda version that answered: edgeship compares it with the
      // version the distribution points to, to tell old edges from new.
      'x-edgeship-version': [
        { key: 'X-Edgeship-Version', value: String(context.functionVersion) },
      ],
      'x-edgeship-uri': [{ key: 'X-Edgeship-Uri', value: request.uri }],
    },
    body: content,
  };
};
