/**
 * Which network addresses the hasher may fetch media from (SSRF protection).
 *
 * Why bytes and prefixes instead of string patterns: an address has many spellings (`127.1`,
 * `::ffff:7f00:1`, `0:0:0:0:0:ffff:127.0.0.1`, `fe80::1%eth0`), so every address is parsed to its
 * 4 or 16 bytes once, IPv4 embedded in IPv6 (mapped, NAT64, 6to4) is unwrapped, and the verdict
 * is taken on bytes. The policy is applied to every address a host name resolves to and again
 * to the socket's peer address, so no spelling and no DNS answer can reach a refused range.
 */
import { isIP } from 'node:net';

/** Why an address is refused; a closed set (used in messages and as a metric label). */
export type AddressRefusal =
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'cgnat'
  | 'link_local'
  | 'multicast'
  | 'reserved'
  | 'documentation'
  | 'unique_local'
  | 'metadata'
  | 'invalid';

/** The verdict on one address. */
export type AddressVerdict = { allowed: true } | { allowed: false; reason: AddressRefusal };

/** A parsed CIDR block. */
export interface Cidr {
  /** 4 bytes (IPv4) or 16 bytes (IPv6). */
  readonly bytes: Uint8Array;
  /** Prefix length in bits. */
  readonly prefix: number;
}

/**
 * Cloud instance-metadata endpoints. Refused even inside an allow-listed range: only an
 * allow-list entry naming exactly that host (/32 or /128) lets one through.
 */
export const METADATA_ADDRESSES: readonly string[] = [
  '169.254.169.254', // AWS, GCP, Azure, OpenStack, Oracle
  '169.254.170.2', // AWS ECS task metadata
  '100.100.100.200', // Alibaba Cloud
  '168.63.129.16', // Azure wire server (a public address)
  'fd00:ec2::254', // AWS IMDS over IPv6
];

const V4_REFUSED: ReadonlyArray<[string, AddressRefusal]> = [
  ['0.0.0.0/8', 'unspecified'],
  ['10.0.0.0/8', 'private'],
  ['100.64.0.0/10', 'cgnat'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link_local'],
  ['172.16.0.0/12', 'private'],
  ['192.0.0.0/24', 'reserved'],
  ['192.0.2.0/24', 'documentation'],
  ['192.88.99.0/24', 'reserved'],
  ['192.168.0.0/16', 'private'],
  ['198.18.0.0/15', 'reserved'],
  ['198.51.100.0/24', 'documentation'],
  ['203.0.113.0/24', 'documentation'],
  ['224.0.0.0/4', 'multicast'],
  ['240.0.0.0/4', 'reserved'],
];

const V6_REFUSED: ReadonlyArray<[string, AddressRefusal]> = [
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['::/96', 'reserved'], // IPv4-compatible (deprecated)
  ['::ffff:0:0:0/96', 'reserved'], // IPv4-translated
  ['64:ff9b:1::/48', 'reserved'], // local-use NAT64
  ['100::/64', 'reserved'], // discard-only
  ['2001::/23', 'reserved'], // IETF protocol assignments, Teredo
  ['2001:db8::/32', 'documentation'],
  ['3fff::/20', 'documentation'],
  ['5f00::/16', 'reserved'], // SRv6 SIDs
  ['fc00::/7', 'unique_local'],
  ['fe80::/10', 'link_local'],
  ['fec0::/10', 'reserved'], // site-local (deprecated)
  ['ff00::/8', 'multicast'],
];

/**
 * Parses an IPv4 or IPv6 address (an IPv6 zone id such as `%eth0` is ignored) to its bytes.
 * @returns 4 or 16 bytes, or undefined when `text` is not an IP address.
 */
export function parseIp(text: string): Uint8Array | undefined {
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  const noZone = bare.includes('%') ? bare.slice(0, bare.indexOf('%')) : bare;
  const kind = isIP(noZone);
  if (kind === 4) return Uint8Array.from(noZone.split('.').map(Number));
  if (kind !== 6) return undefined;
  let head = noZone;
  let tail4: Uint8Array | undefined;
  const lastColon = noZone.lastIndexOf(':');
  if (noZone.slice(lastColon + 1).includes('.')) {
    tail4 = parseIp(noZone.slice(lastColon + 1));
    if (!tail4 || tail4.length !== 4) return undefined;
    head = `${noZone.slice(0, lastColon + 1)}0:0`;
  }
  const [left, right] = head.includes('::') ? head.split('::') : [head, undefined];
  const groups = (s: string | undefined): number[] => (s ? s.split(':').map((g) => parseInt(g, 16)) : []);
  const l = groups(left);
  const r = groups(right);
  const all = right === undefined ? l : [...l, ...new Array<number>(8 - l.length - r.length).fill(0), ...r];
  if (all.length !== 8) return undefined;
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  if (tail4) out.set(tail4, 12);
  return out;
}

/**
 * Parses `a.b.c.d/n`, `x::y/n` or a bare address (a host block: /32 or /128).
 * @throws RangeError for anything else.
 */
export function parseCidr(text: string): Cidr {
  const trimmed = text.trim();
  const slash = trimmed.indexOf('/');
  const bytes = parseIp(slash < 0 ? trimmed : trimmed.slice(0, slash));
  if (!bytes) throw new RangeError(`not an IP address or CIDR block: ${text}`);
  const max = bytes.length * 8;
  const prefix = slash < 0 ? max : Number(trimmed.slice(slash + 1));
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max || trimmed.slice(slash + 1) === '') {
    throw new RangeError(`invalid prefix length in ${text}`);
  }
  return { bytes, prefix };
}

