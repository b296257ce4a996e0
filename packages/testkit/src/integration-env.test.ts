import { integrationEnv } from './integration-env';
import { parseExports } from './infra-script';
import { parseKcatJson } from './kcat';

describe('integrationEnv', () => {
  it('splits brokers and trims the registry URL', () => {
    expect(
      integrationEnv({ KAFKA_BROKERS: ' a:1, b:2 ,', SCHEMA_REGISTRY_URL: 'http://r:8081/apis/ccompat/v7/', SAFEGUARD_TEST_ENV_SOURCE: 'infra' }),
    ).toEqual({ brokers: ['a:1', 'b:2'], brokersCsv: 'a:1,b:2', registryUrl: 'http://r:8081/apis/ccompat/v7', source: 'infra' });
  });

  it('says what to do when the variables are missing', () => {
    expect(() => integrationEnv({})).toThrow(expect.objectContaining({ code: 'integration_env_missing', message: expect.stringContaining('global-setup') }));
  });
});

describe('parseExports', () => {
  it('reads the lines infra/infra.sh env prints', () => {
    expect(parseExports('export KAFKA_BROKERS=127.0.0.1:9092\nexport SCHEMA_REGISTRY_URL="http://x/apis"\nnoise\n')).toEqual({
      KAFKA_BROKERS: '127.0.0.1:9092',
      SCHEMA_REGISTRY_URL: 'http://x/apis',
    });
  });
});

describe('parseKcatJson', () => {
  it('recovers raw bytes from latin1-read kcat JSON, including escapes and high bytes', () => {
    // What kcat prints for payload bytes 00 22 5c 0a 80 ff, key "kéy" (UTF-8) and two headers.
    const line = Buffer.concat([
      Buffer.from('{"topic":"t","partition":2,"offset":7,"tstype":"create","ts":1700000000000,"broker":1,"headers":["h1","v,a=b","h2",null],"key":"k'),
      Buffer.from([0xc3, 0xa9]),
      Buffer.from('y","payload":"\\u0000\\"\\\\\\n'),
      Buffer.from([0x80, 0xff]),
      Buffer.from('"}'),
    ]).toString('latin1');
    const record = parseKcatJson(line);
    expect(record).toMatchObject({ topic: 't', partition: 2, offset: 7, timestampMs: 1700000000000 });
    expect(record.key?.toString('utf8')).toBe('kéy');
    expect(record.value?.toString('hex')).toBe('00225c0a80ff');
    expect(record.headers).toEqual([
      { key: 'h1', value: Buffer.from('v,a=b') },
      { key: 'h2', value: null },
    ]);
  });

  it('keeps null keys and tombstones as null', () => {
    const record = parseKcatJson('{"topic":"t","partition":0,"offset":0,"broker":1,"key":null,"payload":null}');
    expect(record.key).toBeNull();
    expect(record.value).toBeNull();
    expect(record.headers).toEqual([]);
    expect(record.timestampMs).toBeUndefined();
  });
});
