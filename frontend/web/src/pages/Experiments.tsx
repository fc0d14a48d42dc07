import { Badge, Card, EmptyState, Stat, Table, type Tone } from "@ds/index";
import { Loaded } from "../components";
import { useOptional } from "../hooks";

/** ``AnalysisResult`` of ``tripcast.core.domain.experiment`` (the experiments feature, issue 14). */
export interface AnalysisResult {
  experiment_id: string;
  verdict: "ship" | "keep champion" | "continue" | "invalid";
  effect: number;
  ci_low: number;
  ci_high: number;
  srm_p: number;
  n_per_arm: Record<string, number>;
  rule: string;
  treatment?: string;
  relative_effect?: number | null;
  guardrails?: { metric: string; arm: string; value: number; limit: number; ok: boolean }[];
}
export interface ExperimentRow {
  experiment_id: string;
  state: string;
  verdict?: string | null;
  analysis?: AnalysisResult | null;
}

const VERDICT_TONE: Record<string, Tone> = { ship: "ok", "keep champion": "info", continue: "warn", invalid: "danger" };

/** SRM below this p-value: the arms' sizes do not match the planned split; the result is not trusted. */
export const SRM_ALPHA = 0.001;

export function AnalysisCard({ result }: { result: AnalysisResult }) {
  const srmOk = result.srm_p >= SRM_ALPHA;
  return (
    <Card title={`Experiment ${result.experiment_id}`} actions={<Badge tone={VERDICT_TONE[result.verdict] ?? "neutral"}>{result.verdict}</Badge>}>
      <div className="flex flex-wrap gap-3">
        <Stat label="Effect" value={result.effect.toFixed(3)} hint={`CI [${result.ci_low.toFixed(3)}, ${result.ci_high.toFixed(3)}]`} />
        <Stat label="SRM p" value={result.srm_p.toFixed(4)} hint={srmOk ? "split as planned" : "sample ratio mismatch"} />
        {Object.entries(result.n_per_arm).map(([arm, n]) => (
          <Stat key={arm} label={`n ${arm}`} value={n} />
        ))}
      </div>
      <p className="mt-2 text-sm text-ink">{result.rule}</p>
      {result.guardrails && result.guardrails.length > 0 && (
        <Table
          caption="Guardrails"
          rowKey={(g) => `${g.metric}/${g.arm}`}
          rows={result.guardrails}
          columns={[
            { key: "m", header: "Guardrail", render: (g) => g.metric },
            { key: "a", header: "Arm", render: (g) => g.arm },
            { key: "v", header: "Value", numeric: true, render: (g) => g.value.toFixed(3) },
            { key: "l", header: "Limit", numeric: true, render: (g) => g.limit.toFixed(3) },
            { key: "ok", header: "Status", render: (g) => <Badge tone={g.ok ? "ok" : "danger"}>{g.ok ? "ok" : "breached"}</Badge> },
          ]}
        />
      )}
    </Card>
  );
}

export function ExperimentsPage() {
  const query = useOptional<{ experiments: ExperimentRow[] }>("experiments", "/v1/experiments");
  return (
    <Loaded query={query}>
      {(data) =>
        data === null || data.experiments.length === 0 ? (
          <EmptyState title="No experiments on this server">
            {data === null ? "This server has no experiments API (/v1/experiments answered 404)." : "Start one with tripcast experiments."}
          </EmptyState>
        ) : (
          <div className="grid grid-cols-1 gap-4">
            {data.experiments.map((e) =>
              e.analysis ? (
                <AnalysisCard key={e.experiment_id} result={e.analysis} />
              ) : (
                <Card key={e.experiment_id} title={`Experiment ${e.experiment_id}`} actions={<Badge>{e.state}</Badge>}>
                  <p className="text-sm text-muted">Not analysed yet.</p>
                </Card>
              ),
            )}
          </div>
        )
      }
    </Loaded>
  );
}