/** True when `address` (same family as the block) lies inside `cidr`. */
export function cidrContains(cidr: Cidr, address: Uint8Array): boolean {
  if (cidr.bytes.length !== address.length) return false;
  const full = cidr.prefix >> 3;
  for (let i = 0; i < full; i++) if (cidr.bytes[i] !== address[i]) return false;
  const rest = cidr.prefix & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (cidr.bytes[full]! & mask) === (address[full]! & mask);
}

/**
 * The IPv4 address an IPv6 address stands for, when it embeds one that a packet would reach:
 * IPv4-mapped (`::ffff:a.b.c.d`), NAT64 well-known prefix (`64:ff9b::a.b.c.d`) and 6to4
 * (`2002:AABB:CCDD::`).
 */
export function embeddedIpv4(address: Uint8Array): Uint8Array | undefined {
  if (address.length !== 16) return undefined;
  const zeros = (from: number, to: number): boolean => address.subarray(from, to).every((b) => b === 0);
  if (zeros(0, 10) && address[10] === 0xff && address[11] === 0xff) return address.slice(12, 16);
  if (address[0] === 0x00 && address[1] === 0x64 && address[2] === 0xff && address[3] === 0x9b && zeros(4, 12)) return address.slice(12, 16);
  if (address[0] === 0x20 && address[1] === 0x02) return address.slice(2, 6);
  return undefined;
}

const V4_BLOCKS = V4_REFUSED.map(([c, reason]) => ({ cidr: parseCidr(c), reason }));
const V6_BLOCKS = V6_REFUSED.map(([c, reason]) => ({ cidr: parseCidr(c), reason }));
const METADATA = METADATA_ADDRESSES.map((a) => parseIp(a)!);

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * Decides which addresses may be fetched from: public unicast addresses yes; unspecified,
 * loopback, private (RFC 1918), CGNAT, link-local, multicast, reserved, documentation, unique
 * local, and IPv6 forms embedding any of those, no; cloud metadata endpoints no. An allow-list
 * of CIDR blocks (platform storage on an internal network; local servers in tests) admits
 * refused ranges, except metadata endpoints, which need an entry naming exactly that host.
 */
export class AddressPolicy {
  private readonly allow: Cidr[];

  /** @param allowCidrs CIDR blocks (or bare addresses) to admit although refused by default. */
  constructor(allowCidrs: readonly string[] = []) {
    this.allow = allowCidrs.map(parseCidr);
  }

  /** The verdict for one textual address (IPv4, IPv6, mapped, with or without zone id). */
  check(address: string): AddressVerdict {
    const bytes = parseIp(address);
    if (!bytes) return { allowed: false, reason: 'invalid' };
    return this.checkBytes(bytes);
  }

  private checkBytes(bytes: Uint8Array): AddressVerdict {
    const v4 = embeddedIpv4(bytes);
    if (v4) {
      // The embedded address decides, unless the IPv6 form itself is explicitly allow-listed.
      if (this.allow.some((c) => c.bytes.length === 16 && cidrContains(c, bytes))) return { allowed: true };
      return this.checkBytes(v4);
    }
    if (METADATA.some((m) => sameBytes(m, bytes))) {
      const exact = this.allow.some((c) => c.prefix === bytes.length * 8 && sameBytes(c.bytes, bytes));
      return exact ? { allowed: true } : { allowed: false, reason: 'metadata' };
    }
    if (this.allow.some((c) => cidrContains(c, bytes))) return { allowed: true };
    for (const { cidr, reason } of bytes.length === 4 ? V4_BLOCKS : V6_BLOCKS) {
      if (cidrContains(cidr, bytes)) return { allowed: false, reason };
    }
    return { allowed: true };
  }
}
