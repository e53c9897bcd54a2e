"""`python -m bot demo`: a realistic, deterministic demo database so a newcomer sees reports at once.

One province, 3 communes, 8 teams, 40 members (a leader and four members per team), villages with
households and adults, about 2,000 assistance records and 60 activities over the 90 days up to
`today`. The same seed gives the same data relative to `today`. The console chat's user
(console:local) is the province official, so `make chat` on the demo database shows the province;
commune officials and leaders have identities console:xa1..3 and console:to1..8 (used by tests).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from knowledge.indicators import Indicators
from knowledge.services import Catalogue

from .assist import name_key, set_achievements
from .storage import Storage, new_row_id
from .teams import iso
from .units import province_key, unit_key

PROVINCE = "Tỉnh Hưng Yên (dữ liệu mẫu)"
COMMUNES = [
    ("xa", "Tiên Tiến", ["Tổ CNS thôn Đông", "Tổ CNS thôn Tây", "Tổ CNS thôn Nam"],
     ["Thôn Đông", "Thôn Tây", "Thôn Nam", "Thôn Bắc", "Thôn Trung", "Thôn Thượng", "Thôn Hạ", "Thôn Mới",
      "Thôn Cầu", "Thôn Chợ"]),
    ("phuong", "Phố Hiến", ["Tổ CNS khu phố 1", "Tổ CNS khu phố 2", "Tổ CNS khu phố 3"],
     ["Tổ dân phố 1", "Tổ dân phố 2", "Tổ dân phố 3", "Tổ dân phố 4", "Tổ dân phố 5", "Tổ dân phố 6",
      "Tổ dân phố 7", "Tổ dân phố 8", "Tổ dân phố 9"]),
    ("xa", "Hoàng Hoa Thám", ["Tổ CNS xã Hoàng Hoa Thám", "Tổ CNS thôn An Cầu"],
     ["Thôn An Cầu", "Thôn Phú Mỹ", "Thôn Đào Viên", "Thôn Lạc Thủy", "Thôn Bình Minh", "Thôn Hòa Bình"]),
]
MEMBERS_PER_TEAM = 5
HOUSEHOLDS_PER_TEAM = 150
RECORDS = 2000
ACTIVITIES = 60
DAYS = 90
SURNAMES = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Ngô")
MIDDLE = ("Văn", "Thị", "Đức", "Minh", "Thu", "Hữu", "Ngọc", "Quang")
GIVEN = ("An", "Bình", "Cường", "Dung", "Hà", "Hải", "Hoa", "Hùng", "Lan", "Long", "Mai", "Nam", "Nga",
         "Phương", "Quân", "Sơn", "Tâm", "Thảo", "Trang", "Tuấn", "Vân", "Yến")
OUTCOMES = ("done",) * 7 + ("unfinished",) * 2 + ("followup",)
NOW_SEED = 15


@dataclass(frozen=True)
class Seeded:
    province_id: int
    communes: int
    teams: int
    members: int
    records: int
    activities: int


def _name(rnd: random.Random) -> str:
    return f"{rnd.choice(SURNAMES)} {rnd.choice(MIDDLE)} {rnd.choice(GIVEN)}"


def seed(storage: Storage, catalogue: Catalogue, indicators: Indicators, today: dt.date,
         seed_value: int = NOW_SEED) -> Seeded:
    """Insert the demo into an empty database (raises ValueError when it already has teams)."""
    rnd = random.Random(seed_value)
    now = iso(dt.datetime.combine(today, dt.time(8, 0), tzinfo=dt.UTC))
    services = [(s.code, s.skill) for s in catalogue.services if s.code != "other"]
    weights = [8 if c in ("vneid2", "bank_account", "dvc_dossier", "vneid_install") else 2 for c, _ in services]
    achieves = {code: [a.code for a in indicators.achievements_for(code)] for code, _ in services}
    kinds = [k.code for k in indicators.activities]
    start = today - dt.timedelta(days=DAYS - 1)
    with storage.transaction() as conn:
        if conn.execute("SELECT 1 FROM teams LIMIT 1").fetchone():
            raise ValueError("the database already has teams")
        province = new_row_id(conn.execute(
            "INSERT INTO units (kind, name, key, households, adults, figures_on, created_at) "
            "VALUES ('province', ?, ?, NULL, NULL, NULL, ?)", (PROVINCE, province_key(PROVINCE), now)))
        conn.execute("INSERT INTO members (team_id, unit_id, display_name, role, joined_at) "
                     "VALUES (NULL, ?, 'Cán bộ Sở', 'province', ?)", (province, now))
        mid = conn.execute("SELECT last_insert_rowid()").fetchone()[0]
        conn.execute("INSERT INTO identities (key, member_id, chat_id, linked_at) VALUES ('console:local', ?, 'local', ?)",
                     (mid, now))
        team_rows: list[tuple[int, list[int], list[int], list[int]]] = []  # team, villages, members, households
        n_team = 0
        for c_index, (ctype, cname, team_names, village_names) in enumerate(COMMUNES, start=1):
            commune = new_row_id(conn.execute(
                "INSERT INTO units (kind, name, commune_type, parent_id, key, households, adults, figures_on, "
                "created_at) VALUES ('commune', ?, ?, ?, ?, NULL, NULL, NULL, ?)",
                (cname, ctype, province, unit_key(cname), now)))
            official = new_row_id(conn.execute(
                "INSERT INTO members (team_id, unit_id, display_name, role, joined_at) "
                "VALUES (NULL, ?, ?, 'commune', ?)", (commune, f"Cán bộ xã {cname}", now)))
            conn.execute("INSERT INTO identities (key, member_id, chat_id, linked_at) VALUES (?, ?, ?, ?)",
                         (f"console:xa{c_index}", official, f"xa{c_index}", now))
            per_team = len(village_names) // len(team_names)
            for t_index, tname in enumerate(team_names):
                n_team += 1
                title = f"{'Xã' if ctype == 'xa' else 'Phường'} {cname}"
                team = new_row_id(conn.execute(
                    "INSERT INTO teams (name, commune, commune_id, created_at) VALUES (?, ?, ?, ?)",
                    (tname, title, commune, now)))
                mine = village_names[t_index * per_team:(t_index + 1) * per_team]
                villages: list[int] = []
                for v in mine:
                    size = rnd.randrange(180, 520, 10)
                    villages.append(new_row_id(conn.execute(
                        "INSERT INTO villages (team_id, name, households, adults, figures_on) VALUES (?, ?, ?, ?, ?)",
                        (team, v, size, int(size * rnd.uniform(2.3, 2.9)),
                         (today.replace(day=1) - dt.timedelta(days=60)).replace(day=1).isoformat()))))
                members: list[int] = []
                for m in range(MEMBERS_PER_TEAM):
                    role = "leader" if m == 0 else "member"
                    member = new_row_id(conn.execute("INSERT INTO members (team_id, display_name, role, joined_at) "
                                                     "VALUES (?, ?, ?, ?)", (team, _name(rnd), role, now)))
                    members.append(member)
                    key = f"console:to{n_team}" if m == 0 else f"console:to{n_team}m{m}"
                    conn.execute("INSERT INTO identities (key, member_id, chat_id, linked_at) VALUES (?, ?, ?, ?)",
                                 (key, member, key.split(":")[1], now))
                households: list[int] = []
                for _ in range(HOUSEHOLDS_PER_TEAM):
                    head = _name(rnd)
                    households.append(new_row_id(conn.execute(
                        "INSERT INTO households (team_id, village_id, head_name, head_key, phone_last3, created_by, "
                        "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (team, rnd.choice(villages), head, name_key(head), f"{rnd.randrange(1000):03d}",
                         rnd.choice(members), now))))
                team_rows.append((team, villages, members, households))
        for n in range(RECORDS):
            team, _, members, households = team_rows[rnd.randrange(len(team_rows))]
            household = rnd.choice(households)
            village = conn.execute("SELECT village_id FROM households WHERE id = ?", (household,)).fetchone()[0]
            day = (start + dt.timedelta(days=rnd.randrange(DAYS))).isoformat()
            chosen = list(dict.fromkeys(rnd.choices(services, weights=weights, k=rnd.choice((1, 1, 2, 3)))))
            outcome = rnd.choice(OUTCOMES)
            people = rnd.choice((1, 1, 1, 2, 2, 3, 4))
            rid = new_row_id(conn.execute(
                "INSERT INTO records (request_id, team_id, member_id, household_id, village_id, helped_on, services, "
                "outcome, followup_on, note, created_at, updated_at, people) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (f"demo-{n}", team, rnd.choice(members), household, village, day, ",".join(c for c, _ in chosen),
                 outcome, day if outcome == "followup" else None, None, now, now, people)))
            conn.executemany("INSERT INTO record_services (record_id, service, skill) VALUES (?, ?, ?)",
                             [(rid, c, s) for c, s in chosen])
            if outcome == "done":
                achieved: dict[str, int] = {}
                for code, _ in chosen:
                    for a in achieves[code]:
                        achieved[a] = max(achieved.get(a, 0), rnd.randint(1, people))
                set_achievements(conn, rid, achieved)
        for n in range(ACTIVITIES):
            team, villages, members, _ = team_rows[n % len(team_rows)]
            kind = kinds[rnd.randrange(min(3, len(kinds)))]
            conn.execute(
                "INSERT INTO activities (request_id, team_id, member_id, kind, held_on, village_id, attendees, note, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (f"demo-a{n}", team, members[0], kind, (start + dt.timedelta(days=rnd.randrange(DAYS))).isoformat(),
                 rnd.choice(villages), rnd.randrange(12, 80), None, now))
    return Seeded(province, len(COMMUNES), len(team_rows), len(team_rows) * MEMBERS_PER_TEAM, RECORDS, ACTIVITIES)
