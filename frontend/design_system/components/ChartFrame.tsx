import type { ReactNode } from "react";

/** A chart with its title, a sentence saying what it shows, and a fixed height (charts need one). */
export function ChartFrame({ title, description, height = 260, children }: { title: string; description: string; height?: number; children: ReactNode }) {
  return (
    <figure className="m-0" aria-label={title}>
      <figcaption className="mb-2">
        <div className="font-semibold text-ink">{title}</div>
        <div className="text-sm text-muted">{description}</div>
      </figcaption>
      <div style={{ width: "100%", height }}>{children}</div>
    </figure>
  );
}
