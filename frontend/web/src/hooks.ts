/** Server state through TanStack Query: one hook per endpoint the pages read. */
import { useQuery } from "@tanstack/react-query";
import { api, ApiError, type ApprovalRow, type LedgerRow, type ModelOut, type Monitoring, type VersionRow, type Whoami, type Zone } from "./api";
import { useSession } from "./store";

const retry = (count: number, error: unknown) =>
  count < 2 && !(error instanceof ApiError && error.status >= 400 && error.status < 500);

/** Keyed by the API key too: a new key re-reads what the role may see. */
function useKeyed() {
  return useSession((s) => s.apiKey);
}

export function useZones() {
  const key = useKeyed();
  return useQuery({ queryKey: ["zones", key], queryFn: () => api<{ zones: Zone[] }>("/v1/console/zones"), staleTime: Infinity, retry });
}

export function useWhoami() {
  const key = useKeyed();
  return useQuery({ queryKey: ["whoami", key], queryFn: () => api<Whoami>("/v1/console/whoami"), retry });
}

export function useCurrentModel() {
  const key = useKeyed();
  return useQuery({ queryKey: ["current", key], queryFn: () => api<ModelOut>("/v1/models/current"), retry });
}

export function useVersions() {
  const key = useKeyed();
  return useQuery({ queryKey: ["versions", key], queryFn: () => api<{ model: string; versions: VersionRow[] }>("/v1/console/models"), retry });
}

export function useHistory() {
  const key = useKeyed();
  return useQuery({ queryKey: ["history", key], queryFn: () => api<{ model: string; entries: LedgerRow[] }>("/v1/models/history?limit=200"), retry });
}

export function useApprovals() {
  const key = useKeyed();
  return useQuery({ queryKey: ["approvals", key], queryFn: () => api<{ requests: ApprovalRow[] }>("/v1/models/approvals"), retry });
}

export function useMonitoring(intervalMs = 5000) {
  const key = useKeyed();
  return useQuery({
    queryKey: ["monitoring", key],
    queryFn: () => api<Monitoring>("/v1/console/monitoring"),
    refetchInterval: intervalMs,
    retry,
  });
}

/** A resource that may not exist on this server yet (404 -> null, shown as an empty state). */
export function useOptional<T>(name: string, path: string) {
  const key = useKeyed();
  return useQuery({
    queryKey: [name, key],
    queryFn: async () => {
      try {
        return await api<T>(path);
      } catch (err) {
        if (err instanceof ApiError && err.status === 404) return null;
        throw err;
      }
    },
    retry,
  });
}
