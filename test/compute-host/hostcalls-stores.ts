/**
 * `fastly_kv_store` (Viceroy `src/wiggle_abi/kv_store_impl.rs`), `fastly_config_store` and `fastly_dictionary`
 * (`config_store.rs`, `dictionary_impl.rs`). KV contents live in the main thread (tests change them while the host
 * runs); a lookup reads the value at once, as Viceroy's lookup is a future that is already ready. Config Stores come
 * with each request (RunJob.configStores), so a read stays in the worker as Compute's stays in the POP's memory.
 */
import { HostcallError, KvError, Status } from "./fastly-status.ts";
import { Body } from "./guest-body.ts";
import type { GuestContext, HostcallModule } from "./guest-context.ts";
import { utf8Bytes } from "./guest-memory.ts";

export function kvStoreHostcalls(ctx: GuestContext): HostcallModule {
  return {
    open(namePtr, nameLen, storeOut) {
      const name = ctx.mem.string(namePtr, nameLen);
      // Viceroy: ObjectStoreError::UnknownObjectStore → INVAL.
      if (!ctx.rpc.call("kv.exists", { store: name }))
        throw new HostcallError(Status.INVAL, `unknown KV store ${JSON.stringify(name)}`);
      ctx.mem.setU32(storeOut, ctx.resources.add({ kind: "kv-store", name }));
    },
    lookup(storeHandle, keyPtr, keyLen, _mask, _config, lookupOut) {
      const store = ctx.resources.get(storeHandle, "kv-store");
      const key = ctx.mem.string(keyPtr, keyLen);
      // Viceroy: an invalid key is KvStoreError::BadRequest → INVAL from lookup itself.
      if (!isValidKvKey(key)) throw new HostcallError(Status.INVAL, `invalid KV key ${JSON.stringify(key)}`);
      const value = ctx.rpc.call("kv.get", { store: store.name, key });
      ctx.mem.setU32(lookupOut, ctx.resources.add({ kind: "kv-lookup", value, failure: null }));
    },
    lookup_wait_v2(lookupHandle, bodyOut, metadataBuf, metadataBufLen, nwrittenOut, generationOut, kvErrorOut) {
      const lookup = ctx.resources.get(lookupHandle, "kv-lookup");
      if (lookup.value === null) {
        ctx.resources.delete(lookupHandle);
        ctx.mem.setU32(kvErrorOut, KvError.not_found);
        return;
      }
      const metadata = utf8Bytes(lookup.value.metadata);
      ctx.mem.setU32(nwrittenOut, metadata.length);
      if (metadata.length > metadataBufLen) {
        // Viceroy answers BUFLEN after consuming the lookup; we keep it so the guest's retry can succeed.
        throw new HostcallError(Status.BUFLEN, "metadata buffer too small");
      }
      ctx.resources.delete(lookupHandle);
      ctx.mem.write(metadataBuf, metadata);
      ctx.mem.setU32(bodyOut, ctx.resources.add({ kind: "body", body: new Body(lookup.value.body) }));
      ctx.mem.setU64(generationOut, 0);
      ctx.mem.setU32(kvErrorOut, KvError.ok);
    },
  };
}

/** Config Store and the older Edge Dictionary: the same stores ([local_server.config_stores]), as in Viceroy. */
export function configStoreHostcalls(ctx: GuestContext): HostcallModule {
  return {
    open(namePtr, nameLen, storeOut) {
      const name = ctx.mem.string(namePtr, nameLen);
      // Viceroy: DictionaryError::UnknownDictionary → BADF.
      if (!ctx.configStores.has(name))
        throw new HostcallError(Status.BADF, `unknown config store ${JSON.stringify(name)}`);
      ctx.mem.setU32(storeOut, ctx.resources.add({ kind: "config-store", name }));
    },
    get(storeHandle, keyPtr, keyLen, valuePtr, valueMaxLen, nwrittenOut) {
      const store = ctx.resources.get(storeHandle, "config-store");
      const key = ctx.mem.string(keyPtr, keyLen);
      const value = ctx.configStores.get(store.name)?.get(key) ?? null;
      // Viceroy: DictionaryError::UnknownDictionaryItem → NONE.
      if (value === null) throw new HostcallError(Status.NONE, `no key ${JSON.stringify(key)}`);
      ctx.mem.writeFitting(utf8Bytes(value), valuePtr, valueMaxLen, nwrittenOut);
    },
  };
}

/** Viceroy's `is_valid_key` (src/object_store.rs). */
export function isValidKvKey(key: string): boolean {
  const length = Buffer.byteLength(key);
  if (length < 1 || length > 1024) return false;
  if (key.startsWith(".well-known/acme-challenge")) return false;
  if (key === ".." || key.includes("../") || key.endsWith("/..")) return false;
  if (key === "." || key.includes("./") || key.endsWith("/.")) return false;
  if (/[\r\n#;?^|]/.test(key)) return false;
  if (key.length === 1 && (key <= "\u0020" || key >= "\ufffe")) return false;
  return true;
}
