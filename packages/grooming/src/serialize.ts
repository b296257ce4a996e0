import { GroomingInputError } from './errors';
import { isSignalId, SIGNAL_COUNT, SIGNAL_INDEX, SIGNALS, STAGES, type Stage } from './signals';
import { newParticipant, type ConversationState, type EvidenceEntry, type ParticipantState } from './state';

/** Version byte written first by {@link serializeState}. Bump on any layout change. */
export const STATE_FORMAT_VERSION = 1;

const encoder = new TextEncoder();
/** Scratch buffer reused by every serialisation (grown on demand; the result is copied out). */
let scratch = new Uint8Array(4096);

class Writer {
  private buf = scratch;
  private view = new DataView(scratch.buffer);
  len = 0;

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.view = new DataView(next.buffer);
    scratch = next;
  }
  u8(v: number): void {
    this.ensure(1);
    this.buf[this.len++] = v & 0xff;
  }
  varint(v: number): void {
    this.ensure(8);
    if (v >= 0 && v < 0x80 && (v | 0) === v) {
      this.buf[this.len++] = v;
      return;
    }
    let x = Math.max(0, Math.floor(v));
    while (x >= 0x80) {
      this.buf[this.len++] = (x % 0x80) | 0x80;
      x = Math.floor(x / 0x80);
    }
    this.buf[this.len++] = x;
  }
  f64(v: number): void {
    this.ensure(8);
    this.view.setFloat64(this.len, v, true);
    this.len += 8;
  }
  str(s: string): void {
    const n = s.length;
    if (n < 0x80) {
      // ASCII fast path (the usual opaque ids).
      this.ensure(n + 1);
      let i = 0;
      const at = this.len + 1;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        this.buf[at + i] = c;
      }
      if (i === n) {
        this.buf[this.len] = n;
        this.len = at + n;
        return;
      }
    }
    // Length prefix first: reserve the worst case (3 bytes per UTF-16 unit), then encode in place.
    const max = s.length * 3;
    this.ensure(max + 5);
    const lenAt = this.len;
    const prefix = max < 0x80 ? 1 : max < 0x4000 ? 2 : 3;
    const { written } = encoder.encodeInto(s, this.buf.subarray(lenAt + prefix, lenAt + prefix + max));
    let x = written;
    for (let i = 0; i < prefix; i++) {
      this.buf[lenAt + i] = (x & 0x7f) | (i < prefix - 1 ? 0x80 : 0);
      x >>>= 7;
    }
    this.len = lenAt + prefix + written;
  }
  done(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

class Reader {
  private pos = 0;
  private readonly view: DataView;
  constructor(private readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new GroomingInputError('state_corrupt', 'serialised grooming state is truncated');
  }
  u8(): number {
    this.need(1);
    return this.buf[this.pos++];
  }
  varint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.u8();
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result;
      mul *= 0x80;
    }
    throw new GroomingInputError('state_corrupt', 'serialised grooming state has an overlong varint');
  }
  f64(): number {
    this.need(8);
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }
  str(): string {
    const n = this.varint();
    this.need(n);
    const s = Buffer.from(this.buf.buffer, this.buf.byteOffset + this.pos, n).toString('utf8');
    this.pos += n;
    return s;
  }
  end(): void {
    if (this.pos !== this.buf.length) throw new GroomingInputError('state_corrupt', 'serialised grooming state has trailing bytes');
  }
}

function stageIndex(s: Stage): number {
  return STAGES.indexOf(s);
}

function stageAt(i: number): Stage {
  const s = STAGES[i];
  if (s === undefined) throw new GroomingInputError('state_corrupt', `unknown stage ${i} in serialised grooming state`);
  return s;
}

const FLAG_ANALYSED = 1;
const FLAG_ARMED = 2;
const FLAG_LANGUAGE_FIXED = 4;

/**
 * Serialises a conversation state into a compact binary form for a compacted changelog.
 *
 * Layout (version 1): version byte; flags; conversation id; language; language votes; start and
 * last time (float64 ms); message count; initiator; score, peak (float64); stage; alert fields;
 * participants (id, ages, counters, a 32-bit mask of signals seen, then count and last-seen
 * seconds per seen signal); evidence (signal, participant index, first flag, message index,
 * message id). Integers are unsigned LEB128 varints. Typical size: 200-700 bytes.
 */
