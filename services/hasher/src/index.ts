/**
 * The hasher service: consumes content-submitted events, fetches the media (file roots,
 * SSRF-checked HTTP(S), inline bytes), hashes it in a Piscina worker pool (PDQ, dihedral
 * variants, MD5, SHA-1, SHA-256, video frames) and publishes content-hashed events.
 */
export { hasherConfigSchema } from './config';
export type { HasherConfig } from './config';
export { startHasher } from './service';
export type { HasherService, HasherStartOptions } from './service';
export { HasherHandler } from './handler';
export type { HasherDependencies } from './handler';
export { HashPool, defaultWorkerFile } from './hash-pool';
export { transferableBuffer } from '@safeguard/service-runtime/worker-pool';
export type { HashExecutor, HashPoolOptions, PoolSlot } from './hash-pool';
export { contentHashedOf, hashValuesOf, hashedEventId, mediaTypeOf } from './content-hashed';
export { AddressPolicy, METADATA_ADDRESSES, parseCidr, parseIp, embeddedIpv4, cidrContains } from './fetch/ip-policy';
export type { AddressRefusal, AddressVerdict, Cidr } from './fetch/ip-policy';
export { HttpFetcher, statusError } from './fetch/http-fetcher';
export type { HttpFetcherOptions, HttpScheme, Resolver } from './fetch/http-fetcher';
export { FileFetcher } from './fetch/file-fetcher';
export { MediaFetcher, mediaSourceOf } from './fetch/media-fetcher';
export type { FetchedMedia, MediaSource } from './fetch/media-fetcher';
export { BoundedBuffer, fixedSizeLimit, HEAD_BYTES } from './fetch/bounded-buffer';
export type { SizeLimit } from './fetch/bounded-buffer';
export { FetchRefusedError, FetchTransientError, isFetchError } from './fetch/errors';
export type { FetchError, FetchRefusalCode, FetchTransientCode } from './fetch/errors';
export { cpuLimit, cgroupCpuQuota } from '@safeguard/service-runtime';
export type { HashTask, HashTaskResult, HashTimings } from './workers/hash.worker';
