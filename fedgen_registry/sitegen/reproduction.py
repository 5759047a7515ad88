"""A paper page's headline claim: the statement, the verdict of ``fedgen reproduce``, the numbers behind it
(mean +- std over the seeds, per run), each comparison with its two sides, and the command that reruns it.

Everything shown comes from the stored result in ``catalog/reproductions/``, which only a real run writes.
"""

from __future__ import annotations

from fedgen_registry.catalog.schema import Paper
from fedgen_registry.catalog.vocab import Verdict
from fedgen_registry.sitegen.markup import code_span, fence, md, table
from fedgen_registry.sitegen.taxonomy import chip


def _value(number: float | None) -> str:
    return "n/a" if number is None else f"{number:.4g}"


def claim_section(paper: Paper, page: str) -> str:
    verdict = paper.reproduction
    if verdict is None:
        return ""
    command = fence(f"fedgen reproduce {paper.id}", "bash")
    result = paper.reproduction_result
    if result is None:
        return (
            f"### Headline claim\n\nVerdict: {chip(Verdict, verdict.value, page)} (nothing recorded yet)\n\n{command}"
        )
    parts = [f"### Headline claim\n\n> {md(result.statement)}\n", f"Verdict: {chip(Verdict, verdict.value, page)}"]
    if result.verdict is Verdict.NOT_CHECKABLE:
        parts[-1] += f" {md(result.not_checkable or '')}\n"
        return "\n".join(parts)
    parts[-1] += f" over seeds {', '.join(map(str, result.seeds))}, recorded {result.recorded.get('date', '?')}.\n"
    metrics = list(dict.fromkeys(m for run in result.runs.values() for m in run.metrics))
    rows = [
        [md(label), code_span(f"{run.run.implementation} @ {run.run.preset}")]
        + [md(run.metrics[m].text()) if m in run.metrics else "" for m in metrics]
        for label, run in result.runs.items()
    ]
    parts.append(table(["run", "implementation @ preset", *map(md, metrics)], rows))
    checks = [
        [
            {True: "holds", False: "fails", None: "undecided"}[c.holds],
            code_span(c.text),
            _value(c.left),
            _value(c.right),
        ]
        for c in result.checks
    ]
    parts.append(table(["check", "comparison", "left", "right"], checks))
    if result.note:
        parts.append(f"What the comparison simplifies: {md(result.note)}\n")
    parts.append("Rerun it and compare with these stored numbers (tolerance per metric in the claim):\n\n" + command)
    return "\n".join(parts)
