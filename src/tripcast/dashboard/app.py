"""Streamlit dashboard: predict a trip picked by zone names, and browse the registered model versions.

Run with ``tripcast dashboard`` (or ``streamlit run src/tripcast/dashboard/app.py``). Settings come from
``TRIPCAST_*`` variables like every other entry point; the model is the registry's champion.
"""

from __future__ import annotations

from datetime import date, datetime, time

import pandas as pd
import streamlit as st

from tripcast.bootstrap import Tripcast
from tripcast.bootstrap.serving import zone_names
from tripcast.core.domain.errors import TripcastError
from tripcast.core.domain.trip import TripRequest
from tripcast.core.services.prediction import Prediction


@st.cache_resource
def _context() -> Tripcast:
    from tripcast.bootstrap import bootstrap

    return bootstrap()


@st.cache_resource(max_entries=4)
def _prediction(version: str) -> Prediction:
    # Keyed by version number: promoting a new champion loads it, re-runs reuse the loaded one. Logged:
    # `tripcast feedback ingest` joins a trip's actual duration on the request id shown with the answer.
    return _context().serving.prediction(version, logged=True)


def _logged_as(prediction: Prediction, request_ids: tuple[str, ...]) -> str:
    """ ", request id X" once the prediction log holds the answer (written now, not at the next flush)."""
    if prediction.log is None or not request_ids:
        return ""
    try:
        prediction.log.flush()
    except Exception:  # noqa: BLE001 - the writer retries in the background; the id is not shown until then
        return ", not logged yet (prediction log unreachable)"
    return f", request id {request_ids[0]}"


@st.cache_data
def _zone_labels() -> dict[str, int]:
    return {f"{name} ({zone_id})": zone_id for zone_id, name in zone_names().items()}


def _versions_table(model_name: str) -> pd.DataFrame:
    rows = []
    for version in _context().registry.list_versions(model_name):
        rows.append(
            {
                "version": version.version,
                "aliases": ", ".join(version.aliases),
                "created": version.created_at.strftime("%Y-%m-%d %H:%M") if version.created_at else "",
                **{k: round(v, 4) for k, v in sorted(version.metrics.items()) if k.startswith(("val_", "test_"))},
            }
        )
    return pd.DataFrame(rows)


def main() -> None:
    st.set_page_config(page_title="Tripcast", page_icon="🚕", layout="wide")
    st.title("Tripcast: NYC taxi trip duration")
    ctx = _context()
    model_name = ctx.settings.model_name
    labels = _zone_labels()
    names = list(labels)

    st.header("Predict a trip")
    left, right = st.columns(2)
    pickup = left.selectbox("Pickup zone", names, index=names.index(next(n for n in names if n.endswith("(74)"))))
    dropoff = right.selectbox("Dropoff zone", names, index=names.index(next(n for n in names if n.endswith("(75)"))))
    day = left.date_input("Pickup date", value=date(2021, 2, 14))
    moment = right.time_input("Pickup time", value=time(8, 30))
    distance = left.number_input("Distance (miles)", min_value=0.0, max_value=100.0, value=1.6, step=0.1)
    if st.button("Predict", type="primary"):
        try:
            champion = ctx.registry.get(model_name, "champion")
            request = TripRequest.create(
                pickup_datetime=datetime.combine(day, moment),
                pickup_zone=labels[pickup],
                dropoff_zone=labels[dropoff],
                trip_distance=float(distance),
            )
            prediction = _prediction(champion.version)
            served = prediction.predict([request])
            label = f"{model_name} v{served.model.number}"
            st.metric("Predicted duration", f"{served.minutes[0]:.1f} min", help=label)
            st.caption(f"model {label}" + _logged_as(prediction, served.request_ids))
        except TripcastError as exc:
            st.error(str(exc))

    st.header("Registered models")
    try:
        table = _versions_table(model_name)
    except TripcastError as exc:
        st.info(str(exc))
    else:
        st.dataframe(table, hide_index=True, use_container_width=True)


main()
