import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { sha256Hex } from './canonical';
import { ReportingInputError } from './errors';

/** An Ed25519 signing key with its derived key id. */
export interface SigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** First 32 hex digits of the SHA-256 of the public key's SPKI DER encoding. */
  keyId: string;
}

/** Key id of an Ed25519 public key: first 32 hex digits of SHA-256(SPKI DER). */
export function keyIdOf(publicKey: KeyObject): string {
  return sha256Hex(publicKey.export({ type: 'spki', format: 'der' })).slice(0, 32);
}

/**
 * Loads an Ed25519 private key (PKCS#8 PEM) and derives its public key and key id.
 * @throws ReportingInputError `key_invalid` when the PEM is not an Ed25519 private key.
 */
export function loadSigningKey(pem: string | Buffer): SigningKey {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch (err) {
    throw new ReportingInputError('key_invalid', 'not a PEM private key', { cause: err });
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new ReportingInputError('key_invalid', 'the private key is not Ed25519');
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, keyId: keyIdOf(publicKey) };
}

/**
 * Loads an Ed25519 public key (SPKI PEM).
 * @throws ReportingInputError `key_invalid` when the PEM is not an Ed25519 public key.
 */
export function loadPublicKey(pem: string | Buffer): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (err) {
    throw new ReportingInputError('key_invalid', 'not a PEM public key', { cause: err });
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new ReportingInputError('key_invalid', 'the public key is not Ed25519');
  return key;
}

/** Ed25519 signature of `data` as unpadded base64url. */
export function signEd25519(data: string | Uint8Array, key: KeyObject): string {
  return sign(null, typeof data === 'string' ? Buffer.from(data, 'utf8') : data, key).toString('base64url');
}

/**
 * Verifies an unpadded base64url Ed25519 signature. Strict: a signature string that is not the
 * exact canonical base64url encoding of 64 bytes fails (so no two strings verify the same).
 */
export function verifyEd25519(data: string | Uint8Array, signature: string, key: KeyObject): boolean {
  if (!/^[A-Za-z0-9_-]{86}$/.test(signature)) return false;
  const raw = Buffer.from(signature, 'base64url');
  if (raw.length !== 64 || raw.toString('base64url') !== signature) return false;
  try {
    return verify(null, typeof data === 'string' ? Buffer.from(data, 'utf8') : data, key, raw);
  } catch {
    return false;
  }
}
