"""Validators shared by every form."""

from __future__ import annotations

from wtforms.validators import ValidationError

REPLACEMENT_CHARACTER = "\ufffd"


def readable_text(form, field) -> None:
    """Refuse text we could not store faithfully, saying so beside the field."""
    value = field.data or ""
    if "\x00" in value:
        raise ValidationError(
            "This contains a NUL character, which can't be stored. Please remove it and try again."
        )
    if REPLACEMENT_CHARACTER in value:
        raise ValidationError(
            "Part of this text could not be read (it was not valid UTF-8). "
            "Please check it, retype any odd characters and try again."
        )


def show_service_error(form, error) -> None:
    """Put a service's refusal beside the field it names, or at the top of the form."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        form.form_errors.append(error.message)
