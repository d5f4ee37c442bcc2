"""English and Traditional Chinese (Taiwan): choosing, pages, forms, mail, catalogs."""

import html
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from app import create_app, db
from app.auth.email import RESET_SUBJECT
from app.models import User
from config import Config
from tests.conftest import PASSWORD, AuthActions

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "app/translations/zh_Hant_TW/LC_MESSAGES/messages.po"
PYBABEL = ROOT / ".venv/bin/pybabel"
ZH = {"Accept-Language": "zh-TW,zh;q=0.9,en;q=0.5"}
EN = {"Accept-Language": "en-US,en;q=0.9"}
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


def catalog():
    """The Traditional Chinese catalog, parsed."""
    with open(CATALOG, "rb") as file:
        return read_po(file, locale="zh_Hant_TW")


def make_option(name: str) -> list[str]:
    """An option list the Makefile defines (one place for extract/update options)."""
    makefile = (ROOT / "Makefile").read_text()
    return re.search(rf"^{name} := (.*)$", makefile, re.M).group(1).split()


def visible_text(response) -> str:
    """What a reader sees: tags and scripts gone, entities decoded, spaces collapsed."""
    page = response.get_data(as_text=True)
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    text = html.unescape(re.sub(r"<[^>]+>", " ", page))
    return " ".join(text.split())


def english_left_in(text: str) -> list[str]:
    """Catalog sentences that still appear in English in text."""
    found = []
    for message in catalog():
        if not message.id or not message.string:
            continue
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        for english in ids:
            plain = re.sub(r"<[^>]+>", "", english)
            # The longest stretch between placeholders, of at least two words.
            pieces = [p.strip() for p in PLACEHOLDER.split(plain)]
            piece = max(pieces, key=len)
            if len(piece.split()) >= 2 and piece in text:
                found.append(english)
    return found


# --- Catalogs as code ---------------------------------------------------------


