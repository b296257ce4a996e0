import { XMLParser, XMLValidator } from 'fast-xml-parser';

/**
 * A small structural model of the CyberTipline XSD parts Safeguard uses, written for the
 * simulator from the public API documentation: element names, sequence order, occurrence
 * bounds, leaf types and enumerations. It validates like an XSD validator would and phrases
 * order errors the way Xerces does ("Invalid content was found starting with element 'x'.
 * One of '{...}' is expected."). Independent of the report builder, so it catches builder bugs.
 */

type LeafType = 'string' | 'dateTime' | 'boolean' | 'int' | 'uri' | 'countryCode' | readonly string[];

/** Element specification. */
export type ElementSpec =
  | { kind: 'leaf'; type: LeafType; attrs?: Record<string, { required?: boolean; type: LeafType }> }
  | { kind: 'seq'; children: ReadonlyArray<readonly [string, () => ElementSpec, number, number]>; attrs?: Record<string, { required?: boolean; type: LeafType }> }
  | { kind: 'choice'; children: ReadonlyArray<readonly [string, () => ElementSpec]> }
  | { kind: 'flags'; names: readonly string[] };

const INF = Number.POSITIVE_INFINITY;
const str: ElementSpec = { kind: 'leaf', type: 'string' };
const S = (): ElementSpec => str;
const DT = (): ElementSpec => ({ kind: 'leaf', type: 'dateTime' });
const B = (): ElementSpec => ({ kind: 'leaf', type: 'boolean' });
const I = (): ElementSpec => ({ kind: 'leaf', type: 'int' });
const U = (): ElementSpec => ({ kind: 'leaf', type: 'uri' });
const E = (values: readonly string[]) => (): ElementSpec => ({ kind: 'leaf', type: values });
/** ISO 3166-1 alpha-2 (the XSD enumerates the codes; the model checks their shape). */
const CC = (): ElementSpec => ({ kind: 'leaf', type: 'countryCode' });

/** `incidentType` enumeration (public XSD). */
export const INCIDENT_TYPES = [
  'Child Pornography (possession, manufacture, and distribution)',
  'Child Sex Trafficking',
  'Child Sex Tourism',
  'Child Sexual Molestation',
  'Misleading Domain Name',
  'Misleading Words or Digital Images on the Internet',
  'Online Enticement of Children for Sexual Acts',
  'Unsolicited Obscene Material Sent to a Child',
] as const;

const EVENT_NAMES = ['Login', 'Registration', 'Purchase', 'Upload', 'Other', 'Unknown'] as const;

const person = (emailRequired: boolean) => (): ElementSpec => ({
  kind: 'seq',
  children: [
    ['firstName', S, 0, 1],
    ['lastName', S, 0, 1],
    ['phone', S, 0, INF],
    ['email', S, emailRequired ? 1 : 0, INF],
    ['address', S, 0, INF],
    ['age', I, 0, 1],
    ['dateOfBirth', S, 0, 1],
  ],
});

const ipCaptureEvent = (): ElementSpec => ({
  kind: 'seq',
  children: [
    ['ipAddress', S, 1, 1],
    ['eventName', E(EVENT_NAMES), 0, 1],
    ['dateTime', DT, 0, 1],
    ['possibleProxy', B, 0, 1],
    ['port', I, 0, 1],
  ],
});

const deviceId = (): ElementSpec => ({
  kind: 'seq',
  children: [
    ['idType', S, 1, 1],
    ['idValue', S, 1, 1],
    ['eventName', E(EVENT_NAMES), 0, 1],
    ['dateTime', DT, 0, 1],
  ],
});

const estimatedLocation = (): ElementSpec => ({
  kind: 'seq',
  children: [
    ['city', S, 0, 1],
    ['region', S, 0, 1],
    ['countryCode', CC, 1, 1],
    ['verified', B, 0, 1],
    ['timestamp', DT, 0, 1],
  ],
});

const seq = (children: ReadonlyArray<readonly [string, () => ElementSpec, number, number]>) => (): ElementSpec => ({ kind: 'seq', children });

