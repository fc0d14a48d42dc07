import { useMutation } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { Button, Card, Stat } from "@ds/index";
import { api, type PredictionOut, type TripIn } from "../api";
import { ErrorOf } from "../components";
import { useZones } from "../hooks";
import { ZonePicker } from "./ZonePicker";

const DEFAULT_PICKUP = 74; // East Harlem North
const DEFAULT_DROPOFF = 75; // East Harlem South

export function PredictPage() {
  const zones = useZones();
  const zoneList = zones.data?.zones ?? [];
  const [pickup, setPickup] = useState<number | "">(DEFAULT_PICKUP);
  const [dropoff, setDropoff] = useState<number | "">(DEFAULT_DROPOFF);
  const [when, setWhen] = useState("2021-02-14T08:30");
  const [distance, setDistance] = useState("2.1");
  const [elapsed, setElapsed] = useState<number | null>(null);
  const predict = useMutation({
    mutationFn: async (trip: TripIn) => {
      const started = performance.now();
      const answer = await api<PredictionOut>("/v1/predictions", { method: "POST", body: trip });
      setElapsed(performance.now() - started);
      return answer;
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    predict.mutate({
      pickup_datetime: `${when}:00`,
      pickup_zone: Number(pickup),
      dropoff_zone: Number(dropoff),
      trip_distance: Number(distance),
    } as TripIn);
  };
  return (
    <div className="grid grid-cols-1 gap-4 lg:grid-cols-[2fr_1fr]">
      <Card title="Trip">
        {/* The form renders at once (no layout shift when the zones arrive); the pickers fill in. */}
        {zones.isError && <ErrorOf error={zones.error} />}
        <form onSubmit={submit} className="grid grid-cols-1 gap-4" aria-label="Trip to predict">
          <div className="grid grid-cols-1 gap-4 sm:grid-cols-2">
            <ZonePicker label="Pickup zone" zones={zoneList} value={pickup} onChange={setPickup} />
            <ZonePicker label="Dropoff zone" zones={zoneList} value={dropoff} onChange={setDropoff} />
          </div>
          <div className="grid grid-cols-1 gap-4 sm:grid-cols-2">
            <label className="flex flex-col gap-1 text-sm font-semibold">
              Pickup time (NYC)
              <input type="datetime-local" required value={when} onChange={(e) => setWhen(e.target.value)} className="rounded-sm border border-line px-2 py-2 font-normal" />
            </label>
            <label className="flex flex-col gap-1 text-sm font-semibold">
              Distance (miles)
              <input type="number" step="0.1" required value={distance} onChange={(e) => setDistance(e.target.value)} className="rounded-sm border border-line px-2 py-2 font-normal" />
            </label>
          </div>
          <div>
            <Button type="submit" disabled={predict.isPending}>
              {predict.isPending ? "Predicting…" : "Predict duration"}
            </Button>
          </div>
        </form>
      </Card>
      <Card title="Prediction">
        {predict.isError && <ErrorOf error={predict.error} />}
        {predict.data && !predict.isError && (
          <div className="flex flex-wrap gap-3" aria-live="polite">
            <Stat label="Predicted" value={predict.data.minutes.toFixed(1)} unit="min" />
            <Stat label="Model" value={`v${predict.data.model_version}`} hint={predict.data.model_name} />
            {elapsed !== null && <Stat label="Round trip" value={elapsed.toFixed(0)} unit="ms" />}
          </div>
        )}
        {!predict.data && !predict.isError && <p className="text-sm text-muted">Choose a trip and press Predict.</p>}
      </Card>
    </div>
  );
}
