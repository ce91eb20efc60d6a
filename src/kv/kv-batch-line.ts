/** One line of a batch body, ready to send: the key it writes and the NDJSON text. */
export interface KvBatchLine {
  readonly key: string;
  /** `{"key":…,"value":<base64 of the UTF-8 value>}`, no newline. */
  readonly text: string;
}

/** The NDJSON line the batch endpoint takes for one key: the value travels base64-encoded (UTF-8 bytes). */
export function kvBatchLine(key: string, value: string): KvBatchLine {
  return { key, text: `{"key":${JSON.stringify(key)},"value":"${Buffer.from(value, "utf8").toString("base64")}"}` };
}

/** A batch body: every line ends with a newline, as NDJSON readers expect. */
export function kvBatchBody(lines: readonly KvBatchLine[]): string {
  let body = "";
  for (const line of lines) body += `${line.text}\n`;
  return body;
}
