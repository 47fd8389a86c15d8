// The simulator's stand-in for @aws-sdk/client-codepipeline: only what a
// pipeline's Lambda invoke action needs. Each command posts to the
// simulator's control endpoint (EDGESIM_CONTROL), which records the job's
// result as PutJobSuccessResult / PutJobFailureResult would.
'use strict';

class Command {
  constructor(op, input) {
    this.op = op;
    this.input = input || {};
  }
}
class PutJobSuccessResultCommand extends Command {
  constructor(input) { super('PutJobSuccessResult', input); }
}
class PutJobFailureResultCommand extends Command {
  constructor(input) { super('PutJobFailureResult', input); }
}

class CodePipelineClient {
  constructor(config) { this.config = config || {}; }
  async send(cmd) {
    const base = process.env.EDGESIM_CONTROL;
    if (!base) throw new Error('EDGESIM_CONTROL is not set');
    const res = await fetch(base + '/pipeline/job-result', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ operation: cmd.op, input: cmd.input }),
    });
    const body = await res.json();
    if (res.status >= 400) {
      const e = new Error(body.message || body.error || `HTTP ${res.status}`);
      e.name = body.code || 'CodePipelineServiceException';
      throw e;
    }
    return body;
  }
  destroy() {}
}

module.exports = { CodePipelineClient, PutJobSuccessResultCommand, PutJobFailureResultCommand };
