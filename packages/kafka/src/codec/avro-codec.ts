import { Type } from 'avsc';
import { DeserializationError, SerializationError } from '../errors';
import type { SchemaRegistryClient } from '../registry/schema-registry';
import { valueSubject } from '../registry/schema-registry';
import type { AvroSchemaJson, TopicBinding } from '../types';
import { decodeWireFrame, encodeWireFrame } from './wire-format';

/** Options of {@link AvroCodec}. */
export interface AvroCodecOptions {
  /**
   * Register a binding's schema on first use (default true). When false the schema must already
   * be registered under the subject (production registries often forbid client registration).
   */
  autoRegister?: boolean;
}

type Resolver = ReturnType<Type['createResolver']>;

interface BindingState {
  readonly type: Type;
  readonly schemaText: string;
  writerId?: Promise<number>;
  /** Per writer id: the resolver, or null when the writer schema equals the reader's. */
  readonly resolvers: Map<number, Resolver | null>;
}

/**
 * Avro values in the Confluent wire format, shared by both transports. Encoding registers (or
 * looks up) the binding's schema once per subject and caches the id; decoding fetches the writer
 * schema by the id in the record once, builds the writer → reader resolver once, and resolves
 * every value to the binding's schema (so consumers read old data with new schemas).
 */
export class AvroCodec {
  private readonly autoRegister: boolean;
  private readonly byBinding = new WeakMap<object, BindingState>();
  private readonly byKey = new Map<string, BindingState>();
  private readonly writerTypes = new Map<number, Promise<Type>>();

  constructor(private readonly registry: SchemaRegistryClient, options: AvroCodecOptions = {}) {
    this.autoRegister = options.autoRegister ?? true;
  }

  /**
   * Encodes and frames a value.
   * @throws SerializationError (`serialization_failed`) when the value does not match the schema;
   *   registry errors from {@link SchemaRegistryClient.register}.
   */
  async encode<V>(binding: TopicBinding<V>, value: V): Promise<Buffer> {
    const state = this.state(binding);
    let payload: Buffer;
    try {
      payload = state.type.toBuffer(value);
    } catch (err) {
      const paths: string[] = [];
      state.type.isValid(value, { errorHook: (path) => paths.push(path.join('.')) });
      throw new SerializationError(`value does not match the schema of ${binding.topic} at: ${paths.join(', ') || '(root)'}`, paths, { cause: err });
    }
    return encodeWireFrame(await this.writerId(binding, state), payload);
  }

  /**
   * The registry id of a binding's schema (registered on first call when `autoRegister`).
   * @throws SerializationError when `autoRegister` is off and the schema is not registered.
   */
  async schemaId<V>(binding: TopicBinding<V>): Promise<number> {
    return this.writerId(binding, this.state(binding));
  }

  /**
   * Unframes and decodes a value, resolving it from its writer schema to the binding's schema.
   * @throws DeserializationError (`deserialization_failed`): wrong magic byte, truncated frame,
   *   unknown schema id, incompatible writer schema, or bad Avro bytes. Registry outages throw
   *   TransientError (`schema_registry_unavailable`) instead, so they are retried.
   */
  async decode<V>(binding: TopicBinding<V>, bytes: Buffer): Promise<V> {
    const frame = decodeWireFrame(bytes);
    const state = this.state(binding);
    let resolver = state.resolvers.get(frame.schemaId);
    if (resolver === undefined) {
      const writer = await this.writerType(frame.schemaId);
      if (writer.equals(state.type)) {
        resolver = null;
      } else {
        try {
          resolver = state.type.createResolver(writer);
        } catch (err) {
          throw new DeserializationError('incompatible_schema', `writer schema ${frame.schemaId} cannot be resolved to the reader schema of ${binding.topic}`, { cause: err });
        }
      }
      state.resolvers.set(frame.schemaId, resolver);
    }
    try {
      return (resolver ? state.type.fromBuffer(frame.payload, resolver) : state.type.fromBuffer(frame.payload)) as V;
    } catch (err) {
      throw new DeserializationError('avro_decode_failed', `Avro payload with schema ${frame.schemaId} could not be decoded for ${binding.topic}`, { cause: err });
    }
  }

  private state<V>(binding: TopicBinding<V>): BindingState {
    const cached = this.byBinding.get(binding);
    if (cached) return cached;
    const schemaText = schemaToText(binding.valueSchema);
    const key = `${binding.topic}\u0000${schemaText}`;
    let state = this.byKey.get(key);
    if (!state) {
      state = { type: Type.forSchema(JSON.parse(schemaText)), schemaText, resolvers: new Map() };
      this.byKey.set(key, state);
    }
    this.byBinding.set(binding, state);
    return state;
  }

  private writerId<V>(binding: TopicBinding<V>, state: BindingState): Promise<number> {
    if (!state.writerId) {
      const subject = valueSubject(binding.topic);
      const pending = (async () => {
        if (this.autoRegister) return this.registry.register(subject, state.schemaText);
        const id = await this.registry.lookup(subject, state.schemaText);
        if (id === undefined) throw new SerializationError(`the schema of ${binding.topic} is not registered under ${subject} and auto-registration is off`, []);
        return id;
      })();
      state.writerId = pending;
      // A failed lookup must not stick: the next send asks the registry again.
      pending.catch(() => {
        if (state.writerId === pending) state.writerId = undefined;
      });
    }
    return state.writerId;
  }

  private writerType(id: number): Promise<Type> {
    let pending = this.writerTypes.get(id);
    if (!pending) {
      pending = (async () => {
        const text = await this.registry.schemaById(id);
        if (text === undefined) throw new DeserializationError('unknown_schema_id', `no schema with id ${id} in the registry`);
        return Type.forSchema(JSON.parse(text));
      })();
      this.writerTypes.set(id, pending);
      pending.catch(() => this.writerTypes.delete(id));
    }
    return pending;
  }
}

/** The JSON text of a schema given as text or as parsed JSON. */
export function schemaToText(schema: AvroSchemaJson): string {
  return typeof schema === 'string' ? JSON.stringify(JSON.parse(schema)) : JSON.stringify(schema);
}
