/**
 * Test helpers for Safeguard: real broker and registry selection (see `./global-setup`),
 * unique names, deadline-based waiting, and independent interop tools (kcat for Kafka records,
 * Apache's Python Avro for payloads, plain HTTP for the registry), the PDQ reference vectors
 * and generated failure-mode media.
 *
 * This package never imports kafkajs: only `@safeguard/kafka` may.
 */
export { TestkitError, WaitTimeoutError } from './errors';
export { integrationEnv, INTEGRATION_SOURCE_VARIABLE } from './integration-env';
export type { IntegrationEnv, IntegrationSource } from './integration-env';
export { uniqueName, MAX_TOPIC_NAME_LENGTH } from './unique-name';
export { waitFor } from './wait-for';
export type { WaitForOptions, Falsy } from './wait-for';
export { kcatConsume, kcatProduce, kcatMetadata, kcatBinary, parseKcatJson } from './kcat';
export type { KcatRecord, KcatHeader, KcatConsumeOptions, KcatProduceRecord, KcatMetadata } from './kcat';
export {
  decodeWithPythonAvro,
  decodeManyWithPythonAvro,
  encodeWithPythonAvro,
  decodeConfluentWithPythonAvro,
  encodeConfluentWithPythonAvro,
  avroPython,
  AVRO_TOOL_SCRIPT,
} from './python-avro';
export type { PythonAvroOptions, DecodedConfluentValue } from './python-avro';
export { registryHttp, fetchSchemaById, RegistryHttpError } from './registry-http';
export type { RegistryHttp, RegistrySchema, SubjectVersion, SchemaType } from './registry-http';
export { parseConfluentFrame, buildConfluentFrame, CONFLUENT_FRAME_HEADER_BYTES } from './wire-frame';
export type { ConfluentFrame } from './wire-frame';
export { chooseIntegrationPath } from './select-environment';
export type { IntegrationChoice, InfraPreference } from './select-environment';
export { dockerEngineAnswers, dockerEndpoints } from './docker-probe';
export type { DockerEndpoint } from './docker-probe';
export { runInfraScript, repoRoot, parseExports, createTopicWithKafkaCli } from './infra-script';
export type { CliTopicOptions } from './infra-script';
export { pdqVectorsDir, pdqVectorImage } from './pdq-vectors';
export { benignJpeg, corruptJpeg, pngBomb, svgBytes, textBytes, truncatedJpeg } from './failure-media';
