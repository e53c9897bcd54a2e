"""The deployment recipes in deploy/ agree with the code: setting names, command, paths, health check.
Where the tools exist here, the files are checked by them (`systemd-analyze verify`, `nginx -t`)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot import config
from bot.__main__ import _parser

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"


def setting_names() -> set[str]:
    """Every environment variable Settings.load reads."""
    source = Path(config.__file__).read_text(encoding="utf-8")
    return set(re.findall(r'get\("([A-Z][A-Z0-9_]+)"', source))


def env_file_names(path: Path) -> list[str]:
    return [line.split("=", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def unit() -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for line in (DEPLOY / "tcns-bot.service").read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            values.setdefault(key.strip(), []).append(value.strip())
    return values


def test_env_example_documents_every_setting():
    names = env_file_names(ROOT / ".env.example")
    assert set(names) == setting_names()
    assert len(names) == len(set(names))


def test_deploy_env_file_uses_real_settings():
    assert set(env_file_names(DEPLOY / "tcns-bot.env")) <= setting_names()


def test_systemd_unit_runs_the_bot_as_a_hardened_non_root_service():
    u = unit()
    [exec_start] = u["ExecStart"]
    program, *args = exec_start.split()
    assert program.endswith("/python") and args == ["-m", "bot", "run"]
    assert _parser().parse_args(args[2:]).command == "run"
    assert u["User"] != ["root"] and u["User"] and u["Restart"] == ["on-failure"]
    assert u["KillSignal"] == ["SIGTERM"] and int(u["TimeoutStopSec"][0]) > 20  # Zalo's 20 s grace fits
    for key in ("NoNewPrivileges", "ProtectSystem", "ProtectHome", "PrivateTmp", "RestrictAddressFamilies",
                "SystemCallFilter", "CapabilityBoundingSet", "UMask"):
        assert key in u, key
    env = dict(item.split("=", 1) for item in u["Environment"])
    assert set(env) <= setting_names()
    state = f"/var/lib/{u['StateDirectory'][0]}/"
    assert all(env[k].startswith(state) for k in ("DATABASE_PATH", "EXPORT_DIR", "BACKUP_DIR"))


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_systemd_analyze_verify(tmp_path):
    text = (DEPLOY / "tcns-bot.service").read_text(encoding="utf-8")
    # verify checks that ExecStart exists: point it at this interpreter.
    (tmp_path / "tcns-bot.service").write_text(text.replace("/opt/tcns-bot/.venv/bin/python", sys.executable))
    done = subprocess.run(["systemd-analyze", "verify", str(tmp_path / "tcns-bot.service")],
                          capture_output=True, text=True, timeout=60)
    problems = [line for line in (done.stdout + done.stderr).splitlines() if "tcns-bot.service" in line]
    assert done.returncode == 0 and not problems, done.stdout + done.stderr


def test_container_image_is_non_root_with_a_volume_and_a_health_check():
    text = (DEPLOY / "Containerfile").read_text(encoding="utf-8")
    instructions = re.findall(r"^([A-Z]+)\s+((?:[^\n]*\\\n)*[^\n]*)", text, re.M)
    kinds = [k for k, _ in instructions]
    user = [v for k, v in instructions if k == "USER"]
    assert user and not user[-1].startswith(("root", "0")) and kinds.index("USER") < kinds.index("CMD")
    env = dict(re.findall(r"([A-Z_]+)=(\S+)", " ".join(v for k, v in instructions if k == "ENV")))
    assert {k for k in env if not k.startswith(("PYTHON", "PIP"))} <= setting_names()
    [volume] = [v for k, v in instructions if k == "VOLUME"]
    assert '"/data"' in volume and env["DATABASE_PATH"].startswith("/data/") and env["BACKUP_DIR"].startswith("/data/")
    port = env["WEBHOOK_LISTEN"].rpartition(":")[2]
    [health] = [v for k, v in instructions if k == "HEALTHCHECK"]
    assert f"127.0.0.1:{port}/healthz" in health and f"EXPOSE {port}" in text
    cmd = [v for k, v in instructions if k == "CMD"][-1]
    assert cmd == '["python", "-m", "bot", "run"]'
    for source in re.findall(r"^COPY\s+(.+?)\s+\S+$", text, re.M):
        for name in source.split():
            assert (ROOT / name).exists(), name


@pytest.mark.skipif(shutil.which("nginx") is None or shutil.which("openssl") is None,
                    reason="nginx or openssl not installed")
def test_nginx_config_is_valid(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=bot.example.vn", "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    site = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    site = site.replace("/etc/letsencrypt/live/bot.example.vn/fullchain.pem", str(cert))
    site = site.replace("/etc/letsencrypt/live/bot.example.vn/privkey.pem", str(key))
    site = site.replace("/var/log/nginx/", f"{tmp_path}/")
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n access_log off;\n include {tmp_path}/site.conf;\n}}\n")
    done = subprocess.run(["nginx", "-t", "-q", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    # The webhook paths are the ones the example settings use.
    env = dict(line.split("=", 1) for line in env_file_names_with_values(DEPLOY / "tcns-bot.env"))
    for name in ("TELEGRAM_WEBHOOK_URL", "ZALO_WEBHOOK_URL"):
        path = "/" + env[name].split("/", 3)[3]
        assert f"location = {path} " in site


def env_file_names_with_values(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.lstrip().startswith("#")]
