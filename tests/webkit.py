"""Helpers for the web view tests: known data plus a leader reachable from Telegram, and signed initData."""

from __future__ import annotations

import json
import time
from dataclasses import replace

from bot import units
from bot.core import Deps
from bot.storage import Storage
from bot.web import auth
from knowledge.normalize import key as norm_key
from tests import fixtures_data as fx
from tests.fake_telegram import TOKEN

HOA_TELEGRAM = 300  # Hoa, leader of team A, on Telegram too (a linked identity)
KHANH_TELEGRAM = 400  # Khánh, leader of team B
LAN_TELEGRAM = 200  # Lan, a plain member of team A (fixtures_data)
OFFICIAL_TELEGRAM = 500  # Chị Hạnh, commune official of team A's commune


def build(store: Storage) -> fx.Data:
    """fixtures_data, plus Telegram identities for both leaders and some unanswered questions."""
    data = fx.build(store)
    with store.transaction() as conn:
        for key, member in ((f"telegram:{HOA_TELEGRAM}", "Hoa"), (f"telegram:{KHANH_TELEGRAM}", "Khánh")):
            conn.execute("INSERT INTO identities (key, member_id, chat_id, linked_at) VALUES (?, ?, ?, ?)",
                         (key, data.members[member], key.split(":")[1], fx.NOW))
        questions = [("console:hoa", "lam sao doi mat khau vneid", data.teams["Tổ CNS xã Xuân Thượng"]),
                     ("telegram:200", "làm sao đổi mật khẩu vneid", data.teams["Tổ CNS xã Xuân Thượng"]),
                     ("console:bich", "cach tra cuu phat nguoi", data.teams["Tổ CNS xã Yên Bình"])]
        for user, question, team in questions:
            conn.execute("INSERT INTO unanswered (asked_at, channel, user_key, question, norm, team_id) "
                         "VALUES (?, ?, ?, ?, ?, ?)", (fx.NOW, user.split(":")[0], user, question, norm_key(question),
                                                        team))
    # Units: both teams in one province, each in its own commune; a commune official of team A's commune.
    now = fx.clock()()
    province, _ = units.create_province(store, "Hà Tĩnh", None, now)
    data.communes = {}  # team name -> its commune's unit id
    for name in data.teams:
        commune = units.create_commune(store, province, name.split("xã")[-1].strip(), None, now)
        units.place_team(store, data.teams[name], commune, None, now)
        data.communes[name] = commune
    data.province = province
    with store.transaction() as conn:
        official = conn.execute(
            "INSERT INTO members (team_id, display_name, role, unit_id, active, joined_at) VALUES (?, ?, ?, ?, 1, ?)",
            (None, "Chị Hạnh", "commune", data.communes["Tổ CNS xã Xuân Thượng"], fx.NOW)).lastrowid
        for key in (f"telegram:{OFFICIAL_TELEGRAM}", "console:hanh"):
            conn.execute("INSERT INTO identities (key, member_id, chat_id, linked_at) VALUES (?, ?, ?, ?)",
                         (key, official, key.split(":")[1], fx.NOW))
    data.members["Chị Hạnh"] = official
    return data


def web_deps(base: Deps, **settings: object) -> Deps:
    settings.setdefault("telegram_bot_token", TOKEN)
    settings.setdefault("public_base_url", "https://bot.example.vn")
    return replace(base, settings=replace(base.settings, **settings), clock=fx.clock())


def init_data(user_id: int, name: str = "Hoa", age: float = 60, token: str = TOKEN,
              now: float | None = None) -> str:
    """initData as Telegram signs it, `age` seconds old (relative to the fixtures' clock by default)."""
    moment = fx.clock()().timestamp() if now is None else now
    fields = {"query_id": "AAHdF6IQAAAAAN0XohDhrOrc", "auth_date": str(int(moment - age)),
              "user": json.dumps({"id": user_id, "first_name": name, "language_code": "vi"},
                                 ensure_ascii=False, separators=(",", ":"))}
    return auth.sign_init_data(fields, token)


def real_now_init_data(user_id: int, name: str = "Hoa") -> str:
    return init_data(user_id, name, now=time.time())
