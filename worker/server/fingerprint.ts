// A model's identity for "did every rank load the same model": config.json plus every tensor's
// name, dtype and shape (cheap: headers only, no weight bytes are hashed).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SafetensorsCheckpoint } from '../model/safetensors.ts';

export function modelFingerprint(dir: string): string {
  const hash = createHash('sha256');
  hash.update(readFileSync(join(dir, 'config.json')));
  const ckpt = SafetensorsCheckpoint.open(dir);
  try {
    for (const name of ckpt.names().sort()) {
      const { dtype, shape } = ckpt.info(name);
      hash.update(`${name}:${dtype}:${shape.join('x')};`);
    }
  } finally {
    ckpt.close();
  }
  return hash.digest('hex').slice(0, 16);
}
