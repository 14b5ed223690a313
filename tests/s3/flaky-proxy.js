// flaky-proxy.js - an HTTP proxy in front of an S3-compatible store that can be
// told to answer 500 instead of forwarding, so tests can prove that vingest
// retries a store that fails (tests/integration/86_store_retry.sh).
//
//   node flaky-proxy.js LISTEN_PORT UPSTREAM_PORT
//
//   GET /__fail?method=PUT&n=N   the next N requests of METHOD get 500 InternalError
//   GET /__stats                 {"by_method": {...}, "injected": N}
//
// Everything else is forwarded unchanged to 127.0.0.1:UPSTREAM_PORT, Host
// header included, so SigV4 signatures still verify upstream.
'use strict';
const http = require('http');

const [listenPort, upstreamPort] = process.argv.slice(2).map(Number);
if (!listenPort || !upstreamPort) {
  console.error('usage: node flaky-proxy.js LISTEN_PORT UPSTREAM_PORT');
  process.exit(2);
}
const failNext = {};
const byMethod = {};
let injected = 0;

http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/__fail') {
    failNext[url.searchParams.get('method') || 'PUT'] = Number(url.searchParams.get('n') || 1);
    res.end('ok\n');
    return;
  }
  if (url.pathname === '/__stats') {
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ by_method: byMethod, injected }) + '\n');
    return;
  }
  byMethod[req.method] = (byMethod[req.method] || 0) + 1;
  if (failNext[req.method] > 0) {
    failNext[req.method]--;
    injected++;
    req.resume(); // read the body away, then fail
    req.on('end', () => {
      res.statusCode = 500;
      res.setHeader('Content-Type', 'application/xml');
      res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code>' +
        '<Message>injected by flaky-proxy</Message></Error>');
    });
    return;
  }
  const up = http.request({ host: '127.0.0.1', port: upstreamPort, method: req.method,
    path: req.url, headers: req.headers }, (ur) => {
    res.writeHead(ur.statusCode, ur.headers);
    ur.pipe(res);
  });
  up.on('error', (e) => { res.statusCode = 502; res.end(String(e)); });
  req.pipe(up);
}).listen(listenPort, '127.0.0.1');
