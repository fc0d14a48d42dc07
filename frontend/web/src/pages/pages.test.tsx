import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { MONITORING, ZONES, mockFetch } from "../test/fixtures";
import { renderWithQuery } from "../test/render";
import type { Monitoring } from "../api";
import { ExperimentsPage } from "./Experiments";
import { LedgerTimeline, ModelsPage } from "./Models";
import { appendDrift, distributionBins, MonitoringPage } from "./Monitoring";
import { PredictPage } from "./Predict";
import { groupZones } from "./ZonePicker";

afterEach(() => vi.unstubAllGlobals());

describe("zone picker", () => {
  it("groups zones by borough and filters by name, borough or id", () => {
    expect(groupZones(ZONES.zones, "").map(([b, z]) => [b, z.length])).toEqual([["Manhattan", 3], ["Queens", 2]]);
    expect(groupZones(ZONES.zones, "harlem").flatMap(([, z]) => z.map((x) => x.id))).toEqual([74, 75]);
    expect(groupZones(ZONES.zones, "queens")[0][1].map((z) => z.name)).toEqual(["Astoria", "JFK Airport"]);
    expect(groupZones(ZONES.zones, "132")[0][1][0].name).toBe("JFK Airport");
  });
});

describe("predict page", () => {
  it("posts the trip and shows minutes and model version", async () => {
    let sent: unknown;
    mockFetch({
      "/v1/console/zones": { body: ZONES },
      "POST /v1/predictions": (init) => {
        sent = JSON.parse(String(init?.body));
        return { body: { minutes: 7.92, model_name: "trip-duration", model_version: "3" } };
      },
    });
    renderWithQuery(<PredictPage />);
    const dropoff = await screen.findByRole("group", { name: "Dropoff zone" });
    await within(dropoff).findByRole("option", { name: "JFK Airport (132)" }); // the zones have arrived
    fireEvent.change(within(dropoff).getByRole("searchbox"), { target: { value: "JFK" } });
    fireEvent.click(screen.getByRole("button", { name: "Predict duration" }));
    expect(await screen.findByText("7.9")).toBeInTheDocument();
    expect(screen.getByText("v3")).toBeInTheDocument();
    expect(sent).toEqual({ pickup_datetime: "2021-02-14T08:30:00", pickup_zone: 74, dropoff_zone: 132, trip_distance: 2.1 });
  });

  it("shows the 422's field problems instead of a number", async () => {
    mockFetch({
      "/v1/console/zones": { body: ZONES },
      "POST /v1/predictions": { status: 422, body: { detail: "invalid trip", errors: [{ field: "trip_distance", problem: "must be greater than 0" }] } },
    });
    renderWithQuery(<PredictPage />);
    fireEvent.click(await screen.findByRole("button", { name: "Predict duration" }));
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("trip_distance: must be greater than 0");
  });

  it("says the API is down rather than showing a blank page", { timeout: 10000 }, async () => {
    vi.stubGlobal("fetch", vi.fn(async () => { throw new TypeError("Failed to fetch"); }));
    renderWithQuery(<PredictPage />);
    // The hooks retry a silent API twice (1 s, 2 s) before saying so.
    expect(await screen.findByRole("alert", {}, { timeout: 6000 })).toHaveTextContent("The API is not answering");
  });
});

