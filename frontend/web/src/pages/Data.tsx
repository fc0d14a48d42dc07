import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { Badge, Card, ChartFrame, EmptyState, Table, chartColor, type Tone } from "@ds/index";
import type { DataMonth, DataRuns } from "../api";
import { Loaded } from "../components";
import { useOptional } from "../hooks";

const RUN_TONE: Record<string, Tone> = { complete: "ok", running: "info", failed: "danger" };
const QUALITY_TONE: Record<string, Tone> = { pass: "ok", warn: "warn", fail: "danger" };
const count = (n: number | null) => (n === null ? "–" : n.toLocaleString("en-US"));

/** Quarantined share of a month's input rows, as a percentage string. */
export function quarantineShare(month: DataMonth): string {
  if (!month.rows_in || month.rows_quarantined === null) return "–";
  return `${((100 * month.rows_quarantined) / month.rows_in).toFixed(2)} %`;
}

/** Reasons as chart rows, most frequent first (the server sends them in that order). */
export function reasonBars(reasons: Record<string, number>): { reason: string; rows: number }[] {
  return Object.entries(reasons).map(([reason, rows]) => ({ reason, rows }));
}

function RunCell({ month }: { month: DataMonth }) {
  if (month.run === null) return <span className="text-muted">validated only</span>;
  const steps = month.run.steps.map((s) => `${s.name} ${s.status === "complete" ? "✓" : s.status === "failed" ? "✗" : "…"}`).join(" · ");
  const failed = month.run.steps.find((s) => s.error);
  return (
    <span className="flex flex-col gap-1">
      <span>
        <Badge tone={RUN_TONE[month.run.status] ?? "neutral"}>{month.run.status}</Badge> <span className="text-xs text-muted">{month.run.seconds.toFixed(1)} s</span>
      </span>
      <span className="text-xs text-muted">{steps}</span>
      {failed && <span className="text-xs text-danger">{failed.name}: {failed.error}</span>}
    </span>
  );
}

function MonthsTable({ months }: { months: DataMonth[] }) {
  return (
    <Table<DataMonth>
      caption="Pipeline runs and quality by month"
      rowKey={(m) => m.month}
      rows={[...months].reverse()}
      columns={[
        { key: "m", header: "Month", render: (m) => <span data-month={m.month} className="whitespace-nowrap">{m.month}</span> },
        { key: "run", header: "Pipeline run", render: (m) => <RunCell month={m} /> },
        { key: "i", header: "Rows in", numeric: true, render: (m) => count(m.rows_in) },
        { key: "v", header: "Valid", numeric: true, render: (m) => count(m.rows_valid) },
        { key: "q", header: "Quarantined", numeric: true, render: (m) => <span data-quarantined={m.month}>{count(m.rows_quarantined)}</span> },
        { key: "s", header: "Share", numeric: true, render: (m) => <span className="whitespace-nowrap">{quarantineShare(m)}</span> },
        {
          key: "quality",
          header: "Quality",
          render: (m) => (m.quality ? <Badge tone={QUALITY_TONE[m.quality.status] ?? "neutral"}>{m.quality.status}</Badge> : <span className="text-muted">no report</span>),
        },
        { key: "r", header: "Reasons", render: (m) => Object.entries(m.reasons).map(([k, v]) => `${k}: ${v.toLocaleString("en-US")}`).join(", ") || "–" },
      ]}
    />
  );
}

function ReasonsChart({ reasons }: { reasons: Record<string, number> }) {
  const bars = reasonBars(reasons);
  return (
    <>
      <ChartFrame
        title="Quarantine reasons"
        description="Quarantined rows per reason over every month in the table above; a row that breaks several rules counts for each."
        height={Math.max(160, 36 * bars.length + 40)}
      >
        <ResponsiveContainer>
          <BarChart data={bars} layout="vertical" margin={{ left: 8, right: 16, top: 8, bottom: 0 }}>
            <CartesianGrid strokeDasharray="3 3" horizontal={false} />
            <XAxis type="number" fontSize={12} allowDecimals={false} />
            <YAxis type="category" dataKey="reason" fontSize={12} width={150} />
            <Tooltip />
            <Bar dataKey="rows" name="rows" fill={chartColor(0)} isAnimationActive={false} />
          </BarChart>
        </ResponsiveContainer>
      </ChartFrame>
      <Table<{ reason: string; rows: number }>
        caption="Quarantined rows per reason"
        rowKey={(r) => r.reason}
        rows={bars}
        columns={[
          { key: "r", header: "Reason", render: (r) => r.reason },
          { key: "n", header: "Rows", numeric: true, render: (r) => <span data-reason={r.reason}>{r.rows.toLocaleString("en-US")}</span> },
        ]}
      />
    </>
  );
}

export function DataPage() {
  const query = useOptional<DataRuns>("data", "/v1/console/data");
  return (
    <Loaded query={query}>
      {(data) =>
        data === null ? (
          <EmptyState title="No pipeline records served">This server does not expose pipeline runs and quality reports (<code>GET /v1/console/data</code> is absent).</EmptyState>
        ) : data.months.length === 0 ? (
          <EmptyState title="Nothing has run yet">
            No month was validated or run through the pipeline under this server&apos;s data folder: <code>tripcast validate --month 2021-01</code> or <code>tripcast pipeline run 2021-01</code>.
          </EmptyState>
        ) : (
          <div className="grid grid-cols-1 gap-4">
            <Card title={`Months (${data.service})`}>
              <MonthsTable months={data.months} />
            </Card>
            <Card title="Quarantine">
              {Object.keys(data.reasons).length === 0 ? <EmptyState title="No row quarantined" /> : <ReasonsChart reasons={data.reasons} />}
            </Card>
          </div>
        )
      }
    </Loaded>
  );
}
