// Runs one Lambda@Edge handler invocation for the simulator's edge fleet.
// usage: node edge_runner.js CODE_DIR HANDLER   (event JSON on stdin)
// prints {"ok":true,"result":...} or {"ok":false,"error":"..."} on stdout.
'use strict';
const path = require('path');
const { pathToFileURL } = require('url');
const fs = require('fs');

function out(obj) {
  process.stdout.write(JSON.stringify(obj));
}

async function main() {
  const [codeDir, handlerSpec, timeoutS] = process.argv.slice(2);
  const event = JSON.parse(fs.readFileSync(0, 'utf8'));
  const dot = handlerSpec.lastIndexOf('.');
  const modName = handlerSpec.slice(0, dot);
  const fnName = handlerSpec.slice(dot + 1);
  let file = null;
  for (const ext of ['.js', '.mjs', '.cjs']) {
    const f = path.join(codeDir, modName + ext);
    if (fs.existsSync(f)) { file = f; break; }
  }
  if (!file) throw new Error(`Cannot find module '${modName}' in the function package`);
  const mod = await import(pathToFileURL(file).href);
  const fn = mod[fnName] || (mod.default && mod.default[fnName]);
  if (typeof fn !== 'function') throw new Error(`${handlerSpec} is undefined or not exported`);
  const context = {
    functionName: process.env.EDGESIM_FUNCTION_NAME || 'fn',
    functionVersion: process.env.EDGESIM_FUNCTION_VERSION || '1',
    invokedFunctionArn: process.env.EDGESIM_FUNCTION_ARN || '',
    awsRequestId: event.Records[0].cf.config.requestId,
    getRemainingTimeInMillis: () => 5000,
  };
  const timer = setTimeout(() => {
    out({ ok: false, error: 'Task timed out' });
    process.exit(0);
  }, 1000 * Number(timeoutS || 5));
  const result = await new Promise((resolve, reject) => {
    const cb = (err, res) => (err ? reject(err) : resolve(res));
    try {
      const r = fn(event, context, cb);
      if (r && typeof r.then === 'function') r.then(resolve, reject);
    } catch (e) {
      reject(e);
    }
  });
  clearTimeout(timer);
  out({ ok: true, result: result === undefined ? null : result });
}

main().catch((e) => {
  out({ ok: false, error: String((e && e.stack) || e) });
  // the handler's timer would otherwise keep the process (and the edge's
  // answer) waiting for the timeout, then print a second object
  process.exit(0);
});
