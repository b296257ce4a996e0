/**
 * Grooming detection evaluation on the synthetic corpus (bench/grooming/corpus).
 *
 *   npx tsx bench/grooming/evaluate.ts               # tune + held-out test, writes results
 *   npx tsx bench/grooming/evaluate.ts --split tune  # tuning split only, prints, writes nothing
 *
 * Uses the library's DEFAULT configuration (tuned on the tuning split only). The latency
 * parameter p is fixed from the tuning split (penalty 0.5 at the median grooming conversation
 * length, the eRisk recipe) and reused on test. Writes bench/results/grooming-eval.json and
 * bench/results/grooming-roc.png (ROC over the peak conversation score, SVG rendered by sharp).
 * A naive keyword baseline (lower-cased substring list, no normalisation, no context, alert on
 * two hits) runs side by side for comparison.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { DEFAULT_CONFIG } from '@safeguard/grooming';
import { generateSplit, type CorpusItem } from './corpus/generate';
import { median, metricsOf, pForMedianLength, rocOf, runAnalyzer, type Outcome } from './metrics';

const RESULTS = join(__dirname, '..', 'results');

/** A deliberately naive baseline: English-only substrings, two distinct hits alert. */
const BASELINE_KEYWORDS = [
  'how old', 'secret', "don't tell", 'dont tell', 'delete', 'alone', 'parents home', 'send me a pic', 'pic of you',
  'snap', 'meet', 'webcam', 'mature', 'gift card', 'robux', 'vbucks', 'wearing', 'kiss',
];

function runBaseline(items: readonly CorpusItem[]): Outcome[] {
  return items.map((item) => {
    const hits = new Set<string>();
    let alertIndex: number | null = null;
    const scores: number[] = [];
    item.conversation.messages.forEach((m, i) => {
      const t = m.text.toLowerCase();
      for (const k of BASELINE_KEYWORDS) if (t.includes(k)) hits.add(k);
      scores.push(Math.min(1, hits.size / 4));
      if (alertIndex === null && hits.size >= 2) alertIndex = i;
    });
    return { item, alertIndex, peakScore: Math.max(0, ...scores), scores };
  });
}

function breakdown(outcomes: readonly Outcome[], key: (o: Outcome) => string): Record<string, { conversations: number; alerted: number }> {
  const out: Record<string, { conversations: number; alerted: number }> = {};
  for (const o of outcomes) {
    const k = key(o);
    out[k] ??= { conversations: 0, alerted: 0 };
    out[k].conversations++;
    if (o.alertIndex !== null) out[k].alerted++;
  }
  return out;
}