describe("models page", () => {
  const base = {
    "/v1/models/current": { body: { model_name: "trip-duration", model_version: "2", aliases: ["champion"], metrics: { val_rmse: 5.1 }, loaded_at: "2026-01-01T00:00:00", predictor: "native" } },
    "/v1/console/models": { body: { model: "trip-duration", versions: [{ version: "2", aliases: ["champion"], metrics: { val_rmse: 5.1 }, created_at: null }, { version: "1", aliases: [], metrics: { val_rmse: 5.4 }, created_at: null }] } },
    "/v1/models/history?limit=200": { body: { model: "trip-duration", entries: [] } },
    "/v1/models/approvals": { body: { requests: [{ request_id: "r1", model: "trip-duration", version: "1", state: "pending", requested_by: "op", reason: "rollback", created_at: "2026-01-01T00:00:00", decided_by: null, decision_note: null, gate: null }] } },
  };

  it("shows approve buttons to an approver only", async () => {
    mockFetch({ ...base, "/v1/console/whoami": { body: { name: "ann", role: "approver", permissions: ["approve", "read_model"], roles_with: {} } } });
    renderWithQuery(<ModelsPage />);
    expect(await screen.findByRole("button", { name: "Approve" })).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Request" })).toBeNull();
  });

  it("hides every action from a viewer", async () => {
    mockFetch({ ...base, "/v1/console/whoami": { body: { name: "vic", role: "viewer", permissions: ["read_model"], roles_with: {} } } });
    renderWithQuery(<ModelsPage />);
    expect(await screen.findByText("Key vic, role viewer: may read_model.")).toBeInTheDocument();
    await screen.findByText("pending");
    expect(screen.queryByRole("button", { name: "Approve" })).toBeNull();
    expect(screen.queryByRole("button", { name: "Roll back champion" })).toBeNull();
  });

  it("lets an approver roll the champion back and says where it went", async () => {
    let sent: unknown;
    mockFetch({
      ...base,
      "/v1/console/whoami": { body: { name: "ann", role: "approver", permissions: ["approve", "read_model"], roles_with: {} } },
      "POST /v1/models/rollback": (init) => {
        sent = JSON.parse(String(init?.body));
        return { body: { id: 7, at: "2026-01-03T00:00:00", actor: "ann", model: "trip-duration", alias: "champion", from_version: "2", to_version: "1", reason: "rollback: live error up", gate_metrics: {}, approver: "", experiment_id: "" } };
      },
    });
    renderWithQuery(<ModelsPage />);
    const button = await screen.findByRole("button", { name: "Roll back champion" });
    expect(button).toBeDisabled(); // a rollback needs a reason
    fireEvent.change(screen.getByLabelText("Reason for a rollback"), { target: { value: "live error up" } });
    fireEvent.click(button);
    expect(await screen.findByText(/Champion of trip-duration: v2 → v1 \(ledger #7\)/)).toBeInTheDocument();
    expect(sent).toEqual({ reason: "live error up" });
  });

  it("shows the API's refusal of a rollback in the banner", async () => {
    mockFetch({
      ...base,
      "/v1/console/whoami": { body: { name: "ann", role: "approver", permissions: ["approve", "read_model"], roles_with: {} } },
      "POST /v1/models/rollback": { status: 409, body: { detail: "the ledger holds no champion of trip-duration: nothing to roll back to; nothing changed", errors: [] } },
    });
    renderWithQuery(<ModelsPage />);
    fireEvent.change(await screen.findByLabelText("Reason for a rollback"), { target: { value: "x" } });
    fireEvent.click(screen.getByRole("button", { name: "Roll back champion" }));
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("Refused");
    expect(alert).toHaveTextContent("nothing to roll back to");
  });

  it("draws the ledger newest first", () => {
    renderWithQuery(
      <LedgerTimeline entries={[
        { id: 1, at: "2026-01-01T00:00:00", actor: "a", model: "m", alias: "champion", from_version: null, to_version: "1", reason: "first", gate_metrics: {}, approver: null, experiment_id: null },
        { id: 2, at: "2026-01-02T00:00:00", actor: "b", model: "m", alias: "champion", from_version: "1", to_version: "2", reason: "better", gate_metrics: {}, approver: "ann", experiment_id: null },
      ]} />,
    );
    const items = screen.getAllByRole("listitem");
    expect(items[0]).toHaveTextContent("champion: v1 → v2");
    expect(items[1]).toHaveTextContent("champion: none → v1");
  });
});

describe("monitoring page", () => {
  it("keeps one drift point per poll, each feature's score", () => {
    const t = new Date("2026-01-01T10:00:00");
    const once = appendDrift([], MONITORING as Monitoring, t);
    const twice = appendDrift(once, MONITORING as Monitoring, t, 1);
    expect(once[0].pickup_hour).toBe(0.31);
    expect(twice).toHaveLength(1);
    expect(appendDrift(once, { ...MONITORING, drift: { ...MONITORING.drift, features: [] } } as Monitoring, t)).toBe(once);
  });

  it("shows latency and each feature's latest score", async () => {
    mockFetch({ "/v1/console/monitoring": { body: MONITORING } });
    renderWithQuery(<MonitoringPage />);
    expect(await screen.findByText("4.80")).toHaveAttribute("data-stat", "p95");
    await waitFor(() => expect(document.querySelector('[data-drift-score="pickup_hour"]')).toHaveTextContent("0.3100"));
    expect(screen.getByText("drifted")).toBeInTheDocument();
  });

  it("shows the served predictions' distribution beside the training reference, bin by bin", async () => {
    mockFetch({ "/v1/console/monitoring": { body: MONITORING } });
    renderWithQuery(<MonitoringPage />);
    expect(await screen.findByRole("figure", { name: "Predicted minutes: served vs training reference" })).toHaveTextContent("the last 1,000 served");
    const rows = within(screen.getByRole("table", { name: "Share of predictions per bin" })).getAllByRole("row").slice(1);
    expect(rows.map((r) => r.textContent)).toEqual(["0.0–1050.0 %20.0 %", "10–2040.0 %50.0 %", "20–3010.0 %30.0 %"]);
    expect(distributionBins(MONITORING.prediction_distribution)[2]).toEqual({ bin: "20–30", reference: 10, current: 30 });
  });

  it("says when there is no distribution to compare yet", async () => {
    mockFetch({ "/v1/console/monitoring": { body: { ...MONITORING, prediction_distribution: null } } });
    renderWithQuery(<MonitoringPage />);
    expect(await screen.findByText("No predictions to compare yet")).toBeInTheDocument();
  });
});

describe("experiments page", () => {
  it("shows an empty state when the server has no experiments API", async () => {
    mockFetch({});
    renderWithQuery(<ExperimentsPage />);
    expect(await screen.findByRole("status")).toHaveTextContent("/v1/experiments answered 404");
  });

  it("shows the verdict, effect interval and SRM", async () => {
    const analysis = { experiment_id: "e1", verdict: "ship", effect: -0.42, ci_low: -0.6, ci_high: -0.2, srm_p: 0.5, n_per_arm: { control: 500, treatment: 498 }, rule: "CI excludes 0" };
    mockFetch({ "/v1/experiments": { body: { experiments: [{ experiment_id: "e1", state: "decided", analysis }] } } });
    renderWithQuery(<ExperimentsPage />);
    expect(await screen.findByText("ship")).toBeInTheDocument();
    expect(screen.getByText("CI [-0.600, -0.200]")).toBeInTheDocument();
    expect(screen.getByText("split as planned")).toBeInTheDocument();
  });
});
