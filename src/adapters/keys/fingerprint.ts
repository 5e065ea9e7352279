import { readFileSync } from 'node:fs';
import { digestOf } from '../../domain/digest.js';

/** A trust file's content digest (policy, public key), or "unreadable". */
export function fingerprint(file: string): string {
  try {
    return digestOf(readFileSync(file));
  } catch {
    return 'unreadable';
  }
}
