'use strict';

// Origin-response: cache what the origin sends for a day.
exports.handler = async (event) => {
  const response = event.Records[0].cf.response;
  response.headers['cache-control'] = [{ key: 'Cache-Control', value: 'max-age=86400' }];
  return response;
};
