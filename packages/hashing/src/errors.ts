import { InvalidInputError, SafeguardError } from '@safeguard/domain';

/**
 * Why one class with a closed set of codes: the hasher service dead-letters refused media with
 * the code as reason and counts refusals by code, so codes must be stable and few. Every refusal
 * of an input (empty, too large, wrong type, undecodable, bomb, too slow) is an
 * {@link InvalidInputError}: retrying the same bytes cannot succeed.
 */
export type MediaErrorCode =
  /** Zero bytes. */
  | 'media_empty'
  /** More bytes than `maxBytes`. */
  | 'media_too_large'
  /** Not one of the accepted formats (JPEG, PNG, WebP, GIF, TIFF, AVIF; videos for video hashing), e.g. SVG, PDF, text. */
  | 'media_unsupported_type'
  /** The data ends before the image does (truncated upload). */
  | 'media_truncated'
  /** The decoder rejected the data for another reason (corrupt header, invalid pixel data). */
  | 'decode_failed'
  /** The header declares more pixels (or a larger side) than allowed: a likely decompression bomb. Refused before decoding. */
  | 'media_dimensions_exceeded'
  /** Decoding took longer than the time budget. */
  | 'decode_timeout'
  /** A video is longer, or yields more frames, than allowed. */
  | 'video_too_long';

/** Media refused by the decoder or its limits. `code` is one of {@link MediaErrorCode}. */
export class MediaError extends InvalidInputError {
  declare readonly code: MediaErrorCode;

  constructor(code: MediaErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, options);
  }
}

/**
 * A required external tool (ffmpeg/ffprobe for video) is missing or failed to start. Not the
 * input's fault and not retriable on this host: fix the deployment. Code `video_tool_unavailable`.
 */
export class ToolUnavailableError extends SafeguardError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('video_tool_unavailable', message, { ...options, retriable: false });
  }
}
