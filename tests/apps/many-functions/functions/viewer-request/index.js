'use strict';

// Viewer-request: normalise the URI and tag the request before the cache.
exports.handler = async (event) => {
  const request = event.Records[0].cf.request;
  if (request.uri.endsWith('/')) request.uri += 'index.html';
  request.headers['x-viewer-country'] = [{ key: 'X-Viewer-Country', value: 'ZZ' }];
  return request;
};
