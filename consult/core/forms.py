"""What every blueprint does with a form: show a refused rule on it with what was typed kept, refuse
a form of buttons that makes no sense, and read numbers sent as text."""

from __future__ import annotations

from datetime import UTC
from functools import cache

from babel import support
from flask import abort, current_app
from flask_babel import get_locale
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, Field, StringField
from wtforms.i18n import messages_path

from consult.core.errors import RuleViolation
from consult.core.models import db
from consult.core.params import whole_number

#: The longest section key a form accepts: the column's size (keys made from headings are shorter).
MAX_SECTION_KEY_LENGTH = 80
#: The longest ``next`` address (a path on this site) a form accepts.
MAX_NEXT_LENGTH = 2000

#: ``fallback=WHOLE_FORM``: a refusal about none of the form's fields is said above the form.
WHOLE_FORM = "__form__"


@cache
def _wtforms_translations(locale: str) -> support.Translations:
    return support.Translations.load(messages_path(), [locale], domain="wtforms")


class Form(FlaskForm):
    """The base of the application's forms: Flask-WTF's, with WTForms' own messages ("Not a
    valid choice") in the page's language read from disk once per language and process, where
    Flask-WTF reads and parses the catalogue again on every request that builds a form."""

    class Meta:
        def get_translations(self, form):
            if not current_app.config.get("WTF_I18N_ENABLED", True):
                return None
            return _wtforms_translations(str(get_locale()))


def refused_on(form: FlaskForm, refused: RuleViolation, *, fallback: str | None = None) -> bool:
    """Put a refusal of what was typed (a 400) on the form, to show the form again with what was
    typed: on the field the rule names (``refused.field``), else on ``fallback`` (a field's
    name, or ``WHOLE_FORM``). The transaction is rolled back and True returned. Any other
    refusal (closed meanwhile, not allowed, or about nothing the form shows) gives False: the
    caller re-raises it for the error page.

    Usage::

        except RuleViolation as refused:
            if not refused_on(form, refused, fallback="body"):
                raise
    """
    if refused.status != 400:
        return False
    name = refused.field if refused.field and refused.field in form else fallback
    if name is None:
        return False
    db.session.rollback()
    if name == WHOLE_FORM:
        form.form_errors = [*form.form_errors, refused.message]
    else:
        form[name].errors = [*form[name].errors, refused.message]
    return True


def first_error(form: FlaskForm) -> tuple[str | None, str] | None:
    """The first message of the form's errors, in the order of its fields (the form's own
    errors first), with the name of the field it is about (None for the whole form)."""
    if form.form_errors:
        return None, form.form_errors[0]
    for field in form:
        if field.errors:
            return field.name, field.errors[0]
    return None


def refuse_invalid(form: FlaskForm) -> None:
    """For forms of buttons and hidden fields, which are never shown again: a 400 error page
    saying what is wrong with the first field that is."""
    error = first_error(form)
    if error is not None:
        abort(400, error[1])


class WholeNumberField(StringField):
    """A number sent as text (an id in a hidden field or typed in a box): ASCII digits within
    the database's range (``params.whole_number``), None when empty. ``hash_sign``: "#12" and
    " 12 " are 12 too (people copy numbers as the pages show them). ``required``: empty is
    refused with the same message."""

    def __init__(self, label=None, validators=None, *, message: str, hash_sign: bool = False, required: bool = False, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.message, self.hash_sign, self.required = message, hash_sign, required

    def process_formdata(self, valuelist):
        raw = valuelist[0] if valuelist else ""
        if self.hash_sign:
            raw = raw.strip().lstrip("#")
        self.data = whole_number(raw) if raw else None
        if (raw or self.required) and self.data is None:
            raise ValueError(self.message)

    @property
    def typed(self) -> str:
        """What was sent, as it was sent (to show it again beside the refusal)."""
        return self.raw_data[0] if self.raw_data else ("" if self.data is None else str(self.data))


class WholeNumbersField(Field):
    """Several numbers under one name (ticked boxes): a list of ints, refused as a whole when
    one is not a number."""

    def __init__(self, label=None, validators=None, *, message: str, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.message = message

    def process_data(self, value):
        self.data = list(value or [])

    def process_formdata(self, valuelist):
        numbers = [whole_number(raw) for raw in valuelist]
        self.data = [n for n in numbers if n is not None]
        if None in numbers:
            raise ValueError(self.message)


#: What a browser's date-time input sends: minutes, or seconds.
TIME_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S")


class UTCDateTimeLocalField(DateTimeLocalField):
    """A browser date-time input read as UTC (the label says so), as the consultations' and the
    calls' dates are. Takes minutes, or seconds, as browsers send them."""

    def __init__(self, label=None, validators=None, format=None, **kwargs):
        super().__init__(label, validators, format=format or list(TIME_FORMATS), **kwargs)

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data is not None:
            self.data = self.data.replace(tzinfo=UTC)

    def _value(self):
        if self.raw_data:
            return " ".join(self.raw_data)
        return self.data.astimezone(UTC).strftime("%Y-%m-%dT%H:%M") if self.data else ""
