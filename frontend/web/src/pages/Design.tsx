import { Badge, Button, Card, ChartFrame, EmptyState, ErrorBanner, Stat, Table, tokens } from "@ds/index";

/** The design system's documentation, rendered by the app itself (/ui/#/design). */
export function DesignPage() {
  return (
    <div className="grid grid-cols-1 gap-4">
      <Card title="Colour tokens">
        <p className="mb-2 text-sm text-muted">From <code>frontend/design_system/tokens.json</code>, the single source of Tailwind's theme (class names like <code>bg-brand</code>).</p>
        <ul className="grid grid-cols-2 gap-2 sm:grid-cols-4">
          {Object.entries(tokens.color).map(([name, value]) => (
            <li key={name} className="flex items-center gap-2 text-sm">
              <span className="inline-block h-6 w-6 rounded-sm border border-line" style={{ background: value }} aria-hidden="true" />
              <code>{name}</code> <span className="text-muted">{value}</span>
            </li>
          ))}
        </ul>
      </Card>
      <Card title="Button">
        <div className="flex flex-wrap gap-2">
          <Button>Primary</Button>
          <Button variant="secondary">Secondary</Button>
          <Button variant="danger">Danger</Button>
          <Button disabled>Disabled</Button>
        </div>
      </Card>
      <Card title="Badge and Stat">
        <div className="flex flex-wrap items-center gap-2">
          <Badge>neutral</Badge>
          <Badge tone="ok">ok</Badge>
          <Badge tone="warn">warn</Badge>
          <Badge tone="danger">danger</Badge>
          <Badge tone="info">info</Badge>
        </div>
        <div className="mt-3 flex flex-wrap gap-3">
          <Stat label="Predicted" value="12.4" unit="min" hint="a Stat with a unit and a hint" />
        </div>
      </Card>
      <Card title="Table">
        <Table
          caption="Example table"
          rowKey={(r) => r.name}
          rows={[{ name: "a", value: 1 }, { name: "b", value: 2 }]}
          columns={[
            { key: "n", header: "Name", render: (r) => r.name },
            { key: "v", header: "Value", numeric: true, render: (r) => r.value },
          ]}
        />
      </Card>
      <Card title="ChartFrame, EmptyState, ErrorBanner">
        <ChartFrame title="A chart's frame" description="Title, one sentence, fixed height" height={60}>
          <div className="h-full rounded-sm bg-canvas" />
        </ChartFrame>
        <div className="mt-3 grid gap-3">
          <EmptyState title="Nothing yet">What to do to see something here.</EmptyState>
          <ErrorBanner title="Some fields are invalid" detail="1 problem" errors={[{ field: "trip_distance", problem: "must be > 0" }]} />
        </div>
      </Card>
    </div>
  );
}
