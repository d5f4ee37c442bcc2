"""Operator commands: `flask mail ...` and `flask user ...`."""

import logging
import signal

import click
import sqlalchemy as sa
from flask import Blueprint, current_app, render_template
from flask.cli import AppGroup, with_appcontext

from app import db
from app.account.leaving import delete_everything
from app.auth.email import device_words, send_password_reset_email, send_security_notice
from app.database import UNAVAILABLE, reason
from app.mail.compose import send_email
from app.mail.models import OutboxMessage
from app.mail.outbox import deliver_due, retry_failed, run_forever, stop_senders
from app.models import User, normalize_email, utcnow
from app.models.passkeys import passkeys_of
from app.models.sessions import end_sessions, sessions_of

bp = Blueprint("cli", __name__, cli_group=None)
audit = logging.getLogger("app.audit")


class NeedsDatabase(AppGroup):
    """Commands that need the migrated database; their help does not."""

    def resolve_command(self, ctx, args):
        """The subcommand, noting whether it was only asked for its help."""
        ctx.meta["help only"] = any(arg in ctx.help_option_names for arg in args)
        return super().resolve_command(ctx, args)


def stop_unless_migrated() -> None:
    """A command on an unmigrated or unreachable database: one line, no traceback."""
    if click.get_current_context().meta.get("help only"):
        return
    try:
        behind = current_app.extensions["schema"].problem(fresh=True)
    except UNAVAILABLE as error:
        raise click.ClickException(f"Database unavailable: {reason(error)}") from None
    if behind:
        raise click.ClickException(behind)


@bp.cli.group(cls=NeedsDatabase)
@click.pass_context
@with_appcontext
def mail(context):
    """Inspect and deliver the mail outbox."""
    # The worker waits for the schema itself, saying so once, rather than exiting.
    if context.invoked_subcommand != "worker":
        stop_unless_migrated()


@mail.command()
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
def worker(once):
    """Deliver queued mail until stopped (run on as many hosts as you like)."""
    if once:
        stop_unless_migrated()
        click.echo(f"Handled {deliver_due()} message(s).")
        return
    click.echo("Delivering mail; Ctrl+C or SIGTERM to stop.")
    # systemd and deploys stop with SIGTERM: finish the message in hand first.
    previous = signal.signal(signal.SIGTERM, lambda *_: stop_senders())
    try:
        run_forever(current_app._get_current_object())
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
    click.echo("Stopped.")


@mail.command()
def status():
    """Show queue depth, the oldest waiting message and recent failures."""
    counts = dict(
        db.session.execute(
            sa.select(OutboxMessage.status, sa.func.count()).group_by(
                OutboxMessage.status
            )
        ).all()
    )
    for state in ("pending", "sent", "failed", "dropped", "expired"):
        click.echo(f"{state:>8}: {counts.get(state, 0)}")
    oldest = db.session.scalar(
        sa.select(sa.func.min(OutboxMessage.created_at)).where(
            OutboxMessage.status == "pending"
        )
    )
    click.echo(f"oldest pending: {oldest or '-'}")
    failures = db.session.scalars(
        sa.select(OutboxMessage)
        .where(OutboxMessage.last_error.is_not(None))
        .order_by(OutboxMessage.id.desc())
        .limit(5)
    )
    for row in failures:
        click.echo(
            f"#{row.id} {row.status} after {row.attempts} tries: {row.last_error}"
        )


@mail.command()
def retry():
    """Send failed and backing-off messages again, now."""
    click.echo(f"Requeued {retry_failed()} message(s).")


@mail.command("send-test")
@click.argument("address")
def send_test(address):
    """Queue a test message to ADDRESS and try to deliver it."""
    send_email(
        "[Microblog] Test message",
        [address],
        render_template("email/test.txt", sent_at=utcnow()),
        render_template("email/test.html", sent_at=utcnow()),
    )
    db.session.commit()
    deliver_due()
    click.echo(f"Queued a test message to {address}; see `flask mail status`.")


@bp.cli.group(cls=NeedsDatabase)
@with_appcontext
def user():
    """Manage user accounts."""
    stop_unless_migrated()


