// Preloaded (node --require) into every ordinary Lambda function the
// simulator runs: requests for a simulated distribution's domain or alias go
// to one of the simulator's edges, as DNS would send them to CloudFront.
// EDGESIM_ROUTES is JSON {"host": "http://127.0.0.1:PORT", ...}; a request
// for https://HOST/path becomes http://127.0.0.1:PORT/path with Host: HOST.
// Covers the global fetch and http(s).request / http(s).get; any other host
// is left alone.
'use strict';
const http = require('http');
const https = require('https');

let routes = {};
try {
  routes = JSON.parse(process.env.EDGESIM_ROUTES || '{}');
} catch (e) {
  routes = {};
}

function edgeFor(host) {
  if (!host) return null;
  const h = String(host).toLowerCase().replace(/:\d+$/, '');
  return Object.prototype.hasOwnProperty.call(routes, h) ? new URL(routes[h]) : null;
}

// ---- http(s).request and get
function routed(options) {
  const host = options.hostname || options.host;
  const edge = edgeFor(host);
  if (!edge) return null;
  const headers = Object.assign({}, options.headers || {});
  for (const k of Object.keys(headers)) if (k.toLowerCase() === 'host') delete headers[k];
  headers.Host = String(host).replace(/:\d+$/, '');
  const out = Object.assign({}, options, {
    protocol: 'http:', hostname: edge.hostname, host: undefined, port: edge.port, headers,
  });
  delete out.agent;
  delete out.servername;
  return out;
}

// (url, options, cb), (options, cb) or (url, cb) as node takes them, as options.
function normalise(args) {
  let [a, b, c] = args;
  let opts = {};
  if (typeof a === 'string' || a instanceof URL) {
    const u = new URL(a);
    opts = { protocol: u.protocol, hostname: u.hostname, port: u.port, path: u.pathname + u.search };
    if (typeof b === 'function') { c = b; b = undefined; }
    if (b) opts = Object.assign(opts, b);
  } else {
    opts = Object.assign({}, a);
    c = b;
  }
  return [opts, c];
}

const realHttpRequest = http.request;
function wrap(mod, real) {
  return function request(...args) {
    const [opts, cb] = normalise(args);
    const r = routed(opts);
    if (!r) return real.apply(mod, args);
    return realHttpRequest.call(http, r, cb);
  };
}
for (const mod of [http, https]) {
  const real = mod.request;
  mod.request = wrap(mod, real);
  mod.get = function get(...args) {
    const req = mod.request(...args);
    req.end();
    return req;
  };
}

// ---- fetch: a routed URL is fetched with http.request and answered as a
// Response; redirects are followed like fetch's default.
const realFetch = globalThis.fetch;
if (typeof realFetch === 'function') {
  globalThis.fetch = async function fetch(input, init = {}) {
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
    const edge = edgeFor(url.hostname);
    if (!edge) return realFetch(input, init);
    if ((init.redirects || 0) > 20) throw new TypeError('fetch failed: too many redirects');
    const method = (init.method || (input && input.method) || 'GET').toUpperCase();
    const headers = {};
    new Headers(init.headers || (input && input.headers) || {}).forEach((v, k) => {
      headers[k] = v;
    });
    return new Promise((resolve, reject) => {
      const req = realHttpRequest.call(http, {
        hostname: edge.hostname, port: edge.port, path: url.pathname + url.search, method,
        headers: Object.assign(headers, { host: url.host }),
        signal: init.signal,
      }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const status = res.statusCode;
          const loc = res.headers.location;
          if (loc && [301, 302, 303, 307, 308].includes(status) && (init.redirect || 'follow') === 'follow') {
            resolve(globalThis.fetch(new URL(loc, url).href, Object.assign({}, init,
              { redirects: (init.redirects || 0) + 1 })));
            return;
          }
          const h = new Headers();
          for (const [k, v] of Object.entries(res.headers)) {
            for (const one of [].concat(v)) h.append(k, one);
          }
          const body = [101, 204, 205, 304].includes(status) || method === 'HEAD' ? null : Buffer.concat(chunks);
          const resp = new Response(body, { status, statusText: res.statusMessage, headers: h });
          Object.defineProperty(resp, 'url', { value: url.href });
          resolve(resp);
        });
      });
      req.on('error', reject);
      if (init.body) req.write(init.body);
      req.end();
    });
  };
}
