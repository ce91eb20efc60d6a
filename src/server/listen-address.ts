import { UserError } from "../node/user-error.ts";

/** Where the server listens: a host name or IP literal (IPv6 without brackets) and a TCP port, 0 for any free one. */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export const DEFAULT_LISTEN = "127.0.0.1:8080";

const HOST_AND_PORT = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/;

/** Parses `HOST:PORT` (`127.0.0.1:8080`, `localhost:0`, `[::1]:8080`). */
export function parseListenAddress(text: string): ListenAddress {
  const match = HOST_AND_PORT.exec(text);
  const port = match === null ? NaN : Number(match[3]);
  if (match === null || port > 65_535) {
    throw new UserError(
      `--listen "${text}" is not HOST:PORT; expected e.g. 127.0.0.1:8080, [::1]:8080, or 127.0.0.1:0 for a free port`,
    );
  }
  return { host: (match[1] ?? match[2]) as string, port };
}

/** `127.0.0.1:8080`, `[::1]:8080`: the address as `--listen` takes it. */
export function formatListenAddress(address: ListenAddress): string {
  const host = address.host.includes(":") ? `[${address.host}]` : address.host;
  return `${host}:${address.port}`;
}

/** The base URL clients use for an address, e.g. `http://127.0.0.1:8080/` or `http://[::1]:8080/`. */
export function baseUrlOf(address: ListenAddress): string {
  return `http://${formatListenAddress(address)}/`;
}
