import { describe, expect, it } from "vitest";
import { httpOperation, requestContextOf, requestIdProblem, validTraceparent, validTracestate } from "../../src/trace/index.js";

const V00 = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

describe("request context: ids and W3C trace context from the network", () => {
  it("keeps a valid traceparent and refuses what W3C Trace Context (level 1) refuses", () => {
    expect(validTraceparent(V00)).toBe(V00);
    expect(validTraceparent(` ${V00} `), "surrounding whitespace").toBe(V00);
    expect(validTraceparent(V00.toUpperCase()), "upper-case hex").toBeUndefined();
    expect(validTraceparent(`${V00}-extra`), "version 00 with more fields").toBeUndefined();
    expect(validTraceparent(`ff${V00.slice(2)}`), "version ff").toBeUndefined();
    expect(validTraceparent(V00.replace("4bf92f3577b34da6a3ce929d0e0e4736", "0".repeat(32))), "zero trace id").toBeUndefined();
    expect(validTraceparent(V00.replace("00f067aa0ba902b7", "0".repeat(16))), "zero parent id").toBeUndefined();
    expect(validTraceparent(`x${"0".repeat(600)}`), "too long to read").toBeUndefined();
    // A later version may append fields: the version-00 part is kept, as the spec asks of a reader.
    expect(validTraceparent(`01${V00.slice(2)}-more`)).toBe(`01${V00.slice(2)}`);
  });

  it("keeps a tracestate only when printable and at most 512 characters, and only with a valid traceparent", () => {
    expect(validTracestate("a=1,b=2")).toBe("a=1,b=2");
    expect(validTracestate("a=\u00e9")).toBeUndefined();
    expect(validTracestate(`a=${"x".repeat(511)}`)).toBeUndefined();
    expect(requestContextOf({ requestId: "r", tracestate: "a=1" }, () => "made")).toEqual({ requestId: "r" });
    expect(requestContextOf({ requestId: "r", traceparent: V00, tracestate: "a=1" }, () => "made")).toEqual({ requestId: "r", traceparent: V00, tracestate: "a=1" });
  });

  it("replaces a request id that is empty, too long or not printable ASCII without spaces", () => {
    for (const bad of ["", "x".repeat(65), "a b", "tab\there", "caf\u00e9", "new\nline"]) {
      expect(requestIdProblem(bad), JSON.stringify(bad)).toBeDefined();
      expect(requestContextOf({ requestId: bad }, () => "made").requestId, JSON.stringify(bad)).toBe("made");
    }
    expect(requestContextOf({ requestId: "x".repeat(64) }, () => "made").requestId).toBe("x".repeat(64));
  });

  it("names HTTP API requests alike on both sides of a trace", () => {
    expect(httpOperation("PUT", "/v1/kv/a")).toBe("put");
    expect(httpOperation("GET", "/v1/kv/a?consistency=follower")).toBe("get");
    expect(httpOperation("GET", "/v1/kv?prefix=a")).toBe("list");
    expect(httpOperation("DELETE", "/v1/kv/a")).toBe("delete");
    expect(httpOperation("POST", "/v1/internal/forward")).toBe("http");
    expect(httpOperation("GET", "/v1/status")).toBe("http");
  });
});
