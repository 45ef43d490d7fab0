/**
 * FERPlus (reference §10.2): pixels from Kaggle's `fer2013.csv` (emotion,pixels,Usage; 48×48 grey),
 * labels from `fer2013new.csv` (Usage,Image name, 10 vote counts), rows aligned 1:1.
 * Majority rule of microsoft/FERPlus `_process_data` (mode 'majority'):
 *   1. zero every count ≤ 1; 2. if max > 0.5·sum the label is the (first) argmax over all 10
 *   columns, else "unknown"; 3. drop the row if that is unknown or NF. An empty image name drops it too.
 * Splits: train = Training; test = PublicTest (default), PrivateTest, or both.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { BadItems, ListedItem, Listing, ListOptions } from './source.ts';

/** FER2013's pixel CSV (header `emotion,pixels,Usage`; 48×48 grey pixels as space-separated text). */
export const PIXELS_FILE = 'fer2013.csv';
export const PIXELS_HEADER = 'emotion,pixels,Usage';
export const FERPLUS_SIDE = 48;
const VOTES_FILE = 'fer2013new.csv';
const VOTE_COLUMNS = ['neutral', 'happiness', 'surprise', 'sadness', 'anger', 'disgust', 'fear', 'contempt', 'unknown', 'NF'];
/** FERPlus vote column (0..7) → canonical class index. */
const VOTE_TO_CANONICAL = [6, 3, 0, 4, 5, 2, 1, 7];

/** Outcome of the majority rule: a FERPlus vote column 0..7, or why the row is dropped. */
export type MajorityResult = { column: number } | { drop: 'no majority' | 'majority unknown' | 'majority NF' };

/** The FERPlus majority vote on the 10 raw counts (see the module comment). */
export function ferplusMajority(votes: readonly number[]): MajorityResult {
  if (votes.length !== 10) throw new Error(`ferplusMajority: expected 10 vote counts, got ${votes.length}`);
  const v = votes.map((x) => (x <= 1 ? 0 : x));
  const sum = v.reduce((a, b) => a + b, 0);
  let arg = 0;
  for (let i = 1; i < 10; i++) if (v[i]! > v[arg]!) arg = i;
  if (!(v[arg]! > 0.5 * sum)) return { drop: 'no majority' };
  if (arg === 8) return { drop: 'majority unknown' };
  if (arg === 9) return { drop: 'majority NF' };
  return { column: arg };
}

/** Splits one CSV line (double-quoted fields may hold commas; "" is a literal quote). */
export function splitCsvLine(line: string): string[] {
  if (!line.includes('"')) return line.split(',');
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') (cur += '"'), i++;
      else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') out.push(cur), (cur = '');
    else cur += ch;
  }
  out.push(cur);
  return out;
}

/** Non-empty lines with their 1-based line numbers (a trailing newline gives no extra row). */
function csvRows(text: string): { line: number; text: string }[] {
  const rows: { line: number; text: string }[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) if (lines[i]!.trim() !== '') rows.push({ line: i + 1, text: lines[i]! });
  return rows;
}

