import { TestkitError } from './errors';

/** Bytes before the Avro body in Confluent's wire format: magic byte 0, then a 4-byte big-endian schema id. */
export const CONFLUENT_FRAME_HEADER_BYTES = 5;

/** A Confluent-framed record value split into its parts. */
export interface ConfluentFrame {
  /** Registry id of the writer schema (unsigned 32-bit). */
  schemaId: number;
  /** The Avro binary body (a view into the input, not a copy). */
  body: Buffer;
}

/**
 * Splits a Confluent wire-format value (`0x00`, schema id as 4 bytes big-endian, Avro body).
 * Written independently of `@safeguard/kafka` on purpose: interop tests must not check our
 * framing with our own code.
 *
 * @throws TestkitError `invalid_wire_frame` if the input is shorter than 5 bytes or the magic byte is not 0.
 */
export function parseConfluentFrame(bytes: Uint8Array): ConfluentFrame {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < CONFLUENT_FRAME_HEADER_BYTES) {
    throw new TestkitError('invalid_wire_frame', `a Confluent frame needs at least ${CONFLUENT_FRAME_HEADER_BYTES} bytes, got ${buf.length}`);
  }
  if (buf[0] !== 0) {
    throw new TestkitError('invalid_wire_frame', `Confluent magic byte must be 0, got ${buf[0]}`);
  }
  return { schemaId: buf.readUInt32BE(1), body: buf.subarray(CONFLUENT_FRAME_HEADER_BYTES) };
}

/**
 * Builds a Confluent wire-format value from a schema id and an Avro body (for tests that
 * produce with independent tools, e.g. Python's Avro writer plus kcat).
 *
 * @throws TestkitError `invalid_argument` if the id is not an unsigned 32-bit integer.
 */
export function buildConfluentFrame(schemaId: number, body: Uint8Array): Buffer {
  if (!Number.isInteger(schemaId) || schemaId < 0 || schemaId > 0xffffffff) {
    throw new TestkitError('invalid_argument', `schema id must be an unsigned 32-bit integer, got ${schemaId}`);
  }
  const header = Buffer.alloc(CONFLUENT_FRAME_HEADER_BYTES);
  header.writeUInt32BE(schemaId, 1);
  return Buffer.concat([header, body]);
}
