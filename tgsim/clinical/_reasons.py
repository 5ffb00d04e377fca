"""Why each assessment got its response: the ``reason`` column of the assessment table.

The codes come from :mod:`tgsim.clinical.rules`; this module only puts into words which
rule fired (``"new lesion"``, ``"sum +23.0 % over nadir and +6.0 mm"``, ``"node N1 11 mm
after CR"``, ...). Percentages and millimetres are given to 0.1.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import rules
from ._common import at_least

if TYPE_CHECKING:  # pragma: no cover
    from .recist import _Components, _Judged, _Subject


def _pd_causes(s: _Subject, c: _Components, j: _Judged, k: int, i: int) -> list[str]:
    """The RECIST 1.1 progression criteria met at assessment ``i``."""
    out: list[str] = []
    d = s.target_d[i]
    total = float(np.nansum(d)) if d.size else 0.0
    nadir = float(c.nadir_mm[i])
    if s.target_ids and bool(rules._is_pd(np.array([total]), np.array([nadir]))[0]):
        if np.isnan(d).any():
            out.append("measured targets:")
        if nadir > 0:
            pct = 100.0 * (total / nadir - 1.0)
            out.append(f"sum {pct:+.1f} % over nadir and {total - nadir:+.1f} mm")
        else:
            out.append(f"sum {total - nadir:+.1f} mm over a nadir of 0 mm")
    elif j.tp.target[k, i] == rules.PD:  # reappearance after a target CR
        for lid, node, x in zip(s.target_ids, s.target_node, d, strict=True):
            if np.isnan(x):
                continue
            if node and x >= rules.NODE_NORMAL_MM:
                out.append(f"node {lid} {x:g} mm after CR")
            elif not node and x > 0:
                out.append(f"target {lid} {x:g} mm after CR")
    if j.comp["nt_state"][k, i] == rules.NT_PROGRESSION:
        out.append("non-target progression")
    elif j.tp.non_target[k, i] == rules.PD:
        out.append("non-target lesion back after CR")
    count = int(s.new_count[i])
    if count:
        out.append("new lesion" if count == 1 else f"{count} new lesions")
    return out


def _recist_reason(s: _Subject, c: _Components, j: _Judged, k: int, i: int) -> str:
    code = int(j.tp.overall[k, i])
    t, nt = int(j.tp.target[k, i]), int(j.tp.non_target[k, i])
    if code == rules.PD:
        return "; ".join(_pd_causes(s, c, j, k, i)).replace(":; ", ": ")
    if code == rules.NE:
        if t == rules.NE:
            missing = [x for x, v in zip(s.target_ids, s.target_d[i], strict=True) if np.isnan(v)]
            return "target " + ", ".join(missing) + " not assessed"
        return "non-target lesion not assessed"
    if code == rules.CR:
        return "all target lesions gone" if nt != rules.CR else "all lesions gone"
    if code == rules.NN:
        return "non-target lesions present"
    if t == rules.CR:
        return "targets gone, non-target lesions " + (
            "not assessed" if nt == rules.NE else "present"
        )
    text = f"sum {c.pct_base[i]:+.1f} % from baseline"
    if code == rules.SD:
        text += f", {c.pct_nadir[i]:+.1f} % over nadir"
    return text


def _confirm_causes(s: _Subject, c: _Components, j: _Judged, k: int, i: int, ref: int) -> str:
    """The further increase that confirmed progression at ``i`` (iUPD at ``ref``)."""
    out: list[str] = []
    comp = j.comp
    if j.tp.target[k, ref] == rules.PD:
        diff = comp["target_sum"][k, i] - comp["target_sum"][k, ref]
        if comp["target_complete"][k, ref] and comp["target_complete"][k, i] and at_least(
            diff, rules.PD_ABSOLUTE_MM
        ):
            out.append(f"sum {diff:+.1f} mm over iUPD")
    elif j.tp.target[k, i] == rules.PD:
        out.append("target progression: " + "; ".join(_pd_causes(s, c, j, k, i)[:1]))
    if j.tp.non_target[k, i] == rules.PD:
        out.append("non-target progression")
    cnt, ref_cnt = int(comp["new_count"][k, i]), int(comp["new_count"][k, ref])
    if ref_cnt:
        grow = comp["new_sum"][k, i] - comp["new_sum"][k, ref]
        if at_least(grow, rules.PD_ABSOLUTE_MM):
            out.append(f"new-lesion sum {grow:+.1f} mm over iUPD")
        if cnt > ref_cnt:
            out.append(f"{cnt} new lesions (iUPD: {ref_cnt})")
    elif cnt:
        out.append("new lesion")
    return "confirmed: " + "; ".join(out)


def reasons(s: _Subject, c: _Components, j: _Judged, k: int, *, irecist: bool) -> list[str]:
    """One reason per assessment of subject ``s`` (row ``k``); "" at baseline."""
    n = s.days.size
    out = [""]
    if not irecist:
        return out + [_recist_reason(s, c, j, k, i) for i in range(1, n)]
    assert j.icodes is not None
    codes = j.icodes[k, :n]
    ref = -1
    for i in range(1, n):
        code = int(codes[i])
        if code == rules.UPD and codes[i - 1] != rules.UPD:
            ref = i
            causes = "; ".join(_pd_causes(s, c, j, k, i)).replace(":; ", ": ")
            out.append("unconfirmed: " + causes)
        elif code == rules.UPD:
            note = "awaiting confirmation"
            if j.tp.target[k, ref] == rules.PD and not j.comp["target_complete"][k, ref]:
                note += " (target sum incomplete at iUPD: no 5 mm rule)"
            out.append(note)
        elif code == rules.CPD and codes[i - 1] != rules.CPD:
            out.append(_confirm_causes(s, c, j, k, i, ref))
        elif code == rules.CPD:
            out.append("after iCPD")
        else:
            out.append(_recist_reason(s, c, j, k, i))
    return out
