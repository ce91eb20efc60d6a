import type { Phase, PhaseTimings } from "../core/phase-timings.ts";

/**
 * The phases of a filtered answer the core computed in this request, as a `Server-Timing` header (Config Store
 * `server_timing = on`): e.g. `upstream;dur=1.20, decode;dur=4.10, scan;dur=9.80, lookup;dur=0.40, filter;dur=1.10,
 * body;dur=0.90`. An answer from the answer cache computed nothing here and carries no phases. Durations are the
 * engine's wall clock in milliseconds; they say where the time went, not what Fastly bills.
 */
export class ServerTiming implements PhaseTimings {
  private readonly phases = new Map<Phase, number>();

  add(phase: Phase, milliseconds: number): void {
    this.phases.set(phase, (this.phases.get(phase) ?? 0) + milliseconds);
  }

  /** The response with the header added, or as it is when nothing was measured. */
  applyTo(response: Response): Response {
    if (this.phases.size === 0) return response;
    const value = [...this.phases].map(([phase, ms]) => `${phase};dur=${ms.toFixed(2)}`).join(", ");
    response.headers.append("server-timing", value);
    return response;
  }
}
