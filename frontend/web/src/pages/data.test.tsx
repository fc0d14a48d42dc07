import { screen, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { DATA, mockFetch } from "../test/fixtures";
import { renderWithQuery } from "../test/render";
import { DataPage, quarantineShare, reasonBars } from "./Data";

afterEach(() => vi.unstubAllGlobals());

describe("data page", () => {
  it("lists each month newest first with its run, counts, quality and reasons", async () => {
    mockFetch({ "/v1/console/data": { body: DATA } });
    renderWithQuery(<DataPage />);
    const table = await screen.findByRole("table", { name: "Pipeline runs and quality by month" });
    const rows = within(table).getAllByRole("row").slice(1);
    expect(rows.map((r) => r.querySelector("[data-month]")?.textContent)).toEqual(["2021-02", "2021-01"]);
    expect(rows[0]).toHaveTextContent("validated only");
    expect(rows[0]).toHaveTextContent("no report");
    expect(rows[1]).toHaveTextContent("failed");
    expect(rows[1]).toHaveTextContent("transform: disk full");
    expect(rows[1]).toHaveTextContent("warn");
    expect(rows[1]).toHaveTextContent("10.00 %");
    expect(document.querySelector('[data-quarantined="2021-01"]')).toHaveTextContent("1,000");
  });

  it("totals the quarantine reasons for the chart, most frequent first", async () => {
    mockFetch({ "/v1/console/data": { body: DATA } });
    renderWithQuery(<DataPage />);
    const reasons = await screen.findByRole("table", { name: "Quarantined rows per reason" });
    expect(within(reasons).getAllByRole("row").slice(1).map((r) => r.textContent)).toEqual(["unknown_zone602", "fare_negative400"]);
    expect(screen.getByRole("figure", { name: "Quarantine reasons" })).toBeInTheDocument();
    expect(reasonBars(DATA.reasons)).toEqual([{ reason: "unknown_zone", rows: 602 }, { reason: "fare_negative", rows: 400 }]);
  });

  it("says nothing ran yet when the server has no month", async () => {
    mockFetch({ "/v1/console/data": { body: { service: "green", months: [], reasons: {} } } });
    renderWithQuery(<DataPage />);
    expect(await screen.findByRole("status")).toHaveTextContent("Nothing has run yet");
  });

  it("says the records are not served when the route is absent, and shows a 403 as a banner", async () => {
    mockFetch({});
    const first = renderWithQuery(<DataPage />);
    expect(await screen.findByRole("status")).toHaveTextContent("No pipeline records served");
    first.unmount();
    mockFetch({ "/v1/console/data": { status: 403, body: { detail: "role predictor may not", errors: [] } } });
    renderWithQuery(<DataPage />);
    expect(await screen.findByRole("alert")).toHaveTextContent("Your key's role may not do this");
  });

  it("computes the quarantined share, or a dash without counts", () => {
    expect(quarantineShare(DATA.months[0])).toBe("10.00 %");
    expect(quarantineShare({ ...DATA.months[0], rows_in: null })).toBe("–");
  });
});
