import type { z } from 'zod';
import type { Case, MatchItem } from '../case';
import type { ipEventNameSchema, ReportEnrichment } from './profile';

/*
 * Upload facts for reports: what the platform recorded about each upload (MatchFound
 * `uploadContext`, kept on the case item) merged with what the platform adds at report time
 * (`ReportEnrichment`). Where both give a value for the same file, the enrichment wins: it is
 * supplied deliberately for the report. Personal data: these functions only feed report
 * builders; nothing here logs or audits.
 */

/** NCMEC `ipCaptureEvent` event names. */
export type IpEventName = z.infer<typeof ipEventNameSchema>;

/** One IP event as both reports carry it (NCMEC `ipCaptureEvent`, EU Art. 13(f)). */
export interface ReportIpEvent {
  /** Account the event belongs to (the uploader for upload events). */
  accountId: string;
  ipAddress: string;
  eventName: IpEventName;
  /** When it happened, epoch ms; absent when the platform did not record it. */
  atMs?: number;
  possibleProxy?: boolean;
  port?: number;
  /** For upload events taken from a case item: the content uploaded. */
  contentId?: string;
}

/** Facts about one reported file (NCMEC `<fileDetails>`, EU content data). */
export interface FileFacts {
  fileName?: string;
  uploadedAtMs?: number;
  publiclyAvailable?: boolean;
}

const matchItems = (c: Pick<Case, 'items'>): MatchItem[] => c.items.filter((it): it is MatchItem => it.type === 'match');

/** The upload IP event of one item of a match case, if its upload context has an IP address. `accountId` is the uploader. */
export function uploadIpEventOf(item: MatchItem, uploaderAccountId: string): ReportIpEvent | undefined {
  const u = item.upload;
  if (!u?.ipAddress) return undefined;
  return { accountId: uploaderAccountId, ipAddress: u.ipAddress, eventName: 'Upload', ...(u.uploadedAtMs !== undefined ? { atMs: u.uploadedAtMs } : {}), contentId: item.contentId };
}

const eventKey = (e: ReportIpEvent): string => `${e.accountId}|${e.ipAddress}|${e.eventName}|${e.atMs ?? ''}`;

/**
 * Every IP event of a case: the platform's enrichment events first, then the upload events of
 * the case's items (match cases: the uploader is the case subject). An upload event equal to an
 * enrichment event (same account, address, event and time) is listed once, keeping its content id.
 */
export function ipEventsOf(c: Pick<Case, 'kind' | 'items' | 'subjectId'>, enrichment?: ReportEnrichment): ReportIpEvent[] {
  const out = new Map<string, ReportIpEvent>();
  for (const e of enrichment?.ipEvents ?? []) out.set(eventKey(e), { ...e });
  if (c.kind === 'match') {
    for (const item of matchItems(c)) {
      const e = uploadIpEventOf(item, c.subjectId);
      if (!e) continue;
      const k = eventKey(e);
      const known = out.get(k);
      out.set(k, known ? { ...known, contentId: e.contentId! } : e);
    }
  }
  return [...out.values()];
}

/**
 * Countries for Art. 13(f): the enrichment's country codes, then those of the items' upload
 * contexts, each once.
 */
export function countryCodesOf(c: Pick<Case, 'items'>, enrichment?: ReportEnrichment): string[] {
  const out = new Set<string>(enrichment?.countryCodes ?? []);
  for (const item of matchItems(c)) if (item.upload?.countryCode) out.add(item.upload.countryCode);
  return [...out];
}

/**
 * The uploader's estimated location for NCMEC (`estimatedLocation`): the country of the most
 * recent upload that has one (by upload time, else by item order). Only match cases: the
 * uploader is the reported user.
 */
export function uploaderLocationOf(c: Pick<Case, 'kind' | 'items'>): { countryCode: string; atMs?: number } | undefined {
  if (c.kind !== 'match') return undefined;
  let best: { countryCode: string; atMs?: number } | undefined;
  for (const item of matchItems(c)) {
    const u = item.upload;
    if (!u?.countryCode) continue;
    if (!best || (u.uploadedAtMs ?? -1) >= (best.atMs ?? -1)) best = { countryCode: u.countryCode, ...(u.uploadedAtMs !== undefined ? { atMs: u.uploadedAtMs } : {}) };
  }
  return best;
}

/** File facts of an item: the enrichment's `files[contentId]` where it gives a value, else the item's upload context. */
export function fileFactsOf(item: MatchItem, enrichment?: ReportEnrichment): FileFacts {
  const e = enrichment?.files?.[item.contentId];
  const u = item.upload;
  const uploadedAtMs = e?.uploadedAtMs ?? u?.uploadedAtMs;
  const publiclyAvailable = e?.publiclyAvailable ?? u?.publiclyAvailable;
  return {
    ...(e?.fileName !== undefined ? { fileName: e.fileName } : {}),
    ...(uploadedAtMs !== undefined ? { uploadedAtMs } : {}),
    ...(publiclyAvailable !== undefined ? { publiclyAvailable } : {}),
  };
}
