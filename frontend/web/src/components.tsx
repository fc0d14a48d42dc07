/** Pieces the pages share: a query's loading/error states, the API key field. */
import type { UseQueryResult } from "@tanstack/react-query";
import type { ReactNode } from "react";
import { ErrorBanner } from "@ds/index";
import { ApiError } from "./api";
import { useSession } from "./store";

/** Any thrown value as the error banner's words. */
export function ErrorOf({ error }: { error: unknown }) {
  if (error instanceof ApiError) return <ErrorBanner title={error.title} detail={error.detail} errors={error.errors} />;
  return <ErrorBanner title="Something went wrong" detail={String(error)} />;
}

/** Renders `children(data)` once the query has data; a line while loading; the banner on failure. */
export function Loaded<T>({ query, children }: { query: UseQueryResult<T, unknown>; children: (data: T) => ReactNode }) {
  if (query.isError) return <ErrorOf error={query.error} />;
  if (query.data === undefined) return <p className="text-sm text-muted">Loading…</p>;
  return <>{children(query.data)}</>;
}

/** The session's API key (memory + sessionStorage; never localStorage). */
export function KeyField() {
  const { apiKey, setApiKey } = useSession();
  return (
    <label className="flex items-center gap-2 text-sm text-brand-ink">
      <span>API key</span>
      <input
        type="password"
        autoComplete="off"
        value={apiKey}
        onChange={(e) => setApiKey(e.target.value)}
        placeholder="none (anonymous)"
        className="w-40 rounded-sm border border-line bg-surface px-2 py-1 text-ink"
      />
    </label>
  );
}
