#!/usr/bin/env node
// dynalite's own command line (same flags: --host, --port, --createTableMs,
// ...), made to survive its clients. dynalite throws from a request's
// 'error' event, so one client that goes away mid-request (a process
// killed with SIGKILL, as the fault suite does) takes the whole server
// down, and with it every other client's tables. Such an error concerns
// only that request; anything else still ends the process.
'use strict'

process.on('uncaughtException', (err) => {
  if (err && (err.code === 'ECONNRESET' || err.message === 'aborted')) {
    console.error('dynalite: a client went away mid-request:', err.message)
    return
  }
  console.error(err)
  process.exit(1)
})

require('dynalite/cli.js')
