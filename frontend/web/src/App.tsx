import { lazy, type ReactNode, Suspense } from "react";
import { KeyField } from "./components";
import { DesignPage } from "./pages/Design";
import { ExperimentsPage } from "./pages/Experiments";
import { ModelsPage } from "./pages/Models";
import { PredictPage } from "./pages/Predict";
import { useRoute } from "./router";

// The chart library is most of the JavaScript: loaded when a page with charts opens, not up front.
const MonitoringPage = lazy(() => import("./pages/Monitoring").then((m) => ({ default: m.MonitoringPage })));
const DataPage = lazy(() => import("./pages/Data").then((m) => ({ default: m.DataPage })));

export const PAGES: { path: string; title: string; render: () => ReactNode }[] = [
  { path: "/predict", title: "Predict", render: () => <PredictPage /> },
  { path: "/models", title: "Models", render: () => <ModelsPage /> },
  { path: "/monitoring", title: "Monitoring", render: () => <MonitoringPage /> },
  { path: "/data", title: "Data", render: () => <DataPage /> },
  { path: "/experiments", title: "Experiments", render: () => <ExperimentsPage /> },
  { path: "/design", title: "Design", render: () => <DesignPage /> },
];

export function App() {
  const route = useRoute();
  const page = PAGES.find((p) => p.path === route) ?? PAGES[0];
  return (
    <div className="min-h-screen">
      <header className="bg-ink text-brand-ink">
        <div className="mx-auto flex max-w-6xl flex-wrap items-center justify-between gap-2 px-4 py-3">
          <span className="text-lg font-bold">Tripcast</span>
          <KeyField />
        </div>
        <nav aria-label="Pages" className="mx-auto max-w-6xl overflow-x-auto px-2">
          <ul className="flex gap-1">
            {PAGES.map((p) => (
              <li key={p.path}>
                <a
                  href={`#${p.path}`}
                  aria-current={p.path === page.path ? "page" : undefined}
                  className={`block whitespace-nowrap px-3 py-2 text-sm ${p.path === page.path ? "border-b-2 border-brand font-semibold" : "opacity-90"}`}
                >
                  {p.title}
                </a>
              </li>
            ))}
          </ul>
        </nav>
      </header>
      <main className="mx-auto max-w-6xl p-4">
        <h1 className="mb-4 text-xl font-bold text-ink">{page.title}</h1>
        <Suspense fallback={<p className="text-sm text-muted">Loading…</p>}>{page.render()}</Suspense>
      </main>
    </div>
  );
}
