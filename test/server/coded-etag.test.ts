import { describe, expect, it } from "vitest";
import { etagForCoding, etagForNotModified, identityIfNoneMatch, splitCodedEtag } from "../../src/server/coded-etag.ts";

describe("etagForCoding", () => {
  it("suffixes the opaque tag with the coding, keeping it strong", () => {
    expect(etagForCoding('"abc"', "gzip")).toBe('"abc-gzip"');
    expect(etagForCoding('"abc"', "br")).toBe('"abc-br"');
  });

  it("keeps a weak tag weak", () => {
    expect(etagForCoding('W/"abc"', "gzip")).toBe('W/"abc-gzip"');
  });

  it("leaves a malformed tag alone", () => {
    expect(etagForCoding("abc", "gzip")).toBe("abc");
  });
});

describe("splitCodedEtag", () => {
  it("splits a coded tag into the identity tag and the coding", () => {
    expect(splitCodedEtag('"abc-gzip"')).toEqual({ etag: '"abc"', coding: "gzip" });
    expect(splitCodedEtag(' W/"abc-br" ')).toEqual({ etag: 'W/"abc"', coding: "br" });
  });

  it("leaves an identity tag as it is", () => {
    expect(splitCodedEtag('"abc"')).toEqual({ etag: '"abc"', coding: null });
  });
});

describe("identityIfNoneMatch", () => {
  it("maps every coded tag of a list back to the identity tag the core compares", () => {
    expect(identityIfNoneMatch('"a-gzip", "b", W/"c-br"')).toBe('"a", "b", W/"c"');
  });

  it("keeps `*`", () => {
    expect(identityIfNoneMatch("*")).toBe("*");
  });
});

describe("etagForNotModified", () => {
  it("answers with the coded tag the client holds", () => {
    expect(etagForNotModified('"abc"', '"abc-gzip"', "gzip")).toBe('"abc-gzip"');
    expect(etagForNotModified('"abc"', '"abc-br"', "gzip")).toBe('"abc-br"');
  });

  it("answers with the identity tag when the client holds the identity body", () => {
    expect(etagForNotModified('"abc"', '"abc"', "gzip")).toBe('"abc"');
  });

  it("prefers the coding the client would get now when it holds several", () => {
    expect(etagForNotModified('"abc"', '"abc-gzip", "abc-br"', "br")).toBe('"abc-br"');
  });

  it("ignores coded tags of other versions of the file", () => {
    expect(etagForNotModified('"abc"', '"old-gzip", "abc"', "gzip")).toBe('"abc"');
  });
});
