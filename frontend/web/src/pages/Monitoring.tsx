import { useEffect, useState } from "react";
import { Area, AreaChart, CartesianGrid, Legend, Line, LineChart, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { Badge, Card, ChartFrame, EmptyState, Stat, Table, chartColor } from "@ds/index";
import type { Monitoring, PredictionDistribution } from "../api";
import { Loaded } from "../components";
import { useMonitoring } from "../hooks";

/** One point per poll: time and each feature's drift score. */
export type DriftPoint = { at: string } & Record<string, number | string>;

/** The history with this snapshot's scores appended (at most `max` points; unchanged when no feature). */
export function appendDrift(history: DriftPoint[], snapshot: Monitoring, at: Date, max = 120): DriftPoint[] {
  if (snapshot.drift.features.length === 0) return history;
  const point: DriftPoint = { at: at.toLocaleTimeString() };
  for (const f of snapshot.drift.features) point[f.feature] = f.score;
  return [...history, point].slice(-max);
}

const ms = (v: number | null) => (v === null ? "–" : v < 10 ? v.toFixed(2) : v.toFixed(0));

function DriftChart({ history, features }: { history: DriftPoint[]; features: string[] }) {
  return (
    // Tall enough that a phone, whose legend wraps over several rows, still has a plot to read.
    <ChartFrame title="Drift score per feature" height={360} description="One line per feature, one point per refresh of this page (every 5 s); the dashed line marks 0.1, the default drift threshold of the Jensen-Shannon and Wasserstein tests. Each row's status below is the server's verdict.">
      <ResponsiveContainer>
        <LineChart data={history} margin={{ left: 0, right: 8, top: 8, bottom: 0 }}>
          <CartesianGrid strokeDasharray="3 3" />
          <XAxis dataKey="at" fontSize={12} />
          <YAxis fontSize={12} width={48} />
          <Tooltip />
          <Legend wrapperStyle={{ fontSize: 11 }} />
          <ReferenceLine y={0.1} stroke="#b91c1c" strokeDasharray="6 4" label="threshold" />
          {features.map((f, i) => (
            <Line key={f} className={`drift-line-${f}`} type="monotone" dataKey={f} stroke={chartColor(i)} dot={history.length < 3} isAnimationActive={false} />
          ))}
        </LineChart>
      </ResponsiveContainer>
    </ChartFrame>
  );
}

/** One row per bin: its range and both shares in percent. */
export function distributionBins(d: PredictionDistribution): { bin: string; reference: number; current: number }[] {
  const edge = (v: number) => (Math.abs(v) < 10 ? v.toFixed(1) : v.toFixed(0));
  return d.reference.map((share, i) => ({ bin: `${edge(d.edges[i])}–${edge(d.edges[i + 1])}`, reference: share * 100, current: d.current[i] * 100 }));
}

function DistributionChart({ data }: { data: PredictionDistribution }) {
  const bins = distributionBins(data);
  return (
    <>
      <ChartFrame
        title="Predicted minutes: served vs training reference"
        description={`Share of predictions per bin: the last ${data.n_current.toLocaleString("en-US")} served (the drift window) over the ${data.n_reference.toLocaleString("en-US")} the model made on its training rows (its reference profile). The end bins also hold the tails.`}
      >
        <ResponsiveContainer>
          <AreaChart data={bins} margin={{ left: 0, right: 8, top: 8, bottom: 0 }}>
            <CartesianGrid strokeDasharray="3 3" />
            <XAxis dataKey="bin" fontSize={11} interval="preserveStartEnd" />
            <YAxis fontSize={12} width={48} unit="%" />
            <Tooltip formatter={(v) => `${Number(v).toFixed(1)} %`} />
            <Legend />
            <Area type="step" dataKey="reference" name="training reference" stroke={chartColor(1)} fill={chartColor(1)} fillOpacity={0.3} isAnimationActive={false} />
            <Area type="step" dataKey="current" name="served" stroke={chartColor(0)} fill={chartColor(0)} fillOpacity={0.3} isAnimationActive={false} />
          </AreaChart>
        </ResponsiveContainer>
      </ChartFrame>
      <details className="mt-2 text-sm">
        <summary className="cursor-pointer text-muted">The numbers per bin</summary>
        <Table
          caption="Share of predictions per bin"
          rowKey={(r) => r.bin}
          rows={bins}
          columns={[
            { key: "b", header: "Minutes", render: (r) => r.bin },
            { key: "r", header: "Reference", numeric: true, render: (r) => `${r.reference.toFixed(1)} %` },
            { key: "c", header: "Served", numeric: true, render: (r) => `${r.current.toFixed(1)} %` },
          ]}
        />
      </details>
    </>
  );
}

function Snapshot({ data, history }: { data: Monitoring; history: DriftPoint[] }) {
  const s = data.serving;
  const features = data.drift.features.map((f) => f.feature);
  return (
    <div className="grid grid-cols-1 gap-4">
      <Card title="Serving">
        <div className="flex flex-wrap gap-3">
          <Stat label="p50" value={ms(s.latency_ms.p50)} unit="ms" />
          <Stat label="p95" value={ms(s.latency_ms.p95)} unit="ms" />
          <Stat label="p99" value={ms(s.latency_ms.p99)} unit="ms" />
          <Stat label="Requests" value={s.requests} hint="since the server started" />
          <Stat label="Shed rate" value={(s.shed_rate * 100).toFixed(2)} unit="%" />
        </div>
      </Card>
      <Card title="Drift">
        {features.length === 0 ? (
          <EmptyState title="No drift evaluated yet">The server evaluates the served traffic against the training reference every minute, once predictions arrive.</EmptyState>
        ) : (
          <>
            <DriftChart history={history} features={features} />
            <Table
              caption="Latest drift score per feature"
              rowKey={(r) => r.feature}
              rows={data.drift.features}
              columns={[
                { key: "f", header: "Feature", render: (r) => r.feature },
                { key: "m", header: "Method", render: (r) => r.method },
                { key: "s", header: "Score", numeric: true, render: (r) => <span data-drift-score={r.feature}>{r.score.toFixed(4)}</span> },
                { key: "d", header: "Status", render: (r) => <Badge tone={r.drifted ? "danger" : "ok"}>{r.drifted ? "drifted" : "stable"}</Badge> },
              ]}
            />
            <p className="mt-2 text-sm text-muted">Window: {data.drift.window_rows} rows · drifted share {data.drift.dataset_share === null ? "–" : (data.drift.dataset_share * 100).toFixed(0) + "%"}</p>
          </>
        )}
      </Card>
      <Card title="Prediction distribution">
        {data.prediction_distribution === null ? (
          <EmptyState title="No predictions to compare yet">The served version needs a reference profile (stored when it was registered) and served predictions in the drift window.</EmptyState>
        ) : (
          <DistributionChart data={data.prediction_distribution} />
        )}
      </Card>
      <Card title="Live error (ground truth)">
        {data.live_error.length === 0 ? (
          <EmptyState title="No ground truth joined yet">Run <code>tripcast feedback ingest</code> and <code>tripcast feedback report</code>.</EmptyState>
        ) : (
          <Table
            caption="Live error by version and segment"
            rowKey={(r) => `${r.version}/${r.segment}`}
            rows={data.live_error}
            columns={[
              { key: "v", header: "Version", render: (r) => r.version },
              { key: "s", header: "Segment", render: (r) => r.segment },
              { key: "r", header: "RMSE", numeric: true, render: (r) => r.rmse?.toFixed(2) ?? "–" },
              { key: "m", header: "MAE", numeric: true, render: (r) => r.mae?.toFixed(2) ?? "–" },
              { key: "n", header: "Rows", numeric: true, render: (r) => r.n ?? "–" },
            ]}
          />
        )}
      </Card>
    </div>
  );
}

export function MonitoringPage() {
  const query = useMonitoring();
  const [history, setHistory] = useState<DriftPoint[]>([]);
  useEffect(() => {
    if (query.data) setHistory((h) => appendDrift(h, query.data, new Date(query.dataUpdatedAt)));
  }, [query.data, query.dataUpdatedAt]);
  return <Loaded query={query}>{(data) => <Snapshot data={data} history={history} />}</Loaded>;
}
