/**
 * The import object for a guest module: every import the module declares exists. Implemented ones translate
 * HostcallError into its status (WasiErrno into its errno); every other one traps naming itself, so a guest using
 * an API this host lacks fails loudly (500, logged) instead of getting a made-up answer.
 */
import { HostcallError } from "./fastly-status.ts";
import type { HostcallModule } from "./guest-context.ts";
import { WasiErrno } from "./wasi-subset.ts";

export type Implementations = Record<string, HostcallModule>;

export class NotImplemented extends Error {}

export function buildImportObject(
  module: WebAssembly.Module,
  implementations: Implementations,
  trace: ((line: string) => void) | null,
): WebAssembly.Imports {
  const imports: Record<string, Record<string, WebAssembly.ImportValue>> = {};
  for (const declared of WebAssembly.Module.imports(module)) {
    if (declared.kind !== "function") {
      throw new Error(
        `compute-host: the module imports ${declared.kind} ${declared.module}.${declared.name}, which this host does not provide`,
      );
    }
    const qualified = `${declared.module}.${declared.name}`;
    const impl = implementations[declared.module]?.[declared.name];
    (imports[declared.module] ??= {})[declared.name] =
      impl === undefined ? notImplemented(qualified) : wrap(qualified, impl, trace);
  }
  return imports;
}

function notImplemented(qualified: string): (...args: unknown[]) => never {
  return () => {
    throw new NotImplemented(`compute-host: ${qualified} is not implemented`);
  };
}

function wrap(
  qualified: string,
  impl: (...args: number[]) => void,
  trace: ((line: string) => void) | null,
): (...args: number[]) => number {
  return (...args: number[]) => {
    let status = 0;
    try {
      impl(...args);
    } catch (error) {
      if (error instanceof HostcallError) status = error.status;
      else if (error instanceof WasiErrno) status = error.errno;
      else throw error;
    }
    trace?.(`${qualified}(${args.join(", ")}) -> ${status}`);
    return status;
  };
}
