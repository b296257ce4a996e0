import type { KeyObject } from 'node:crypto';
import { canonicalJson, deterministicId } from '../canonical';
import { defaultCategory, type Case, type ReportCategory } from '../case';
import { ReportingInputError } from '../errors';
import { signEd25519, verifyEd25519 } from '../keys';
import type { ProviderProfile, ReportEnrichment } from './profile';
import { countryCodesOf, fileFactsOf, ipEventsOf } from './upload-facts';

/** Schema id carried by every EU Centre report this library writes. */
export const EU_REPORT_SCHEMA = 'safeguard.eu-centre-report.v1';

/** Art. 13(k) legal basis text. */
export const EU_LEGAL_BASIS = {
  instrument: 'Regulation laying down rules to prevent and combat child sexual abuse (Commission proposal COM(2022) 209 final)',
  article: 'Article 13',
  celex: '52022PC0209',
} as const;

/**
 * Which top-level member carries each Art. 13(1) item. The EU Centre simulator requires all of
 * them; `signature` is part of item (b) (date, time stamp and electronic signature).
 */
export const EU_REPORT_ART13_FIELDS: Readonly<Record<'a' | 'b' | 'c' | 'd' | 'e' | 'f' | 'g' | 'h' | 'i' | 'j' | 'k', readonly string[]>> = {
  a: ['provider'],
  b: ['createdAt', 'signature'],
  c: ['contentData'],
  d: ['otherData'],
  e: ['category'],
  f: ['geographic'],
  g: ['usersInvolved'],
  h: ['thirdCountryReporting'],
  i: ['removal'],
  j: ['urgency'],
  k: ['legalBasis'],
};

/** (c) one reported content item or conversation. */
export type EuContentItem =
  | {
      type: 'media';
      contentId: string;
      /** Platform storage reference; the bytes stay with the platform until the Centre asks. */
      mediaUri?: string;
      hashes: Array<{ algorithm: string; value: string }>;
      indicators: Array<{ bankName: string; bankSource: string; entryId: string; listVersion: string; algorithm: string; distance: number }>;
      firstSeenAt: string;
      /** When the uploader uploaded it (ISO 8601 UTC), when the platform recorded it. */
      uploadedAt?: string;
      /** Whether it was publicly visible on the platform, when known. */
      publiclyAvailable?: boolean;
    }
  | {
      type: 'conversation';
      conversationId: string;
      alertId: string;
      stage: string;
      score: number;
      signals: Array<{ kind: string; messageIds: string[] }>;
      raisedAt: string;
    };

/**
 * EU Centre report (JSON). Field names, by Art. 13(1) item:
 * (a) `provider`; (b) `createdAt` (ISO 8601 UTC) and `signature`; (c) `contentData.items`;
 * (d) `otherData`; (e) `category` (`known_material` | `new_material` | `solicitation`);
 * (f) `geographic` (IP events, among them each item's upload IP with its `contentId`, and
 * countries from the platform's enrichment and the items' upload contexts; `available` false
 * when there is none);
 * (g) `usersInvolved` (opaque account ids with roles); (h) `thirdCountryReporting`;
 * (i) `removal`; (j) `urgency`; (k) `legalBasis`.
 */
export interface EuCentreReport {
  schema: typeof EU_REPORT_SCHEMA;
  reportId: string;
  caseId: string;
  provider: {
    name: string;
    legalEntityId?: string;
    country: string;
    contactEmail: string;
    legalRepresentative?: string;
    service: string;
  };
  createdAt: string;
  contentData: { items: EuContentItem[] };
  otherData: {
    platformId: string;
    detection: { method: 'hash_matching' | 'grooming_detection'; caseOpenedAt: string };
    review: { humanReviewed: boolean; decidedAt?: string; policyRuleId?: string };
    note?: string;
  };
  category: ReportCategory;
  geographic: {
    available: boolean;
    /** `at` is absent when the platform did not record the time; `contentId` marks the upload of a reported item. */
    ipCaptureEvents: Array<{ accountId: string; ipAddress: string; eventName: string; at?: string; possibleProxy?: boolean; contentId?: string }>;
    countryCodes: string[];
  };
  usersInvolved: Array<{ role: 'uploader' | 'suspected_offender' | 'potential_victim'; accountId: string }>;
  thirdCountryReporting: {
    reported: boolean;
    authorities: Array<{ authority: 'NCMEC'; country: 'US'; status: 'queued' | 'submitted'; reference?: string }>;
  };
  removal: { removedOrDisabled: boolean; at?: string };
  urgency: { urgent: boolean; reason?: string };
  legalBasis: typeof EU_LEGAL_BASIS;
  signature?: EuReportSignature;
}

/** Electronic signature of an EU report (Art. 13(1)(b)). */
export interface EuReportSignature {
  alg: 'Ed25519';
  keyId: string;
  canonicalization: 'RFC8785';
  /** base64url Ed25519 signature over the canonical JSON of the report with `signature.value` removed. */
  value: string;
}

