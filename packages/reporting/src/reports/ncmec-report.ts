import type { Case, GroomingItem, MatchItem } from '../case';
import { ReportingInputError } from '../errors';
import type { IndustryClassification } from '../policy';
import type { ContactPerson, ProviderProfile, ReportEnrichment } from './profile';
import { fileFactsOf, ipEventsOf, uploaderLocationOf, uploadIpEventOf, type ReportIpEvent } from './upload-facts';
import { el, renderXml, type XmlElement } from './xml';

/**
 * NCMEC CyberTipline Reporting API facts used here (public documentation of the API at
 * `/ispws/documentation`): `POST /submit` takes a `<report>` whose children follow the XSD
 * sequence below; `POST /upload` (multipart `id` + `file`) returns a `fileId`; `POST /fileinfo`
 * takes `<fileDetails>` in its XSD sequence; `POST /finish` (form `id`) closes the report;
 * `POST /retract` (form `id`) withdraws an unfinished one. Responses are
 * `<reportResponse><responseCode>0</responseCode><responseDescription>…</responseDescription>
 * <reportId>…</reportId>[<fileId>…</fileId>]</reportResponse>`; `responseCode` 0 is success,
 * 4100 "Validation failed" (including elements out of XSD order), 5001 "report does not exist",
 * 5102 "report already finished".
 */

/** XSD order of the children of `<report>`. */
export const NCMEC_REPORT_ORDER = [
  'incidentSummary',
  'internetDetails',
  'lawEnforcement',
  'reporter',
  'personOrUserReported',
  'intendedRecipient',
  'victim',
  'additionalInfo',
] as const;

/** XSD order of the children of `<fileDetails>`. */
export const NCMEC_FILE_DETAILS_ORDER = [
  'reportId',
  'fileId',
  'fileName',
  'originalFileName',
  'uploadedToEspTimestamp',
  'locationOfFile',
  'fileViewedByEsp',
  'exifViewedByEsp',
  'publiclyAvailable',
  'fileRelevance',
  'fileAnnotations',
  'industryClassification',
  'originalFileHash',
  'ipCaptureEvent',
  'deviceId',
  'details',
  'additionalInfo',
] as const;

/** NCMEC incident types used by Safeguard (values of the XSD `incidentType` enumeration). */
export const NCMEC_INCIDENT_TYPES = {
  material: 'Child Pornography (possession, manufacture, and distribution)',
  enticement: 'Online Enticement of Children for Sexual Acts',
} as const;

/** NCMEC response codes this library distinguishes. */
export const NCMEC_RESPONSE = {
  SUCCESS: 0,
  /** Authentication failed (observed with HTTP 401). */
  AUTH_FAILED: 1000,
  /** Request not valid otherwise (the simulator's choice for a retracted report or a missing parameter). */
  INVALID_REQUEST: 4000,
  /** XML failed schema validation (wrong order, missing or malformed element). Never retried. */
  VALIDATION_FAILED: 4100,
  /** The report id does not exist (never opened, or deleted by NCMEC because it was left unfinished). */
  REPORT_NOT_FOUND: 5001,
  /**
   * The report was already finished. The answer to a repeated `/finish`: when the report id is
   * one we submitted, the report was delivered (our first `/finish` completed but its answer was
   * lost), so the delivery runner counts it as success.
   */
  REPORT_ALREADY_FINISHED: 5102,
} as const;

/** NCMEC `hashType` attribute values for Safeguard algorithm ids. */
export function ncmecHashType(algorithm: string): string {
  const map: Record<string, string> = { md5: 'MD5', sha1: 'SHA1', sha256: 'SHA256', pdq: 'PDQ', vpdq: 'VPDQ' };
  return map[algorithm] ?? algorithm.toUpperCase();
}

/** Context for building NCMEC documents. */
export interface NcmecBuildOptions {
  provider: ProviderProfile;
  enrichment?: ReportEnrichment;
}

const xsdDateTime = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function personXml(name: string, p: ContactPerson | undefined): XmlElement {
  return el(name, [
    p?.firstName !== undefined && el('firstName', p.firstName),
    p?.lastName !== undefined && el('lastName', p.lastName),
    p?.phone !== undefined && el('phone', p.phone),
    p?.email !== undefined && el('email', p.email),
  ]);
}

