'use strict';

// An ordinary (regional) function of the nested application.
exports.handler = async (event) => ({ received: Array.isArray(event.Records) ? event.Records.length : 0 });
