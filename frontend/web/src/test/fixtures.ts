/** Canned API answers (shapes as the server sends them) and a fetch double routing by path. */
import { vi } from "vitest";
import type { DataRuns } from "../api";

export const ZONES = {
  zones: [
    { id: 4, name: "Alphabet City", borough: "Manhattan" },
    { id: 74, name: "East Harlem North", borough: "Manhattan" },
    { id: 75, name: "East Harlem South", borough: "Manhattan" },
    { id: 7, name: "Astoria", borough: "Queens" },
    { id: 132, name: "JFK Airport", borough: "Queens" },
  ],
};

export const MONITORING = {
  serving: { latency_ms: { p50: 1.2, p95: 4.8, p99: 9.5 }, requests: 42, rejected: {}, shed_rate: 0 },
  drift: {
    features: [
      { feature: "trip_distance", method: "psi", score: 0.02, drifted: false },
      { feature: "pickup_hour", method: "psi", score: 0.31, drifted: true },
    ],
    prediction: [{ method: "psi", score: 0.05 }],
    dataset_share: 0.5,
    window_rows: 1000,
  },
  prediction_distribution: { edges: [0, 10, 20, 30], reference: [0.5, 0.4, 0.1], current: [0.2, 0.5, 0.3], n_reference: 6000, n_current: 1000 },
  live_error: [],
};

export const DATA: DataRuns = {
  service: "green",
  months: [
    {
      month: "2021-01", rows_in: 10000, rows_valid: 9000, rows_quarantined: 1000,
      reasons: { unknown_zone: 600, fare_negative: 400 },
      run: {
        status: "failed", seconds: 2.0,
        steps: [
          { name: "validate", status: "complete", seconds: 1.5, finished_at: "2026-12-07T10:00:00", rows: { input: 10000 }, error: null },
          { name: "transform", status: "failed", seconds: 0.5, finished_at: null, rows: {}, error: "disk full" },
        ],
      },
      quality: { status: "warn", failed_checks: [], warned_checks: ["quarantine_rate"] },
      sources: ["pipeline manifest", "quality report"],
    },
    {
      month: "2021-02", rows_in: 6, rows_valid: 4, rows_quarantined: 2, reasons: { unknown_zone: 2 },
      run: null, quality: null, sources: ["validated files"],
    },
  ],
  reasons: { unknown_zone: 602, fare_negative: 400 },
};

type Handler = { status?: number; body: unknown; headers?: Record<string, string> };

/** Replaces global fetch: `routes["POST /v1/predictions"]` or `routes["/v1/console/zones"]` (GET). */
export function mockFetch(routes: Record<string, Handler | ((init: RequestInit | undefined) => Handler)>) {
  const fn = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const path = String(input);
    const method = init?.method ?? "GET";
    const found = routes[`${method} ${path}`] ?? (method === "GET" ? routes[path] : undefined);
    if (!found) return new Response(JSON.stringify({ detail: "Not Found" }), { status: 404 });
    const h = typeof found === "function" ? found(init) : found;
    return new Response(JSON.stringify(h.body), { status: h.status ?? 200, headers: { "Content-Type": "application/json", ...h.headers } });
  });
  vi.stubGlobal("fetch", fn);
  return fn;
}
