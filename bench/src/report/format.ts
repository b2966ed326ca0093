/** Number formats and Markdown tables shared by RESULTS.md and the console summary. */
import { APPS, type ScenarioSpec } from '../config';

export const f0 = (x: number): string => (Number.isFinite(x) ? x.toFixed(0) : 'n/a');
export const f1 = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : 'n/a');
export const f2 = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');
export const mib = (b: number): string => (b > 0 ? (b / 2 ** 20).toFixed(1) : 'n/a');
export const seconds = (ms: number): string => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(2)} s` : 'n/a');
export const ratio = (a: number, b: number): string => (Number.isFinite(a / b) && b > 0 ? `${(a / b).toFixed(2)}x` : 'n/a');

export function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

export function scenarioLabel(s: ScenarioSpec): string {
  const app = APPS.find((a) => a.id === s.app)!;
  return s.sticky ? `${app.no}s ${app.title}, sticky users \`${s.path}\`` : `${app.no} ${app.title} \`${s.path}\``;
}
