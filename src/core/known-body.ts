/**
 * Responses whose body the core made from bytes it holds, and those bytes, so that a home keeping an answer (the edge's
 * answer cache, the Node home's filtered-response cache) takes them as they are instead of reading the response back.
 * Reading a `Response` made from bytes costs what decoding them would in the Compute engine (the SDK streams the body
 * back into JavaScript: 3–26 ms for 6.4 MB against 1–2 ms to copy the bytes, measured there); on Node it is a copy.
 *
 * The bytes are the response's body exactly: the registry only knows responses made by `responseOfBytes`, and only
 * until their body is read or handed on (`bodyUsed`), after which `bodyBytesOf` reads the response as any other.
 * Callers must not change the bytes they get.
 */
const knownBodies = new WeakMap<Response, Uint8Array<ArrayBuffer>>();

/** `new Response(body, init)`, remembering `body` for `bodyBytesOf`. */
export function responseOfBytes(body: Uint8Array<ArrayBuffer>, init: ResponseInit): Response {
  const response = new Response(body, init);
  knownBodies.set(response, body);
  return response;
}

/**
 * The bytes the response was made from, when known and its body not yet read, leaving the response as it is (it can
 * still be sent); null otherwise.
 */
export function knownBodyBytes(response: Response): Uint8Array<ArrayBuffer> | null {
  const known = knownBodies.get(response);
  return known !== undefined && !response.bodyUsed ? known : null;
}

/** The response's body as bytes: the ones it was made from, when known and not yet read; otherwise read whole. */
export async function bodyBytesOf(response: Response): Promise<Uint8Array<ArrayBuffer>> {
  const known = knownBodies.get(response);
  if (known !== undefined && !response.bodyUsed) {
    // The stream is never read now: cancelling lets the engine drop it at once rather than at garbage collection.
    await response.body?.cancel();
    return known;
  }
  return new Uint8Array(await response.arrayBuffer());
}
