'use strict';

// A regional function: its helpers come from the shared layer (/opt/nodejs).
const { greet } = require('shared');

exports.handler = async (event) => ({ statusCode: 200, body: greet(event && event.name) });
