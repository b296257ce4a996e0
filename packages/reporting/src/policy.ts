import { z } from 'zod';
import { ReportingInputError } from './errors';
import { bankKindSchema, groomingStageSchema } from './events';
import type { CaseItem } from './case';

/** Where a report goes. */
export const destinationSchema = z.enum(['eu_centre', 'ncmec']);
/** See {@link destinationSchema}. */
export type Destination = z.infer<typeof destinationSchema>;

/** What policy decides for a case item: a human looks first, report without review, or drop. */
export const policyActionSchema = z.enum(['review', 'report', 'drop']);
/** See {@link policyActionSchema}. */
export type PolicyAction = z.infer<typeof policyActionSchema>;

/** NCMEC industry classification: A1/A2 (prepubescent / pubescent, sex act), B1/B2 (lascivious exhibition). */
export const industryClassificationSchema = z.enum(['A1', 'A2', 'B1', 'B2']);
/** See {@link industryClassificationSchema}. */
export type IndustryClassification = z.infer<typeof industryClassificationSchema>;

const ruleId = z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,63}$/, 'rule ids are lowercase [a-z0-9_.-]');

/** Conditions of a rule; every given condition must hold (AND), lists mean "any of". */
export const policyConditionSchema = z
  .object({
    kind: z.enum(['match', 'grooming']).optional(),
    bankKind: z.array(bankKindSchema).min(1).optional(),
    bankSource: z.array(z.string().min(1)).min(1).optional(),
    bankName: z.array(z.string().min(1)).min(1).optional(),
    /** Only entries from lists verified by an authority. */
    bankVerified: z.boolean().optional(),
    algorithm: z.array(z.string().min(1)).min(1).optional(),
    /** Inclusive upper bound on the match distance. */
    maxDistance: z.number().int().nonnegative().optional(),
    /** Inclusive lower bound on PDQ quality. */
    minQuality: z.number().int().min(0).max(100).optional(),
    groomingStage: z.array(groomingStageSchema).min(1).optional(),
    /** Inclusive lower bound on the grooming score. */
    minScore: z.number().min(0).max(1).optional(),
  })
  .strict();
/** See {@link policyConditionSchema}. */
export type PolicyCondition = z.infer<typeof policyConditionSchema>;

/** One rule. First matching rule wins. */
export const policyRuleSchema = z
  .object({
    id: ruleId,
    when: policyConditionSchema,
    action: policyActionSchema,
    /** Destinations for `review` and `report`; defaults to the config's `defaultDestinations`. */
    destinations: z.array(destinationSchema).min(1).optional(),
    /** Mark the case urgent (Art. 13(j); NCMEC escalateToHighPriority). */
    urgent: z.boolean().optional(),
    /** NCMEC classification used for direct reports (reviewers set it otherwise). */
    industryClassification: industryClassificationSchema.optional(),
  })
  .strict();
/** See {@link policyRuleSchema}. */
export type PolicyRule = z.infer<typeof policyRuleSchema>;

/**
 * Policy configuration. Defaults are the cautious choice: anything no rule covers needs review
 * and goes to the EU Centre only.
 */
export const policyConfigSchema = z
  .object({
    version: z.literal(1),
    rules: z.array(policyRuleSchema).max(500).default([]),
    /** Action when no rule matches. `report` is not allowed here: direct reporting must be explicit. */
    defaultAction: z.enum(['review', 'drop']).default('review'),
    defaultDestinations: z.array(destinationSchema).min(1).default(['eu_centre']),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    const seen = new Set<string>();
    cfg.rules.forEach((rule, i) => {
      if (seen.has(rule.id)) ctx.addIssue({ code: 'custom', path: ['rules', i, 'id'], message: `duplicate rule id ${rule.id}` });
      seen.add(rule.id);
      if (rule.action === 'report') {
        // Direct reporting is only for matches on block lists; grooming always needs review.
        if (rule.when.kind !== 'match') {
          ctx.addIssue({ code: 'custom', path: ['rules', i, 'when', 'kind'], message: 'a report rule must say kind: "match"' });
        }
        if (!rule.when.bankKind || rule.when.bankKind.some((k) => k !== 'block')) {
          ctx.addIssue({ code: 'custom', path: ['rules', i, 'when', 'bankKind'], message: 'a report rule must be limited to bankKind ["block"]' });
        }
      }
    });
  });
/** Parsed policy configuration. See {@link policyConfigSchema}. */
export type PolicyConfig = z.infer<typeof policyConfigSchema>;

/**
 * Validates a policy configuration (e.g. parsed from YAML/JSON).
 * @throws ReportingInputError `invalid_config` listing every violation.
 */
export function parsePolicyConfig(value: unknown): PolicyConfig {
  const r = policyConfigSchema.safeParse(value);
  if (!r.success) {
    const detail = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new ReportingInputError('invalid_config', `invalid policy config: ${detail}`);
  }
  return r.data;
}

/** Rule id recorded when no configured rule matched. */
export const DEFAULT_RULE_ID = 'default';
/** Built-in rule: matches on allow-lists are always dropped. */
export const ALLOW_LIST_RULE_ID = 'builtin.allow_list';
/** Built-in override: grooming always needs human review before any report. */
export const GROOMING_REVIEW_RULE_ID = 'builtin.grooming_requires_review';
/** Built-in override: a `report` rule hit a match outside a block list. */
export const REPORT_NEEDS_BLOCK_RULE_ID = 'builtin.report_requires_block_list';

