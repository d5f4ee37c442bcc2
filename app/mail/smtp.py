"""Talking to the mail server: one reused connection, the envelope, the bytes sent."""

import smtplib
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

import idna
from flask import current_app
from flask_mail import Message, email_dispatched

from app.mail import devmail


class PermanentFailure(Exception):
    """The mail server refused the message for good (a 5xx answer)."""


class Unreachable(Exception):
    """No conversation with the mail server: connecting, TLS or login failed."""


class Mailer:
    """One SMTP connection, opened when first needed and reused until closed.

    Prints messages instead when no MAIL_SERVER is configured.
    """

    def __init__(self):
        self.config = current_app.config
        self.smtp: smtplib.SMTP | None = None

    def __enter__(self) -> "Mailer":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def connect(self) -> smtplib.SMTP:
        """Open and greet the SMTP server, with a timeout on every step."""
        config = self.config
        smtp_class = smtplib.SMTP_SSL if config["MAIL_USE_SSL"] else smtplib.SMTP
        smtp = smtp_class(
            config["MAIL_SERVER"], config["MAIL_PORT"], timeout=config["MAIL_TIMEOUT"]
        )
        if config["MAIL_USE_TLS"]:
            smtp.starttls()
        if config["MAIL_USERNAME"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        return smtp

    def send(self, message: Message) -> None:
        """Hand message over; 5xx answers raise PermanentFailure."""
        if not self.config["MAIL_SERVER"]:
            print(console_copy(message), flush=True)
            devmail.keep(message)
        else:
            self.transmit(message)
        email_dispatched.send(message, app=current_app._get_current_object())

    def transmit(self, message: Message) -> None:
        """Send over the open connection, dropping it if it breaks."""
        if self.smtp is None:
            try:
                self.smtp = self.connect()
            except (OSError, smtplib.SMTPException) as error:
                raise Unreachable(error) from error
        try:
            self.smtp.ehlo_or_helo_if_needed()
            sender, recipients, smtputf8 = envelope(message, self.smtp)
            options = ["SMTPUTF8"] if smtputf8 else []
            self.smtp.sendmail(
                sender, recipients, wire_bytes(message, smtputf8), options
            )
        except PermanentFailure:
            raise
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            if all(code >= 500 for code in codes):
                raise PermanentFailure(f"recipients refused: {codes}") from error
            raise
        except smtplib.SMTPResponseException as error:
            if error.smtp_code >= 500:
                reason = f"{error.smtp_code} {error.smtp_error!r}"
                raise PermanentFailure(reason) from error
            if error.smtp_code == 421:  # the server is closing the connection
                self.close()
            raise
        except Exception:
            # Broken, or left mid-transaction: the next message starts afresh.
            self.close()
            raise

    def close(self) -> None:
        """Say goodbye to the server, if connected; never raise."""
        if self.smtp is not None:
            smtp, self.smtp = self.smtp, None
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()


def envelope(message: Message, smtp: smtplib.SMTP) -> tuple[str, list[str], bool]:
    """Sender, recipients and whether SMTPUTF8 is needed; domains IDNA-encoded.

    The addresses are rewritten in message too, so its headers match the
    envelope. A local part beyond ASCII needs SMTPUTF8; a server without it
    can never take the message (PermanentFailure), so it is not retried.
    """
    name, sender = parseaddr(message.sender)
    sender = ascii_domain(sender)
    message.sender = str(Address(name, addr_spec=sender)) if name else sender
    message.recipients = [ascii_domain(address) for address in message.recipients]
    recipients = [ascii_domain(address) for address in message.send_to]
    wide = [address for address in (sender, *recipients) if not address.isascii()]
    if wide and not smtp.has_extn("smtputf8"):
        raise PermanentFailure(
            f"{', '.join(wide)}: letters beyond ASCII before the @, and the mail "
            "server does not offer SMTPUTF8"
        )
    return sender, recipients, bool(wide)


def ascii_domain(address: str) -> str:
    """address with its domain in IDNA (josé@bücher.example: josé@xn--bcher-kva...)."""
    local, at, domain = address.rpartition("@")
    if not at or domain.isascii():
        return address
    try:
        domain = idna.encode(domain, uts46=True).decode("ascii")
    except idna.IDNAError as error:
        raise PermanentFailure(f"{address}: not a valid domain ({error})") from error
    return f"{local}@{domain}"


def wire_bytes(message: Message, smtputf8: bool) -> bytes:
    """message as the server gets it: headers in UTF-8 under SMTPUTF8, else ASCII.

    Flask-Mail's own serialiser can't write a local part beyond ASCII at all.
    """
    mime = EmailMessage(policy=policy.SMTPUTF8 if smtputf8 else policy.SMTP)
    if message.subject:
        mime["Subject"] = str(message.subject)
    mime["From"] = message.sender
    mime["To"] = ", ".join(message.recipients)
    mime["Date"] = formatdate(message.date, localtime=True)
    mime["Message-ID"] = message.msgId
    mime.set_content(message.body or "")
    if message.html:
        mime.add_alternative(message.html, subtype="html")
    return mime.as_bytes()


def console_copy(message: Message) -> str:
    """A readable copy of message for the terminal, when no server is set."""
    return (
        "\n----- mail (no MAIL_SERVER set, so printed here) -----\n"
        f"From: {message.sender}\nTo: {', '.join(message.send_to)}\n"
        f"Subject: {message.subject}\n\n{message.body}\n"
        "----- end of mail -----\n"
    )
