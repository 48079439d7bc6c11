#!/usr/bin/env node
// The `m2` command. Node 20 cannot run TypeScript itself, so the tsx loader is registered
// before the CLI (bin/cli.ts) is imported.
import { register } from 'tsx/esm/api';

register();
await import('./cli.ts');
