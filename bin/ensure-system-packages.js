#!/usr/bin/env node
// Test set-up: the suites start a real nats-server. Install it (Debian) when missing and we are
// root, as CI is; otherwise stop with the one command a user has to run.
import { execFileSync, spawnSync } from 'node:child_process';

function has(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

if (!has('nats-server')) {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot || !has('apt-get')) {
    console.error('m2: tests need nats-server; install it with: sudo apt-get update && sudo apt-get install -y nats-server');
    process.exit(1);
  }
  console.error('m2: installing nats-server (apt-get)...');
  execFileSync('sh', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server'], { stdio: 'inherit' });
}
