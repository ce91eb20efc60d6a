import { version } from "../../package.json";
import type { ServiceInfo } from "../core/status.ts";

/** What `/-/status` says answers: this package's version (bundled at build time), at the edge. */
export const EDGE_SERVICE: ServiceInfo = { version, home: "edge" };