/** The policy result for one case item, with the rule that produced it. */
export interface ItemPolicyOutcome {
  /** Case item key (content id or alert id). */
  itemKey: string;
  action: PolicyAction;
  /** Rule that produced `action` (a configured id or a `builtin.*` / `default` id). */
  ruleId: string;
  /** Configured rule that matched but was overridden by a built-in rule, if any. */
  overriddenRuleId?: string;
  destinations: Destination[];
  urgent: boolean;
  industryClassification?: IndustryClassification;
}

/** The policy result for a case: the most cautious item outcome wins (review > report > drop). */
export interface PolicyOutcome {
  action: PolicyAction;
  /** Rule of the item that decided the case action. */
  ruleId: string;
  destinations: Destination[];
  urgent: boolean;
  items: ItemPolicyOutcome[];
  evaluatedAtMs: number;
}

function matchesCondition(item: CaseItem, when: PolicyCondition): boolean {
  if (when.kind && when.kind !== item.type) return false;
  if (item.type === 'match') {
    if (when.groomingStage || when.minScore !== undefined) return false;
    // A content item can hold several matches; the rule must hold for at least one of them.
    return item.matches.some((m) => {
      if (when.bankKind && !when.bankKind.includes(m.bank.kind)) return false;
      if (when.bankSource && !when.bankSource.includes(m.bank.source)) return false;
      if (when.bankName && !when.bankName.includes(m.bank.name)) return false;
      if (when.bankVerified !== undefined && (m.bank.verified ?? false) !== when.bankVerified) return false;
      if (when.algorithm && !when.algorithm.includes(m.algorithm)) return false;
      if (when.maxDistance !== undefined && m.distance > when.maxDistance) return false;
      if (when.minQuality !== undefined && m.quality < when.minQuality) return false;
      return true;
    });
  }
  if (when.bankKind || when.bankSource || when.bankName || when.bankVerified !== undefined) return false;
  if (when.algorithm || when.maxDistance !== undefined || when.minQuality !== undefined) return false;
  if (when.groomingStage && !when.groomingStage.includes(item.alert.stage)) return false;
  if (when.minScore !== undefined && item.alert.score < when.minScore) return false;
  return true;
}

/**
 * Policy decision for one case item. Order: built-in allow-list drop, then the first
 * configured rule that matches, then the default; afterwards the built-in overrides
 * (grooming always `review`; `report` only for block-list matches) are enforced whatever the
 * configuration says. Pure.
 */
export function evaluateItemPolicy(item: CaseItem, config: PolicyConfig): ItemPolicyOutcome {
  const itemKey = item.type === 'match' ? item.contentId : item.alert.alertId;
  if (item.type === 'match' && item.matches.every((m) => m.bank.kind === 'allow')) {
    return { itemKey, action: 'drop', ruleId: ALLOW_LIST_RULE_ID, destinations: [], urgent: false };
  }
  const rule = config.rules.find((r) => matchesCondition(item, r.when));
  let outcome: ItemPolicyOutcome = rule
    ? {
        itemKey,
        action: rule.action,
        ruleId: rule.id,
        destinations: [...(rule.destinations ?? config.defaultDestinations)],
        urgent: rule.urgent ?? false,
        ...(rule.industryClassification ? { industryClassification: rule.industryClassification } : {}),
      }
    : { itemKey, action: config.defaultAction, ruleId: DEFAULT_RULE_ID, destinations: [...config.defaultDestinations], urgent: false };

  if (item.type === 'grooming' && outcome.action !== 'review') {
    outcome = {
      ...outcome,
      action: 'review',
      ruleId: GROOMING_REVIEW_RULE_ID,
      overriddenRuleId: outcome.ruleId,
      destinations: outcome.destinations.length > 0 ? outcome.destinations : [...config.defaultDestinations],
    };
  }
  if (item.type === 'match' && outcome.action === 'report' && !item.matches.some((m) => m.bank.kind === 'block')) {
    outcome = { ...outcome, action: 'review', ruleId: REPORT_NEEDS_BLOCK_RULE_ID, overriddenRuleId: outcome.ruleId };
  }
  if (outcome.action === 'drop') outcome = { ...outcome, destinations: [] };
  return outcome;
}

const SEVERITY: Record<PolicyAction, number> = { drop: 0, report: 1, review: 2 };

/**
 * Policy decision for a whole case: each item is evaluated; the case takes the most cautious
 * action (review > report > drop), the union of destinations of non-dropped items, and is
 * urgent when any item is. Pure; `nowMs` only stamps the outcome.
 */
export function evaluatePolicy(items: readonly CaseItem[], config: PolicyConfig, nowMs: number): PolicyOutcome {
  if (items.length === 0) throw new ReportingInputError('invalid_case', 'cannot evaluate policy for an empty case');
  const outcomes = items.map((it) => evaluateItemPolicy(it, config));
  let decisive = outcomes[0]!;
  for (const o of outcomes) if (SEVERITY[o.action] > SEVERITY[decisive.action]) decisive = o;
  const destinations = new Set<Destination>();
  for (const o of outcomes) if (o.action !== 'drop') o.destinations.forEach((d) => destinations.add(d));
  return {
    action: decisive.action,
    ruleId: decisive.ruleId,
    destinations: [...destinations].sort(),
    urgent: outcomes.some((o) => o.action !== 'drop' && o.urgent),
    items: outcomes,
    evaluatedAtMs: nowMs,
  };
}