const internetDetails = (): ElementSpec => ({
  kind: 'choice',
  children: [
    ['webPageIncident', () => ({ kind: 'seq', children: [['url', U, 0, INF], ['additionalInfo', S, 0, 1]], attrs: { thirdPartyHostedContent: { type: 'boolean' } } })],
    ['emailIncident', seq([['emailAddress', S, 0, INF], ['content', S, 0, 1], ['additionalInfo', S, 0, 1]])],
    ['newsgroupIncident', seq([['name', S, 0, 1], ['emailAddress', S, 0, INF], ['content', S, 0, 1], ['additionalInfo', S, 0, 1]])],
    ['chatImIncident', seq([['chatClient', S, 0, 1], ['chatRoomName', S, 0, 1], ['content', S, 0, 1], ['additionalInfo', S, 0, 1]])],
    ['onlineGamingIncident', seq([['gameName', S, 0, 1], ['console', S, 0, 1], ['content', S, 0, 1], ['additionalInfo', S, 0, 1]])],
    ['cellPhoneIncident', seq([['phoneNumber', S, 0, 1], ['latitude', S, 0, 1], ['longitude', S, 0, 1], ['additionalInfo', S, 0, 1]])],
    ['nonInternetIncident', seq([['locationName', S, 0, 1], ['incidentAddress', S, 0, INF], ['additionalInfo', S, 0, 1]])],
    ['peer2peerIncident', seq([['client', S, 0, 1], ['ipCaptureEvent', ipCaptureEvent, 0, INF], ['fileNames', S, 0, 1], ['additionalInfo', S, 0, 1]])],
  ],
});

const userCommon = (first: readonly [string, () => ElementSpec, number, number], extra: ReadonlyArray<readonly [string, () => ElementSpec, number, number]>) =>
  seq([
    first,
    ...extra,
    ['espIdentifier', S, 0, 1],
    ['espService', S, 0, 1],
    ['screenName', S, 0, 1],
    ['displayName', S, 0, INF],
    ['profileUrl', U, 0, INF],
    ['ipCaptureEvent', ipCaptureEvent, 0, INF],
    ['deviceId', deviceId, 0, INF],
  ]);

/** `<report>` (POST /submit). */
export const REPORT_SPEC: ElementSpec = {
  kind: 'seq',
  children: [
    [
      'incidentSummary',
      seq([
        ['incidentType', E(INCIDENT_TYPES), 1, 1],
        ['escalateToHighPriority', S, 0, 1],
        ['incidentDateTime', DT, 1, 1],
        ['incidentDateTimeDescription', S, 0, 1],
      ]),
      1,
      1,
    ],
    ['internetDetails', internetDetails, 0, INF],
    [
      'lawEnforcement',
      seq([
        ['agencyName', S, 1, 1],
        ['caseNumber', S, 0, 1],
        ['officerContact', person(false), 0, 1],
        ['reportedToLe', B, 0, 1],
        ['servedLegalProcessDomestic', B, 0, 1],
        ['servedLegalProcessInternational', B, 0, 1],
      ]),
      0,
      1,
    ],
    [
      'reporter',
      seq([
        ['reportingPerson', person(true), 1, 1],
        ['contactPerson', person(false), 0, 1],
        ['companyTemplate', S, 0, 1],
        ['termsOfService', S, 0, 1],
        ['legalURL', U, 0, 1],
      ]),
      1,
      1,
    ],
    [
      'personOrUserReported',
      () => {
        const base = userCommon(['personOrUserReportedPerson', person(false), 0, 1], [['vehicleDescription', S, 0, 1]])() as Extract<ElementSpec, { kind: 'seq' }>;
        return {
          kind: 'seq',
          children: [
            ...base.children,
            ['thirdPartyUserReported', B, 0, 1],
            ['priorCTReports', I, 0, INF],
            ['groupIdentifier', S, 0, 1],
            ['estimatedLocation', estimatedLocation, 0, 1],
            ['additionalInfo', S, 0, 1],
          ],
        };
      },
      0,
      1,
    ],
    [
      'intendedRecipient',
      () => {
        const base = userCommon(['intendedRecipientPerson', person(false), 1, 1], [])() as Extract<ElementSpec, { kind: 'seq' }>;
        return {
          kind: 'seq',
          children: [
            ...base.children,
            ['priorCTReports', I, 0, INF],
            ['accountTemporarilyDisabled', B, 0, 1],
            ['accountPermanentlyDisabled', B, 0, 1],
            ['estimatedLocation', estimatedLocation, 0, 1],
            ['additionalInfo', S, 0, 1],
          ],
        };
      },
      0,
      INF,
    ],
    [
      'victim',
      () => {
        const base = userCommon(['victimPerson', person(false), 1, 1], [])() as Extract<ElementSpec, { kind: 'seq' }>;
        return {
          kind: 'seq',
          children: [...base.children, ['schoolName', S, 0, 1], ['priorCTReports', I, 0, INF], ['estimatedLocation', estimatedLocation, 0, 1], ['additionalInfo', S, 0, 1]],
        };
      },
      0,
      INF,
    ],
    ['additionalInfo', S, 0, 1],
  ],
};

