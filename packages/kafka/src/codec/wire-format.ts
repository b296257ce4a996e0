import { DeserializationError } from '../errors';

/** First byte of every value in the Confluent wire format. */
export const WIRE_MAGIC_BYTE = 0;

/** Magic byte plus the 4-byte big-endian schema id. */
export const WIRE_HEADER_BYTES = 5;

/** A framed value split into its schema id and Avro payload. */
export interface WireFrame {
  /** Registry id of the writer schema. */
  schemaId: number;
  /** The Avro binary encoding (a view into the original buffer, not a copy). */
  payload: Buffer;
}

/**
 * Frames an Avro payload in the Confluent wire format: magic byte 0, the schema id as a 4-byte
 * big-endian unsigned int, then the Avro binary. Readers in any language (kcat -s avro, Java's
 * KafkaAvroDeserializer) understand it.
 *
 * @throws RangeError when `schemaId` is not an integer in 0..2^32-1 (a programmer error).
 */
export function encodeWireFrame(schemaId: number, payload: Buffer): Buffer {
  if (!Number.isInteger(schemaId) || schemaId < 0 || schemaId > 0xffffffff) {
    throw new RangeError(`schema id out of range: ${schemaId}`);
  }
  const frame = Buffer.allocUnsafe(WIRE_HEADER_BYTES + payload.length);
  frame.writeUInt8(WIRE_MAGIC_BYTE, 0);
  frame.writeUInt32BE(schemaId, 1);
  payload.copy(frame, WIRE_HEADER_BYTES);
  return frame;
}

/**
 * Splits a framed value into schema id and payload.
 *
 * @throws DeserializationError (`deserialization_failed`) with detail `truncated` when shorter than
 *   the 5-byte header, or `wrong_magic_byte` when the first byte is not 0.
 */
export function decodeWireFrame(bytes: Buffer): WireFrame {
  if (bytes.length < WIRE_HEADER_BYTES) {
    throw new DeserializationError('truncated', `value has ${bytes.length} bytes, shorter than the ${WIRE_HEADER_BYTES}-byte wire header`);
  }
  const magic = bytes.readUInt8(0);
  if (magic !== WIRE_MAGIC_BYTE) {
    throw new DeserializationError('wrong_magic_byte', `value starts with magic byte ${magic}, expected ${WIRE_MAGIC_BYTE}`);
  }
  return { schemaId: bytes.readUInt32BE(1), payload: bytes.subarray(WIRE_HEADER_BYTES) };
}
