// Runs one invocation of an ordinary Lambda function for the simulator.
// usage: node lambda_runner.js CODE_DIR HANDLER TIMEOUT_S   (event JSON on stdin)
// prints {"ok":true,"result":...} or {"ok":false,"errorType":..,"errorMessage":..}
// on stdout; the handler's own console output goes to stderr.
'use strict';
const path = require('path');
const { pathToFileURL } = require('url');
const fs = require('fs');

const write = process.stdout.write.bind(process.stdout);
function out(obj) {
  write(JSON.stringify(obj));
}
console.log = console.info = console.warn = console.error;

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
  if (!file) throw Object.assign(new Error(`Cannot find module '${modName}'`), { name: 'Runtime.ImportModuleError' });
  const mod = await import(pathToFileURL(file).href);
  const fn = mod[fnName] || (mod.default && mod.default[fnName]);
  if (typeof fn !== 'function') {
    throw Object.assign(new Error(`${handlerSpec} is undefined or not exported`), { name: 'Runtime.HandlerNotFound' });
  }
  const deadline = Date.now() + 1000 * Number(timeoutS || 3);
  const context = {
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME || 'fn',
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION || '$LATEST',
    invokedFunctionArn: process.env.EDGESIM_FUNCTION_ARN || '',
    awsRequestId: process.env.EDGESIM_REQUEST_ID || '',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  const timer = setTimeout(() => {
    out({ ok: false, errorType: 'Sandbox.Timedout', errorMessage: `Task timed out after ${Number(timeoutS).toFixed(2)} seconds` });
    process.exit(0);
  }, 1000 * Number(timeoutS || 3));
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
  process.exit(0);
}

main().catch((e) => {
  out({ ok: false, errorType: (e && e.name) || 'Error', errorMessage: String((e && e.message) || e) });
  process.exit(0);
});
