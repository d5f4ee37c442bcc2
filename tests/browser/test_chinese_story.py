"""A Taiwanese reader's browser (zh-TW): sign up, post, settings, switch languages."""

import pytest
from playwright.sync_api import expect

from .tour import DESKTOP, Tour, flash_texts

USERNAME = "meilin"
EMAIL = "meilin@example.tw"
PASSWORD = "我的貓咪每天早上六點都會叫我起床"


@pytest.fixture
def zh_page(browser):
    """A page in a browser whose language is Traditional Chinese (Taiwan)."""
    context = browser.new_context(locale="zh-TW", viewport=DESKTOP)
    yield context.new_page()
    context.close()


def test_chinese_story(zh_page, live_server):
    tour = Tour(page=zh_page, server=live_server, name="chinese-story")
    page = tour.page

    tour.goto("/login", "login")
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hant-TW")
    expect(page.get_by_role("heading", name="登入")).to_be_visible()
    tour.click(page.get_by_role("link", name="建立帳號"), "register")

    # A mistake is explained next to the field, in Traditional Chinese.
    page.get_by_label("使用者名稱").fill(USERNAME)
    page.get_by_label("電子郵件").fill("不是地址")
    page.get_by_label("密碼", exact=True).fill(PASSWORD)
    page.get_by_label("再輸入一次密碼").fill(PASSWORD)
    tour.click(page.get_by_role("button", name="註冊"), "register-error")
    expect(page.locator("#email-error")).to_have_text("無效的電子郵件地址。")
    page.get_by_label("電子郵件").fill(EMAIL)
    page.get_by_label("密碼", exact=True).fill(PASSWORD)
    page.get_by_label("再輸入一次密碼").fill(PASSWORD)
    tour.click(page.get_by_role("button", name="註冊"), "registered")
    assert any(f"我們已寄出確認連結到 {EMAIL}" in text for text in flash_texts(page))

    # The confirmation mail speaks the language the account signed up in.
    ((_, confirm),) = live_server.inbox.messages
    assert confirm["Subject"] == "[Microblog] 請確認您的電子郵件地址"

    page.get_by_label("使用者名稱").fill(USERNAME)
    page.get_by_label("密碼", exact=True).fill(PASSWORD)
    tour.click(page.get_by_role("button", name="登入", exact=True), "home")
    expect(page.get_by_role("heading", name=f"{USERNAME}，您好！")).to_be_visible()
    expect(page.get_by_text("請確認您的電子郵件地址")).to_be_visible()

    page.get_by_label("說點什麼吧").fill("今天的珍珠奶茶特別好喝")
    tour.click(page.get_by_role("button", name="發佈"), "posted")
    assert "貼文已發佈！" in flash_texts(page)
    expect(page.get_by_text("秒前").first).to_be_visible()

    tour.click(page.get_by_role("link", name="設定"), "settings")
    expect(page.get_by_text("尚未確認")).to_be_visible()
    tour.click(page.get_by_role("link", name="變更密碼"), "change-password")

    # The switcher: English for this account, everywhere, then back.
    tour.click(page.get_by_role("button", name="English"), "english")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", name="Change your password")).to_be_visible()
    tour.click(page.get_by_role("button", name="繁體中文"), "chinese-again")
    expect(page.get_by_role("heading", name="變更您的密碼")).to_be_visible()
