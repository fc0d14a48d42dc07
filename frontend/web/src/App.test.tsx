import { act, screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { App, PAGES } from "./App";
import { mockFetch, ZONES } from "./test/fixtures";
import { renderWithQuery } from "./test/render";

afterEach(() => {
  vi.unstubAllGlobals();
  window.location.hash = "";
});

describe("app shell", () => {
  it("links every page and shows the one the URL fragment names", async () => {
    mockFetch({ "/v1/console/zones": { body: ZONES } });
    renderWithQuery(<App />);
    const nav = screen.getByRole("navigation", { name: "Pages" });
    expect([...nav.querySelectorAll("a")].map((a) => a.getAttribute("href"))).toEqual(PAGES.map((p) => `#${p.path}`));
    expect(screen.getByRole("heading", { level: 1 })).toHaveTextContent("Predict");
    act(() => {
      window.location.hash = "#/design";
      window.dispatchEvent(new HashChangeEvent("hashchange"));
    });
    expect(await screen.findByRole("heading", { level: 1, name: "Design" })).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Design" })).toHaveAttribute("aria-current", "page");
  });

  it("falls back to Predict for an unknown route", () => {
    window.location.hash = "#/nowhere";
    mockFetch({ "/v1/console/zones": { body: ZONES } });
    renderWithQuery(<App />);
    expect(screen.getByRole("heading", { level: 1 })).toHaveTextContent("Predict");
  });
});
