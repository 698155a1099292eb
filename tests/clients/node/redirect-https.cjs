// The no-root port redirect of docs/https.md for Node clients: preloaded with
//   NODE_OPTIONS="--require=/path/to/redirect-https.cjs" CTMP_HTTPS_REDIRECT=127.0.0.1:8443
// it sends TLS connections to the platforms' host names on port 443 to CTMP_HTTPS_REDIRECT (the
// emulator's --tls-port) instead. The name stays the client's: the TLS server name (SNI), the
// certificate check (trust the emulator's CA with NODE_EXTRA_CA_CERTS) and the Host header are
// those of the platform, as with a DNS override on port 443.
//
// Node's https (node-fetch, axios, got, the clevertap client) and undici (fetch) both open TLS
// connections through tls.connect, which this wraps; nothing else changes. CommonJS, so that
// `--require` preloads it in every Node version (and in ES module apps too).

'use strict';

const tls = require('node:tls');

const target = process.env.CTMP_HTTPS_REDIRECT || '';
const [address, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.split(':').pop())];
if (!address || !port) {
  throw new Error('set CTMP_HTTPS_REDIRECT to the emulator TLS address, e.g. 127.0.0.1:8443');
}

// The platforms' host names (the emulator's Surface.hosts): *.mparticle.com, *.api.clevertap.com.
const PLATFORM = /(^|\.)mparticle\.com\.?$|(^|\.)api\.clevertap\.com\.?$/i;

const connect = tls.connect;
tls.connect = function redirected(...args) {
  const options = args[0];
  if (options && typeof options === 'object') {
    const name = options.servername || options.host || '';
    if (PLATFORM.test(name) && Number(options.port || 443) === 443) {
      args[0] = { ...options, host: address, port, servername: name };
    }
  }
  return connect.apply(this, args);
};