function ipEventXml(ev: ReportIpEvent): XmlElement {
  return el('ipCaptureEvent', [
    el('ipAddress', ev.ipAddress),
    el('eventName', ev.eventName),
    ev.atMs !== undefined && el('dateTime', xsdDateTime(ev.atMs)),
    ev.possibleProxy !== undefined && el('possibleProxy', ev.possibleProxy),
    ev.port !== undefined && el('port', ev.port),
  ]);
}

function incidentTimeMs(c: Case): number {
  let t = Number.POSITIVE_INFINITY;
  for (const it of c.items) t = Math.min(t, it.type === 'match' ? it.firstSeenAtMs : it.alert.raisedAtMs);
  return Number.isFinite(t) ? t : c.openedAtMs;
}

/**
 * Builds the `<report>` XML for `POST /submit`, children in XSD order. Match cases are
 * "Child Pornography (possession, manufacture, and distribution)" with a web page incident;
 * grooming cases are "Online Enticement of Children for Sexual Acts" with a chat incident,
 * the suspected adult as the reported user and the other participants as intended recipients.
 * Urgent cases carry `escalateToHighPriority`. The reported user carries every IP event of
 * that account (the platform's enrichment and, for match cases, each item's upload IP) and,
 * for match cases, the country of the latest upload as `estimatedLocation`. No content or
 * message text is included.
 * @throws ReportingInputError `invalid_config` without `provider.ncmec`; `invalid_case` without evidence
 */