export function serializeState(s: ConversationState): Uint8Array {
  const w = new Writer();
  w.u8(STATE_FORMAT_VERSION);
  w.u8((s.analysed ? FLAG_ANALYSED : 0) | (s.armed ? FLAG_ARMED : 0) | (s.languageFixed ? FLAG_LANGUAGE_FIXED : 0));
  w.str(s.conversationId);
  w.str(s.language ?? '');
  const votes = Object.entries(s.languageVotes);
  w.varint(votes.length);
  for (const [lang, n] of votes) {
    w.str(lang);
    w.varint(n);
  }
  w.f64(s.startMs);
  w.f64(s.lastMs);
  w.varint(s.messages);
  w.varint(s.initiator + 1);
  w.f64(s.score);
  w.f64(s.peakScore);
  w.u8(stageIndex(s.stage));
  w.u8(s.alerts);
  w.u8(stageIndex(s.alertStage));
  w.varint(s.alertMessageIndex + 1);
  w.varint(s.participants.length);
  for (const p of s.participants) {
    w.str(p.id);
    w.varint(p.declaredAge + 1);
    w.varint(p.inferredAge + 1);
    w.varint(p.messages);
    w.varint(p.lateNight);
    w.u8(p.unanswered);
    w.u8(p.fanOut);
    let mask = 0;
    for (let b = 0; b < SIGNAL_COUNT; b++) if (p.counts[b] > 0) mask |= 1 << b;
    w.varint(mask >>> 0);
    for (let b = 0; b < SIGNAL_COUNT; b++) {
      if (p.counts[b] === 0) continue;
      w.u8(p.counts[b]);
      w.varint(p.lastSec[b]);
    }
  }
  w.varint(s.evidence.length);
  const slot = new Map<string, number>();
  s.participants.forEach((p, i) => slot.set(p.id, i));
  for (const e of s.evidence) {
    w.u8(SIGNAL_INDEX[e.signal]);
    w.varint(slot.get(e.participantId) ?? 0);
    w.u8(e.first ? 1 : 0);
    w.varint(e.messageIndex);
    w.str(e.messageId);
  }
  return w.done();
}

/**
 * Restores a state written by {@link serializeState}.
 *
 * @throws GroomingInputError `state_version_unsupported` for an unknown version byte,
 *   `state_corrupt` for truncated, trailing or inconsistent bytes.
 */
export function deserializeState(bytes: Uint8Array): ConversationState {
  if (bytes.length === 0) throw new GroomingInputError('state_corrupt', 'serialised grooming state is empty');
  if (bytes[0] !== STATE_FORMAT_VERSION) {
    throw new GroomingInputError('state_version_unsupported', `grooming state version ${bytes[0]} is not supported (expected ${STATE_FORMAT_VERSION})`);
  }
  const r = new Reader(bytes);
  r.u8();
  const flags = r.u8();
  const conversationId = r.str();
  const language = r.str();
  const languageVotes: Record<string, number> = {};
  const nVotes = r.varint();
  for (let i = 0; i < nVotes; i++) {
    const lang = r.str();
    languageVotes[lang] = r.varint();
  }
  const startMs = r.f64();
  const lastMs = r.f64();
  const messages = r.varint();
  const initiator = r.varint() - 1;
  const score = r.f64();
  const peakScore = r.f64();
  const stage = stageAt(r.u8());
  const alerts = r.u8();
  const alertStage = stageAt(r.u8());
  const alertMessageIndex = r.varint() - 1;
  const nParticipants = r.varint();
  if (nParticipants > 64) throw new GroomingInputError('state_corrupt', 'too many participants in serialised grooming state');
  const participants: ParticipantState[] = [];
  for (let i = 0; i < nParticipants; i++) {
    const id = r.str();
    const p = newParticipant(id, r.varint() - 1);
    p.inferredAge = r.varint() - 1;
    p.messages = r.varint();
    p.lateNight = r.varint();
    p.unanswered = r.u8();
    p.fanOut = r.u8();
    const mask = r.varint();
    if (mask >= 2 ** SIGNAL_COUNT) throw new GroomingInputError('state_corrupt', 'unknown signal bits in serialised grooming state');
    for (let b = 0; b < SIGNAL_COUNT; b++) {
      if ((mask & (1 << b)) === 0) continue;
      p.counts[b] = r.u8();
      p.lastSec[b] = r.varint();
    }
    participants.push(p);
  }
  if (initiator >= participants.length) throw new GroomingInputError('state_corrupt', 'initiator out of range in serialised grooming state');
  const nEvidence = r.varint();
  const evidence: EvidenceEntry[] = [];
  for (let i = 0; i < nEvidence; i++) {
    const signal = SIGNALS[r.u8()];
    const pi = r.varint();
    const first = r.u8() === 1;
    const messageIndex = r.varint();
    const messageId = r.str();
    if (signal === undefined || !isSignalId(signal) || pi >= participants.length) {
      throw new GroomingInputError('state_corrupt', 'bad evidence entry in serialised grooming state');
    }
    evidence.push({ signal, participantId: participants[pi].id, messageId, messageIndex, first });
  }
  r.end();
  return {
    conversationId,
    language: language === '' ? null : language,
    languageFixed: (flags & FLAG_LANGUAGE_FIXED) !== 0,
    languageVotes,
    analysed: (flags & FLAG_ANALYSED) !== 0,
    startMs,
    lastMs,
    messages,
    initiator,
    participants,
    score,
    peakScore,
    stage,
    alerts,
    alertStage,
    alertMessageIndex,
    armed: (flags & FLAG_ARMED) !== 0,
    evidence,
  };
}
