import { match, alert, policy } from './__fixtures__/fixtures';
import { openCase, mergeEvent, type CaseItem } from './case';
import {
  ALLOW_LIST_RULE_ID,
  DEFAULT_RULE_ID,
  evaluateItemPolicy,
  evaluatePolicy,
  GROOMING_REVIEW_RULE_ID,
  parsePolicyConfig,
  REPORT_NEEDS_BLOCK_RULE_ID,
  type PolicyConfig,
} from './policy';

const item = (ev: ReturnType<typeof match>): CaseItem => openCase({ type: 'match', event: ev }, 0).items[0]!;
const groomingItem = (ev = alert()): CaseItem => openCase({ type: 'grooming', event: ev }, 0).items[0]!;

describe('policy config', () => {
  it('parses with cautious defaults', () => {
    const cfg = parsePolicyConfig({ version: 1 });
    expect(cfg.defaultAction).toBe('review');
    expect(cfg.defaultDestinations).toEqual(['eu_centre']);
    expect(cfg.rules).toEqual([]);
  });

  it('refuses report as default, report rules for grooming or non-block lists, duplicate ids, unknown keys', () => {
    expect(() => parsePolicyConfig({ version: 1, defaultAction: 'report' })).toThrow(/invalid policy config/);
    expect(() => parsePolicyConfig({ version: 1, rules: [{ id: 'g', when: { kind: 'grooming' }, action: 'report' }] })).toThrow(/kind: "match"/);
    expect(() => parsePolicyConfig({ version: 1, rules: [{ id: 'r', when: { kind: 'match', bankKind: ['review'] }, action: 'report' }] })).toThrow(/bankKind/);
    expect(() =>
      parsePolicyConfig({
        version: 1,
        rules: [
          { id: 'a', when: {}, action: 'review' },
          { id: 'a', when: {}, action: 'drop' },
        ],
      }),
    ).toThrow(/duplicate rule id a/);
    expect(() => parsePolicyConfig({ version: 1, rules: [{ id: 'a', when: { colour: 'red' }, action: 'review' }] })).toThrow(/invalid policy config/);
    try {
      parsePolicyConfig({ version: 2 });
    } catch (err) {
      expect((err as { code: string }).code).toBe('invalid_config');
    }
  });
});

describe('evaluateItemPolicy', () => {
  const cfg = policy();

  it('reports an exact verified cryptographic match directly, recording the rule', () => {
    const o = evaluateItemPolicy(item(match({ algorithm: 'sha256', distance: 0 })), cfg);
    expect(o).toMatchObject({ action: 'report', ruleId: 'exact-verified', destinations: ['eu_centre', 'ncmec'], industryClassification: 'B2' });
  });

  it('sends near PDQ matches to review and drops low-quality ones', () => {
    expect(evaluateItemPolicy(item(match({ distance: 20 })), cfg)).toMatchObject({ action: 'review', ruleId: 'pdq-near' });
    expect(evaluateItemPolicy(item(match({ distance: 20, quality: 30 })), cfg)).toMatchObject({ action: 'drop', ruleId: 'pdq-low-quality', destinations: [] });
  });

  it('falls back to the default rule', () => {
    expect(evaluateItemPolicy(item(match({ algorithm: 'md5', distance: 0, bank: { name: 'x', kind: 'review', source: 'platform', entryId: '1', listVersion: '1' } })), cfg)).toMatchObject({
      action: 'review',
      ruleId: DEFAULT_RULE_ID,
    });
  });

  it('always drops matches only on allow-lists', () => {
    const o = evaluateItemPolicy(item(match({ algorithm: 'sha256', distance: 0, bank: { name: 'allow', kind: 'allow', source: 'platform', entryId: '1', listVersion: '1' } })), cfg);
    expect(o).toMatchObject({ action: 'drop', ruleId: ALLOW_LIST_RULE_ID });
  });

  it('never reports directly from a non-block list, even if a forged config says so', () => {
    const forged = { ...cfg, rules: [{ id: 'bad', when: { kind: 'match' }, action: 'report' }] } as unknown as PolicyConfig;
    const o = evaluateItemPolicy(item(match({ bank: { name: 'r', kind: 'review', source: 'platform', entryId: '1', listVersion: '1' } })), forged);
    expect(o).toMatchObject({ action: 'review', ruleId: REPORT_NEEDS_BLOCK_RULE_ID, overriddenRuleId: 'bad' });
  });

  it('grooming ALWAYS needs review, whatever the config says', () => {
    const configs: PolicyConfig[] = [
      parsePolicyConfig({ version: 1, defaultAction: 'drop' }),
      parsePolicyConfig({ version: 1, rules: [{ id: 'drop-grooming', when: { kind: 'grooming' }, action: 'drop' }] }),
      // Bypassing validation: even a report rule for grooming is overridden.
      { version: 1, defaultAction: 'review', defaultDestinations: ['ncmec'], rules: [{ id: 'report-all', when: {}, action: 'report' }] } as unknown as PolicyConfig,
      { version: 1, defaultAction: 'report', defaultDestinations: ['eu_centre'], rules: [] } as unknown as PolicyConfig,
    ];
    for (const c of configs) {
      const o = evaluateItemPolicy(groomingItem(), c);
      expect(o.action).toBe('review');
      expect(o.destinations.length).toBeGreaterThan(0);
      if (o.ruleId !== DEFAULT_RULE_ID) expect(o.ruleId).toBe(GROOMING_REVIEW_RULE_ID);
    }
    expect(evaluateItemPolicy(groomingItem(), configs[1]!)).toMatchObject({ ruleId: GROOMING_REVIEW_RULE_ID, overriddenRuleId: 'drop-grooming' });
  });

  it('matches grooming conditions on stage and score', () => {
    const cfg2 = parsePolicyConfig({ version: 1, rules: [{ id: 'urgent-meeting', when: { kind: 'grooming', groomingStage: ['meeting'], minScore: 0.8 }, action: 'review', urgent: true }] });
    expect(evaluateItemPolicy(groomingItem(alert({ stage: 'meeting', score: 0.9 })), cfg2)).toMatchObject({ ruleId: 'urgent-meeting', urgent: true });
    expect(evaluateItemPolicy(groomingItem(alert({ stage: 'meeting', score: 0.5 })), cfg2)).toMatchObject({ ruleId: DEFAULT_RULE_ID, urgent: false });
  });
});

describe('evaluatePolicy (case level)', () => {
  it('takes the most cautious item action and the union of destinations', () => {
    const cfg = policy({ rules: [
      { id: 'exact', when: { kind: 'match', bankKind: ['block'], algorithm: ['sha256'] }, action: 'report', destinations: ['ncmec'] },
      { id: 'pdq', when: { kind: 'match', algorithm: ['pdq'] }, action: 'review', destinations: ['eu_centre'] },
    ] });
    const a = openCase({ type: 'match', event: match({ algorithm: 'sha256', distance: 0 }) }, 0);
    const b = mergeEvent(a, { type: 'match', event: match({ algorithm: 'pdq', distance: 10 }) }, 0).case;
    const o = evaluatePolicy(b.items, cfg, 5);
    expect(o.action).toBe('review');
    expect(o.ruleId).toBe('pdq');
    expect(o.destinations).toEqual(['eu_centre', 'ncmec']);
    expect(o.items.map((i) => i.ruleId)).toEqual(['exact', 'pdq']);
    expect(o.evaluatedAtMs).toBe(5);
    expect(() => evaluatePolicy([], cfg, 0)).toThrow(/empty case/);
  });
});
