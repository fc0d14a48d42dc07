import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Badge, Button, Card, EmptyState, Stat, Table, type Tone } from "@ds/index";
import { api, type ApprovalRow, type LedgerRow, type VersionRow } from "../api";
import { ErrorOf, Loaded } from "../components";
import { useApprovals, useCurrentModel, useHistory, useVersions, useWhoami } from "../hooks";

const STATE_TONE: Record<string, Tone> = { pending: "warn", approved: "ok", promoted: "ok", rejected: "danger" };
const fmt = (n: number | undefined) => (n === undefined ? "–" : n.toFixed(3));

/** Ledger rows newest first, as a vertical timeline. */
export function LedgerTimeline({ entries }: { entries: LedgerRow[] }) {
  if (entries.length === 0) return <EmptyState title="No promotion recorded yet">The ledger fills when a version is promoted or rolled back.</EmptyState>;
  return (
    <ol className="relative ml-2 border-l-2 border-line" aria-label="Promotion ledger">
      {[...entries].reverse().map((e) => (
        <li key={String(e.id)} className="mb-4 ml-4" data-ledger-entry={String(e.id)}>
          <span className="absolute -left-[7px] mt-1.5 h-3 w-3 rounded-full bg-brand" aria-hidden="true" />
          <div className="text-xs text-muted">
            <time dateTime={e.at}>{new Date(e.at).toLocaleString()}</time> · {e.actor}
            {e.approver ? ` · approved by ${e.approver}` : ""}
          </div>
          <div className="font-semibold text-ink">
            {e.alias}: {e.from_version ? `v${e.from_version}` : "none"} → {e.to_version ? `v${e.to_version}` : "none"}
          </div>
          <div className="text-sm text-ink">{e.reason}</div>
        </li>
      ))}
    </ol>
  );
}

function useAction() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ path, body }: { path: string; body: unknown }) => api<ApprovalRow>(path, { method: "POST", body }),
    onSuccess: () => client.invalidateQueries(),
  });
}

function ApprovalsCard({ canApprove }: { canApprove: boolean }) {
  const approvals = useApprovals();
  const action = useAction();
  return (
    <Card title="Approval requests">
      {action.isError && <ErrorOf error={action.error} />}
      <Loaded query={approvals}>
        {(data) =>
          data.requests.length === 0 ? (
            <EmptyState title="No approval requests" />
          ) : (
            <Table<ApprovalRow>
              caption="Approval requests"
              rowKey={(r) => r.request_id}
              rows={data.requests}
              columns={[
                { key: "v", header: "Version", render: (r) => `v${r.version}` },
                { key: "s", header: "State", render: (r) => <Badge tone={STATE_TONE[r.state] ?? "neutral"}>{r.state}</Badge> },
                { key: "by", header: "Requested by", render: (r) => r.requested_by },
                { key: "why", header: "Reason", render: (r) => r.reason },
                {
                  key: "act",
                  header: "Decision",
                  render: (r) =>
                    r.state === "pending" && canApprove ? (
                      <span className="flex gap-2">
                        <Button onClick={() => action.mutate({ path: `/v1/models/approvals/${r.request_id}/approve`, body: { note: "approved in the console" } })}>Approve</Button>
                        <Button variant="secondary" onClick={() => action.mutate({ path: `/v1/models/approvals/${r.request_id}/reject`, body: { reason: "rejected in the console" } })}>Reject</Button>
                      </span>
                    ) : (
                      r.decided_by ?? "–"
                    ),
                },
              ]}
            />
          )
        }
      </Loaded>
    </Card>
  );
}

