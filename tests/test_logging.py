"""Logs never carry personal data or secrets."""

import logging

from bot.config import Settings
from bot.safety import RedactingFilter, redact


def test_filter_masks_personal_data_and_secrets():
    flt = RedactingFilter(["123456:SECRET-TOKEN"])
    record = logging.LogRecord("x", logging.INFO, __file__, 1,
                               "user %s sent %s via https://api.telegram.org/bot123456:SECRET-TOKEN/getMe",
                               ("telegram:5", "mã OTP là 482913, cccd 001203004567"), None)
    flt.filter(record)
    message = record.getMessage()
    assert "482913" not in message and "001203004567" not in message and "SECRET-TOKEN" not in message


def test_exception_text_is_masked():
    flt = RedactingFilter(["tok:EN"])
    try:
        raise ValueError("bad url /bottok:EN/x for 0912345678")
    except ValueError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "boom", None, sys.exc_info())
    flt.filter(record)
    assert "tok:EN" not in record.getMessage() and "0912345678" not in record.getMessage()


def test_setup_logging_installs_the_filter(capsys):
    from bot.app import setup_logging

    root = logging.getLogger()
    old = root.handlers[:]
    root.handlers = []
    try:
        setup_logging(Settings(telegram_bot_token="999:ABC"))
        logging.getLogger("t").warning("token 999:ABC and card 4111 1111 1111 1111")
        err = capsys.readouterr().err
        assert "999:ABC" not in err and "4111 1111" not in err and "[đã ẩn]" in err
    finally:
        root.handlers = old


def test_redact_cases():
    assert redact("mật khẩu là gì").found == frozenset()
    assert redact("mk: Abc@12345").found == {"password"}
    assert redact("sdt 0912345678").text == "sdt [đã ẩn]"
    assert redact("chuyển 100000 đồng").found == frozenset()
    assert redact("thẻ 4111 1111 1111 1111").found == {"card"}
