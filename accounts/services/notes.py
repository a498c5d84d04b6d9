"""Staff notes on a player: append-only, each one audited in its own transaction."""

from __future__ import annotations

from django.db import transaction

from accounts import exceptions
from accounts.models import PlayerNote, User

from .audit import audit_log_record

NOTE_MAX_LENGTH = 2000


@transaction.atomic(durable=True)
def player_note_add(*, actor: User, user_id: int, text: str) -> PlayerNote:
    """Add ``actor``'s note on the player ``user_id`` and its ``player_note_add`` audit row.

    Not idempotent (two submits are two notes). Raises ``NoteInvalid`` for an empty or too long
    text, ``UserNotFound`` for an unknown player."""
    text = text.strip()
    if not text or len(text) > NOTE_MAX_LENGTH:
        raise exceptions.NoteInvalid()
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        raise exceptions.UserNotFound()
    note = PlayerNote.objects.create(user=user, author=actor, text=text)
    audit_log_record(
        actor=actor,
        action="player_note_add",
        target_user=user,
        after={"note_id": note.pk, "text": text},
    )
    return note
