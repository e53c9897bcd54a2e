"""The data-access layer directly: name matching, idempotent saves, and the read helpers reports use."""

from __future__ import annotations

import datetime as dt

import pytest

from bot import assist, teams

NOW = dt.datetime(2026, 11, 18, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=7)))


@pytest.mark.parametrize(("typed", "stored", "offered"), [
    ("Nguyễn Văn An", "nguyen van an", True),
    ("nguyen vn an", "nguyen van an", True),     # a typo
    ("Nguyễn Văn Anh", "nguyen van an", True),   # close enough to ask
    ("Nguyễn An", "nguyen van an", True),        # middle name left out
    ("An", "nguyen van an", True),               # searching by the given name
    ("Nguyễn Văn Bình", "nguyen van an", False),  # same family name, another person
    ("Nguyễn Văn Nam", "nguyen van an", False),
    ("Nguyễn Thị An", "nguyen van an", False),
    ("Trần Văn An", "nguyen van an", False),
])
def test_name_matching(typed, stored, offered):
    assert (assist.name_score(assist.name_key(typed), stored) >= assist.MATCH_CUTOFF) is offered


def _team(storage, name="Tổ A"):
    team_id = teams.create_team(storage, name, "Xã A", ["Thôn 1", "Thôn 2"], None, NOW)
    village_ids = [v.id for v in teams.villages(storage, team_id)]
    storage.db["members"].insert({"team_id": team_id, "display_name": "Lan", "role": "member", "joined_at": "x"})
    member_id = storage.db.execute("SELECT max(id) FROM members").fetchone()[0]
    return team_id, village_ids, member_id


def test_save_is_idempotent_and_household_created_once(storage):
    team_id, villages, member = _team(storage)
    draft = assist.Draft("req-1", team_id, member, villages[0], ["vneid2"], head_name="Lê Thị Hoa 0912345678")
    first = assist.save_record(storage, draft, NOW)
    again = assist.save_record(storage, draft, NOW)
    assert first.created and not again.created and first.record_id == again.record_id
    assert storage.db["households"].count == 1
    assert next(storage.db["households"].rows)["head_name"] == "Lê Thị Hoa [đã ẩn]"
    with pytest.raises(ValueError):
        assist.save_record(storage, assist.Draft("req-2", team_id, member, villages[0], ["nope"], head_name="X"), NOW)
    assert storage.db["records"].count == 1