def test_catalog_is_current(tmp_path):
    """`make translations` would change nothing: no string is missing or stale."""
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [PYBABEL, "extract", *make_option("EXTRACT"), "-o", pot, "."],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    check = subprocess.run(
        [PYBABEL, "update", *make_option("UPDATE"), "--check", "-i", pot]
        + ["-d", ROOT / "app/translations"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_every_message_is_translated_with_its_placeholders():
    problems = []
    for message in catalog():
        if not message.id:
            continue
        strings = (
            message.string if isinstance(message.string, tuple) else (message.string,)
        )
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        if message.fuzzy or not all(strings):
            problems.append(f"untranslated or fuzzy: {ids[0]!r}")
            continue
        wanted = set(PLACEHOLDER.findall(ids[-1]))
        for string in strings:
            if set(PLACEHOLDER.findall(string)) != wanted:
                problems.append(f"placeholders differ: {ids[0]!r} -> {string!r}")
            if re.findall(r"<a href", string) != re.findall(r"<a href", ids[0]):
                problems.append(f"links differ: {ids[0]!r}")
    assert problems == []


def test_catalog_compiles_and_is_traditional(tmp_path):
    folder = tmp_path / "translations"
    shutil.copytree(ROOT / "app/translations", folder)
    result = subprocess.run(
        [PYBABEL, "compile", "-d", folder, "--statistics"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    text = "".join(m.string if isinstance(m.string, str) else "".join(m.string)
                   for m in catalog() if m.id)  # fmt: skip
    # Characters that exist only in Simplified Chinese must not appear.
    assert not set("们这设码册录请没过时还后为") & set(text)


def translations(catalog) -> dict:
    """A catalog's messages by id, without the header; plural forms as tuples."""

    def plain(value):
        return value if isinstance(value, str) else tuple(value)

    return {plain(m.id): plain(m.string) for m in catalog if m.id}


def test_committed_catalogs_match_their_po_files():
    """The .mo beside each .po is what `make translations` compiles from it."""
    for po_path in sorted((ROOT / "app/translations").glob("*/LC_MESSAGES/*.po")):
        mo_path = po_path.with_suffix(".mo")
        assert mo_path.exists(), f"{mo_path} is missing: run make translations"
        with open(po_path, "rb") as po_file, open(mo_path, "rb") as mo_file:
            source, compiled = read_po(po_file), read_mo(mo_file)
        assert translations(compiled) == translations(source), (
            f"{mo_path} is stale: run make translations"
        )
        assert compiled.plural_forms == source.plural_forms
        tracked = subprocess.run(
            ["git", "ls-files", "--error-unmatch", mo_path],
            cwd=ROOT,
            capture_output=True,
        )
        assert tracked.returncode == 0, f"{mo_path} is not committed"


@pytest.fixture
def broken_catalogs(tmp_path):
    """Translation folders whose Chinese catalog is missing, or not a catalog."""
    missing = tmp_path / "missing"
    missing.mkdir()
    unreadable = tmp_path / "unreadable"
    shutil.copytree(ROOT / "app/translations", unreadable)
    mo_path = unreadable / "zh_Hant_TW/LC_MESSAGES/messages.mo"
    mo_path.write_bytes(b"not a catalog")
    return {
        "missing": (missing, "is missing"),
        "unreadable": (unreadable, "unreadable"),
    }


@pytest.mark.parametrize("case", ["missing", "unreadable"])
def test_a_catalog_that_cannot_load_stops_a_production_start(
    broken_catalogs, tmp_path, case
):
    folder, problem = broken_catalogs[case]

    class Production(Config):
        SECRET_KEY = "x" * 40
        SERVER_NAME = "microblog.example.com"
        SQLALCHEMY_DATABASE_URI = "sqlite://"
        BABEL_TRANSLATION_DIRECTORIES = str(folder)
        LOG_DIR = str(tmp_path / "logs")

    with pytest.raises(RuntimeError) as stopped:
        create_app(Production)
    message = str(stopped.value)
    assert str(folder / "zh_Hant_TW/LC_MESSAGES/messages.mo") in message
    assert problem in message
    assert "pybabel compile -d app/translations" in message


@pytest.mark.parametrize("case", ["missing", "unreadable"])
def test_without_its_catalog_a_language_is_not_offered_in_tests(
    make_app, broken_catalogs, caplog, case
):
    folder, problem = broken_catalogs[case]
    app = make_app(BABEL_TRANSLATION_DIRECTORIES=str(folder))
    assert problem in caplog.text and "English only" in caplog.text
    client = app.test_client()
    page = client.get("/login", headers=ZH).get_data(as_text=True)
    # English text is labelled English, and the switcher offers only English.
    assert '<html lang="en"' in page
    assert '<h1 class="h3">Sign in</h1>' in page
    assert "繁體中文" not in page
    client.post("/language", data={"locale": "zh_Hant_TW", "next": "/login"})
    assert '<html lang="en"' in client.get("/login").get_data(as_text=True)


def test_mail_is_in_a_language_the_app_serves(
    make_app, make_user, outbox, broken_catalogs
):
    app = make_app(BABEL_TRANSLATION_DIRECTORIES=str(broken_catalogs["missing"][0]))
    make_user("mei", email="mei@example.org", locale="zh_Hant_TW")
    app.test_client().post(
        "/reset_password_request", data={"email": "mei@example.org"}, headers=ZH
    )
    (message,) = outbox
    assert message.subject == RESET_SUBJECT
    assert '<html lang="en">' in message.html


# --- Choosing the language ----------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "lang"),
    [
        ("zh-TW,zh;q=0.9", "zh-Hant-TW"),
        ("zh-Hant", "zh-Hant-TW"),
        ("zh-HK", "zh-Hant-TW"),
        ("zh", "zh-Hant-TW"),
        ("fr-FR, zh;q=0.5", "zh-Hant-TW"),
        ("en-US,en;q=0.9,zh-TW;q=0.8", "en"),
        ("fr-FR", "en"),
        ("", "en"),
        ("!!, ;q=x", "en"),
        ("zh-TW;q=0, en;q=0.5", "en"),
    ],
)
def test_browser_language_picks_the_page_language(client, accept, lang):
    response = client.get("/login", headers={"Accept-Language": accept})
    assert response.status_code == 200
    assert f'<html lang="{lang}">' in response.get_data(as_text=True)
    sign_in = "登入" if lang != "en" else "Sign in"
    assert f'<h1 class="h3">{sign_in}</h1>' in response.get_data(as_text=True)


def test_pages_vary_by_language_headers(client):
    vary = client.get("/login").headers["Vary"]
    assert "Accept-Language" in vary and "Cookie" in vary


def test_stored_blank_pages_are_kept_per_language(client):
    for _ in range(2):  # the second round is served from the stored pages
        english = visible_text(client.get("/register", headers=EN))
        chinese = visible_text(client.get("/register", headers=ZH))
        assert "Repeat password" in english and "再輸入一次密碼" not in english
        assert "再輸入一次密碼" in chinese and "Repeat password" not in chinese


def switch(client, locale, next_path="/login", headers=EN):
    """Press the switcher's button for locale."""
    data = {"locale": locale, "next": next_path}
    return client.post("/language", data=data, headers=headers)


def test_switcher_for_a_visitor_beats_the_browser(client):
    page = client.get("/login", headers=EN).get_data(as_text=True)
    assert 'action="/language"' in page
    assert 'value="zh_Hant_TW" lang="zh-Hant-TW"' in page and "繁體中文" in page
    response = switch(client, "zh_Hant_TW")
    assert response.headers["Location"] == "/login"
    assert "locale=zh_Hant_TW" in response.headers["Set-Cookie"]
    assert "登入" in visible_text(client.get("/login", headers=EN))
    switch(client, "en", headers=ZH)
    assert "Sign in" in visible_text(client.get("/login", headers=ZH))


@pytest.mark.parametrize(
    ("locale", "next_path", "location"),
    [
        ("klingon", "/explore", "/explore"),
        ("zh_Hant_TW", "//evil.example/", "/index"),
        ("zh_Hant_TW", "https://evil.example/", "/index"),
    ],
)
def test_switcher_refuses_odd_input(client, locale, next_path, location):
    response = switch(client, locale, next_path)
    assert response.headers["Location"] == location
    if locale == "klingon":
        assert "Set-Cookie" not in response.headers


def test_switcher_needs_a_csrf_token(make_app):
    client = make_app(WTF_CSRF_ENABLED=True).test_client()
    response = switch(client, "zh_Hant_TW")
    assert response.status_code == 400


def test_signed_in_choice_is_saved_on_the_account(app, client, make_user):
    make_user("mei")
    AuthActions(client).login("mei")
    switch(client, "zh_Hant_TW", "/index")
    with app.app_context():
        assert db.session.scalar(sa.select(User.locale)) == "zh_Hant_TW"
    # Another browser, in English, with no cookie: the account's choice wins.
    other = app.test_client()
    AuthActions(other).login("mei")
    assert "探索" in visible_text(other.get("/index", headers=EN))


def test_a_new_account_starts_in_the_language_it_signed_up_in(app, client):
    data = {
        "username": "mei",
        "email": "mei@example.org",
        "password": PASSWORD,
        "password2": PASSWORD,
    }
    response = client.post("/register", data=data, headers=ZH)
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(User.locale)) == "zh_Hant_TW"
    flashed = visible_text(client.get("/login", headers=ZH))
    assert "我們已寄出確認連結到 mei@example.org" in flashed


# --- Every page, every form ---------------------------------------------------


@pytest.fixture
def zh_pages(app, make_user):
    """Every page a person can reach, rendered for a Chinese reader."""
    user_id = make_user("mei", locale="zh_Hant_TW")
    make_user("ann")
    with app.app_context():
        user = db.session.get(User, user_id)
        user.request_email_change("new@example.org")
        db.session.commit()
        tokens = {
            "/confirm_email/": user.get_token("confirm-email", 600),
            "/change_email/": user.get_token("change-email", 600),
        }
        user.previous_email = "old@example.org"
        user.email_changed_at = user.pending_email_since
        db.session.commit()
        tokens["/revert_email/"] = user.get_token("revert-email", 600)
        reset = user.get_reset_password_token()
    visitor = app.test_client()
    pages = {}
    for path in ("/login", "/register", "/reset_password_request", "/no-such-page"):
        pages[path] = visitor.get(path, headers=ZH)
    for prefix, token in tokens.items():
        pages[prefix] = visitor.get(prefix + token, headers=ZH)
    pages["invalid link"] = visitor.get("/confirm_email/forged", headers=ZH)
    visitor.get(f"/reset_password/{reset}", headers=ZH)
    pages["set password"] = visitor.get("/reset_password/set-password", headers=ZH)
    pages["405"] = visitor.get("/follow/ann", headers=ZH)
    reader = app.test_client()
    AuthActions(reader).login("mei")
    for path in (
        "/index",
        "/explore",
        "/user/mei",
        "/user/ann",
        "/edit_profile",
        "/settings",
        "/change_password",
        "/change_email",
        "/logout",
    ):
        pages[path] = reader.get(path, headers=EN)  # the account's choice wins
    return pages


def test_the_english_check_finds_english(client):
    assert "Forgot your password?" in english_left_in(
        visible_text(client.get("/login"))
    )


def test_every_page_reads_in_chinese(zh_pages):
    for name, response in zh_pages.items():
        assert response.status_code in (200, 404, 405, 410), name
        page = response.get_data(as_text=True)
        assert '<html lang="zh-Hant-TW">' in page, name
        assert english_left_in(visible_text(response)) == [], name


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"username": ""}, "username", "請填寫這個欄位。"),
        ({"email": "not-an-address"}, "email", "無效的電子郵件地址。"),
        ({"username": "x" * 65}, "username", "欄位長度不能超過 64 個字元。"),
        ({"password": "short"}, "password", "請至少使用 15 個字元"),
        ({"password": "mei@example.org 2024"}, "password", "扣掉您的使用者名稱"),
        ({"password2": "different words"}, "password2", "兩次輸入的密碼不一樣。"),
    ],
)
def test_form_errors_read_in_traditional_chinese(client, data, field, message):
    form = {
        "username": "mei",
        "email": "mei@example.org",
        "password": PASSWORD,
        "password2": PASSWORD,
        **data,
    }
    if "password" in data and "password2" not in data:
        form["password2"] = data["password"]
    response = client.post("/register", data=form, headers=ZH)
    error = re.search(rf'id="{field}-error"[^>]*>(.*?)</div>', response.text, re.S)
    assert error and message in html.unescape(error.group(1))


