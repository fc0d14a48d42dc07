"""Rendering a model card as Markdown and as one self-contained HTML page with inline SVG plots.

Both documents come from one outline (sections of paragraphs, tables and plots), so they always say the
same thing. Plots reuse the drift report's SVG bar chart: no plotting library, nothing to fetch.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import numpy as np

from tripcast.core.domain.model_card import ComparedVersion, ModelCard, SliceMetrics
from tripcast.core.ports.model_card import CardRenderer
from tripcast.mlops.drift_detection.html_report import svg_bars

#: Said in a section that has nothing recorded yet.
NONE_RECORDED = "None recorded."


@dataclass(frozen=True, slots=True)
class TableBlock:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True, slots=True)
class PlotBlock:
    """Bars of this version (and the previous champion, when there is one) per slice of a dimension."""

    title: str
    labels: tuple[str, ...]
    this_version: tuple[float, ...]
    previous: tuple[float, ...]
    legend: tuple[str, str]


@dataclass(frozen=True, slots=True)
class ListBlock:
    items: tuple[str, ...]


Block = str | TableBlock | PlotBlock | ListBlock


@dataclass(slots=True)
class Section:
    title: str
    blocks: list[Block] = field(default_factory=list)


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def outline(card: ModelCard) -> list[Section]:
    """The card's sections, in reading order."""
    return [
        _summary(card),
        Section("Intended use", [card.intended_use]),
        _training(card),
        _features(card),
        _metrics(card),
        _comparison(card),
        Section("Known limitations", [ListBlock(card.limitations) if card.limitations else NONE_RECORDED]),
        _lineage(card),
        _approvals(card),
    ]


def _summary(card: ModelCard) -> Section:
    version = card.version
    created = f"{version.created_at:%Y-%m-%d %H:%M} UTC" if version.created_at else "-"
    facts = (
        f"Model **{version.name}**, version **{version.version}** (aliases: {', '.join(version.aliases) or 'none'}); "
        f"registered {created}; problem `{card.spec.name}`; card written {card.written_at:%Y-%m-%d %H:%M} UTC."
    )
    return Section(f"Model card: {card.title}", [facts])


def _training(card: ModelCard) -> Section:
    record = card.training
    datasets = TableBlock(
        ("role", "dataset", "rows", "digest"),
        tuple(
            (d.context or "-", d.name, f"{d.rows:,}" if d.rows is not None else "-", d.digest) for d in record.datasets
        ),
    )
    params = TableBlock(("param", "value"), tuple((k, v) for k, v in sorted(record.params.items())))
    run = (
        f"Run `{record.run_id or '-'}` ({record.run_name or 'unnamed'}) in experiment `{record.experiment_id or '-'}`."
    )
    blocks: list[Block] = [run]
    blocks.append(datasets if record.datasets else "Datasets: " + NONE_RECORDED)
    blocks.append(params if record.params else "Params: " + NONE_RECORDED)
    return Section("Training data", blocks)


def _features(card: ModelCard) -> Section:
    spec = card.spec
    table = TableBlock(
        ("feature", "kind", "description"), tuple((f.name, f.kind.value, f.description) for f in spec.features)
    )
    target = f"Target: `{spec.target}`" + (f" ({spec.target_unit})" if spec.target_unit else "") + "."
    return Section("Features", [table, target])


def _metrics(card: ModelCard) -> Section:
    spec = card.spec
    overall = TableBlock(
        ("dataset", "rows", *spec.metrics),
        ((card.overall.dataset, f"{card.overall.n:,}", *(_num(card.overall.metrics.get(m)) for m in spec.metrics)),),
    )
    text = f"Evaluated on the validation month {card.evaluation_month} (the data the promotion gate used)."
    blocks: list[Block] = [text, overall]
    previous = {(s.dimension, s.label): s for s in card.previous_champion.slices} if card.previous_champion else {}
    for dimension in card.dimensions:
        rows = card.slices_of(dimension.name)
        if rows:
            blocks.append(f"By {dimension.name}:")
            blocks.append(_slice_table(card, rows, previous))
            blocks.append(_slice_plot(card, rows, previous))
    return Section("Metrics", blocks)


def _slice_table(
    card: ModelCard, rows: list[SliceMetrics], previous: dict[tuple[str, str], SliceMetrics]
) -> TableBlock:
    metric = card.spec.primary_metric
    extra = (f"previous champion {metric}",) if previous else ()
    body = []
    for s in rows:
        before = previous.get((s.dimension, s.label))
        tail = (_num(before.metrics.get(metric) if before else None),) if previous else ()
        body.append((s.label, f"{s.n:,}", *(_num(s.metrics.get(m)) for m in card.spec.metrics), *tail))
    return TableBlock((rows[0].dimension, "rows", *card.spec.metrics, *extra), tuple(body))


def _slice_plot(card: ModelCard, rows: list[SliceMetrics], previous: dict[tuple[str, str], SliceMetrics]) -> PlotBlock:
    metric = card.spec.primary_metric
    before = [previous.get((s.dimension, s.label)) for s in rows]
    other = card.previous_champion
    return PlotBlock(
        title=f"{metric} by {rows[0].dimension}",
        labels=tuple(s.label for s in rows),
        this_version=tuple(s.metrics.get(metric, 0.0) for s in rows),
        previous=tuple(b.metrics.get(metric, 0.0) if b else 0.0 for b in before),
        legend=(f"previous champion v{other.version}" if other else "no previous champion", f"v{card.version.version}"),
    )


