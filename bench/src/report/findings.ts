/** The hand-written findings (bench/FINDINGS.md) appended to RESULTS.md. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const FINDINGS_FILE = join(__dirname, '..', '..', 'FINDINGS.md');
const FINDINGS_MARK = '<!-- The rest of this file is copied from bench/FINDINGS.md (hand-written). -->';

/** Hand-written analysis (profiles of missed bars), kept across runs in bench/FINDINGS.md. */
export function findings(): string {
  return existsSync(FINDINGS_FILE) ? `${FINDINGS_MARK}\n\n${readFileSync(FINDINGS_FILE, 'utf8').trim()}` : '';
}

/** Replaces the findings section of an existing report with the current FINDINGS.md. */
export function refreshFindings(report: string): string {
  const at = report.indexOf(FINDINGS_MARK);
  const head = (at >= 0 ? report.slice(0, at) : report).trimEnd();
  return `${head}\n\n${findings()}\n`;
}
