import type { MediaReference } from '@safeguard/schemas';
import { FetchRefusedError } from './errors';
import type { FileFetcher } from './file-fetcher';
import type { HttpFetcher } from './http-fetcher';

/** Where media bytes came from; a closed set (metric label). */
export type MediaSource = 'inline' | 'file' | 'http' | 'https' | 'other';

/** Bytes of one submission. */
export interface FetchedMedia {
  bytes: Buffer;
  source: MediaSource;
  /** True when nothing else references the bytes' memory (fetched, not inline): it may be moved to a worker. */
  owned: boolean;
}

/** The source a reference names, without fetching it (for metric labels, also on failure). */
export function mediaSourceOf(media: MediaReference): MediaSource {
  if (media.inlineBytes) return 'inline';
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(media.uri ?? '')?.[1]?.toLowerCase();
  return scheme === 'file' || scheme === 'http' || scheme === 'https' ? scheme : 'other';
}

/**
 * Turns a submission's media reference into bytes: inline bytes as they are, `file://` through
 * the confined {@link FileFetcher}, `http(s)://` through the SSRF-checked {@link HttpFetcher}.
 * A scheme whose fetcher is absent (not configured) is refused.
 */
export class MediaFetcher {
  constructor(private readonly fetchers: { file?: FileFetcher; http?: HttpFetcher }) {}

  /**
   * @throws FetchRefusedError `media_reference_missing`, `fetch_invalid_uri`, `fetch_refused`, and
   *   whatever the scheme's fetcher throws.
   */
  async fetch(media: MediaReference, signal?: AbortSignal): Promise<FetchedMedia> {
    if (media.inlineBytes) return { bytes: media.inlineBytes, source: 'inline', owned: false };
    if (!media.uri) throw new FetchRefusedError('media_reference_missing', 'the submission has neither a URI nor inline bytes');
    let url: URL;
    try {
      url = new URL(media.uri);
    } catch (err) {
      throw new FetchRefusedError('fetch_invalid_uri', 'unparsable media URI', { cause: err });
    }
    const source = mediaSourceOf(media);
    if (source === 'file' && this.fetchers.file) return { bytes: await this.fetchers.file.fetch(url), source, owned: true };
    if ((source === 'http' || source === 'https') && this.fetchers.http) return { bytes: await this.fetchers.http.fetch(url, signal), source, owned: true };
    throw new FetchRefusedError('fetch_refused', `scheme ${url.protocol.slice(0, -1)} is not allowed`);
  }

  /** Releases idle connections. */
  close(): void {
    this.fetchers.http?.close();
  }
}