def _comparison(card: ModelCard) -> Section:
    other: ComparedVersion | None = card.previous_champion
    if other is None:
        return Section("Comparison with the previous champion", ["No previous champion: nothing to compare with."])
    spec = card.spec
    table = TableBlock(
        ("version", "rows", *spec.metrics),
        tuple(
            (label, f"{ev.n:,}", *(_num(ev.metrics.get(m)) for m in spec.metrics))
            for label, ev in (
                (f"v{card.version.version} (this card)", card.overall),
                (f"v{other.version}", other.overall),
            )
        ),
    )
    mine, theirs = card.overall.metric(spec.primary_metric), other.overall.metric(spec.primary_metric)
    verdict = "better" if spec.is_better(mine, theirs) else "not better"
    text = f"Compared with v{other.version} ({other.why}) on the same rows: {verdict} on {spec.primary_metric}."
    return Section("Comparison with the previous champion", [text, table])


def _lineage(card: ModelCard) -> Section:
    datasets = ", ".join(f"{d.name} ({d.digest})" for d in card.training.datasets) or "datasets not recorded"
    chain = f"{datasets} -> run `{card.training.run_id or '-'}` -> {card.title}"
    moves = TableBlock(
        ("when (UTC)", "alias", "from", "to", "action", "by", "reason"),
        tuple(
            (f"{c.at:%Y-%m-%d %H:%M:%S}", c.alias, c.previous or "-", c.version, c.action, c.actor, c.reason)
            for c in card.alias_history
        ),
    )
    return Section("Lineage", [chain, "Aliases over time:", moves if card.alias_history else NONE_RECORDED])


def _approvals(card: ModelCard) -> Section:
    if not card.approvals:
        return Section("Approvals", [NONE_RECORDED])
    table = TableBlock(
        ("when (UTC)", "step", "by", "details"),
        tuple(
            (
                f"{a.at:%Y-%m-%d %H:%M:%S}",
                a.action,
                a.actor,
                "; ".join(f"{k}={v}" for k, v in sorted(a.details.items())),
            )
            for a in card.approvals
        ),
    )
    return Section("Approvals", [table])


class MarkdownHtmlCardRenderer(CardRenderer):
    """Markdown for reading in the registry or a repository, HTML (with plots) for a browser."""

    def markdown(self, card: ModelCard) -> str:
        lines: list[str] = []
        for index, section in enumerate(outline(card)):
            lines += [f"{'#' if index == 0 else '##'} {section.title}", ""]
            for block in section.blocks:
                lines += [*_markdown_block(block), ""]
        return "\n".join(lines)

    def html(self, card: ModelCard) -> str:
        body = []
        for index, section in enumerate(outline(card)):
            tag = "h1" if index == 0 else "h2"
            body.append(f"<{tag}>{html.escape(section.title)}</{tag}>")
            body += [_html_block(block) for block in section.blocks]
        return (
            f"<!doctype html>\n<html lang='en'><head><meta charset='utf-8'><title>Model card: {html.escape(card.title)}"
            "</title><style>body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; max-width: 70rem; }"
            " table { border-collapse: collapse; margin: .5rem 0; }"
            " td, th { border: 1px solid #ccc; padding: 3px 8px; }"
            " th { background: #f3f3f3; }</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
        )


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _markdown_block(block: Block) -> list[str]:
    if isinstance(block, str):
        return [block]
    if isinstance(block, TableBlock):
        header = "| " + " | ".join(map(_cell, block.headers)) + " |"
        rule = "| " + " | ".join("---" for _ in block.headers) + " |"
        return [header, rule, *("| " + " | ".join(map(_cell, row)) + " |" for row in block.rows)]
    if isinstance(block, ListBlock):
        return [f"- {item}" for item in block.items]
    return [f"_Plot in the HTML card: {block.title}._"]


def _inline_markdown(text: str) -> str:
    """Escape, then render the two inline marks the outline uses (``**bold**`` and `` `code` ``)."""
    parts = html.escape(text).split("**")
    text = "".join(f"<b>{p}</b>" if i % 2 else p for i, p in enumerate(parts))
    parts = text.split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


def _html_block(block: Block) -> str:
    if isinstance(block, str):
        return f"<p>{_inline_markdown(block)}</p>"
    if isinstance(block, TableBlock):
        head = "".join(f"<th>{html.escape(h)}</th>" for h in block.headers)
        rows = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in block.rows)
        return f"<table><tr>{head}</tr>{rows}</table>"
    if isinstance(block, ListBlock):
        return "<ul>" + "".join(f"<li>{_inline_markdown(item)}</li>" for item in block.items) + "</ul>"
    svg = svg_bars(
        block.title,
        list(block.labels),
        np.asarray(block.previous, dtype=np.float64),
        np.asarray(block.this_version, dtype=np.float64),
        legend=block.legend,
        value_format=".4g",
    )
    return f"<figure>{svg}</figure>"
