import { AddressPolicy, embeddedIpv4, parseCidr, parseIp } from './ip-policy';

const policy = new AddressPolicy();

describe('parseIp', () => {
  it('parses every spelling of an address to the same bytes', () => {
    expect([...parseIp('127.0.0.1')!]).toEqual([127, 0, 0, 1]);
    const mapped = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1];
    expect([...parseIp('::ffff:127.0.0.1')!]).toEqual(mapped);
    expect([...parseIp('::ffff:7f00:1')!]).toEqual(mapped);
    expect([...parseIp('0:0:0:0:0:ffff:127.0.0.1')!]).toEqual(mapped);
    expect([...parseIp('[::1]')!]).toEqual([...new Array(15).fill(0), 1]);
    expect([...parseIp('fe80::1%eth0')!].slice(0, 2)).toEqual([0xfe, 0x80]);
    expect([...parseIp('2001:db8::8a2e:370:7334')!]).toEqual([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0x8a, 0x2e, 0x03, 0x70, 0x73, 0x34]);
  });

  it('rejects what is not an address', () => {
    for (const s of ['', 'localhost', '1.2.3', '1.2.3.4.5', '256.1.1.1', '::g', 'example.com', '1::2::3']) expect(parseIp(s)).toBeUndefined();
  });
});

describe('parseCidr', () => {
  it('parses blocks and bare addresses, refuses bad prefixes', () => {
    expect(parseCidr('10.0.0.0/8').prefix).toBe(8);
    expect(parseCidr('127.0.0.1').prefix).toBe(32);
    expect(parseCidr('fd00::/8').prefix).toBe(8);
    expect(() => parseCidr('10.0.0.0/33')).toThrow(RangeError);
    expect(() => parseCidr('10.0.0.0/')).toThrow(RangeError);
    expect(() => parseCidr('storage.internal/8')).toThrow(RangeError);
  });
});

describe('AddressPolicy (default)', () => {
  it.each([
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['10.0.0.1', 'private'],
    ['10.255.255.255', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.254', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'cgnat'],
    ['100.127.255.254', 'cgnat'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['169.254.0.1', 'link_local'],
    ['169.254.169.254', 'metadata'],
    ['169.254.170.2', 'metadata'],
    ['100.100.100.200', 'metadata'],
    ['168.63.129.16', 'metadata'],
    ['192.0.0.8', 'reserved'],
    ['192.0.2.10', 'documentation'],
    ['198.51.100.7', 'documentation'],
    ['203.0.113.9', 'documentation'],
    ['198.18.0.1', 'reserved'],
    ['192.88.99.1', 'reserved'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.255', 'reserved'],
  ])('refuses IPv4 %s (%s)', (address, reason) => {
    expect(policy.check(address)).toEqual({ allowed: false, reason });
  });

  it.each([
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['::0.0.0.2', 'reserved'],
    ['fe80::1', 'link_local'],
    ['fe80::1%eth0', 'link_local'],
    ['febf:ffff::1', 'link_local'],
    ['fc00::1', 'unique_local'],
    ['fd12:3456:789a::1', 'unique_local'],
    ['fd00:ec2::254', 'metadata'],
    ['ff02::1', 'multicast'],
    ['ff05::1:3', 'multicast'],
    ['fec0::1', 'reserved'],
    ['2001:db8::1', 'documentation'],
    ['3fff::1', 'documentation'],
    ['2001::1', 'reserved'],
    ['100::1', 'reserved'],
    ['64:ff9b:1::1', 'reserved'],
  ])('refuses IPv6 %s (%s)', (address, reason) => {
    expect(policy.check(address)).toEqual({ allowed: false, reason });
  });

  it.each([
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['0:0:0:0:0:ffff:7f00:0001', 'loopback'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:a00:1', 'private'],
    ['::ffff:192.168.0.1', 'private'],
    ['::ffff:100.64.0.1', 'cgnat'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['::ffff:a9fe:a9fe', 'metadata'],
    ['::ffff:0.0.0.0', 'unspecified'],
    ['::ffff:224.0.0.1', 'multicast'],
    ['64:ff9b::127.0.0.1', 'loopback'],
    ['64:ff9b::a9fe:a9fe', 'metadata'],
    ['2002:7f00:1::1', 'loopback'],
    ['2002:c0a8:101::', 'private'],
  ])('refuses IPv4 embedded in IPv6: %s (%s)', (address, reason) => {
    expect(policy.check(address)).toEqual({ allowed: false, reason });
  });

  it('admits public unicast addresses in every form', () => {
    for (const a of ['1.1.1.1', '8.8.8.8', '93.184.216.34', '172.32.0.1', '100.128.0.1', '2606:4700:4700::1111', '2a00:1450:4001:82b::200e', '::ffff:8.8.8.8', '64:ff9b::808:808', '2002:808:808::1']) {
      expect([a, policy.check(a)]).toEqual([a, { allowed: true }]);
    }
  });

  it('refuses what is not an address', () => {
    expect(policy.check('localhost')).toEqual({ allowed: false, reason: 'invalid' });
  });

  it('unwraps only the IPv6 forms that embed IPv4', () => {
    expect(embeddedIpv4(parseIp('::ffff:1.2.3.4')!)).toEqual(Uint8Array.from([1, 2, 3, 4]));
    expect(embeddedIpv4(parseIp('2606:4700::1')!)).toBeUndefined();
    expect(embeddedIpv4(parseIp('1.2.3.4')!)).toBeUndefined();
  });
});

describe('AddressPolicy with an allow-list', () => {
  it('admits allow-listed private ranges, also through their mapped form', () => {
    const p = new AddressPolicy(['127.0.0.1/32', '10.20.0.0/16', 'fd00:1234::/32']);
    expect(p.check('127.0.0.1')).toEqual({ allowed: true });
    expect(p.check('::ffff:127.0.0.1')).toEqual({ allowed: true });
    expect(p.check('127.0.0.2')).toEqual({ allowed: false, reason: 'loopback' });
    expect(p.check('10.20.3.4')).toEqual({ allowed: true });
    expect(p.check('10.21.0.1')).toEqual({ allowed: false, reason: 'private' });
    expect(p.check('fd00:1234::9')).toEqual({ allowed: true });
    expect(p.check('fd00:1235::9')).toEqual({ allowed: false, reason: 'unique_local' });
  });

  it('keeps metadata endpoints refused inside an allow-listed range unless named exactly', () => {
    const broad = new AddressPolicy(['169.254.0.0/16', 'fd00::/8', '0.0.0.0/0']);
    expect(broad.check('169.254.169.254')).toEqual({ allowed: false, reason: 'metadata' });
    expect(broad.check('::ffff:169.254.169.254')).toEqual({ allowed: false, reason: 'metadata' });
    expect(broad.check('fd00:ec2::254')).toEqual({ allowed: false, reason: 'metadata' });
    expect(broad.check('169.254.1.1')).toEqual({ allowed: true });
    const exact = new AddressPolicy(['169.254.169.254/32', 'fd00:ec2::254']);
    expect(exact.check('169.254.169.254')).toEqual({ allowed: true });
    expect(exact.check('fd00:ec2::254')).toEqual({ allowed: true });
  });
});
