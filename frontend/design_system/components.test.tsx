import { fireEvent, render, screen } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { Badge, Button, EmptyState, ErrorBanner, Stat, Table, themeCss, tokens } from "./index";

describe("design tokens", () => {
  it("generate one Tailwind theme variable per colour token", () => {
    const css = themeCss();
    for (const [name, value] of Object.entries(tokens.color)) expect(css).toContain(`--color-${name}: ${value};`);
    expect(css.startsWith("@theme {")).toBe(true);
  });
});

describe("components", () => {
  it("Button calls back and uses the variant's colours", () => {
    const onClick = vi.fn();
    render(<Button variant="danger" onClick={onClick}>Roll back</Button>);
    const button = screen.getByRole("button", { name: "Roll back" });
    fireEvent.click(button);
    expect(onClick).toHaveBeenCalledOnce();
    expect(button.className).toContain("bg-danger");
    expect(button.getAttribute("type")).toBe("button");
  });

  it("ErrorBanner names each broken field as an alert", () => {
    render(<ErrorBanner title="Some fields are invalid" errors={[{ field: "trip_distance", problem: "must be > 0" }]} />);
    const alert = screen.getByRole("alert");
    expect(alert).toHaveTextContent("Some fields are invalid");
    expect(alert).toHaveTextContent("trip_distance: must be > 0");
  });

  it("Table renders a row per item with numeric cells right-aligned", () => {
    render(
      <Table caption="t" rowKey={(r) => r.k} rows={[{ k: "a", n: 1 }, { k: "b", n: 22 }]}
        columns={[{ key: "k", header: "Key", render: (r) => r.k }, { key: "n", header: "N", numeric: true, render: (r) => r.n }]} />,
    );
    expect(screen.getAllByRole("row")).toHaveLength(3);
    expect(screen.getByText("22").className).toContain("text-right");
  });

  it("Stat, Badge and EmptyState show their words", () => {
    render(<><Stat label="p95" value="4.8" unit="ms" /><Badge tone="ok">champion</Badge><EmptyState title="Nothing yet">do this</EmptyState></>);
    expect(screen.getByText("4.8")).toHaveAttribute("data-stat", "p95");
    expect(screen.getByText("champion").className).toContain("text-ok");
    expect(screen.getByRole("status")).toHaveTextContent("Nothing yetdo this");
  });
});
