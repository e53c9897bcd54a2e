"""Every team's numbers for a period as one JSON document (`python -m bot report`), for a province's
records and for a national roll-up that collects each province's document.

Only counts and place names leave the database: no member names, no household names, no notes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlite_utils

from knowledge.services import Catalogue

from . import reports
from .storage import latest_version

FORMAT = "tcns-report/1"


def team_numbers(db: sqlite_utils.Database, team_id: int, commune: str, period: reports.Period,
                 catalogue: Catalogue, today: dt.date) -> dict[str, Any]:
    report = reports.team_report(db, team_id, period, catalogue, today)
    labels = {s.label: s.code for s in catalogue.services}
    skills = {name: code for code, name in catalogue.skills.items()}
    return {
        "team_id": team_id, "team": report.team_name, "commune": commune,
        "records": report.records, "households": report.households,
        "members_active": len(report.by_member),
        "by_outcome": report.by_outcome,
        "by_service": {labels.get(label, label): n for label, n in report.by_service},
        "by_skill": {skills.get(name, name): {"times": n, "households": hh} for name, n, hh in report.by_skill if n},
        "by_village": [{"village": name, "records": n, "households": hh, "size": size}
                       for name, n, hh, size in report.by_village],
        "followups_open": report.followups_open,
    }


def province_report(db: sqlite_utils.Database, period: reports.Period, catalogue: Catalogue,
                    today: dt.date, generated_at: dt.datetime) -> dict[str, Any]:
    teams = [team_numbers(db, team_id, commune, period, catalogue, today)
             for team_id, commune in db.execute("SELECT id, commune FROM teams ORDER BY id").fetchall()]
    totals: dict[str, Any] = {"teams": len(teams), "records": sum(t["records"] for t in teams),
                              "households": sum(t["households"] for t in teams), "by_service": {}, "by_outcome": {}}
    for team in teams:
        for key in ("by_service", "by_outcome"):
            for code, n in team[key].items():
                totals[key][code] = totals[key].get(code, 0) + n
    return {"format": FORMAT, "schema_version": latest_version(),
            "generated_at": generated_at.isoformat(timespec="seconds"),
            "period": {"start": period.start.isoformat(), "end": period.end.isoformat(), "label": period.label},
            "totals": totals, "teams": teams}
