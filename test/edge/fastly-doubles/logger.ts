/**
 * Test double for `fastly:logger`: every `log()` is recorded with its endpoint. As js-compute, a Logger asks for its
 * endpoint on the first `log()`, which throws for a name the host refuses (tests name them in `refusedEndpoints`).
 */
export const loggerLog: { entries: Array<{ endpoint: string; message: string }>; refusedEndpoints: Set<string> } = {
  entries: [],
  refusedEndpoints: new Set(),
};

export function resetLoggers(): void {
  loggerLog.entries.length = 0;
  loggerLog.refusedEndpoints.clear();
}

export class Logger {
  readonly #endpoint: string;
  constructor(name: string) {
    this.#endpoint = name;
  }
  log(message: unknown): void {
    if (loggerLog.refusedEndpoints.has(this.#endpoint)) throw new Error("Invalid argument");
    loggerLog.entries.push({ endpoint: this.#endpoint, message: String(message) });
  }
}

export function configureConsole(_options: { prefixing?: boolean; stderr?: boolean }): void {}