/** `<fileDetails>` (POST /fileinfo). */
export const FILE_DETAILS_SPEC: ElementSpec = {
  kind: 'seq',
  children: [
    ['reportId', S, 1, 1],
    ['fileId', S, 1, 1],
    ['fileName', S, 0, 1],
    ['originalFileName', S, 0, 1],
    ['uploadedToEspTimestamp', DT, 0, 1],
    ['locationOfFile', U, 0, 1],
    ['fileViewedByEsp', B, 0, 1],
    ['exifViewedByEsp', B, 0, 1],
    ['publiclyAvailable', B, 0, 1],
    ['fileRelevance', E(['Reported', 'Supplemental Reported']), 0, 1],
    [
      'fileAnnotations',
      () => ({
        kind: 'flags',
        names: ['animeDrawingVirtualHentai', 'potentialMeme', 'viral', 'possibleSelfProduction', 'physicalHarm', 'violenceGore', 'bestiality', 'liveStreaming', 'infant', 'generativeAi'],
      }),
      0,
      1,
    ],
    ['industryClassification', E(['A1', 'A2', 'B1', 'B2']), 0, 1],
    ['originalFileHash', () => ({ kind: 'leaf', type: 'string', attrs: { hashType: { required: true, type: 'string' } } }), 0, INF],
    ['ipCaptureEvent', ipCaptureEvent, 0, INF],
    ['deviceId', deviceId, 0, INF],
    ['details', () => ({ kind: 'seq', children: [['nameValuePair', seq([['name', S, 1, 1], ['value', S, 1, 1]]), 1, INF]], attrs: { type: { type: ['EXIF', 'HASH'] } } }), 0, INF],
    ['additionalInfo', S, 0, INF],
  ],
};

/** A parsed XML element (names, attributes, children, text). */
export interface XmlNode {
  name: string;
  attrs: Record<string, string>;
  children: XmlNode[];
  text: string;
}

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
});

type Raw = Record<string, unknown>;

function convert(raw: Raw): XmlNode | undefined {
  const name = Object.keys(raw).find((k) => k !== ':@' && k !== '#text');
  if (!name) return undefined;
  const attrs = (raw[':@'] as Record<string, string> | undefined) ?? {};
  const kids = (raw[name] as Raw[]) ?? [];
  const children: XmlNode[] = [];
  let text = '';
  for (const k of kids) {
    if ('#text' in k) text += String(k['#text']);
    else {
      const c = convert(k);
      if (c) children.push(c);
    }
  }
  return { name, attrs: { ...attrs }, children, text };
}

/** Parses a document into its root element; throws a message when not well-formed. */
export function parseXmlDocument(xml: string): XmlNode {
  const valid = XMLValidator.validate(xml);
  if (valid !== true) throw new Error(`[${valid.err.line},${valid.err.col}] - malformed XML: ${valid.err.msg}`);
  const nodes = (parser.parse(xml) as Raw[]).map(convert).filter((n): n is XmlNode => !!n);
  if (nodes.length !== 1) throw new Error('document must have exactly one root element');
  return nodes[0]!;
}

const DATE_TIME = /^-?\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/;

function checkLeaf(type: LeafType, value: string, where: string): string | undefined {
  const v = value.trim();
  if (Array.isArray(type)) return type.includes(v) ? undefined : `cvc-enumeration-valid: Value '${v}' is not facet-valid with respect to enumeration for '${where}'.`;
  switch (type) {
    case 'dateTime':
      return DATE_TIME.test(v) && !Number.isNaN(Date.parse(v)) ? undefined : `cvc-datatype-valid.1.2.1: '${v}' is not a valid value for 'dateTime' in '${where}'.`;
    case 'boolean':
      return ['true', 'false', '1', '0'].includes(v) ? undefined : `cvc-datatype-valid.1.2.1: '${v}' is not a valid value for 'boolean' in '${where}'.`;
    case 'int':
      return /^[+-]?\d{1,10}$/.test(v) ? undefined : `cvc-datatype-valid.1.2.1: '${v}' is not a valid value for 'integer' in '${where}'.`;
    case 'uri':
      return /\s/.test(v) || v === '' ? `cvc-datatype-valid.1.2.1: '${v}' is not a valid value for 'anyURI' in '${where}'.` : undefined;
    case 'countryCode':
      return /^[A-Z]{2}$/.test(v) ? undefined : `cvc-enumeration-valid: Value '${v}' is not facet-valid with respect to enumeration for '${where}'.`;
    default:
      return undefined;
  }
}

/**
 * Validates `node` against `spec`. Returns the first violation (Xerces-style message) or
 * undefined when valid.
 */
