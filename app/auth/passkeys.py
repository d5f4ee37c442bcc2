"""Signing in with a passkey (WebAuthn): on its own, or in place of a code.

The browser's calls are app/static/passkeys.js; these views answer in JSON.
"""

import logging

from flask import current_app, jsonify, request, session
from flask_babel import gettext as _
from webauthn import (
    base64url_to_bytes,
    generate_authentication_options,
    options_to_json,
    verify_authentication_response,
)
from webauthn.helpers import bytes_to_base64url
from webauthn.helpers.exceptions import InvalidAuthenticationResponse
from webauthn.helpers.structs import UserVerificationRequirement

from app import db, limiter
from app.auth.routes import PENDING_SIGN_IN, bp
from app.auth.sign_in import finish_sign_in
from app.models import Passkey, PasskeyChallenge, PendingSignIn, active_user, utcnow
from app.models.passkeys import CHALLENGE_SECONDS, passkeys_possible, relying_party
from app.request_helpers import client_ip, safe_next_url

audit = logging.getLogger("app.audit")
# The browser's challenge, as base64url (its digest waits in passkey_challenge).
CHALLENGE = "_passkey_challenge"


# The sign-in pages and settings offer passkeys only where browsers allow them.
bp.add_app_template_global(passkeys_possible)


def refused(message: str, status: int = 400):
    """A ceremony's failure, in words the page shows."""
    db.session.commit()  # a spent or stale challenge stays spent
    return jsonify(error=message), status


def json_options(options):
    """py_webauthn's options as the JSON the browser script reads."""
    return current_app.response_class(
        options_to_json(options), mimetype="application/json"
    )


def take_challenge() -> bytes | None:
    """This browser's challenge, removed from its session (used once either way)."""
    value = session.pop(CHALLENGE, None)
    try:
        return base64url_to_bytes(value) if isinstance(value, str) else None
    except ValueError:
        return None


def give_challenge(purpose: str, user_id: int | None = None) -> bytes:
    """A fresh single-use challenge, held by this browser and by the server."""
    challenge = PasskeyChallenge.issue(purpose, user_id)
    db.session.commit()
    session[CHALLENGE] = bytes_to_base64url(challenge)
    return challenge


def credential_from_request() -> dict | None:
    """The credential the script posted, when it is a JSON object."""
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict) or not isinstance(payload.get("id"), str):
        return None
    return payload


@bp.post("/login/passkey/options")
@limiter.limit("60/hour")
def passkey_sign_in_options():
    """A challenge for any passkey of this site (discoverable, nothing typed)."""
    rp_id, _origin = relying_party()
    options = generate_authentication_options(
        rp_id=rp_id,
        challenge=give_challenge("sign-in"),
        timeout=CHALLENGE_SECONDS * 1000,
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    return json_options(options)


@bp.post("/login/passkey")
@limiter.limit("60/hour")
def passkey_sign_in():
    """Check the passkey's answer; sign its owner in, no code asked."""
    credential = credential_from_request()
    challenge = take_challenge()
    if credential is None:
        return refused(_("The browser sent no passkey. Please try again."))
    if not PasskeyChallenge.spend(challenge, "sign-in"):
        return refused(_("That took too long, or was already used. Please try again."))
    passkey = Passkey.by_credential(credential["id"])
    user = active_user(passkey.user_id) if passkey else None
    if user is None:
        audit.warning("passkey_refused reason=unknown ip=%s", client_ip())
        return refused(
            _(
                "This passkey is not registered here: it may have been removed, "
                "or made for another site."
            )
        )
    rp_id, origin = relying_party()
    try:
        verified = verify_authentication_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp_id,
            expected_origin=origin,
            credential_public_key=passkey.public_key,
            credential_current_sign_count=passkey.sign_count,
            require_user_verification=True,
        )
    except InvalidAuthenticationResponse as error:
        if "sign count" in str(error):
            # A counter that goes backwards means a copied authenticator.
            audit.warning(
                "passkey_counter_went_backwards user_id=%s passkey_id=%s ip=%s",
                user.id,
                passkey.id,
                client_ip(),
            )
            return refused(
                _(
                    "This passkey was refused: its counter went backwards, the sign "
                    "of a copied key. Please tell the site's administrators."
                )
            )
        audit.warning("passkey_refused reason=invalid ip=%s", client_ip())
        return refused(
            _("The passkey's answer could not be verified. Please try again.")
        )
    passkey.sign_count = verified.new_sign_count
    passkey.last_used_at = utcnow()
    remember, next_url = False, safe_next_url(request.args.get("next"))
    pending = PendingSignIn.find(session.pop(PENDING_SIGN_IN, None))
    if pending is not None:
        # In place of a code: the first step's choices still hold.
        if pending.user_id == user.id:
            remember, next_url = pending.remember, pending.next_url
        db.session.delete(pending)
    response = finish_sign_in(user, remember, next_url, "passkey")
    db.session.commit()
    audit.info("passkey_sign_in user_id=%s ip=%s", user.id, client_ip())
    answer = jsonify(redirect=response.location)
    for cookie in response.headers.getlist("Set-Cookie"):
        answer.headers.add("Set-Cookie", cookie)
    return answer
