'use strict';

// Origin-request trigger (Node.js): answers at the edge.
exports.handler = async (event) => ({
  status: '200',
  statusDescription: 'OK',
  headers: {
    'content-type': [{ key: 'Content-Type', value: 'text/plain' }],
    'x-app-shape': [{ key: 'X-App-Shape', value: 'python' }],
  },
  body: `node answered ${event.Records[0].cf.request.uri}`,
});
