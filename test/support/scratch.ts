import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach } from "vitest";

const scratchDirs: string[] = [];
afterEach(() => {
  for (const dir of scratchDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A scratch folder removed after the test. */
export function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), "cc-test-"));
  scratchDirs.push(dir);
  return dir;
}
