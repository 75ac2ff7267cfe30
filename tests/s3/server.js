// An S3-compatible server for tests/integration/test_record_s3.py:
// @20minutes/s3rver with signature checking on (allowMismatchedSignatures:
// false, so a wrong secret gets 403 SignatureDoesNotMatch).
//
//   node server.js DIRECTORY [PORT]
//
// Serves bucket "weir" on 127.0.0.1 (PORT, default 0 = any free port), stores
// objects under DIRECTORY (kept across restarts), and prints "port N" on
// stdout once it listens. Credentials: access key S3RVER, secret S3RVER
// (s3rver's built-in account, lib/models/account.js).
'use strict'
const S3rver = require('@20minutes/s3rver')

const directory = process.argv[2]
const port = Number(process.argv[3] || 0)
if (!directory) {
  console.error('usage: node server.js DIRECTORY [PORT]')
  process.exit(2)
}

const server = new S3rver({
  port,
  address: '127.0.0.1',
  directory,
  silent: true,
  allowMismatchedSignatures: false,
  vhostBuckets: false,
  configureBuckets: [{ name: 'weir' }],
})
server.run().then(
  (addr) => {
    process.stdout.write(`port ${addr.port}\n`)
  },
  (err) => {
    console.error(`s3rver: ${err.stack || err}`)
    process.exit(1)
  },
)
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0))