function rocSvg(curves: Array<{ name: string; color: string; dash?: string; points: Array<{ fpr: number; tpr: number }>; auc: number }>): string {
  const W = 640;
  const H = 560;
  const L = 70;
  const T = 40;
  const S = 440;
  const x = (f: number): number => L + f * S;
  const y = (t: number): number => T + (1 - t) * S;
  const ticks = [0, 0.2, 0.4, 0.6, 0.8, 1];
  let svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="DejaVu Sans, Arial, sans-serif">`;
  svg += `<rect width="${W}" height="${H}" fill="white"/>`;
  svg += `<text x="${W / 2}" y="24" font-size="17" text-anchor="middle">Grooming detection ROC (peak conversation score)</text>`;
  for (const v of ticks) {
    svg += `<line x1="${x(v)}" y1="${y(0)}" x2="${x(v)}" y2="${y(1)}" stroke="#e5e5e5"/><line x1="${x(0)}" y1="${y(v)}" x2="${x(1)}" y2="${y(v)}" stroke="#e5e5e5"/>`;
    svg += `<text x="${x(v)}" y="${y(0) + 20}" font-size="12" text-anchor="middle">${v.toFixed(1)}</text>`;
    svg += `<text x="${x(0) - 10}" y="${y(v) + 4}" font-size="12" text-anchor="end">${v.toFixed(1)}</text>`;
  }
  svg += `<rect x="${x(0)}" y="${y(1)}" width="${S}" height="${S}" fill="none" stroke="#333"/>`;
  svg += `<line x1="${x(0)}" y1="${y(0)}" x2="${x(1)}" y2="${y(1)}" stroke="#999" stroke-dasharray="4 4"/>`;
  svg += `<text x="${x(0.5)}" y="${y(0) + 42}" font-size="14" text-anchor="middle">false-positive rate (benign conversations)</text>`;
  svg += `<text x="20" y="${y(0.5)}" font-size="14" text-anchor="middle" transform="rotate(-90 20 ${y(0.5)})">true-positive rate (grooming conversations)</text>`;
  curves.forEach((c, i) => {
    const pts = c.points
      .slice()
      .sort((a, b) => a.fpr - b.fpr || a.tpr - b.tpr)
      .map((p) => `${x(p.fpr).toFixed(1)},${y(p.tpr).toFixed(1)}`)
      .join(' ');
    svg += `<polyline points="${pts}" fill="none" stroke="${c.color}" stroke-width="2.5"${c.dash ? ` stroke-dasharray="${c.dash}"` : ''}/>`;
    const ly = y(0) - 20 - i * 22;
    svg += `<line x1="${x(0.42)}" y1="${ly - 4}" x2="${x(0.5)}" y2="${ly - 4}" stroke="${c.color}" stroke-width="2.5"${c.dash ? ` stroke-dasharray="${c.dash}"` : ''}/>`;
    svg += `<text x="${x(0.52)}" y="${ly}" font-size="13">${c.name} (AUC ${c.auc.toFixed(3)})</text>`;
  });
  return svg + '</svg>';
}

async function main(): Promise<void> {
  const only = process.argv.includes('--split') ? process.argv[process.argv.indexOf('--split') + 1] : undefined;
  const tune = generateSplit('tune');
  const lengths = tune.filter((x) => x.label.grooming).map((x) => x.conversation.messages.length);
  const p = pForMedianLength(median(lengths) as number);
  const tuneOut = runAnalyzer(tune);
  const tuneMetrics = metricsOf(tuneOut, p);
  const report = (name: string, outs: Outcome[]): void => {
    const m = metricsOf(outs, p);
    process.stdout.write(
      `${name}: P=${m.precision} R=${m.recall} F0.5=${m.f05} FPR=${m.falsePositiveRate} latF1=${m.latencyWeightedF1} ` +
        `median delay=${m.medianAlertDelayMessages} early=${m.earlyAlerts} (TP ${m.truePositives} FP ${m.falsePositives} FN ${m.falseNegatives})\n`,
    );
  };
  report('tune', tuneOut);
  if (only === 'tune') {
    for (const o of tuneOut) {
      const l = o.item.label;
      if (l.grooming && o.alertIndex === null) process.stdout.write(`  miss ${l.conversationId} ${l.scenario} peak=${o.peakScore.toFixed(3)}\n`);
      if (!l.grooming && o.alertIndex !== null) process.stdout.write(`  false alarm ${l.conversationId} ${l.scenario} peak=${o.peakScore.toFixed(3)} at m${o.alertIndex}\n`);
      if (l.grooming && o.alertIndex !== null && o.alertIndex - (l.firstFlagIndex as number) > 5) {
        process.stdout.write(`  late ${l.conversationId} ${l.scenario} flag=m${l.firstFlagIndex} alert=m${o.alertIndex}\n`);
      }
    }
    process.stdout.write(JSON.stringify(breakdown(tuneOut, (o) => o.item.label.scenario)) + '\n');
    return;
  }
  const test = generateSplit('test');
  const testOut = runAnalyzer(test);
  report('test', testOut);
  const testMetrics = metricsOf(testOut, p);
  const baselineTest = metricsOf(runBaseline(test), p);
  const tuneRoc = rocOf(tuneOut);
  const testRoc = rocOf(testOut);
  const baselineRoc = rocOf(runBaseline(test));
  // Threshold sweep on the tuning split only: the best F0.5 with FPR <= 5 %.
  const sweep = [0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8].map((t) => {
    const m = metricsOf(runAnalyzer(tune, { alertThreshold: t, rearmBelow: Math.min(0.3, t / 2) }), p);
    return { threshold: t, f05: m.f05, falsePositiveRate: m.falsePositiveRate, recall: m.recall, medianAlertDelayMessages: m.medianAlertDelayMessages };
  });
  const falseAlarms = testOut.filter((o) => !o.item.label.grooming && o.alertIndex !== null).map((o) => ({ conversationId: o.item.label.conversationId, scenario: o.item.label.scenario, peakScore: Math.round(o.peakScore * 1000) / 1000 }));
  const misses = testOut.filter((o) => o.item.label.grooming && o.alertIndex === null).map((o) => ({ conversationId: o.item.label.conversationId, scenario: o.item.label.scenario, peakScore: Math.round(o.peakScore * 1000) / 1000 }));
  const result = {
    benchmark: 'grooming-eval',
    generatedBy: 'npx tsx bench/grooming/evaluate.ts',
    cpus: os.cpus().length,
    node: process.version,
    corpus: {
      generator: 'bench/grooming/corpus/generate.ts (seed safeguard-grooming-v1)',
      tune: { conversations: tune.length, grooming: tune.filter((x) => x.label.grooming).length, messages: tune.reduce((s, x) => s + x.conversation.messages.length, 0) },
      test: { conversations: test.length, grooming: test.filter((x) => x.label.grooming).length, messages: test.reduce((s, x) => s + x.conversation.messages.length, 0) },
      languages: ['en', 'de', 'fr', 'es', 'nl'],
      note: 'Synthetic and non-explicit. Test phrasings are disjoint from tuning phrasings (odd vs even pool indices).',
    },
    config: { alertThreshold: DEFAULT_CONFIG.alertThreshold, reAlert: DEFAULT_CONFIG.reAlert, policy: DEFAULT_CONFIG.policy, halfLifeMs: DEFAULT_CONFIG.halfLifeMs },
    latency: {
      p: Math.round(p * 1e5) / 1e5,
      pRule: 'penalty(k) = -1 + 2/(1+exp(-p(k-1))) with k = messages seen at the alert; p = ln(3)/(m-1) so that the penalty is 0.5 at m = median length of tuning-split grooming conversations',
      medianGroomingLengthTune: median(lengths),
    },
    targets: { f05: 0.85, falsePositiveRate: 0.05, medianAlertDelayMessages: 5 },
    test: {
      ...testMetrics,
      rocAuc: testRoc.auc,
      meetsTargets: {
        f05: testMetrics.f05 >= 0.85,
        falsePositiveRate: testMetrics.falsePositiveRate <= 0.05,
        medianAlertDelay: (testMetrics.medianAlertDelayMessages ?? Infinity) <= 5,
      },
      byScenario: breakdown(testOut, (o) => o.item.label.scenario),
      byLanguage: breakdown(testOut, (o) => `${o.item.label.language}/${o.item.label.grooming ? 'grooming' : 'benign'}`),
      falseAlarms,
      misses,
    },
    tune: { ...tuneMetrics, rocAuc: tuneRoc.auc, thresholdSweep: sweep },
    keywordBaselineOnTest: { ...baselineTest, rocAuc: baselineRoc.auc, keywords: BASELINE_KEYWORDS },
    roc: { test: testRoc.points, tune: tuneRoc.points },
  };
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(join(RESULTS, 'grooming-eval.json'), JSON.stringify(result, null, 2) + '\n');
  const svg = rocSvg([
    { name: 'held-out test', color: '#1f6feb', points: testRoc.points, auc: testRoc.auc },
    { name: 'tuning split', color: '#8250df', dash: '6 4', points: tuneRoc.points, auc: tuneRoc.auc },
    { name: 'keyword baseline (test)', color: '#d1242f', dash: '2 3', points: baselineRoc.points, auc: baselineRoc.auc },
  ]);
  await sharp(Buffer.from(svg)).png().toFile(join(RESULTS, 'grooming-roc.png'));
  process.stdout.write(`keyword baseline (test): P=${baselineTest.precision} R=${baselineTest.recall} F0.5=${baselineTest.f05} FPR=${baselineTest.falsePositiveRate}\n`);
  process.stdout.write(`wrote ${join(RESULTS, 'grooming-eval.json')} and grooming-roc.png\n`);
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
