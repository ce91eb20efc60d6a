/**
 * `fastly_status` values (Viceroy `wasm_abi/compute-at-edge-abi/typenames.witx`). Every hostcall returns one of these;
 * results travel through out-pointers.
 */
export const Status = {
  OK: 0,
  ERROR: 1,
  INVAL: 2,
  BADF: 3,
  BUFLEN: 4,
  UNSUPPORTED: 5,
  BADALIGN: 6,
  HTTPINVALID: 7,
  HTTPUSER: 8,
  HTTPINCOMPLETE: 9,
  NONE: 10,
  HTTPHEADTOOLARGE: 11,
  HTTPINVALIDSTATUS: 12,
  LIMITEXCEEDED: 13,
  AGAIN: 14,
} as const;

export type StatusCode = (typeof Status)[keyof typeof Status];

/**
 * A hostcall failing with a status the guest is meant to see (as opposed to a trap). Not an `Error`: it is an answer,
 * not a fault, and guests meet it on ordinary paths (every unset Config Store key is NONE, on every request), where
 * making an `Error` cost ~10–60 µs of the request's CPU even without its stack, and Fastly's native hostcall returns a
 * number. `toString` keeps it readable wherever it is printed.
 */
export class HostcallError {
  constructor(
    readonly status: StatusCode,
    readonly message: string,
  ) {}

  toString(): string {
    return `HostcallError: ${this.message}`;
  }
}

/** `send_error_detail_tag` (typenames.witx), the values this host produces. */
export const SendErrorTag = {
  uninitialized: 0,
  ok: 1,
  dns_timeout: 2,
  dns_error: 3,
  destination_not_found: 4,
  destination_unavailable: 5,
  destination_ip_unroutable: 6,
  connection_refused: 7,
  connection_terminated: 8,
  connection_timeout: 9,
  connection_limit_reached: 10,
  tls_certificate_error: 11,
  tls_configuration_error: 12,
  http_incomplete_response: 13,
  http_response_header_section_too_large: 14,
  http_response_body_too_large: 15,
  http_response_timeout: 16,
  http_response_status_invalid: 17,
  http_upgrade_failed: 18,
  http_protocol_error: 19,
  http_request_cache_key_invalid: 20,
  http_request_uri_invalid: 21,
  internal_error: 22,
  tls_alert_received: 23,
  tls_protocol_error: 24,
  h2_error: 25,
} as const;

export type SendErrorTagName = keyof typeof SendErrorTag;

/** `kv_error` (typenames.witx). */
export const KvError = { uninitialized: 0, ok: 1, bad_request: 2, not_found: 3 } as const;

/** What js-compute (and fastly_shared) use for "no handle". */
export const INVALID_HANDLE = 0xffff_fffe;
