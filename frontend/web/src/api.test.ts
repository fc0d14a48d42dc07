import { afterEach, describe, expect, it, vi } from "vitest";
import { api, ApiError } from "./api";
import { useSession } from "./store";
import { mockFetch } from "./test/fixtures";

afterEach(() => {
  vi.unstubAllGlobals();
  useSession.getState().setApiKey("");
  sessionStorage.clear();
  localStorage.clear();
});

describe("api client", () => {
  it("sends the session key as a bearer token and keeps it out of localStorage", async () => {
    const fetch = mockFetch({ "/v1/models/current": { body: { model_version: "3" } } });
    useSession.getState().setApiKey(" tc_secret ");
    await expect(api("/v1/models/current")).resolves.toEqual({ model_version: "3" });
    const headers = fetch.mock.calls[0][1]?.headers as Record<string, string>;
    expect(headers.Authorization).toBe("Bearer tc_secret");
    expect(JSON.stringify(localStorage)).not.toContain("tc_secret");
    expect(sessionStorage.getItem("tripcast-session")).toContain("tc_secret");
  });

  it("turns a 422 into an ApiError naming each field", async () => {
    mockFetch({ "POST /v1/predictions": { status: 422, body: { detail: "1 invalid field", errors: [{ field: "pickup_zone", problem: "must be 1-265" }] } } });
    const err = (await api("/v1/predictions", { method: "POST", body: {} }).catch((e: unknown) => e)) as ApiError;
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(422);
    expect(err.title).toBe("Some fields are invalid");
    expect(err.errors).toEqual([{ field: "pickup_zone", problem: "must be 1-265" }]);
  });

  it("says when to retry a 503 and when the API does not answer at all", async () => {
    mockFetch({ "/v1/x": { status: 503, body: { detail: "overloaded" }, headers: { "Retry-After": "1" } } });
    const overloaded = (await api("/v1/x").catch((e: unknown) => e)) as ApiError;
    expect(overloaded.detail).toBe("overloaded (retry after 1 s)");
    expect(overloaded.title).toBe("The server cannot answer right now");
    vi.stubGlobal("fetch", vi.fn(async () => { throw new TypeError("Failed to fetch"); }));
    const down = (await api("/v1/x").catch((e: unknown) => e)) as ApiError;
    expect(down.status).toBe(0);
    expect(down.title).toBe("The API is not answering");
  });

  it("titles 401 and 403 for a person", () => {
    expect(new ApiError(401, "x").title).toBe("An API key is needed");
    expect(new ApiError(403, "x").title).toBe("Your key's role may not do this");
  });
});
