/** The console's HTTP client: same origin, the session's API key as a bearer token, refusals as ApiError. */
import type { components } from "@api/api";
import { useSession } from "./store";

export type TripIn = components["schemas"]["TripIn"];
export type PredictionOut = components["schemas"]["PredictionOut"];
export type ModelOut = components["schemas"]["ModelOut"];
export type ErrorOut = components["schemas"]["ErrorOut"];

export interface Zone {
  id: number;
  name: string;
  borough: string;
}
export interface VersionRow {
  version: string;
  aliases: string[];
  metrics: Record<string, number>;
  created_at: string | null;
}
export interface LedgerRow {
  id: number | string;
  at: string;
  actor: string;
  model: string;
  alias: string;
  from_version: string | null;
  to_version: string | null;
  reason: string;
  gate_metrics: Record<string, number>;
  approver: string | null;
  experiment_id: string | null;
}
export interface ApprovalRow {
  request_id: string;
  model: string;
  version: string;
  state: string;
  requested_by: string;
  reason: string;
  created_at: string;
  decided_by: string | null;
  decision_note: string | null;
  gate: { passed: boolean; reason: string } | null;
}
export interface Whoami {
  name: string | null;
  role: string | null;
  permissions: string[];
  roles_with: Record<string, string[]>;
}
export interface DriftFeature {
  feature: string;
  method: string;
  score: number;
  drifted: boolean;
}
export interface Monitoring {
  serving: {
    latency_ms: { p50: number | null; p95: number | null; p99: number | null };
    requests: number;
    rejected: Record<string, number>;
    shed_rate: number;
  };
  drift: {
    features: DriftFeature[];
    prediction: { method: string; score: number }[];
    dataset_share: number | null;
    window_rows: number;
  };
  /** The served predictions' histogram beside the training reference's (same bins; shares sum to 1). */
  prediction_distribution: PredictionDistribution | null;
  live_error: { version: string; segment: string; rmse?: number; mae?: number; n?: number }[];
}
export interface PredictionDistribution {
  edges: number[];
  reference: number[];
  current: number[];
  n_reference: number;
  n_current: number;
}

export interface DataStep {
  name: string;
  status: string;
  seconds: number;
  finished_at: string | null;
  rows: Record<string, number>;
  error: string | null;
}
export interface DataMonth {
  month: string;
  rows_in: number | null;
  rows_valid: number | null;
  rows_quarantined: number | null;
  reasons: Record<string, number>;
  run: { status: string; seconds: number; steps: DataStep[] } | null;
  quality: { status: string; failed_checks: string[]; warned_checks: string[] } | null;
  sources: string[];
}
/** `GET /v1/console/data`: months oldest first; `reasons` over all of them, most frequent first. */
export interface DataRuns {
  service: string;
  months: DataMonth[];
  reasons: Record<string, number>;
}

/** A refused or failed call: HTTP status (0: the API did not answer), summary and field problems. */
export class ApiError extends Error {
  constructor(
    public status: number,
    public detail: string,
    public errors: { field: string; problem: string }[] = [],
  ) {
    super(detail);
  }

  /** A title a person understands, by status. */
  get title(): string {
    if (this.status === 0) return "The API is not answering";
    if (this.status === 401) return "An API key is needed";
    if (this.status === 403) return "Your key's role may not do this";
    if (this.status === 404) return "Not found";
    if (this.status === 409) return "Refused";
    if (this.status === 422) return "Some fields are invalid";
    if (this.status === 503) return "The server cannot answer right now";
    return `The API answered ${this.status}`;
  }
}

/** Calls the API; JSON in and out. */
export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const key = useSession.getState().apiKey;
  const headers: Record<string, string> = { Accept: "application/json" };
  if (key) headers.Authorization = `Bearer ${key}`;
  if (init.body !== undefined) headers["Content-Type"] = "application/json";
  let response: Response;
  try {
    response = await fetch(path, {
      method: init.method ?? "GET",
      headers,
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
  } catch (err) {
    throw new ApiError(0, `no answer from ${path}: ${(err as Error).message}`);
  }
  const text = await response.text();
  let payload: unknown = undefined;
  try {
    payload = text ? JSON.parse(text) : undefined;
  } catch {
    payload = undefined;
  }
  if (!response.ok) {
    const body = (payload ?? {}) as Partial<ErrorOut>;
    const detail = typeof body.detail === "string" ? body.detail : text.slice(0, 200) || response.statusText;
    const retry = response.headers.get("Retry-After");
    throw new ApiError(response.status, retry ? `${detail} (retry after ${retry} s)` : detail, body.errors ?? []);
  }
  return payload as T;
}
