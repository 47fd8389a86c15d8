'use strict';

// Origin-request trigger in a nested folder of ../src: Handler is
// handlers/rewrite.handler.
const { pretty } = require('../lib/paths');

exports.handler = async (event) => ({
  status: '200',
  statusDescription: 'OK',
  headers: {
    'content-type': [{ key: 'Content-Type', value: 'text/plain' }],
    'x-app-shape': [{ key: 'X-App-Shape', value: 'subfolder' }],
  },
  body: `rewritten ${pretty(event.Records[0].cf.request.uri)}`,
});