@user.command("send-reset")
@click.argument("email")
def send_reset(email):
    """Send a password reset link to the account with address EMAIL."""
    account = db.session.scalar(
        sa.select(User).where(User.email_key == normalize_email(email), User.active)
    )
    if account is None:
        raise click.ClickException(f"No active account has the address {email}.")
    send_password_reset_email(account)
    db.session.commit()
    deliver_due()
    click.echo(f"Queued a reset link for {account.username} <{account.email}>.")


@user.command("two-factor-off")
@click.argument("username")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def two_factor_off(username, yes):
    """Turn off USERNAME's second factor (lost phone and lost recovery codes)."""
    account = account_named(username)
    if not account.two_factor_enabled:
        raise click.ClickException(f"{account.username} has no second factor on.")
    click.echo(
        f"{account.username} <{account.email}> will sign in with the password "
        "alone. Do this only once you know it is the owner asking."
    )
    if not yes:
        click.confirm("Turn their second factor off?", abort=True)
    account.disable_two_factor()
    send_security_notice(account, "two_factor_off_by_operator", None, None)
    db.session.commit()
    deliver_due()
    audit.warning("two_factor_disabled_by_operator user_id=%s", account.id)
    click.echo(f"Two-factor sign-in is off for {account.username}; they were told.")


@user.command("passkeys")
@click.argument("username")
@click.option(
    "--remove", "remove_id", type=int, help="Remove the passkey with this ID."
)
def passkeys(username, remove_id):
    """List USERNAME's passkeys, or remove one of them (--remove ID)."""
    account = account_named(username)
    keys = passkeys_of(account.id)
    if remove_id is not None:
        doomed = next((key for key in keys if key.id == remove_id), None)
        if doomed is None:
            raise click.ClickException(
                f"{account.username} has no passkey {remove_id}."
            )
        db.session.delete(doomed)
        send_security_notice(account, "passkey_removed", None, None, name=doomed.name)
        db.session.commit()
        deliver_due()
        audit.warning(
            "passkey_removed_by_operator user_id=%s passkey_id=%s",
            account.id,
            remove_id,
        )
        click.echo(f"Removed passkey {remove_id} ({doomed.name}); they were told.")
        return
    if not keys:
        click.echo(f"{account.username} has no passkeys.")
    for key in keys:
        used = (
            key.last_used_at.isoformat(timespec="minutes") if key.last_used_at else "-"
        )
        added = f"{key.created_at:%Y-%m-%d}"
        click.echo(f"{key.id:>6}  {key.name}  added {added}  last used {used}")


def account_named(username: str) -> User:
    """The account called username (in any case), or a one-line error."""
    account = User.by_username(username)
    if account is None:
        raise click.ClickException(f"No account is called {username}.")
    return account


@user.command("sessions")
@click.argument("username")
def sessions(username):
    """List where USERNAME is signed in (and recently was), newest first."""
    account = account_named(username)
    records = sessions_of(account.id)
    if not records:
        click.echo(f"{account.username} has no sessions.")
    for record in records:
        state = "open" if record.open else "ended"
        words = device_words(record.browser, record.system)
        click.echo(
            f"{record.id:>6}  {state:<5}  {words}  {record.ip}  {record.method}  "
            f"started {record.started_at:%Y-%m-%d %H:%M}  "
            f"seen {record.last_seen_at:%Y-%m-%d %H:%M}"
        )


@user.command("sign-out-everywhere")
@click.argument("username")
def sign_out_everywhere(username):
    """End every session of USERNAME, remember-me cookies included."""
    account = account_named(username)
    ended = end_sessions(account.id)
    db.session.commit()
    audit.warning("sessions_ended_by_operator user_id=%s count=%s", account.id, ended)
    click.echo(f"Signed {account.username} out of {ended} session(s).")


@user.command("delete")
@click.argument("username")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def delete(username, yes):
    """Delete USERNAME's account and everything in it, for good."""
    account = account_named(username)
    click.echo(
        f"{account.username} <{account.email}>: the account, its posts, follows, "
        "sessions, codes, passkeys and queued mail are deleted for good."
    )
    if not yes:
        click.confirm("Delete it?", abort=True)
    name = account.username
    delete_everything(account, "flask user delete")
    deliver_due()
    click.echo(f"Deleted {name}; a goodbye went to the address.")