/** Options of {@link buildEuReport}. */
export interface BuildEuReportOptions {
  provider: ProviderProfile;
  enrichment?: ReportEnrichment;
  /** Third-country (NCMEC) state known at build time. */
  ncmec?: { status: 'queued' | 'submitted'; reference?: string };
  nowMs: number;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** Deterministic report id of a case for a destination (one report per incident and destination). */
export function reportIdFor(caseId: string, destination: 'eu_centre' | 'ncmec'): string {
  return deterministicId('rep', [caseId, destination]);
}

/**
 * Builds the unsigned EU Centre report of a confirmed (or directly reportable) case. Pure.
 * @throws ReportingInputError `invalid_case` for a case with no evidence (e.g. purged).
 */
export function buildEuReport(c: Case, opts: BuildEuReportOptions): EuCentreReport {
  if (c.items.length === 0) throw new ReportingInputError('invalid_case', `case ${c.caseId} has no evidence to report`);
  const e = opts.enrichment ?? {};
  const items: EuContentItem[] = c.items.map((it) => {
    if (it.type === 'match') {
      const hashes = new Map<string, { algorithm: string; value: string }>();
      for (const m of it.matches) hashes.set(`${m.algorithm}|${m.queryHash}`, { algorithm: m.algorithm, value: m.queryHash.toLowerCase() });
      const facts = fileFactsOf(it, opts.enrichment);
      return {
        type: 'media',
        contentId: it.contentId,
        ...(it.mediaUri ? { mediaUri: it.mediaUri } : {}),
        hashes: [...hashes.values()],
        indicators: it.matches.map((m) => ({
          bankName: m.bank.name,
          bankSource: m.bank.source,
          entryId: m.bank.entryId,
          listVersion: m.bank.listVersion,
          algorithm: m.algorithm,
          distance: m.distance,
        })),
        firstSeenAt: iso(it.firstSeenAtMs),
        ...(facts.uploadedAtMs !== undefined ? { uploadedAt: iso(facts.uploadedAtMs) } : {}),
        ...(facts.publiclyAvailable !== undefined ? { publiclyAvailable: facts.publiclyAvailable } : {}),
      };
    }
    return {
      type: 'conversation',
      conversationId: it.alert.conversationId,
      alertId: it.alert.alertId,
      stage: it.alert.stage,
      score: it.alert.score,
      signals: it.alert.signals.map((s) => ({ kind: s.kind, messageIds: [...s.messageIds] })),
      raisedAt: iso(it.alert.raisedAtMs),
    };
  });
  const users: EuCentreReport['usersInvolved'] = [];
  if (c.kind === 'match') users.push({ role: 'uploader', accountId: c.subjectId });
  else {
    const seen = new Set<string>();
    for (const it of c.items) {
      if (it.type !== 'grooming') continue;
      for (const p of it.alert.participantIds) {
        if (seen.has(p)) continue;
        seen.add(p);
        users.push({ role: p === it.alert.suspectedAdultId ? 'suspected_offender' : 'potential_victim', accountId: p });
      }
    }
  }
  const involved = new Set(users.map((u) => u.accountId));
  const ipEvents = ipEventsOf(c, opts.enrichment).filter((ev) => involved.has(ev.accountId));
  const countryCodes = countryCodesOf(c, opts.enrichment);
  const removal = e.removal ?? c.removal;
  const p = opts.provider;
  const humanReviewed = c.policy?.action !== 'report';
  return {
    schema: EU_REPORT_SCHEMA,
    reportId: reportIdFor(c.caseId, 'eu_centre'),
    caseId: c.caseId,
    provider: {
      name: p.name,
      ...(p.legalEntityId ? { legalEntityId: p.legalEntityId } : {}),
      country: p.country,
      contactEmail: p.contactEmail,
      ...(p.legalRepresentative ? { legalRepresentative: p.legalRepresentative } : {}),
      service: p.service,
    },
    createdAt: iso(opts.nowMs),
    contentData: { items },
    otherData: {
      platformId: c.platformId,
      detection: { method: c.kind === 'match' ? 'hash_matching' : 'grooming_detection', caseOpenedAt: iso(c.openedAtMs) },
      review: {
        humanReviewed,
        ...(c.decidedAtMs !== undefined ? { decidedAt: iso(c.decidedAtMs) } : {}),
        ...(c.policy ? { policyRuleId: c.policy.ruleId } : {}),
      },
      ...(e.note ? { note: e.note } : {}),
    },
    category: c.category ?? defaultCategory(c),
    geographic: {
      available: ipEvents.length > 0 || countryCodes.length > 0,
      ipCaptureEvents: ipEvents.map((ev) => ({
        accountId: ev.accountId,
        ipAddress: ev.ipAddress,
        eventName: ev.eventName,
        ...(ev.atMs !== undefined ? { at: iso(ev.atMs) } : {}),
        ...(ev.possibleProxy !== undefined ? { possibleProxy: ev.possibleProxy } : {}),
        ...(ev.contentId !== undefined ? { contentId: ev.contentId } : {}),
      })),
      countryCodes,
    },
    usersInvolved: users,
    thirdCountryReporting: opts.ncmec
      ? { reported: true, authorities: [{ authority: 'NCMEC', country: 'US', status: opts.ncmec.status, ...(opts.ncmec.reference ? { reference: opts.ncmec.reference } : {}) }] }
      : { reported: false, authorities: [] },
    removal: { removedOrDisabled: removal?.removed ?? false, ...(removal?.atMs !== undefined ? { at: iso(removal.atMs) } : {}) },
    urgency: { urgent: c.urgent, ...(c.urgent ? { reason: 'imminent_risk_to_child' } : {}) },
    legalBasis: EU_LEGAL_BASIS,
  };
}

function signingInput(report: EuCentreReport): string {
  if (!report.signature) throw new ReportingInputError('signature_invalid', 'report has no signature');
  const { value: _v, ...sigMeta } = report.signature;
  return canonicalJson({ ...report, signature: sigMeta });
}

/** Signs an EU report with the provider's Ed25519 key (signature covers alg, key id and canonicalisation too). Pure. */
export function signEuReport(report: EuCentreReport, key: { privateKey: KeyObject; keyId: string }): EuCentreReport {
  const withMeta: EuCentreReport = { ...report, signature: { alg: 'Ed25519', keyId: key.keyId, canonicalization: 'RFC8785', value: '' } };
  return { ...withMeta, signature: { ...withMeta.signature!, value: signEd25519(signingInput(withMeta), key.privateKey) } };
}

/** The exact bytes of a signed report as written to disk and sent: RFC 8785 canonical JSON plus one newline. */
export function serializeEuReport(report: EuCentreReport): Buffer {
  return Buffer.from(`${canonicalJson(report)}\n`, 'utf8');
}

/** Result of {@link verifyEuReportBytes}. */
export type EuReportVerification =
  | { ok: true; report: EuCentreReport; keyId: string }
  | { ok: false; reason: 'not_json' | 'not_canonical' | 'no_signature' | 'unsupported_alg' | 'key_mismatch' | 'bad_signature' | 'missing_fields'; detail?: string };

/** Art. 13 members absent from a parsed report (`[]` when complete). */
export function missingArt13Fields(report: unknown): string[] {
  if (typeof report !== 'object' || report === null) return Object.values(EU_REPORT_ART13_FIELDS).flat();
  const r = report as Record<string, unknown>;
  const missing: string[] = [];
  for (const [letter, fields] of Object.entries(EU_REPORT_ART13_FIELDS)) {
    for (const f of fields) if (r[f] === undefined || r[f] === null) missing.push(`(${letter}) ${f}`);
  }
  return missing;
}

/**
 * Verifies a signed EU report exactly as stored or received. Strict, so that any altered byte
 * fails: the bytes must be the RFC 8785 canonical form of their own parse (plus at most one
 * trailing newline), the signature must be Ed25519 under `publicKey` over the canonical form
 * with `signature.value` removed, and every Art. 13 member must be present.
 */
export function verifyEuReportBytes(bytes: Uint8Array, publicKey: KeyObject, expectedKeyId?: string): EuReportVerification {
  const buf = Buffer.from(bytes);
  let parsed: unknown;
  try {
    parsed = JSON.parse(buf.toString('utf8'));
  } catch {
    return { ok: false, reason: 'not_json' };
  }
  let canonical: string;
  try {
    canonical = canonicalJson(parsed);
  } catch {
    return { ok: false, reason: 'not_canonical' };
  }
  const c = Buffer.from(canonical, 'utf8');
  const exact = buf.equals(c) || buf.equals(Buffer.concat([c, Buffer.from('\n')]));
  if (!exact) return { ok: false, reason: 'not_canonical' };
  const report = parsed as EuCentreReport;
  const sig = report?.signature;
  if (!sig || typeof sig !== 'object' || typeof sig.value !== 'string') return { ok: false, reason: 'no_signature' };
  if (sig.alg !== 'Ed25519' || sig.canonicalization !== 'RFC8785') return { ok: false, reason: 'unsupported_alg' };
  if (expectedKeyId !== undefined && sig.keyId !== expectedKeyId) return { ok: false, reason: 'key_mismatch' };
  if (!verifyEd25519(signingInput(report), sig.value, publicKey)) return { ok: false, reason: 'bad_signature' };
  const missing = missingArt13Fields(report);
  if (missing.length > 0) return { ok: false, reason: 'missing_fields', detail: missing.join(', ') };
  return { ok: true, report, keyId: sig.keyId };
}
