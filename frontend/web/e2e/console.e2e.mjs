// Drives the console in Debian's Chromium (playwright-core, no browser download) against a running server.
//   node web/e2e/console.e2e.mjs BASE_URL OUT_DIR
// Writes OUT_DIR/result.json (what each page showed, console errors, axe violations) and one screenshot per
// page and viewport; exits non-zero when a page failed to show what it must. tests/e2e/frontend runs it.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { chromium } from "playwright-core";

const [base, out] = process.argv.slice(2);
if (!base || !out) throw new Error("usage: console.e2e.mjs BASE_URL OUT_DIR");
mkdirSync(out, { recursive: true });
const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const VIEWPORTS = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } };
// Endpoints this server may lack on purpose: their 404 is an empty state, not an error.
const OPTIONAL = ["/v1/experiments"];
const PAGES = ["predict", "models", "monitoring", "data", "experiments", "design"];

async function axe(page) {
  await page.addScriptTag({ content: axeSource });
  const found = await page.evaluate(async () => (await window.axe.run(document)).violations);
  return found.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => `${v.id}: ${v.help} [${v.nodes.map((n) => n.target.join(" ")).join(", ")}]`);
}

async function predict(page) {
  await page.goto(`${base}/ui/#/predict`);
  await page.getByRole("button", { name: "Predict duration" }).waitFor();
  await page.getByRole("option", { name: "JFK Airport (132)" }).first().waitFor({ state: "attached" }); // zones arrived
  await page.getByRole("group", { name: "Dropoff zone" }).getByRole("searchbox").fill("JFK");
  await page.getByLabel("Distance (miles)").fill("17.2");
  await page.getByRole("button", { name: "Predict duration" }).click();
  const minutes = page.locator('[data-stat="Predicted"]');
  await minutes.waitFor({ timeout: 15000 });
  return {
    minutes: parseFloat((await minutes.innerText()).replace(/[^0-9.]/g, "")),
    model: (await page.locator('[data-stat="Model"]').innerText()).trim(),
    round_trip_ms: parseFloat((await page.locator('[data-stat="Round trip"]').innerText()).replace(/[^0-9.]/g, "")),
  };
}

// What the drift chart plots: each feature line's last point, read back from the SVG through the y axis's
// tick labels (pixel -> value), so the check covers the drawing, not just the data handed to the chart.
function plottedDrift() {
  const frame = document.querySelector('figure[aria-label="Drift score per feature"]');
  if (!frame) return {};
  // Tick values from the y axis's labels, their pixel rows from its tick lines (a label may be nudged to stay
  // inside the chart; recharts 3 draws labels in a separate z-index layer, in the same order).
  const values = [...frame.querySelectorAll(".recharts-yAxis-tick-labels .recharts-cartesian-axis-tick-value")].map((t) => parseFloat(t.textContent));
  const rows = [...frame.querySelectorAll(".recharts-yAxis .recharts-cartesian-axis-tick-line")].map((l) => parseFloat(l.getAttribute("y1")));
  if (values.length < 2 || rows.length !== values.length) return { error: { values, rows } };
  const [a, b] = [{ y: rows[0], v: values[0] }, { y: rows[values.length - 1], v: values[values.length - 1] }];
  const value = (y) => a.v + ((y - a.y) * (b.v - a.v)) / (b.y - a.y);
  const plotted = {};
  for (const line of frame.querySelectorAll(".recharts-line")) {
    const feature = [...line.classList].find((c) => c.startsWith("drift-line-"))?.slice("drift-line-".length);
    // The curve's last coordinate pair is its newest point ("M x,y" alone for a single point).
    const numbers = (line.querySelector(".recharts-line-curve")?.getAttribute("d") ?? "").match(/-?\d+(\.\d+)?(e-?\d+)?/g) ?? [];
    const y = parseFloat(numbers[numbers.length - 1]);
    if (feature) plotted[feature] = { value: value(y), axis_span: Math.abs(b.v - a.v) };
  }
  return plotted;
}

async function visit(page, name) {
  await page.goto(`${base}/ui/#/${name}`);
  await page.locator("h1").waitFor();
  if (name === "models") await page.getByRole("list", { name: "Promotion ledger" }).or(page.getByText("No promotion recorded yet")).first().waitFor({ timeout: 15000 });
  if (name === "models") await page.getByRole("table", { name: "Registered versions" }).waitFor({ timeout: 15000 });
  if (name === "monitoring") {
    await page.locator('[data-stat="p50"]').waitFor({ timeout: 15000 });
    // Charts draw once their container is measured: wait for the drift lines (the test sends drifting traffic).
    await page.locator('figure[aria-label="Drift score per feature"] .recharts-line-curve').first().waitFor({ timeout: 15000 }).catch(() => {});
  }
  if (name === "data") await page.getByRole("table", { name: "Pipeline runs and quality by month" }).or(page.getByRole("status")).first().waitFor({ timeout: 15000 });
  // A hash change is no new load, so "networkidle" would not wait: wait until no part is still loading.
  await page.waitForFunction(() => !document.querySelector("main")?.innerText.includes("Loading…"), null, { timeout: 15000 });
}

async function run(browser, viewport) {
  const context = await browser.newContext({ viewport: VIEWPORTS[viewport] });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (err) => errors.push(`pageerror: ${err.message}`));
  page.on("console", (msg) => {
    if (msg.type() !== "error") return;
    const url = msg.location().url ?? "";
    if (OPTIONAL.some((path) => url.endsWith(path))) return;
    errors.push(`${msg.text()} (${url})`);
  });
  const result = { prediction: await predict(page), pages: {}, axe: {}, scroll_width: {}, errors };
  await page.screenshot({ path: join(out, `${viewport}-predict.png`), fullPage: true });
  for (const name of PAGES) {
    await visit(page, name);
    result.pages[name] = (await page.locator("main").innerText()).slice(0, 4000);
    result.axe[name] = await axe(page);
    // Nothing may overflow a phone's width: each page scrolls down, never sideways.
    result.scroll_width[name] = await page.evaluate(() => document.documentElement.scrollWidth);
    if (name === "monitoring") {
      result.drift_scores = await page.evaluate(() =>
        Object.fromEntries([...document.querySelectorAll("[data-drift-score]")].map((el) => [el.getAttribute("data-drift-score"), el.textContent])),
      );
      result.drift_plotted = await page.evaluate(plottedDrift);
      result.distribution = await page.evaluate(() =>
        [...document.querySelectorAll('table:has(caption) tbody tr')]
          .filter((tr) => tr.closest("table").querySelector("caption").textContent === "Share of predictions per bin")
          .map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent)),
      );
    }
    if (name === "data") {
      result.data = await page.evaluate(() => ({
        quarantined: Object.fromEntries([...document.querySelectorAll("[data-quarantined]")].map((el) => [el.getAttribute("data-quarantined"), el.textContent])),
        reasons: Object.fromEntries([...document.querySelectorAll("[data-reason]")].map((el) => [el.getAttribute("data-reason"), el.textContent])),
        bars: document.querySelectorAll(".recharts-bar-rectangle").length,
      }));
    }
    await page.screenshot({ path: join(out, `${viewport}-${name}.png`), fullPage: true });
  }
  await context.close();
  return result;
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const results = {};
try {
  for (const viewport of Object.keys(VIEWPORTS)) results[viewport] = await run(browser, viewport);
} finally {
  await browser.close();
  writeFileSync(join(out, "result.json"), JSON.stringify(results, null, 2));
}
