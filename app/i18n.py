"""Languages: which one a person reads, the switcher, and what must vary with it.

English and Traditional Chinese (Taiwan). Babel names the latter `zh_Hant_TW`;
the catalog folder must carry that name (a `zh_TW` folder is silently ignored).
"""

import os
import struct
from datetime import datetime, timedelta
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.dates import format_timedelta
from babel.messages.mofile import read_mo
from babel.support import Translations
from flask import (
    Blueprint,
    Flask,
    current_app,
    g,
    has_request_context,
    redirect,
    request,
    url_for,
)
from flask_babel import Babel, get_locale, get_translations
from flask_login import current_user
from jinja2 import pass_context

from app import db
from app.models import utcnow
from app.request_helpers import safe_next_url

DEFAULT_LOCALE = "en"
# Each language by its own name, as the switcher offers it.
LANGUAGES = {"en": "English", "zh_Hant_TW": "繁體中文"}
LOCALE_COOKIE = "locale"
COOKIE_SECONDS = 365 * 24 * 3600
# WTForms' own messages: its zh_TW catalog is Traditional; plain zh is Simplified.
WTFORMS_CATALOGS = {"zh_Hant_TW": "zh_TW"}
# Parsed once: Flask-Babel parses a name from the selector on every request.
LOCALES = {name: Locale.parse(name) for name in LANGUAGES}
LOCALE_NAMES = {locale: name for name, locale in LOCALES.items()}

babel = Babel()
bp = Blueprint("i18n", __name__)


def init_app(app: Flask) -> None:
    """Babel with our selector, the switcher, and the headers pages need."""
    babel.init_app(app, locale_selector=selected_locale)
    app.extensions["languages"] = loadable_languages(app)
    # Flask-Babel's template callables find the catalog anew for every string;
    # a page has dozens, so ours take the one its render looked up once.
    app.jinja_env.install_gettext_callables(
        gettext=page_gettext,
        ngettext=page_ngettext,
        newstyle=True,
    )
    app.register_blueprint(bp)
    app.context_processor(template_context)
    app.add_template_filter(ago)
    # Whitespace inside {% trans %} blocks is collapsed, so msgids stay one line.
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    app.after_request(vary_on_language)


def template_context() -> dict:
    """What every template needs to speak the reader's language."""
    return {
        "html_lang": html_lang(),
        "current_locale": current_locale(),
        "languages": served_languages(),
        "catalog": get_translations(),
    }


def render_catalog(context) -> Translations:
    """The catalog a render looked up; macros imported without context look anew."""
    return context.get("catalog") or get_translations()


@pass_context
def page_gettext(context, string: str) -> str:
    """A template's _(): the string in the page's language."""
    return render_catalog(context).ugettext(string)


@pass_context
def page_ngettext(context, singular: str, plural: str, num: int) -> str:
    """A template's ngettext(): the form for num in the page's language."""
    return render_catalog(context).ungettext(singular, plural, num)


# Babel's units for relative times, largest first, and its rounding threshold.
TIME_UNITS = (
    365 * 86400,  # year
    30 * 86400,  # month
    7 * 86400,  # week
    86400,  # day
    3600,  # hour
    60,  # minute
    1,  # second
)
THRESHOLD = 0.85


@pass_context
def ago(context, moment: datetime) -> str:
    """How long ago moment was, in the page's words ("3 hours ago", "3 小時前")."""
    # The page's locale, looked up once per render rather than per post.
    locale = context.get("current_locale") or current_locale()
    return time_ago(moment, locale, utcnow())


def time_ago(moment: datetime, locale: str, now: datetime) -> str:
    """How long before now moment was, in locale's words.

    Rounded to the unit Babel would say, so each distinct phrase is formatted
    once per process: a page of posts would otherwise format every one of them.
    """
    seconds = max(0.0, (now - moment).total_seconds())
    for unit in TIME_UNITS:
        if seconds / unit >= THRESHOLD or unit == 1:
            return spoken_ago(max(1, round(seconds / unit)) * unit, locale)
    raise AssertionError("unreachable: the last unit always matches")


@lru_cache(maxsize=2048)
def spoken_ago(seconds: int, locale: str) -> str:
    """Babel's phrase for seconds ago in locale."""
    # threshold=1 keeps Babel on the unit ago() rounded to.
    return format_timedelta(
        timedelta(seconds=-seconds), threshold=1, add_direction=True, locale=locale
    )


