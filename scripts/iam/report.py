"""The output of scripts/iam-check: a plain summary for the terminal and a markdown report
for docs (calls by function, denied calls, unused grants with their justification, and the
observed `dynamodb:LeadingKeys` shapes, which say where a LeadingKeys condition could
narrow a grant)."""

from iam.grants import Names


def _row(cells):
    return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"


def _calls(report):
    return sorted(report.calls.items(), key=lambda kv: (kv[0][2], kv[0][0], kv[0][1]))


def text(model, reports, problems):
    """The terminal summary."""
    names = Names(model)
    lines = []
    for lid, r in reports.items():
        lines.append(f"{lid} (role {r.role})")
        for (action, resource, origin, allowed), e in _calls(r):
            keys = f"  keys {sorted(e['keys'])}" if e["keys"] else ""
            by = "  [Lambda service]" if origin != "function" else ""
            lines.append(f"  {'ok    ' if allowed else 'DENIED'} {action} {resource} x{e['count']}{keys}{by}")
        for call, reason in r.denied:
            lines.append(f"  denied: {call.action} {names.short(call.resource)}: {reason}")
        for g in r.grants:
            if g.uses == 0:
                state = f"justified: {g.justified}" if g.justified else "UNJUSTIFIED"
                lines.append(f"  unused grant: {g.action} on {names.short(g.resource)} "
                             f"({g.source}) - {state}")
        for note in sorted(r.notes):
            lines.append(f"  note: {note}")
    lines.append("")
    lines += [f"problem: {p}" for p in problems] or ["no problems"]
    return "\n".join(lines) + "\n"


def markdown(model, reports, problems, calls_path):
    """The report for docs."""
    names = Names(model)
    out = ["# IAM check", "",
           f"Model of stack `{model['stack_name']}`; calls from `{calls_path}`, plus the calls the "
           "Lambda service makes with each role. Resources are written with the stack's ARNs as "
           "`${LogicalId.Arn}`.", ""]
    out += ["**Result: no problems.**"] if not problems else \
        ["**Problems:**", ""] + [f"- {p}" for p in problems]
    for lid, r in reports.items():
        out += ["", f"## {lid}", "", f"Role `{r.role}`.", "",
                "| decision | action | resource | calls | LeadingKeys seen | by |",
                "| --- | --- | --- | --- | --- | --- |"]
        for (action, resource, origin, allowed), e in _calls(r):
            keys = ", ".join(f"`{k}`" for k in sorted(e["keys"])) or "-"
            out.append(_row(["allowed" if allowed else "**denied**", f"`{action}`", f"`{resource}`",
                             e["count"], keys, "Lambda service" if origin != "function" else "function"]))
        if r.denied:
            out += ["", "Denied calls:", ""]
            out += [f"- `{c.action}` on `{names.short(c.resource)}`: {reason}" for c, reason in r.denied]
        unused = [g for g in r.grants if g.uses == 0]
        out += ["", "Unused grants:" if unused else "Every grant was used.", ""]
        if unused:
            out += ["| action | resource | policy | justification |", "| --- | --- | --- | --- |"]
            out += [_row([f"`{g.action}`", f"`{names.short(g.resource)}`", g.source,
                          g.justified or "**none**"]) for g in unused]
        if r.notes:
            out += ["", "Allowed only through `ForAllValues` over a missing or empty key:", ""]
            out += [f"- {n}" for n in sorted(r.notes)]
    return "\n".join(out) + "\n"