def test_counts_and_times_follow_the_language(client, make_user):
    make_user("mei", locale="zh_Hant_TW")
    make_user("ann")
    AuthActions(client).login("mei")
    client.post("/follow/ann")
    client.post("/index", data={"post": "今天天氣很好"})
    profile = visible_text(client.get("/user/ann"))
    assert "1 位追蹤者，正在追蹤 0 人。" in profile
    assert re.search(r"最後上線：\d+ 秒前", profile)
    assert re.search(r"\d+ 秒前", visible_text(client.get("/index")))


# --- Mail in the account's language --------------------------------------------


def mail_text(message) -> str:
    """The plain-text body, whitespace collapsed."""
    return " ".join(message.get_body(("plain",)).get_content().split())


def test_reset_from_an_english_browser_arrives_in_the_accounts_chinese(
    smtp_app, smtp_server, make_user
):
    make_user("mei", email="mei@example.org", locale="zh_Hant_TW")
    client = smtp_app.test_client()
    client.post(
        "/reset_password_request", data={"email": "mei@example.org"}, headers=EN
    )
    ((recipients, message),) = smtp_server.messages
    assert message["Subject"] == "[Microblog] 重設您的密碼"
    body = mail_text(message)
    assert "mei 您好：" in body and "30 分鐘後失效" in body
    assert '<html lang="zh-Hant-TW">' in message.get_body(("html",)).get_content()


