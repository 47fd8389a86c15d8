'use strict';

// Origin-request trigger: no layer (Lambda@Edge allows none), all it needs
// is in its own zip.
exports.handler = async () => ({
  status: '200',
  statusDescription: 'OK',
  headers: {
    'content-type': [{ key: 'Content-Type', value: 'text/plain' }],
    'x-app-shape': [{ key: 'X-App-Shape', value: 'layers' }],
  },
  body: 'edge function beside a layered one',
});
