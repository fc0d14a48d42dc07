/** The design tokens, typed: the same JSON Tailwind's theme is generated from (see web/vite.config.ts). */
import raw from "./tokens.json" with { type: "json" };

export const tokens = raw;
export type ColorToken = keyof typeof raw.color;

/** The CSS `@theme` block Tailwind v4 reads: one variable per token, so classes like `bg-brand` exist. */
export function themeCss(t: typeof raw = raw): string {
  const lines: string[] = [];
  for (const [name, value] of Object.entries(t.color)) lines.push(`  --color-${name}: ${value};`);
  t.chart.forEach((value, i) => lines.push(`  --color-chart-${i}: ${value};`));
  for (const [name, value] of Object.entries(t.spacing)) lines.push(`  --spacing-${name}: ${value};`);
  for (const [name, value] of Object.entries(t.radius)) lines.push(`  --radius-${name}: ${value};`);
  for (const [name, value] of Object.entries(t.font)) lines.push(`  --font-${name}: ${value};`);
  for (const [name, value] of Object.entries(t.text)) lines.push(`  --text-${name}: ${value};`);
  return `@theme {\n${lines.join("\n")}\n}`;
}

/** The chart palette, in order: one colour per series. */
export function chartColor(i: number): string {
  return raw.chart[i % raw.chart.length];
}