export function buildNcmecReportXml(c: Case, opts: NcmecBuildOptions): string {
  const ncmec = opts.provider.ncmec;
  if (!ncmec) throw new ReportingInputError('invalid_config', 'provider profile has no ncmec reporter section');
  if (c.items.length === 0) throw new ReportingInputError('invalid_case', `case ${c.caseId} has no evidence to report`);
  const e = opts.enrichment;
  const grooming = c.kind === 'grooming';
  const location = uploaderLocationOf(c);
  const firstAlert = c.items.find((it): it is GroomingItem => it.type === 'grooming');
  const reported = grooming && firstAlert ? firstAlert.alert.suspectedAdultId : c.subjectId;
  const recipients = new Set<string>();
  for (const it of c.items) if (it.type === 'grooming') it.alert.participantIds.filter((p) => p !== it.alert.suspectedAdultId).forEach((p) => recipients.add(p));

  const hashesNote = c.items
    .filter((it): it is MatchItem => it.type === 'match')
    .map((it) => `${it.contentId}: ${it.matches.map((m) => `${m.bank.source}/${m.bank.name}#${m.bank.entryId} (${m.algorithm}, distance ${m.distance})`).join(', ')}`)
    .join('; ');
  const summary = grooming
    ? `Safeguard case ${c.caseId}: grooming detection confirmed by human review; ${c.items.length} alert(s).`
    : `Safeguard case ${c.caseId}: ${c.items.length} file(s) matched indicator lists. ${hashesNote}`;
  const additional = [summary, e?.note].filter(Boolean).join(' ').slice(0, 3000);

  const report = el('report', [
    el('incidentSummary', [
      el('incidentType', grooming ? NCMEC_INCIDENT_TYPES.enticement : NCMEC_INCIDENT_TYPES.material),
      c.urgent && el('escalateToHighPriority', 'Reviewer marked this case urgent: possible imminent risk to a child.'),
      el('incidentDateTime', xsdDateTime(incidentTimeMs(c))),
    ]),
    el('internetDetails', [grooming ? el('chatImIncident', [el('chatClient', opts.provider.service)]) : el('webPageIncident', [])]),
    el('reporter', [
      personXml('reportingPerson', ncmec.reportingPerson),
      ncmec.contactPerson && personXml('contactPerson', ncmec.contactPerson),
      ncmec.companyTemplate !== undefined && el('companyTemplate', ncmec.companyTemplate),
      ncmec.legalUrl !== undefined && el('legalURL', ncmec.legalUrl),
    ]),
    el('personOrUserReported', [
      el('espIdentifier', reported),
      el('espService', opts.provider.service),
      ...ipEventsOf(c, e)
        .filter((ev) => ev.accountId === reported)
        .map(ipEventXml),
      location &&
        el('estimatedLocation', [el('countryCode', location.countryCode), location.atMs !== undefined && el('timestamp', xsdDateTime(location.atMs))]),
    ]),
    ...[...recipients].sort().map((r) => el('intendedRecipient', [el('intendedRecipientPerson', []), el('espIdentifier', r), el('espService', opts.provider.service)])),
    el('additionalInfo', additional),
  ]);
  return renderXml(report);
}

/** What the delivery client needs to upload one file and describe it. */
export interface NcmecFilePlan {
  /** Case item key (content id). */
  itemKey: string;
  contentId: string;
  mediaUri?: string;
  fileName: string;
}

/** The files of a match case that NCMEC should receive (one per content item). */
export function ncmecFilePlans(c: Case, enrichment?: ReportEnrichment): NcmecFilePlan[] {
  return c.items
    .filter((it): it is MatchItem => it.type === 'match')
    .map((it) => ({
      itemKey: it.contentId,
      contentId: it.contentId,
      ...(it.mediaUri ? { mediaUri: it.mediaUri } : {}),
      fileName: enrichment?.files?.[it.contentId]?.fileName ?? `${it.contentId.replace(/[^A-Za-z0-9._-]/g, '_')}.bin`,
    }));
}

/** Inputs of {@link buildNcmecFileDetailsXml}. */
export interface FileDetailsInput {
  reportId: string;
  fileId: string;
  item: MatchItem;
  fileName: string;
  /** True when a person at the provider looked at the file (human review). */
  fileViewedByEsp: boolean;
  industryClassification?: IndustryClassification;
  /** Account whose upload IP events go into `ipCaptureEvent`. */
  uploaderAccountId: string;
  enrichment?: ReportEnrichment;
}

/**
 * Builds `<fileDetails>` for `POST /fileinfo`, children in XSD order
 * ({@link NCMEC_FILE_DETAILS_ORDER}). Upload time and public availability come from the
 * enrichment's file facts, else from the item's upload context; `ipCaptureEvent` holds this
 * file's own upload IP, then the uploader's other `Upload` events from the enrichment. Every
 * distinct hash of the item goes into `originalFileHash` with its `hashType`; matched list
 * entries go into `details` (type HASH).
 */
export function buildNcmecFileDetailsXml(input: FileDetailsInput): string {
  const { item, enrichment: e } = input;
  const facts = fileFactsOf(item, e);
  const own = uploadIpEventOf(item, input.uploaderAccountId);
  const ipEvents = [...(own ? [own] : []), ...(e?.ipEvents ?? []).filter((ev) => ev.accountId === input.uploaderAccountId && ev.eventName === 'Upload')].filter(
    (ev, i, all) => all.findIndex((x) => x.ipAddress === ev.ipAddress && x.atMs === ev.atMs) === i,
  );
  const hashes = new Map<string, { algorithm: string; value: string }>();
  for (const m of item.matches) hashes.set(`${m.algorithm}|${m.queryHash.toLowerCase()}`, { algorithm: m.algorithm, value: m.queryHash.toLowerCase() });
  const details = item.matches.map((m) =>
    el('nameValuePair', [el('name', `matchedIndicator.${m.algorithm}`), el('value', `${m.bank.source}/${m.bank.name}#${m.bank.entryId}@${m.bank.listVersion} distance=${m.distance}`)]),
  );
  const root = el('fileDetails', [
    el('reportId', input.reportId),
    el('fileId', input.fileId),
    el('fileName', input.fileName),
    facts.fileName !== undefined && el('originalFileName', facts.fileName),
    facts.uploadedAtMs !== undefined && el('uploadedToEspTimestamp', xsdDateTime(facts.uploadedAtMs)),
    el('fileViewedByEsp', input.fileViewedByEsp),
    el('exifViewedByEsp', false),
    facts.publiclyAvailable !== undefined && el('publiclyAvailable', facts.publiclyAvailable),
    el('fileRelevance', 'Reported'),
    input.industryClassification !== undefined && el('industryClassification', input.industryClassification),
    ...[...hashes.values()].map((h) => el('originalFileHash', h.value, { hashType: ncmecHashType(h.algorithm) })),
    ...ipEvents.map(ipEventXml),
    details.length > 0 && el('details', details, { type: 'HASH' }),
  ]);
  return renderXml(root);
}
