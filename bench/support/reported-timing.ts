import type { RequestTiming } from "../../test/compute-host/compute-host.ts";

/**
 * What the local Compute host reported for the request at `index` of `timings` (the list its `onTiming` fills). The
 * host reports a request when its instance ends, which may be just after the response went out, so this waits for it
 * (up to a second) and throws, naming `request`, when nothing came.
 */
export async function reportedTiming(
  timings: readonly RequestTiming[],
  index: number,
  request: string,
): Promise<RequestTiming> {
  for (let waited = 0; timings.length <= index && waited < 1_000; waited++)
    await new Promise((resolve) => setTimeout(resolve, 1));
  const timing = timings[index];
  if (timing === undefined) throw new Error(`${request}: the host reported no timing`);
  return timing;
}
