'use strict';

// Origin-request: answer from the edge with what the viewer-request trigger did.
exports.handler = async (event) => {
  const request = event.Records[0].cf.request;
  const country = (request.headers['x-viewer-country'] || [{ value: 'none' }])[0].value;
  return {
    status: '200',
    statusDescription: 'OK',
    headers: {
      'content-type': [{ key: 'Content-Type', value: 'text/plain' }],
      'x-app-shape': [{ key: 'X-App-Shape', value: 'many-functions' }],
    },
    body: `uri=${request.uri} country=${country}`,
  };
};
