import { useId, useMemo, useState } from "react";
import type { Zone } from "../api";

/** Zones grouped by borough, narrowed by what the user types (name, borough or id). */
export function groupZones(zones: Zone[], filter: string): [string, Zone[]][] {
  const needle = filter.trim().toLowerCase();
  const groups = new Map<string, Zone[]>();
  for (const zone of zones) {
    const hit = !needle || zone.name.toLowerCase().includes(needle) || zone.borough.toLowerCase().includes(needle) || String(zone.id) === needle;
    if (!hit) continue;
    const list = groups.get(zone.borough) ?? [];
    list.push(zone);
    groups.set(zone.borough, list);
  }
  return [...groups.entries()].sort(([a], [b]) => a.localeCompare(b));
}

export function ZonePicker({ label, zones, value, onChange }: { label: string; zones: Zone[]; value: number | ""; onChange: (id: number) => void }) {
  const [filter, setFilter] = useState("");
  const id = useId();
  const groups = useMemo(() => groupZones(zones, filter), [zones, filter]);
  const count = groups.reduce((n, [, list]) => n + list.length, 0);
  return (
    <fieldset className="flex min-w-0 flex-col gap-1">
      <legend className="text-sm font-semibold text-ink">{label}</legend>
      <label htmlFor={`${id}-search`} className="sr-only">{`Search ${label.toLowerCase()}`}</label>
      <input
        id={`${id}-search`}
        type="search"
        placeholder="Search zone or borough"
        value={filter}
        onChange={(e) => {
          setFilter(e.target.value);
          const first = groupZones(zones, e.target.value)[0]?.[1][0];
          if (first) onChange(first.id);
        }}
        className="rounded-sm border border-line bg-surface px-2 py-2"
      />
      <label htmlFor={`${id}-zone`} className="sr-only">{label}</label>
      <select
        id={`${id}-zone`}
        value={zones.length ? value : ""}
        disabled={zones.length === 0}
        onChange={(e) => onChange(Number(e.target.value))}
        className="rounded-sm border border-line bg-surface px-2 py-2"
      >
        {zones.length === 0 && <option value="">Loading zones…</option>}
        {zones.length > 0 && value === "" && <option value="">Choose a zone</option>}
        {groups.map(([borough, list]) => (
          <optgroup key={borough} label={borough}>
            {list.map((zone) => (
              <option key={zone.id} value={zone.id}>
                {zone.name} ({zone.id})
              </option>
            ))}
          </optgroup>
        ))}
      </select>
      <span className="text-xs text-muted">{count} zones</span>
    </fieldset>
  );
}
