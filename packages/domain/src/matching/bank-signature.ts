import { createPublicKey, generateKeyPairSync, sign, verify, KeyObject, createPrivateKey } from 'node:crypto';
import { InvalidInputError } from '../errors';

/**
 * Whether a bank accepts only signed lists, and the key they must be signed with.
 *
 * Why: indicator lists decide what gets blocked and reported. A list supplier (e.g. the EU
 * Centre) signs the exact file bytes with Ed25519; the platform configures the supplier's public
 * key per bank, and import refuses unsigned or tampered files.
 */
export interface BankSignaturePolicy {
  /** Refuse files without a valid signature. */
  readonly requireSignature: boolean;
  /** Supplier's Ed25519 public key, PEM (SPKI). Required when `requireSignature`. */
  readonly publicKeyPem?: string;
}

/** An Ed25519 key pair in PEM (SPKI public, PKCS#8 private), e.g. for a list supplier or tests. */
export interface BankSigningKeyPair {
  /** Public key, PEM. */
  readonly publicKeyPem: string;
  /** Private key, PEM. Keep secret. */
  readonly privateKeyPem: string;
}

/** Generates a fresh Ed25519 key pair for signing bank files. */
export function generateBankSigningKeyPair(): BankSigningKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return {
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

function ed25519(key: KeyObject, code: string): KeyObject {
  if (key.asymmetricKeyType !== 'ed25519') throw new InvalidInputError(code, 'key is not an Ed25519 key');
  return key;
}

function publicKey(pem: string): KeyObject {
  try {
    return ed25519(createPublicKey(pem), 'public_key_invalid');
  } catch (err) {
    if (err instanceof InvalidInputError) throw err;
    throw new InvalidInputError('public_key_invalid', 'public key is not a valid PEM key', { cause: err });
  }
}

/**
 * Detached Ed25519 signature over the exact bytes of a bank file, as base64 text (the content of
 * a `<file>.sig` file).
 * @throws InvalidInputError `private_key_invalid`.
 */
export function signBankFile(content: Uint8Array, privateKeyPem: string): string {
  let key: KeyObject;
  try {
    key = ed25519(createPrivateKey(privateKeyPem), 'private_key_invalid');
  } catch (err) {
    if (err instanceof InvalidInputError) throw err;
    throw new InvalidInputError('private_key_invalid', 'private key is not a valid PEM key', { cause: err });
  }
  return sign(null, content, key).toString('base64') + '\n';
}

/** Decodes a signature given as base64 text (whitespace ignored) or as the raw 64 bytes; null if malformed. */
function signatureBytes(signature: string | Uint8Array): Buffer | null {
  if (typeof signature !== 'string' && signature.length === 64) return Buffer.from(signature);
  const text = (typeof signature === 'string' ? signature : Buffer.from(signature).toString('utf8')).replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return null;
  const bytes = Buffer.from(text, 'base64');
  return bytes.length === 64 ? bytes : null;
}

/**
 * True when `signature` is a valid Ed25519 signature of exactly `content` by `publicKeyPem`.
 * @throws InvalidInputError `public_key_invalid`.
 */
export function verifyBankFileSignature(content: Uint8Array, signature: string | Uint8Array, publicKeyPem: string): boolean {
  const key = publicKey(publicKeyPem);
  const sig = signatureBytes(signature);
  return sig !== null && verify(null, content, key, sig);
}

/**
 * Applies a bank's signature policy to a file: returns `verified` (valid signature) or
 * `unsigned` (no signature, and none required).
 * @throws InvalidInputError `signature_missing` (required, none given), `signature_key_missing`
 *   (required or given, but no public key configured), `signature_invalid` (tampered file, wrong
 *   key or malformed signature), `public_key_invalid`.
 */
export function checkBankFileSignature(
  content: Uint8Array,
  signature: string | Uint8Array | undefined,
  policy: BankSignaturePolicy,
): 'verified' | 'unsigned' {
  if (signature === undefined) {
    if (policy.requireSignature) throw new InvalidInputError('signature_missing', 'this bank requires a signed list');
    return 'unsigned';
  }
  if (!policy.publicKeyPem) {
    throw new InvalidInputError('signature_key_missing', 'no public key configured to check the signature');
  }
  if (!verifyBankFileSignature(content, signature, policy.publicKeyPem)) {
    throw new InvalidInputError('signature_invalid', 'signature does not match the file and key');
  }
  return 'verified';
}
