import type { ReactNode } from "react";

export type Tone = "neutral" | "ok" | "warn" | "danger" | "info";

const TONES: Record<Tone, string> = {
  neutral: "bg-canvas text-ink border-line",
  ok: "bg-ok-soft text-ok border-ok",
  warn: "bg-warn-soft text-warn border-warn",
  danger: "bg-danger-soft text-danger border-danger",
  info: "bg-surface text-accent border-accent",
};

/** A short status word (alias, state, verdict). */
export function Badge({ tone = "neutral", children }: { tone?: Tone; children: ReactNode }) {
  return (
    <span className={`inline-block rounded-sm border px-2 py-0.5 text-xs font-semibold ${TONES[tone]}`}>{children}</span>
  );
}
