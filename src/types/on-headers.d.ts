// on-headers ships no type declarations; this is the part of its API the module uses.
declare module 'on-headers' {
  import type { ServerResponse } from 'node:http';

  /** Calls `listener` once, right before `res` writes its headers (whatever writes them). */
  function onHeaders<T extends ServerResponse>(res: T, listener: (this: T) => void): void;
  export = onHeaders;
}
