/** Hash routing (`/ui/#/models`): the server serves one index.html and needs no fallback route. */
import { useSyncExternalStore } from "react";

function subscribe(notify: () => void): () => void {
  window.addEventListener("hashchange", notify);
  return () => window.removeEventListener("hashchange", notify);
}

/** The current route: the fragment without `#`, `/predict` by default. */
export function currentRoute(): string {
  const path = window.location.hash.replace(/^#/, "");
  return path && path !== "/" ? path : "/predict";
}

export function useRoute(): string {
  return useSyncExternalStore(subscribe, currentRoute, () => "/predict");
}
