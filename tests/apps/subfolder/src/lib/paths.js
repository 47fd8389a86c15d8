'use strict';

// Paths without a trailing slash, for the answer's body.
exports.pretty = (uri) => (uri.length > 1 && uri.endsWith('/') ? uri.slice(0, -1) : uri);