def test_the_reset_story_in_chinese(smtp_app, smtp_server):
    client = smtp_app.test_client()
    form = {
        "username": "mei",
        "email": "mei@example.org",
        "password": PASSWORD,
        "password2": PASSWORD,
    }
    client.post("/register", data=form, headers=ZH)
    ((_, confirm),) = smtp_server.messages
    assert confirm["Subject"] == "[Microblog] 請確認您的電子郵件地址"
    assert "3 天後失效" in mail_text(confirm)

    response = client.post(
        "/reset_password_request", data={"email": "mei@example.org"}, headers=ZH
    )
    flashed = visible_text(client.get(response.headers["Location"], headers=ZH))
    assert "如果這個電子郵件地址已註冊，我們已寄出重設密碼的連結" in flashed
    reset = smtp_server.messages[-1][1]
    assert reset["Subject"] == "[Microblog] 重設您的密碼"
    link = re.search(
        r"https://app\.example\.com(/reset_password/\S+)", mail_text(reset)
    )
    client.get(link.group(1), headers=ZH)
    page = visible_text(client.get("/reset_password/set-password", headers=ZH))
    assert "設定新密碼" in page and english_left_in(page) == []
    new = "我的貓咪每天早上六點都會叫我起床"
    data = {"password": new, "password2": new}
    response = client.post("/reset_password/set-password", data=data, headers=ZH)
    assert response.headers["Location"] == "/login"
    assert "密碼已重設，請重新登入。" in visible_text(client.get("/login", headers=ZH))
    changed = smtp_server.messages[-1][1]
    assert changed["Subject"] == "[Microblog] 您的密碼已變更"
    assert AuthActions(client).login("mei", new).headers["Location"] == "/index"


