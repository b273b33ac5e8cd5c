"""The interface's languages: which one a request is served in, and what a template needs to say
so (``lang``, ``dir``, the language switcher).

Strings are marked where they are written, with Flask-Babel's functions imported under their
usual names::

    from flask_babel import gettext as _, lazy_gettext as _l, ngettext, pgettext

``_l`` where the string is made at import time (form labels, module constants), ``_`` inside a
request or a job. Templates use ``{{ _("…") }}``, ``{{ ngettext(…) }}`` and ``{% trans %}``.
``make catalogues`` extracts them to ``consult/translations/messages.pot``, updates each
language's ``.po`` and compiles the ``.mo`` files the package ships.

The language of a request, first that applies: the language the person chose (their account's
setting, or the switcher's cookie when signed out), the best match of the browser's
``Accept-Language``, the site's default (its settings page), the ``DEFAULT_LANGUAGE`` setting.
Other packages give what core cannot know through app extensions, as for the time zone:
``consult.person_language`` (the signed-in person's choice) and ``consult.default_language``.
"""

from __future__ import annotations

from functools import lru_cache

from babel import Locale
from flask import Flask, current_app, has_request_context, request
from flask_babel import Babel, get_locale, refresh
from markupsafe import Markup

#: The interface's languages, each named in itself (as the switcher shows it).
LANGUAGES: dict[str, str] = {"en": "English", "fr": "Français", "es": "Español", "ar": "العربية"}
#: Languages written right to left: the page gets ``dir="rtl"``.
RIGHT_TO_LEFT = frozenset({"ar", "fa", "he", "ur"})
#: The cookie the switcher sets for someone signed out (a year; no tracking, just the choice).
COOKIE = "consult_lang"
COOKIE_MAX_AGE = 365 * 24 * 3600
#: Babel's locale for dates and numbers where the bare language would pick a regional habit we
#: do not want: English dates as "6 December 2026", not the US "December 6, 2026".
FORMAT_LOCALES = {"en": "en_GB"}


def supported(code: str | None) -> str | None:
    """``code`` if it is one of the interface's languages (case and region ignored), else None."""
    if not code:
        return None
    base = code.replace("_", "-").split("-")[0].lower()
    return base if base in LANGUAGES else None


def _extension(name: str) -> str | None:
    provider = current_app.extensions.get(name)
    return provider() if provider is not None else None


def select_language() -> str:
    """The language this request is served in (see the module's docstring for the order)."""
    default = supported(current_app.config.get("DEFAULT_LANGUAGE")) or "en"
    if not has_request_context():
        return supported(_extension("consult.default_language")) or default
    chosen = supported(_extension("consult.person_language")) or supported(request.cookies.get(COOKIE))
    if chosen:
        return chosen
    best = request.accept_languages.best_match(list(LANGUAGES))
    if best:
        return best
    return supported(_extension("consult.default_language")) or default


def current_language() -> str:
    """The code of the language the interface speaks now ("en", "fr", "ar"…)."""
    locale = get_locale()
    return locale.language if locale is not None else "en"


def text_direction(language: str | None = None) -> str:
    """``rtl`` or ``ltr``, for a ``dir`` attribute."""
    return "rtl" if (language or current_language()) in RIGHT_TO_LEFT else "ltr"


def format_locale(language: str | None = None) -> Locale:
    """The Babel locale dates and numbers are written in for ``language`` (default: the
    interface's)."""
    return _locale(language or current_language())


@lru_cache(maxsize=64)
def _locale(language: str) -> Locale:
    # Parsed once per language and process: a page formats a date or a number per line it shows.
    return Locale.parse(FORMAT_LOCALES.get(language, language))


def language_name(code: str) -> str:
    """A language's name in itself ("Français"), for a switcher or a "written in" note; a code
    we have no interface for is named by Babel, or shown as it is."""
    if code in LANGUAGES:
        return LANGUAGES[code]
    try:
        return Locale.parse(code).get_display_name(code) or code
    except (ValueError, TypeError, LookupError):
        return code


def language_name_in_interface(code: str) -> str:
    """A language's name in the interface's language ("French" to an English reader, "francés"
    to a Spanish one), for a sentence such as "Made on the text in French"."""
    try:
        return format_locale().languages.get(code) or language_name(code)
    except (ValueError, TypeError, LookupError):
        return language_name(code)


def content_language(code: str | None) -> Markup:
    """`` lang="xx" dir="…"`` for an element holding content written in ``code`` when that is
    not the interface's language (screen readers then read it with the right voice, and a right
    to left page keeps a left to right text in its order); nothing when they are the same."""
    if not code or code == current_language():
        return Markup("")
    return Markup(' lang="{}" dir="{}"').format(code, text_direction(code))


def init_app(app: Flask) -> None:
    app.config.setdefault("DEFAULT_LANGUAGE", "en")
    if not supported(app.config["DEFAULT_LANGUAGE"]):
        raise RuntimeError(f"DEFAULT_LANGUAGE {app.config['DEFAULT_LANGUAGE']!r}: give one of {', '.join(LANGUAGES)}.")
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", "translations")
    Babel(app, locale_selector=select_language)
    app.jinja_env.globals.update(
        current_language=current_language,
        text_direction=text_direction,
        language_name=language_name,
        language_name_in_interface=language_name_in_interface,
        content_language=content_language,
        interface_languages=LANGUAGES,
    )

    # Flask-Babel keeps the language on the app context, which a request shares with an app
    # context already pushed (a script's, a test's): each request chooses afresh.
    app.before_request(refresh)

    @app.after_request
    def vary_on_language(response):
        # The same address answers in the browser's language: caches must keep them apart.
        if request.endpoint != "static":
            response.vary.add("Accept-Language")
        return response
