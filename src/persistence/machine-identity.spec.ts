import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  MACOS_IDENTITY,
  MachineIdentityProblem,
  parseIoregPlatformUuid,
  parseRegMachineGuid,
  resolveMachineIdentity,
} from './machine-identity';

/** A fake file system: path -> content (absent: ENOENT). */
function files(map: Record<string, string>) {
  return (path: string): string => {
    if (!(path in map)) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
    return map[path];
  };
}

/** Linux, whatever this host is: identity from files only. */
const LINUX = { platform: 'linux' as const, run: (): string => assert.fail('Linux reads files, runs no command') };

describe('resolveMachineIdentity', () => {
  it('false: unbound', () => {
    assert.equal(resolveMachineIdentity(false, files({}), LINUX), null);
  });

  it('true: /etc/machine-id, trimmed', () => {
    const id = resolveMachineIdentity(true, files({ '/etc/machine-id': 'abc123\n', '/var/lib/dbus/machine-id': 'other' }), LINUX);
    assert.deepEqual(id, { id: Buffer.from('abc123'), source: '/etc/machine-id' });
  });

  it('true: falls back to /var/lib/dbus/machine-id when /etc/machine-id is missing, empty or uninitialized', () => {
    for (const etc of [undefined, '', '\n', 'uninitialized\n']) {
      const fs: Record<string, string> = { '/var/lib/dbus/machine-id': 'dbus-id\n' };
      if (etc !== undefined) fs['/etc/machine-id'] = etc;
      assert.deepEqual(resolveMachineIdentity(true, files(fs), LINUX), { id: Buffer.from('dbus-id'), source: '/var/lib/dbus/machine-id' });
    }
  });

  it('true without any machine id: a problem that names both files', () => {
    assert.throws(
      () => resolveMachineIdentity(true, files({}), LINUX),
      (err: Error) => {
        assert.ok(err instanceof MachineIdentityProblem);
        assert.match(err.message, /\/etc\/machine-id nor \/var\/lib\/dbus\/machine-id/);
        return true;
      },
    );
  });

  it('{ id }: that identity, never a file', () => {
    assert.deepEqual(resolveMachineIdentity({ id: 'cluster-a' }, files({ '/etc/machine-id': 'x' })), {
      id: Buffer.from('cluster-a'),
      source: 'hardwareBinding.id',
    });
    assert.throws(() => resolveMachineIdentity({ id: '  ' }, files({})), MachineIdentityProblem);
    assert.throws(() => resolveMachineIdentity({ id: 'x'.repeat(1025) }, files({})), MachineIdentityProblem);
  });

  it('reads the real machine id on this host', { skip: !['linux', 'darwin', 'win32'].includes(process.platform) }, () => {
    const id = resolveMachineIdentity(true);
    assert.ok(id && id.id.length > 0);
  });
});

// Recorded outputs (identifiers replaced): `ioreg -rd1 -c IOPlatformExpertDevice` on an Apple
// silicon and an Intel Mac, and `reg query HKLM\SOFTWARE\Microsoft\Cryptography /v MachineGuid`.
const IOREG_APPLE_SILICON = `+-o MacBookPro18,3  <class IOPlatformExpertDevice, id 0x100000227, registered, matched, active, busy 0 (182 ms), retain 38>
    {
      "IOPolledInterface" = "AppleARMWatchdogTimerHibernateHandler is not serializable"
      "#address-cells" = <02000000>
      "AAPL,phandle" = <01000000>
      "IOBusyInterest" = "IOCommand is not serializable"
      "target-type" = <"J314s">
      "name" = <"device-tree">
      "manufacturer" = <"Apple Inc.">
      "compatible" = <"J314sAP","MacBookPro18,3","AppleARM">
      "IOPlatformSerialNumber" = "C02ZX0AAMD6T"
      "model" = <"MacBookPro18,3">
      "device_type" = <"bootrom">
      "#size-cells" = <02000000>
      "IOPlatformUUID" = "5C3B7D2E-91A4-5F60-8C1D-2E7F9A0B4C13"
    }
`;
const IOREG_INTEL = `+-o iMac19,1  <class IOPlatformExpertDevice, id 0x10000020f, registered, matched, active, busy 0 (2459 ms), retain 31>
    {
      "IOPlatformSystemSleepPolicy" = <534c505402000a00640000003200000000000000>
      "compatible" = <"iMac19,1">
      "board-id" = <"Mac-AA95B1DDAB278B95">
      "IOInterruptControllers" = ("io-apic-0")
      "IOPlatformUUID" = "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9"
      "manufacturer" = <"Apple Inc.">
      "IOPlatformSerialNumber" = "C02XK0AAJV40"
      "model" = <"iMac19,1">
    }
`;
const REG_QUERY =
  '\r\nHKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Cryptography\r\n    MachineGuid    REG_SZ    6F9619FF-8B86-4D11-B42D-00C04FC964FF\r\n\r\n';