export async function listFerplus(root: string, opts: ListOptions, bad: BadItems): Promise<Listing> {
  const texts: string[] = [];
  const stamps: string[] = [];
  for (const f of [PIXELS_FILE, VOTES_FILE]) {
    try {
      texts.push(await readFile(join(root, f), 'utf8'));
      const st = await stat(join(root, f));
      stamps.push(`${f}:${st.mtimeMs}:${st.size}`);
    } catch {
      return bad.fatal({ file: f, reason: 'file not found' });
    }
  }
  const pixelRows = csvRows(texts[0]!);
  const voteRows = csvRows(texts[1]!);
  texts.length = 0;
  const pixelHeader = splitCsvLine(pixelRows[0]?.text ?? '').map((s) => s.trim());
  if (pixelHeader.join(',') !== PIXELS_HEADER) {
    bad.fatal({ file: PIXELS_FILE, line: 1, reason: `header is ${JSON.stringify(pixelHeader.join(','))}, expected "${PIXELS_HEADER}"` });
  }
  const voteHeader = splitCsvLine(voteRows[0]?.text ?? '').map((s) => s.trim());
  const expectVoteHeader = ['Usage', 'Image name', ...VOTE_COLUMNS].join(',');
  if (voteHeader.join(',') !== expectVoteHeader) {
    bad.fatal({ file: VOTES_FILE, line: 1, reason: `header is ${JSON.stringify(voteHeader.join(','))}, expected "${expectVoteHeader}"` });
  }
  if (pixelRows.length !== voteRows.length) {
    bad.fatal({
      file: VOTES_FILE,
      reason: `${voteRows.length - 1} data rows, but ${PIXELS_FILE} has ${pixelRows.length - 1} (the rows must align 1:1)`,
    });
  }

  const usages =
    opts.split === 'train' ? ['Training'] : opts.ferplusTest === 'public' ? ['PublicTest'] : opts.ferplusTest === 'private' ? ['PrivateTest'] : ['PublicTest', 'PrivateTest'];
  const dropped = new Map<string, number>();
  const items: ListedItem[] = [];
  for (let r = 1; r < pixelRows.length; r++) {
    const prow = pixelRows[r]!;
    const vrow = voteRows[r]!;
    const pf = splitCsvLine(prow.text);
    const vf = splitCsvLine(vrow.text);
    if (pf.length !== 3) {
      bad.report({ file: PIXELS_FILE, line: prow.line, reason: `expected 3 fields (emotion,pixels,Usage), got ${pf.length}` });
      continue;
    }
    if (vf.length !== 12) {
      bad.report({ file: VOTES_FILE, line: vrow.line, reason: `expected 12 fields (Usage,Image name,10 vote counts), got ${vf.length}` });
      continue;
    }
    const usage = pf[2]!.trim();
    if (!['Training', 'PublicTest', 'PrivateTest'].includes(usage)) {
      bad.report({ file: PIXELS_FILE, line: prow.line, reason: `Usage ${JSON.stringify(usage)} is not Training, PublicTest or PrivateTest` });
      continue;
    }
    if (vf[0]!.trim() !== usage) {
      bad.report({ file: VOTES_FILE, line: vrow.line, reason: `Usage ${JSON.stringify(vf[0]!.trim())} differs from ${PIXELS_FILE}:${prow.line} (${usage})` });
      continue;
    }
    if (!usages.includes(usage)) continue;
    const name = vf[1]!.trim();
    const votes = vf.slice(2).map((s) => (/^\s*\d+(\.\d+)?\s*$/.test(s) ? Number(s) : NaN));
    const badVote = votes.findIndex((x) => Number.isNaN(x));
    if (badVote >= 0) {
      bad.report({ file: VOTES_FILE, line: vrow.line, reason: `vote count ${VOTE_COLUMNS[badVote]} = ${JSON.stringify(vf[2 + badVote])} is not a non-negative number` });
      continue;
    }
    if (name === '') {
      dropped.set('empty image name', (dropped.get('empty image name') ?? 0) + 1);
      continue;
    }
    const result = ferplusMajority(votes);
    if ('drop' in result) {
      dropped.set(result.drop, (dropped.get(result.drop) ?? 0) + 1);
      continue;
    }
    const emotion = pf[0]!.trim();
    if (!/^[0-6]$/.test(emotion)) {
      bad.report({ file: PIXELS_FILE, line: prow.line, reason: `emotion ${JSON.stringify(emotion)} is not in 0..6` });
      continue;
    }
    items.push({
      file: PIXELS_FILE,
      line: prow.line,
      name,
      label: VOTE_TO_CANONICAL[result.column]!,
      source: { greyText: pf[1]!, width: FERPLUS_SIDE, height: FERPLUS_SIDE },
      stamp: '',
    });
  }
  const droppedText = [...dropped].map(([k, n]) => `${n} ${k}`).join(', ');
  return {
    items,
    numClasses: 8,
    notes: [
      `${VOTES_FILE}: ${items.length} ${usages.join('+')} rows kept by the majority vote` + (droppedText ? `; dropped by the FERPlus rules: ${droppedText}` : '; none dropped'),
    ],
    keyParts: [...stamps, `usages=${usages.join('+')}`],
  };
}