/** Moves the champion back to the previous ledger entry's version (`POST /v1/models/rollback`, approver/admin). */
export function RollbackCard() {
  const client = useQueryClient();
  const [reason, setReason] = useState("");
  const rollback = useMutation({
    mutationFn: (why: string) => api<LedgerRow>("/v1/models/rollback", { method: "POST", body: { reason: why } }),
    onSuccess: () => {
      setReason("");
      return client.invalidateQueries();
    },
  });
  return (
    <Card title="Roll back">
      {rollback.isError && <ErrorOf error={rollback.error} />}
      {rollback.data && (
        <p role="status" className="mb-2 text-sm text-ink">
          Champion of {rollback.data.model}: v{rollback.data.from_version} → v{rollback.data.to_version} (ledger #{String(rollback.data.id)}). Servers follow the alias within seconds.
        </p>
      )}
      <div className="flex flex-wrap items-end gap-2">
        <label className="flex min-w-0 flex-1 flex-col gap-1 text-sm font-semibold">
          Reason for a rollback
          <input value={reason} onChange={(e) => setReason(e.target.value)} className="rounded-sm border border-line px-2 py-2 font-normal" placeholder="why the previous champion should serve again" />
        </label>
        <Button variant="danger" disabled={!reason.trim() || rollback.isPending} onClick={() => rollback.mutate(reason)}>
          Roll back champion
        </Button>
      </div>
    </Card>
  );
}

export function ModelsPage() {
  const current = useCurrentModel();
  const versions = useVersions();
  const history = useHistory();
  const who = useWhoami();
  const action = useAction();
  const [reason, setReason] = useState("");
  const can = (p: string) => who.data?.permissions.includes(p) ?? false;
  return (
    <div className="grid grid-cols-1 gap-4">
      <Card title="Serving now">
        <Loaded query={current}>
          {(m) => (
            <div className="flex flex-wrap gap-3">
              <Stat label="Version" value={`v${m.model_version}`} hint={m.model_name} />
              <Stat label="Aliases" value={m.aliases.join(", ") || "–"} />
              {Object.entries(m.metrics)
                .filter(([k]) => k.startsWith("val_") || k.startsWith("test_"))
                .slice(0, 4)
                .map(([k, v]) => (
                  <Stat key={k} label={k} value={v.toFixed(3)} />
                ))}
            </div>
          )}
        </Loaded>
        {who.data && (
          <p className="mt-2 text-xs text-muted">
            {who.data.role ? `Key ${who.data.name}, role ${who.data.role}` : "Anonymous"}: may {who.data.permissions.join(", ") || "nothing"}.
          </p>
        )}
      </Card>
      <Card title="Versions">
        {action.isError && <ErrorOf error={action.error} />}
        {can("operate") && (
          <label className="mb-2 flex flex-col gap-1 text-sm font-semibold">
            Reason for a promotion request
            <input value={reason} onChange={(e) => setReason(e.target.value)} className="rounded-sm border border-line px-2 py-2 font-normal" placeholder="why this version should serve" />
          </label>
        )}
        <Loaded query={versions}>
          {(data) => (
            <Table<VersionRow>
              caption="Registered versions"
              rowKey={(r) => r.version}
              rows={data.versions}
              columns={[
                { key: "v", header: "Version", render: (r) => `v${r.version}` },
                { key: "a", header: "Aliases", render: (r) => <span className="flex flex-wrap gap-1">{r.aliases.map((a) => <Badge key={a} tone={a === "champion" ? "ok" : "info"}>{a}</Badge>)}</span> },
                { key: "rmse", header: "val RMSE", numeric: true, render: (r) => fmt(r.metrics.val_rmse) },
                { key: "mae", header: "val MAE", numeric: true, render: (r) => fmt(r.metrics.val_mae) },
                { key: "c", header: "Created", render: (r) => (r.created_at ? new Date(r.created_at).toLocaleDateString() : "–") },
                {
                  key: "req",
                  header: "Promote",
                  render: (r) =>
                    can("operate") && !r.aliases.includes("champion") ? (
                      <Button variant="secondary" disabled={!reason.trim()} onClick={() => action.mutate({ path: "/v1/models/approvals", body: { version: r.version, reason } })}>
                        Request
                      </Button>
                    ) : (
                      "–"
                    ),
                },
              ]}
            />
          )}
        </Loaded>
      </Card>
      {can("approve") && <RollbackCard />}
      <ApprovalsCard canApprove={can("approve")} />
      <Card title="Promotion ledger">
        <Loaded query={history}>{(data) => <LedgerTimeline entries={data.entries} />}</Loaded>
      </Card>
    </div>
  );
}
