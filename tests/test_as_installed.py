"""The README's deploy section, run as written from a copy of the tracked files.

No Makefile and no project venv: the "Install" block makes its own venv from
requirements.txt, then the "One machine" block's settings and commands start
`flask db upgrade`, the mail worker and gunicorn. Only what cannot work on a test
machine is replaced (placeholders, host and port, plain HTTP, a SQLite file,
in-memory rate limits, the loopback SMTP server). A zh-TW browser then walks a
reset end to end: Chinese pages, Chinese mail, the new password signs in.
"""

import os
import re
import shlex
import shutil
import subprocess
import urllib.parse
from pathlib import Path

from tests.conftest import wait_for
from tests.deployment import ROOT, Browser, Deployment, Mailbox, stop_group, tail

ZH_TW = {"Accept-Language": "zh-TW,zh;q=0.9,en;q=0.5"}
PASSWORD = "我的貓叫小白，每天早上六點叫我起床"
NEW_PASSWORD = "correct horse battery staple 多一點"
LINK = re.compile(r"https?://127\.0\.0\.1:\d+(/reset_password/[\w.-]+)")
# Settings of the README's block that only a real deployment can have.
REPLACED = {
    "SECRET_KEY",
    "SERVER_NAME",
    "TRUSTED_HOSTS",
    "DATABASE_URL",
    "RATELIMIT_STORAGE_URI",
    "MAIL_SERVER",
    "MAIL_PORT",
    "MAIL_USE_TLS",
    "MAIL_USERNAME",
    "MAIL_PASSWORD",
}


def readme_block(heading: str) -> str:
    """The first ```sh block under a README heading."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split(f"\n{heading}\n", 1)[1]
    return re.search(r"```sh\n(.*?)```", section, re.S).group(1)


def commands_and_settings(block: str) -> tuple[dict[str, str], list[list[str]]]:
    """A shell block's exported settings, and its other commands as argument lists."""
    settings, commands = {}, []
    for line in block.splitlines():
        words = shlex.split(line, comments=True)
        if not words:
            continue
        if words[0] == "export":
            settings.update(word.split("=", 1) for word in words[1:])
        else:
            commands.append(words)
    return settings, commands


def copy_of_tracked_files(into: Path) -> Path:
    """The files git tracks, and nothing else (no venv, no compiled files)."""
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    for name in filter(None, tracked.split("\0")):
        target = into / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    return into


def clean_environment(home: Path) -> dict[str, str]:
    """What a fresh shell has: a PATH, a home, the machine's pip settings."""
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(home)}
    env |= {"LANG": "C.UTF-8", "PYTHONUNBUFFERED": "1"}
    env |= {k: v for k, v in os.environ.items() if k.startswith("PIP_")}
    return env


def test_the_readme_installs_and_serves_a_reset_in_chinese(tmp_path, start_smtp):
    root = copy_of_tracked_files(tmp_path / "microblog")
    install = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", readme_block("### Install")],
        cwd=root,
        env=clean_environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert install.returncode == 0, install.stdout + install.stderr

    mailbox = start_smtp(Mailbox())
    settings, commands = commands_and_settings(readme_block("### One machine"))
    assert settings.keys() >= REPLACED, "the README's settings changed: update REPLACED"
    deployment = Deployment(tmp_path, "", mailbox.port, root=root)
    deployment.env = clean_environment(tmp_path) | settings
    deployment.env |= {
        "SECRET_KEY": os.urandom(32).hex(),
        "SERVER_NAME": f"127.0.0.1:{deployment.port}",
        "TRUSTED_HOSTS": "127.0.0.1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'microblog.db'}",
        "RATELIMIT_STORAGE_URI": "memory://",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(mailbox.port),
        "MAIL_USE_TLS": "false",
        "MAIL_USERNAME": "",
        "MAIL_PASSWORD": "",
        # The test speaks plain HTTP, where Secure cookies never come back.
        "PREFERRED_URL_SCHEME": "http",
        "LOG_DIR": str(tmp_path / "logs"),
    }
    placeholders = [k for k, v in deployment.env.items() if "..." in v]
    assert placeholders == [], f"README placeholders left: {placeholders}"

    processes = []
    try:
        for number, words in enumerate(commands):
            words = [w.replace("127.0.0.1:8000", f"127.0.0.1:{deployment.port}")
                     for w in words]  # fmt: skip
            if words[-1] == "&":
                processes.append(deployment.spawn(words[:-1], f"command-{number}"))
            elif "gunicorn" in words[0]:
                server = deployment.spawn(words, "gunicorn")
                processes.append(server)
                deployment.wait_until_serving(server)
            else:
                done = subprocess.run(
                    words, cwd=root, env=deployment.env, capture_output=True, text=True
                )
                assert done.returncode == 0, done.stdout + done.stderr
        assert len(processes) == 2, f"expected a mail worker and gunicorn: {commands}"
        walk_a_reset_in_chinese(deployment, mailbox)
        logs = "\n".join(tail(p.log, 100_000) for p in processes)
        assert "Traceback" not in logs, logs
    finally:
        for process in processes:
            stop_group(process)


def walk_a_reset_in_chinese(deployment: Deployment, mailbox: Mailbox) -> None:
    """Sign up, forget, follow the emailed link, sign in anew: all in Chinese."""
    browser = Browser(deployment.base_url, headers=ZH_TW)
    status, page, _ = browser.get("/register")
    assert status == 200
    assert '<html lang="zh-Hant-TW">' in page and "註冊" in page
    fields = {"username": "小明", "email": "ming@example.tw"}
    fields |= {"password": PASSWORD, "password2": PASSWORD}
    status, page, location = browser.submit("/register", fields)
    assert status == 302, page

    # Forgotten, on another device: the link leads to a form at a tokenless URL.
    forgetful = Browser(deployment.base_url, headers=ZH_TW)
    status, page, location = forgetful.submit(
        "/reset_password_request", {"email": "ming@example.tw"}
    )
    assert status == 302, page

    def reset_mail():
        return [m for _, m in mailbox.messages if "重設您的密碼" in m["Subject"]]

    assert wait_for(lambda: reset_mail(), 30), (
        f"no Chinese reset mail; got {[m['Subject'] for _, m in mailbox.messages]}"
    )
    (mail,) = reset_mail()
    body = mail.get_body(("plain",)).get_content()
    assert "小明 您好：" in body
    status, _, location = forgetful.get(LINK.search(body).group(1))
    assert status == 302
    form = urllib.parse.urlsplit(location).path
    status, page, _ = forgetful.get(form)
    assert status == 200
    assert '<html lang="zh-Hant-TW">' in page and "設定新密碼" in page
    status, page, location = forgetful.submit(
        form, {"password": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert status == 302, page

    fresh = Browser(deployment.base_url, headers=ZH_TW)
    status, page, _ = fresh.submit("/login", {"username": "小明", "password": PASSWORD})
    assert status == 200 and '<html lang="zh-Hant-TW">' in page  # the old one fails
    status, page, location = fresh.submit(
        "/login", {"username": "小明", "password": NEW_PASSWORD}
    )
    assert status == 302, page
    assert urllib.parse.urlsplit(location).path == "/index"
