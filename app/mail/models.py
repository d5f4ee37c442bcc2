"""The outbox: one row per message to send, and the record of how it went."""

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from app import db
from app.models import Timestamp, User, utcnow


class OutboxMessage(db.Model):
    """An email waiting to be delivered (or the record that it was)."""

    __tablename__ = "outbox"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    # "email": a rendered message; any other kind is rendered at delivery
    # (app.mail.compose.BUILDERS), so no live link is ever stored: "password_reset"
    # for whichever active account the address matches, so requests cost the
    # same; the account mails for user_id.
    kind: so.Mapped[str] = so.mapped_column(sa.String(32), default="email")
    recipients: so.Mapped[str | None] = so.mapped_column(sa.String(1024))
    subject: so.Mapped[str | None] = so.mapped_column(sa.String(256))
    text_body: so.Mapped[str | None] = so.mapped_column(sa.Text)
    html_body: so.Mapped[str | None] = so.mapped_column(sa.Text)
    status: so.Mapped[str] = so.mapped_column(
        sa.String(16), default="pending", index=True
    )
    attempts: so.Mapped[int] = so.mapped_column(default=0)
    last_error: so.Mapped[str | None] = so.mapped_column(sa.String(512))
    created_at: so.Mapped[datetime] = so.mapped_column(Timestamp(), default=utcnow)
    next_attempt_at: so.Mapped[datetime] = so.mapped_column(
        Timestamp(), default=utcnow, index=True
    )
    locked_until: so.Mapped[datetime | None] = so.mapped_column(Timestamp())
    expires_at: so.Mapped[datetime | None] = so.mapped_column(Timestamp())
    sent_at: so.Mapped[datetime | None] = so.mapped_column(Timestamp())
    # For mail rendered at delivery: whose account it is about, and what the
    # message needs to say (when and from where a change was made).
    user_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey(User.id, ondelete="CASCADE")
    )
    details: so.Mapped[dict | None] = so.mapped_column(sa.JSON)
    # The language of the request that queued it, for mail to an address that
    # has no account to take the language from.
    locale: so.Mapped[str | None] = so.mapped_column(sa.String(16))

    def __repr__(self) -> str:
        return f"<OutboxMessage {self.id} {self.kind} {self.status}>"
