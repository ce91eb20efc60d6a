// A program that asks Compute for a reusable sandbox: one instance takes up to three requests, and waits at most
// 400 ms for the next. Module state survives between the requests of one instance, so each answer says which request
// of its instance it was, with what the request carried and the time the instance saw.
import { ConfigStore } from "fastly:config-store";
import { setReusableSandboxOptions } from "fastly:experimental";

setReusableSandboxOptions({ maxRequests: 3, betweenRequestTimeoutMs: 400 });

let served = 0;

addEventListener("fetch", (event) => event.respondWith(answer(event.request)));

async function answer(request) {
  served += 1;
  const url = new URL(request.url);
  return new Response(
    JSON.stringify({
      served,
      method: request.method,
      path: url.pathname,
      header: request.headers.get("x-probe"),
      body: await request.text(),
      now: Date.now(),
      setting: new ConfigStore("probe_config").get("setting"),
    }),
    { headers: { "content-type": "application/json" } },
  );
}
