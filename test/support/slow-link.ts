import { type Server, type Socket, createConnection, createServer } from 'node:net';

/**
 * A TCP proxy in front of a Redis server that can hold traffic, as a slow or congested link
 * does: what the client sends while the link holds is queued and delivered, in order, on
 * release, even if the client has given up and closed its connection meanwhile (bytes already
 * on their way still arrive). `hold('scripts')` holds only from the first command that runs a
 * script (EVAL/EVALSHA, how the Redis store writes) on each connection, so reads go through and
 * the writes are what arrives late.
 */
export interface SlowLink {
  port: number;
  url: string;
  hold(what: 'everything' | 'scripts'): void;
  /** Delivers what was held and lets traffic through again. */
  release(): void;
  /** Script commands (EVAL/EVALSHA) queued by holds so far. */
  readonly heldScripts: number;
  close(): Promise<void>;
}

interface Connection {
  client: Socket;
  upstream: Socket;
  /** Chunks waiting for the release, or null while traffic flows. */
  queue: Buffer[] | null;
  clientGone: boolean;
  /** The last bytes the client sent: a command name split between two chunks is still seen, once. */
  tail: string;
}

const SCRIPT_COMMANDS = /\r\n(evalsha|eval)\r\n/gi;
/** One byte shorter than the longest SCRIPT_COMMANDS match: what a split match can leave in one chunk. */
const TAIL = '\r\nevalsha\r\n'.length - 1;

/** Script commands that end in `chunk` (one may begin in `tail`, the bytes sent before it). */
function countScripts(tail: string, chunk: string): number {
  let n = 0;
  for (const m of (tail + chunk).matchAll(SCRIPT_COMMANDS)) if (m.index + m[0].length > tail.length) n++;
  return n;
}

export async function startSlowLink(targetPort: number): Promise<SlowLink> {
  const connections = new Set<Connection>();
  let holding: 'no' | 'everything' | 'scripts' = 'no';
  let heldScripts = 0;

  const server: Server = createServer((client) => {
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
    const c: Connection = { client, upstream, queue: null, clientGone: false, tail: '' };
    connections.add(c);
    client.on('data', (chunk: Buffer) => {
      const text = chunk.toString('latin1');
      const scripts = countScripts(c.tail, text);
      c.tail = (c.tail + text).slice(-TAIL);
      if (c.queue === null && (holding === 'everything' || (holding === 'scripts' && scripts > 0))) {
        c.queue = [];
      }
      if (c.queue === null) upstream.write(chunk);
      else {
        c.queue.push(chunk);
        heldScripts += scripts;
      }
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!client.destroyed) client.write(chunk);
    });
    client.on('close', () => {
      c.clientGone = true;
      if (c.queue === null) upstream.end();
    });
    upstream.on('close', () => {
      client.destroy();
      connections.delete(c);
    });
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;

  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    hold: (what) => {
      holding = what;
    },
    release: () => {
      holding = 'no';
      for (const c of connections) {
        if (c.queue === null) continue;
        for (const chunk of c.queue) c.upstream.write(chunk);
        c.queue = null;
        if (c.clientGone) c.upstream.end();
      }
    },
    get heldScripts() {
      return heldScripts;
    },
    close: async () => {
      for (const c of connections) {
        c.client.destroy();
        c.upstream.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
