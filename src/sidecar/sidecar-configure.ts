import { XemsProtocolError, MISMATCHED_SIDECAR_HINT } from '../xems.errors';
import { describeVaultLoad, persistenceConfigure } from '../persistence/vault-configure';
import { storeConfigure } from '../store/store.options';
import { RequestWriter } from './frame-codec';
import type { SidecarLogger, SidecarProcessOptions } from './sidecar-options';
import type { SidecarClient } from './sidecar-client';
import { Op, PROTOCOL_VERSION, Status, decodeConfigureReply, encodeConfigureRequest } from './stdio-protocol.gen';

/**
 * The configure step of the handshake: the first request to a new sidecar, CONFIGURE, with the
 * protocol and package versions (the sidecar refuses a client of another version), the
 * configuration JSON and the secrets. Key material travels only in this frame, which is wiped
 * once the sidecar has answered.
 */
export async function configureSidecar(
  client: SidecarClient,
  options: SidecarProcessOptions,
  clientVersion: string,
  timeoutMs: number,
  logger: SidecarLogger,
): Promise<void> {
  const vault = options.persistence ? persistenceConfigure(options.persistence) : undefined;
  const shared = options.store ? storeConfigure(options.store) : undefined;
  const config = JSON.stringify({
    ...(options.logLevel ? { logLevel: options.logLevel } : {}),
    ...(options.onExpired ? { expiryEvents: true } : {}),
    ...(options.onEnded && shared ? { endedEvents: true } : {}),
    ...(vault ? { persistence: vault.config } : {}),
    ...(shared ? { store: shared.config } : {}),
  });
  // Without persistence, no secrets: the sidecar picks a random master key (memory-only
  // store). With it, the vault secret and machine identity travel only in this frame.
  const secrets = [...(vault?.secrets ?? []), ...(shared?.secrets ?? [])];
  const w = new RequestWriter(Op.CONFIGURE, 160 + config.length);
  encodeConfigureRequest(w, {
    protocolVersion: PROTOCOL_VERSION,
    clientVersion,
    configJson: Buffer.from(config, 'utf8'),
    secrets: secrets.map(([name, value]) => ({ name, value })),
  });
  const frame = w.finish();
  let reply;
  try {
    reply = await client.request(Op.CONFIGURE, frame, timeoutMs);
  } finally {
    // The sidecar has read the frame once it answered (or is gone): wipe our copies.
    frame.fill(0);
    for (const [, value] of secrets) value.fill(0);
  }
  if (reply.status !== Status.OK) {
    throw new XemsProtocolError('BAD_HANDSHAKE', `CONFIGURE answered with status ${reply.status}`, MISMATCHED_SIDECAR_HINT);
  }
  const { effectiveConfigJson } = decodeConfigureReply(reply.body);
  if (vault) {
    const loaded = describeVaultLoad(effectiveConfigJson);
    if (loaded) logger.log(loaded);
  }
}
