import { Badge, Card, EmptyState, Table } from "@ds/index";
import { Loaded } from "../components";
import { useOptional } from "../hooks";

export interface MonthQuality {
  month: string;
  rows_in: number;
  rows_out: number;
  quarantined: number;
  reasons: Record<string, number>;
  passed: boolean;
}

export function DataPage() {
  const query = useOptional<{ months: MonthQuality[] }>("data", "/v1/console/data");
  return (
    <Loaded query={query}>
      {(data) =>
        data === null || data.months.length === 0 ? (
          <EmptyState title="No pipeline reports served">
            This server does not expose pipeline runs and quality reports yet: <code>tripcast pipeline run</code> prints each month's steps and rows, and writes its manifest.
          </EmptyState>
        ) : (
          <Card title="Quality by month">
            <Table<MonthQuality>
              caption="Pipeline quality by month"
              rowKey={(m) => m.month}
              rows={data.months}
              columns={[
                { key: "m", header: "Month", render: (m) => m.month },
                { key: "i", header: "Rows in", numeric: true, render: (m) => m.rows_in.toLocaleString() },
                { key: "o", header: "Rows kept", numeric: true, render: (m) => m.rows_out.toLocaleString() },
                { key: "q", header: "Quarantined", numeric: true, render: (m) => m.quarantined.toLocaleString() },
                { key: "r", header: "Reasons", render: (m) => Object.entries(m.reasons).map(([k, v]) => `${k}: ${v}`).join(", ") || "–" },
                { key: "p", header: "Status", render: (m) => <Badge tone={m.passed ? "ok" : "danger"}>{m.passed ? "passed" : "failed"}</Badge> },
              ]}
            />
          </Card>
        )
      }
    </Loaded>
  );
}
