import { entryHashOf, type Case, type Complaint, type OutboxRecord, type ReviewDecision } from '@safeguard/reporting';

/*
 * What the review API shows. Evidence is referenced, never included: media URIs and content
 * ids, conversation and message ids, hashes with their provenance, scores and signals. The
 * service holds no content to show. The upload context of a media item (IP address, country,
 * upload time, public availability) is personal data that goes into the reports: the case detail
 * (reviewer and admin only) shows it so that the people who decide can check what will be
 * reported; queue listings and everything the platform role can call never include it.
 */

/** A case in a queue listing. */
export function caseSummary(c: Case, nowMs: number) {
  return {
    caseId: c.caseId,
    kind: c.kind,
    state: c.state,
    platformId: c.platformId,
    urgent: c.urgent,
    category: c.category ?? null,
    openedAtMs: c.openedAtMs,
    ageSeconds: Math.max(0, Math.round((nowMs - c.openedAtMs) / 1000)),
    items: c.items.length,
    policy: c.policy ? { action: c.policy.action, ruleId: c.policy.ruleId } : null,
    claim: c.state === 'claimed' && c.claim ? { reviewerId: c.claim.reviewerId, leaseExpiresAtMs: c.claim.leaseExpiresAtMs } : null,
  };
}

function evidenceOf(c: Case) {
  return c.items.map((it) =>
    it.type === 'match'
      ? {
          type: 'media' as const,
          contentId: it.contentId,
          mediaUri: it.mediaUri ?? null,
          firstSeenAtMs: it.firstSeenAtMs,
          duplicateCount: it.duplicateCount,
          upload: it.upload
            ? {
                uploadedAtMs: it.upload.uploadedAtMs ?? null,
                ipAddress: it.upload.ipAddress ?? null,
                countryCode: it.upload.countryCode ?? null,
                publiclyAvailable: it.upload.publiclyAvailable ?? null,
              }
            : null,
          matches: it.matches.map((m) => ({
            matchId: m.matchId,
            algorithm: m.algorithm,
            distance: m.distance,
            quality: m.quality,
            queryHash: m.queryHash,
            entryHash: entryHashOf(m) ?? null,
            bank: { name: m.bank.name, kind: m.bank.kind, source: m.bank.source, entryId: m.bank.entryId, listVersion: m.bank.listVersion, verified: m.bank.verified ?? false },
            matchedAtMs: m.matchedAtMs,
          })),
        }
      : {
          type: 'conversation' as const,
          conversationId: it.alert.conversationId,
          alertId: it.alert.alertId,
          participantIds: it.alert.participantIds,
          suspectedAccountId: it.alert.suspectedAdultId,
          score: it.alert.score,
          stage: it.alert.stage,
          signals: it.alert.signals.map((s) => ({ kind: s.kind, messageIds: s.messageIds })),
          raisedAtMs: it.alert.raisedAtMs,
          duplicateCount: it.duplicateCount,
        },
  );
}

/** A case with its evidence references, policy outcome, decisions, reports and complaints. */
export function caseDetail(c: Case, nowMs: number, related: { decisions: ReviewDecision[]; outbox: OutboxRecord[]; complaints: Complaint[] }) {
  return {
    ...caseSummary(c, nowMs),
    subjectId: c.subjectId,
    updatedAtMs: c.updatedAtMs,
    windowEndsAtMs: c.windowEndsAtMs,
    industryClassification: c.industryClassification ?? null,
    decidedAtMs: c.decidedAtMs ?? null,
    reportedAtMs: c.reportedAtMs ?? null,
    removal: c.removal ?? null,
    policy: c.policy
      ? {
          action: c.policy.action,
          ruleId: c.policy.ruleId,
          destinations: c.policy.destinations,
          urgent: c.policy.urgent,
          items: c.policy.items.map((o) => ({ itemKey: o.itemKey, action: o.action, ruleId: o.ruleId, overriddenRuleId: o.overriddenRuleId ?? null })),
        }
      : null,
    evidence: evidenceOf(c),
    decisions: related.decisions.map((d) => ({
      decisionId: d.decisionId,
      decision: d.decision,
      reviewerId: d.actorId,
      role: d.role,
      atMs: d.atMs,
      reasonCode: d.reasonCode ?? null,
      urgent: d.urgent,
      falsePositiveAction: d.falsePositiveAction ?? null,
    })),
    reports: related.outbox.map((r) => ({
      reportId: r.key,
      destination: r.destination,
      state: r.state,
      attempts: r.attempts,
      ambiguousSubmits: r.ambiguousSubmits,
      externalReportId: r.ncmec?.reportId ?? r.eu?.receiptId ?? null,
      queuedAtMs: r.createdAtMs,
      deliveredAtMs: r.deliveredAtMs ?? null,
      lastError: r.lastError ? { code: r.lastError.code, authorityCode: r.lastError.authorityCode ?? null, atMs: r.lastError.atMs } : null,
    })),
    complaints: related.complaints.map(complaintView),
  };
}

/** A complaint, without the complainant's reference. */
export function complaintView(c: Complaint) {
  return {
    complaintId: c.complaintId,
    caseId: c.caseId,
    subject: c.subject,
    groundsCode: c.groundsCode,
    state: c.state,
    filedAtMs: c.filedAtMs,
    decidedAtMs: c.decidedAtMs ?? null,
    decidedBy: c.decidedBy ?? null,
    decisionGroundsCode: c.decisionGroundsCode ?? null,
    reversal: c.reversal ?? null,
  };
}
