'use strict';

// Origin-request trigger of the nested-stack app: answers at the edge.
exports.handler = async (event, context) => ({
  status: '200',
  statusDescription: 'OK',
  headers: {
    'content-type': [{ key: 'Content-Type', value: 'text/plain' }],
    'x-app-shape': [{ key: 'X-App-Shape', value: 'nested' }],
    'x-edgeship-version': [{ key: 'X-Edgeship-Version', value: String(context.functionVersion) }],
  },
  body: `served from a nested stack: ${event.Records[0].cf.request.uri}`,
});
