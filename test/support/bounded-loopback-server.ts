import type { Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * Starts `server` on 127.0.0.1 (a free port) for at most `lifetimeMs`, after which it closes by itself, so a test that
 * forgets it cannot hold the run. `close()` may be called any number of times.
 */
export async function listenBounded(
  server: Server,
  lifetimeMs: number,
): Promise<{ port: number; close: () => Promise<void> }> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const timer = setTimeout(() => void close(), lifetimeMs);
  timer.unref();
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= new Promise<void>((resolve) => {
      clearTimeout(timer);
      server.close(() => resolve());
      server.closeAllConnections();
    }));
  return { port: (server.address() as AddressInfo).port, close };
}