def loadable_languages(app: Flask) -> dict[str, str]:
    """The languages whose compiled catalog loads: all of them, outside debug and tests.

    Without its catalog a language would be English text under its own name;
    debug and tests carry on in English, saying why, and stop offering it.
    """
    languages = {}
    for name, label in LANGUAGES.items():
        problem = None if name == DEFAULT_LOCALE else catalog_problem(app, name)
        if problem is None:
            languages[name] = label
            continue
        message = (
            f"The {label} ({name}) catalog cannot be loaded: {problem}. "
            "Run: pybabel compile -d app/translations"
        )
        if not (app.debug or app.testing):
            raise RuntimeError(message)
        app.logger.warning("%s. Until then pages are in English only.", message)
    return languages


def catalog_problem(app: Flask, name: str) -> str | None:
    """Why name's messages.mo cannot be read in any translation folder, or None."""
    folders = app.extensions["babel"].translation_directories
    paths = [os.path.join(f, name, "LC_MESSAGES", "messages.mo") for f in folders]
    found = [path for path in paths if os.path.exists(path)]
    if not found:
        return f"{' or '.join(paths)} is missing"
    for path in found:
        try:
            with open(path, "rb") as file:
                read_mo(file)
        except (OSError, ValueError, IndexError, struct.error) as error:
            return f"{path} is unreadable ({error})"
    return None


def served_languages() -> dict[str, str]:
    """The languages this app serves, each by its own name."""
    return current_app.extensions["languages"]


def supported(name: str | None) -> str | None:
    """The locale this app serves for name, or None."""
    return name if name in served_languages() else None


def from_accept_language() -> str | None:
    """The first language the browser asks for that we serve."""
    served = served_languages()
    for name in languages_asked(request.headers.get("Accept-Language", "")):
        if name in served:
            return name
    return None


@lru_cache(maxsize=512)
def languages_asked(header: str) -> tuple[str, ...]:
    """Accept-Language's languages that we ship, in the browser's order.

    Browsers send few distinct headers, so cached per header value.
    """
    asked = []
    for tag, quality in request.accept_languages:
        if quality <= 0:  # q=0 means "not this language"
            continue
        try:
            language = Locale.parse(tag, sep="-").language
        except (ValueError, UnknownLocaleError):
            continue
        # zh-TW, zh-Hant, zh-HK and plain zh all read our Traditional Chinese.
        name = {"zh": "zh_Hant_TW", "en": "en"}.get(language)
        if name and name not in asked:
            asked.append(name)
    return tuple(asked)


def select_locale() -> str:
    """The account's choice, then the switcher's cookie, the browser's, English."""
    if not has_request_context():
        return DEFAULT_LOCALE
    if not g.get("database_unavailable") and current_user.is_authenticated:
        chosen = supported(current_user.locale)
        if chosen:
            return chosen
    return (
        supported(request.cookies.get(LOCALE_COOKIE))
        or from_accept_language()
        or DEFAULT_LOCALE
    )


def selected_locale() -> Locale:
    """The Locale select_locale() names, for Flask-Babel."""
    return LOCALES[select_locale()]


def current_locale() -> str:
    """The selected locale's name, as LANGUAGES spells it."""
    locale = get_locale()
    if locale is None:
        return DEFAULT_LOCALE
    # Babel spells a name anew each time; a forced locale (a sender's) may be any.
    return LOCALE_NAMES.get(locale) or str(locale)


def html_lang() -> str:
    """The BCP 47 tag for <html lang>: en, or zh-Hant-TW."""
    return current_locale().replace("_", "-")


def vary_on_language(response):
    """Caches must keep pages apart by language: it comes from these headers."""
    if response.mimetype == "text/html":
        if "Vary" in response.headers:
            response.vary.update(("Accept-Language", "Cookie"))
        else:
            response.headers["Vary"] = "Accept-Language, Cookie"
    return response


def remember_locale(response, locale: str | None):
    """Set the locale cookie on response (when there is a locale); return it."""
    if locale:
        response.set_cookie(
            LOCALE_COOKIE,
            locale,
            max_age=COOKIE_SECONDS,
            secure=current_app.config["SESSION_COOKIE_SECURE"],
            httponly=True,
            samesite="Lax",
        )
    return response


@bp.post("/language")
def choose_language():
    """The switcher: remember the choice (on the account too), then go back.

    CSRFProtect has checked the form's token before this runs.
    """
    chosen = supported(request.form.get("locale"))
    back = safe_next_url(request.form.get("next")) or url_for("main.index")
    response = redirect(back)
    if chosen:
        remember_locale(response, chosen)
        if current_user.is_authenticated:
            current_user.locale = chosen
            db.session.commit()
    return response
