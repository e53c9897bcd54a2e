"""/web and the /baocao button through the real adapters: a Mini App button on Telegram, a one-time link on
Zalo that signs the same member in to the web view on the shared server."""

from __future__ import annotations

import re

import aiohttp

from bot.app import compose
from bot.web import auth
from tests import webkit
from tests.channelkit import (
    TelegramUser,
    ZaloUser,
    buttons,
    free_port,
    running,
    telegram_deps,
    telegram_running,
    zalo_deps,
)
from tests.teamkit import Clock


async def test_telegram_web_and_baocao_offer_the_mini_app(settings, storage, small_kb, tfake):
    deps = telegram_deps(compose(settings=settings, storage=storage, kb=small_kb, clock=Clock()), tfake,
                         public_base_url="https://bot.example.vn")
    webkit.build(storage)
    async with telegram_running(deps):
        hoa = TelegramUser(tfake, webkit.HOA_TELEGRAM, "Hoa")
        await hoa.say("/web")
        [button] = buttons(hoa.last[-1])
        assert button["web_app"] == {"url": "https://bot.example.vn/app/"} and "callback_data" not in button
        await hoa.say("/baocao")
        assert "Báo cáo Tổ CNS xã Xuân Thượng" in hoa.text
        assert any(b.get("web_app") for b in buttons(hoa.last[-1]))
        lan = TelegramUser(tfake, webkit.LAN_TELEGRAM, "Lan")
        await lan.say("/web")
        assert "tổ trưởng" in lan.text and not buttons(lan.last[-1])


async def test_telegram_without_https_gets_a_one_time_link(settings, storage, small_kb, tfake):
    deps = telegram_deps(compose(settings=settings, storage=storage, kb=small_kb, clock=Clock()), tfake,
                         public_base_url="http://192.168.1.10:8080")
    webkit.build(storage)
    async with telegram_running(deps):
        hoa = TelegramUser(tfake, webkit.HOA_TELEGRAM, "Hoa")
        await hoa.say("/web")
        assert re.search(r"http://192\.168\.1\.10:8080/app/login/\S+", hoa.text) and not buttons(hoa.last[-1])


async def test_zalo_link_signs_in_the_same_member_once(settings, storage, small_kb, zfake):
    port = free_port()
    base = compose(settings=settings, storage=storage, kb=small_kb, clock=Clock())
    deps = zalo_deps(base, zfake, public_base_url=f"http://127.0.0.1:{port}")
    data = webkit.build(storage)
    with storage.transaction() as conn:  # Hoa also on Zalo: a linked identity of the same member
        conn.execute("INSERT INTO identities (key, member_id, chat_id, linked_at) VALUES (?, ?, ?, ?)",
                     ("zalo:hoa-zalo", data.members["Hoa"], "hoa-zalo", "2026-11-01T00:00:00+00:00"))
    async with running(deps, port=port) as (_, url):
        hoa = ZaloUser(zfake, "hoa-zalo", "Hoa")
        await hoa.say("/web")
        link = re.search(rf"{re.escape(url)}/app/login/\S+", hoa.text)
        assert link and "một lần" in hoa.text and "1." not in hoa.text
        await hoa.say("/baocao")
        assert "gõ /web" in hoa.text
        async with aiohttp.ClientSession() as http:
            page = await http.get(link.group())
            assert page.status == 200
            signed = await http.post(link.group(), allow_redirects=False)
            assert signed.status == 303
            cookie = {"Cookie": f"{auth.COOKIE}={signed.cookies[auth.COOKIE].value}"}
            me = await (await http.get(f"{url}/app/api/me", headers=cookie)).json()
            assert me["name"] == "Hoa" and me["unit"] == f"team:{data.teams['Tổ CNS xã Xuân Thượng']}"
            again = await http.post(link.group(), allow_redirects=False)
            assert again.status == 410