def test_mail_for_an_account_without_a_language_follows_the_request(
    smtp_app, smtp_server, make_user
):
    make_user("susan", email="susan@example.org")  # from before languages
    form = {
        "username": "mallory",
        "email": "susan@example.org",
        "password": PASSWORD,
        "password2": PASSWORD,
    }
    smtp_app.test_client().post("/register", data=form, headers=ZH)
    ((_, attempt),) = smtp_server.messages
    assert attempt["Subject"] == "[Microblog] 有人想用這個電子郵件地址註冊"


def test_english_subjects_stay_english(smtp_app, smtp_server, make_user):
    make_user("ann", email="ann@example.org", locale="en")
    client = smtp_app.test_client()
    client.post(
        "/reset_password_request", data={"email": "ann@example.org"}, headers=ZH
    )
    ((_, message),) = smtp_server.messages
    assert message["Subject"] == str(RESET_SUBJECT)


@pytest.mark.parametrize("locale", ["en", "zh_Hant_TW"])
def test_cached_relative_times_say_what_babel_says(locale):
    from datetime import timedelta

    from babel.dates import format_timedelta

    from app.i18n import THRESHOLD, TIME_UNITS, spoken_ago

    samples = [*range(1, 200_000, 97), 3031, 3059, 86_399, 2_592_000, 31_536_000]
    for seconds in samples:
        unit = next(u for u in TIME_UNITS if seconds / u >= THRESHOLD or u == 1)
        bucket = max(1, round(seconds / unit)) * unit
        expected = format_timedelta(
            timedelta(seconds=-seconds), add_direction=True, locale=locale
        )
        assert spoken_ago(bucket, locale) == expected, seconds


def test_a_stored_page_never_carries_another_visitors_query(app):
    first, second = app.test_client(), app.test_client()
    seeded = first.get("/login?next=/user/someone").get_data(as_text=True)
    assert 'name="next" value="/login?next=/user/someone"' in seeded
    for _ in range(2):
        page = second.get("/login").get_data(as_text=True)
        assert 'name="next" value="/login"' in page


def test_signing_in_keeps_the_accounts_language_in_a_cookie(client, make_user):
    make_user("mei", locale="zh_Hant_TW")
    response = AuthActions(client).login("mei")
    assert "locale=zh_Hant_TW" in response.headers["Set-Cookie"]


def test_unlisted_errors_read_in_chinese_too(client):
    response = client.get("/static/style.css", headers={**ZH, "Range": "bytes=999999-"})
    assert response.status_code == 416
    text = visible_text(response)
    assert "請求失敗" in text and "Range" not in text
