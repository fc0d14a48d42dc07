// The approval buttons by role, in Debian's Chromium: a viewer sees none; an operator requests a promotion;
// an approver approves it and the version is promoted, then rolls it back (the ledger shows the move); a viewer
// has no rollback button, and when a page shows one anyway (whoami doctored) the API's 403 is the banner.
//   node web/e2e/approvals.e2e.mjs BASE_URL OUT_DIR VIEWER_KEY OPERATOR_KEY APPROVER_KEY
// Writes OUT_DIR/approvals.json and a screenshot per step; tests/e2e/frontend runs it.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const [base, out, viewer, operator, approver] = process.argv.slice(2);
mkdirSync(out, { recursive: true });
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const result = {};
try {
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  await page.goto(`${base}/ui/#/models`);
  const versions = page.getByRole("table", { name: "Registered versions" });
  const buttons = async () => (await page.getByRole("button").allInnerTexts()).map((t) => t.trim()).sort();
  const as = async (key, who) => {
    await page.getByLabel("API key").fill(key);
    await page.getByText(`Key ${who},`).waitFor({ timeout: 15000 });
    await versions.waitFor();
  };

  await as(viewer, "vic");
  result.viewer_buttons = await buttons();
  await page.screenshot({ path: join(out, "approvals-viewer.png"), fullPage: true });

  await as(operator, "olga");
  await page.getByLabel("Reason for a promotion request").fill("better on february");
  await versions.getByRole("row", { name: /^v2\b/ }).getByRole("button", { name: "Request" }).click();
  const requests = page.getByRole("table", { name: "Approval requests" });
  await requests.getByText("pending").waitFor({ timeout: 15000 });
  result.operator_buttons = await buttons();
  await page.screenshot({ path: join(out, "approvals-operator.png"), fullPage: true });

  await as(approver, "ada");
  await page.getByRole("button", { name: "Approve" }).click();
  await requests.getByText("promoted").waitFor({ timeout: 15000 });
  result.approver_buttons = await buttons();
  result.serving_aliases = await versions.innerText();
  await page.screenshot({ path: join(out, "approvals-approver.png"), fullPage: true });

  await page.getByLabel("Reason for a rollback").fill("live error up");
  await page.getByRole("button", { name: "Roll back champion" }).click();
  result.rollback_status = await page.getByRole("status").filter({ hasText: "Champion of" }).innerText({ timeout: 15000 });
  const ledger = page.getByRole("list", { name: "Promotion ledger" });
  await ledger.getByText("rollback: live error up").waitFor({ timeout: 15000 });
  result.ledger = await ledger.innerText();
  result.aliases_after_rollback = await versions.innerText();
  await page.screenshot({ path: join(out, "approvals-rollback.png"), fullPage: true });

  await as(viewer, "vic");
  result.viewer_buttons_after = await buttons();
  // A page that shows the button to a viewer anyway (a stale or doctored whoami): the API still refuses.
  await page.route("**/v1/console/whoami", async (route) => {
    const response = await route.fetch();
    const body = await response.json();
    await route.fulfill({ response, json: { ...body, permissions: [...body.permissions, "approve"] } });
  });
  await page.reload();
  await page.getByLabel("Reason for a rollback").fill("a viewer tries");
  await page.getByRole("button", { name: "Roll back champion" }).click();
  result.forbidden_banner = await page.getByRole("alert").innerText({ timeout: 15000 });
  await page.screenshot({ path: join(out, "approvals-viewer-403.png"), fullPage: true });
} finally {
  await browser.close();
  writeFileSync(join(out, "approvals.json"), JSON.stringify(result, null, 2));
}