/** A fake command runner: command output by program name, or a failure. */
function commands(map: Record<string, string | Error>) {
  const calls: string[] = [];
  return {
    calls,
    run(command: string, args: readonly string[]): string {
      calls.push(`${command} ${args.join(' ')}`);
      const name = Object.keys(map).find((key) => command.endsWith(key));
      const out = name === undefined ? new Error(`ENOENT: ${command}`) : map[name];
      if (out instanceof Error) throw out;
      return out;
    },
  };
}

describe('machine identity on macOS and Windows', () => {
  it('parseIoregPlatformUuid: the IOPlatformUUID of Apple silicon and Intel Macs, upper case', () => {
    assert.equal(parseIoregPlatformUuid(IOREG_APPLE_SILICON), '5C3B7D2E-91A4-5F60-8C1D-2E7F9A0B4C13');
    assert.equal(parseIoregPlatformUuid(IOREG_INTEL), '0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9');
    assert.equal(parseIoregPlatformUuid(IOREG_INTEL.replace(/.*IOPlatformUUID.*\n/, '')), undefined);
    assert.equal(parseIoregPlatformUuid('"IOPlatformSerialNumber" = "C02XK0AAJV40"'), undefined);
  });

  it('parseRegMachineGuid: the MachineGuid of reg query, CRLF lines, lower case', () => {
    assert.equal(parseRegMachineGuid(REG_QUERY), '6f9619ff-8b86-4d11-b42d-00c04fc964ff');
    assert.equal(parseRegMachineGuid(REG_QUERY.replace(/\r/g, '')), '6f9619ff-8b86-4d11-b42d-00c04fc964ff');
    assert.equal(parseRegMachineGuid('\r\nHKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Cryptography\r\n'), undefined);
  });

  it('darwin: hardwareBinding true binds to the IOPlatformUUID read with ioreg', () => {
    const fake = commands({ ioreg: IOREG_APPLE_SILICON });
    const id = resolveMachineIdentity(true, files({ '/etc/machine-id': 'linux-id' }), { platform: 'darwin', run: fake.run });
    assert.deepEqual(id, { id: Buffer.from('5C3B7D2E-91A4-5F60-8C1D-2E7F9A0B4C13'), source: 'IOPlatformUUID' });
    assert.deepEqual(fake.calls, [`${MACOS_IDENTITY.command} -rd1 -c IOPlatformExpertDevice`]);
  });

  it('win32: hardwareBinding true binds to the MachineGuid read with reg.exe from System32 (64-bit view)', () => {
    const fake = commands({ 'reg.exe': REG_QUERY });
    const id = resolveMachineIdentity(true, files({}), { platform: 'win32', run: fake.run });
    assert.deepEqual(id, { id: Buffer.from('6f9619ff-8b86-4d11-b42d-00c04fc964ff'), source: 'MachineGuid' });
    assert.equal(fake.calls.length, 1);
    assert.match(fake.calls[0], /\\System32\\reg\.exe query HKLM\\SOFTWARE\\Microsoft\\Cryptography \/v MachineGuid \/reg:64$/);
  });

  it('a failing or silent command is a MachineIdentityProblem naming the command and the key', () => {
    for (const [platform, fake, key] of [
      ['darwin', commands({ ioreg: new Error('spawn /usr/sbin/ioreg ENOENT') }), 'IOPlatformUUID'],
      ['darwin', commands({ ioreg: '+-o Root  <class IORegistryEntry>\n' }), 'IOPlatformUUID'],
      [
        'win32',
        commands({ 'reg.exe': new Error('Command failed: ERROR: The system was unable to find the specified registry key or value.') }),
        'MachineGuid',
      ],
    ] as const) {
      assert.throws(
        () => resolveMachineIdentity(true, files({}), { platform, run: fake.run }),
        (err: Error) => {
          assert.ok(err instanceof MachineIdentityProblem);
          assert.ok(err.message.includes(key), err.message);
          assert.match(err.message, /ioreg|reg\.exe/);
          return true;
        },
      );
    }
  });

  it('{ id } and false never run a command', () => {
    const fake = commands({});
    assert.equal(resolveMachineIdentity(false, files({}), { platform: 'darwin', run: fake.run }), null);
    assert.equal(resolveMachineIdentity({ id: 'x' }, files({}), { platform: 'win32', run: fake.run })?.source, 'hardwareBinding.id');
    assert.deepEqual(fake.calls, []);
  });
});
