/** An Avro schema in its JSON form (a record, enum, array, ... declaration). */
export type AvroSchema = { readonly [key: string]: unknown };