export function validateElement(node: XmlNode, spec: ElementSpec, path = node.name): string | undefined {
  const attrsSpec = spec.kind === 'leaf' || spec.kind === 'seq' ? spec.attrs ?? {} : {};
  for (const a of Object.keys(node.attrs)) {
    if (a.startsWith('xmlns')) continue;
    if (!(a in attrsSpec)) return `cvc-complex-type.3.2.2: Attribute '${a}' is not allowed to appear in element '${node.name}'.`;
  }
  for (const [a, s] of Object.entries(attrsSpec)) {
    const v = node.attrs[a];
    if (v === undefined) {
      if (s.required) return `cvc-complex-type.4: Attribute '${a}' must appear on element '${node.name}'.`;
      continue;
    }
    const err = checkLeaf(s.type, v, `${path}@${a}`);
    if (err) return err;
  }
  switch (spec.kind) {
    case 'leaf':
      if (node.children.length > 0) return `cvc-type.3.1.2: Element '${node.name}' is a simple type, so it must have no element information item [children].`;
      return checkLeaf(spec.type, node.text, path);
    case 'flags': {
      for (const c of node.children) {
        if (!spec.names.includes(c.name)) return `cvc-complex-type.2.4.a: Invalid content was found starting with element '${c.name}'. One of '{${spec.names.join(', ')}}' is expected.`;
        if (c.children.length > 0 || c.text.trim() !== '') return `cvc-complex-type.2.1: Element '${c.name}' must have no character or element information item [children], because the type's content type is empty.`;
      }
      return undefined;
    }
    case 'choice': {
      if (node.text.trim() !== '') return `cvc-complex-type.2.3: Element '${node.name}' cannot have character [children], because the type's content type is element-only.`;
      const names = spec.children.map(([n]) => n);
      if (node.children.length !== 1) {
        return node.children.length === 0
          ? `cvc-complex-type.2.4.b: The content of element '${node.name}' is not complete. One of '{${names.join(', ')}}' is expected.`
          : `cvc-complex-type.2.4.d: Invalid content was found starting with element '${node.children[1]!.name}'. No child element is expected at this point.`;
      }
      const child = node.children[0]!;
      const match = spec.children.find(([n]) => n === child.name);
      if (!match) return `cvc-complex-type.2.4.a: Invalid content was found starting with element '${child.name}'. One of '{${names.join(', ')}}' is expected.`;
      return validateElement(child, match[1](), `${path}/${child.name}`);
    }
    case 'seq': {
      if (node.text.trim() !== '') return `cvc-complex-type.2.3: Element '${node.name}' cannot have character [children], because the type's content type is element-only.`;
      let i = 0;
      let count = 0;
      for (const child of node.children) {
        // Advance through the sequence until this child's slot; every skipped slot must be satisfied.
        while (i < spec.children.length && spec.children[i]![0] !== child.name) {
          const [name, , min] = spec.children[i]!;
          if (count < min) {
            return `cvc-complex-type.2.4.a: Invalid content was found starting with element '${child.name}'. One of '{${name}}' is expected.`;
          }
          i++;
          count = 0;
        }
        if (i >= spec.children.length) {
          return `cvc-complex-type.2.4.a: Invalid content was found starting with element '${child.name}'. ${expected(spec, node, child)}`;
        }
        const [, childSpec, , max] = spec.children[i]!;
        count++;
        if (count > max) return `cvc-complex-type.2.4.a: Invalid content was found starting with element '${child.name}'. ${expected(spec, node, child)}`;
        const err = validateElement(child, childSpec(), `${path}/${child.name}`);
        if (err) return err;
      }
      for (; i < spec.children.length; i++) {
        const [name, , min] = spec.children[i]!;
        if (count < min) return `cvc-complex-type.2.4.b: The content of element '${node.name}' is not complete. One of '{${name}}' is expected.`;
        count = 0;
      }
      return undefined;
    }
  }
}

function expected(spec: Extract<ElementSpec, { kind: 'seq' }>, node: XmlNode, child: XmlNode): string {
  // Elements that could still follow the previous sibling.
  const idx = node.children.indexOf(child);
  const prev = idx > 0 ? node.children[idx - 1]!.name : undefined;
  const start = prev === undefined ? 0 : spec.children.findIndex(([n]) => n === prev);
  const names: string[] = [];
  for (let j = Math.max(0, start + (prev === undefined ? 0 : 1)); j < spec.children.length; j++) {
    names.push(spec.children[j]![0]);
    if (spec.children[j]![2] > 0) break;
  }
  return names.length > 0 ? `One of '{${names.join(', ')}}' is expected.` : 'No child element is expected at this point.';
}
