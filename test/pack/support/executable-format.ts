// Just enough of ELF, Mach-O and PE to tell which operating system and CPU a binary is for,
// without running it: the cross-built sidecars are checked with this.

export interface ExecutableFormat {
  format: 'elf' | 'macho' | 'pe';
  /** Node's names: linux/darwin/win32 and x64/arm64 (or `unknown:<number>`). */
  os: string;
  cpu: string;
  /** ELF: a program interpreter (a dynamic loader, so a libc) is required. */
  interpreter?: boolean;
  /** Mach-O: an LC_CODE_SIGNATURE load command (Apple silicon runs only signed code). */
  codeSigned?: boolean;
  /** PE: a console program (stdin/stdout attached, which the stdio protocol needs). */
  consoleSubsystem?: boolean;
}

const ELF_MACHINES: Record<number, string> = { 62: 'x64', 183: 'arm64' };
const MACHO_CPUS: Record<number, string> = { 0x01000007: 'x64', 0x0100000c: 'arm64' };
const PE_MACHINES: Record<number, string> = { 0x8664: 'x64', 0xaa64: 'arm64' };
const cpuName = (table: Record<number, string>, value: number) => table[value] ?? `unknown:${value.toString(16)}`;

function elf(b: Buffer): ExecutableFormat {
  if (b[4] !== 2 || b[5] !== 1) throw new Error('not a 64-bit little-endian ELF file');
  const phoff = Number(b.readBigUInt64LE(32));
  const phentsize = b.readUInt16LE(54);
  const phnum = b.readUInt16LE(56);
  let interpreter = false;
  for (let i = 0; i < phnum; i++) if (b.readUInt32LE(phoff + i * phentsize) === 3 /* PT_INTERP */) interpreter = true;
  return { format: 'elf', os: 'linux', cpu: cpuName(ELF_MACHINES, b.readUInt16LE(18)), interpreter };
}

function macho(b: Buffer): ExecutableFormat {
  if (b.readUInt32LE(12) !== 2) throw new Error('a Mach-O file that is not an executable (MH_EXECUTE)');
  const ncmds = b.readUInt32LE(16);
  let at = 32; // after the 64-bit header
  let codeSigned = false;
  for (let i = 0; i < ncmds; i++) {
    if (b.readUInt32LE(at) === 0x1d /* LC_CODE_SIGNATURE */) codeSigned = true;
    at += b.readUInt32LE(at + 4);
  }
  return { format: 'macho', os: 'darwin', cpu: cpuName(MACHO_CPUS, b.readUInt32LE(4)), codeSigned };
}

function pe(b: Buffer): ExecutableFormat {
  const header = b.readUInt32LE(0x3c);
  if (b.toString('latin1', header, header + 4) !== 'PE\0\0') throw new Error('an MZ file without a PE header');
  const optional = header + 24;
  if (b.readUInt16LE(optional) !== 0x20b) throw new Error('not a PE32+ (64-bit) image');
  return {
    format: 'pe',
    os: 'win32',
    cpu: cpuName(PE_MACHINES, b.readUInt16LE(header + 4)),
    consoleSubsystem: b.readUInt16LE(optional + 68) === 3,
  };
}

export function executableFormat(b: Buffer): ExecutableFormat {
  if (b.readUInt32BE(0) === 0x7f454c46) return elf(b);
  if (b.readUInt32LE(0) === 0xfeedfacf) return macho(b);
  if (b.toString('latin1', 0, 2) === 'MZ') return pe(b);
  throw new Error(`unknown executable format (starts with ${b.subarray(0, 4).toString('hex')})`);
}
