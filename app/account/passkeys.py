"""An account's passkeys: adding one (WebAuthn registration), naming, removing."""

import logging

from flask import abort, flash, jsonify, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from webauthn import (
    base64url_to_bytes,
    generate_registration_options,
    verify_registration_response,
)
from webauthn.helpers import bytes_to_base64url
from webauthn.helpers.exceptions import InvalidRegistrationResponse
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from app import db, limiter
from app.account.forms import PasskeyNameForm
from app.account.routes import bp
from app.auth.email import send_security_notice
from app.auth.passkeys import (
    credential_from_request,
    give_challenge,
    json_options,
    refused,
    take_challenge,
)
from app.auth.sign_in import recent_sign_in_required, signed_in_recently
from app.forms import EmptyForm
from app.models import Passkey, PasskeyChallenge
from app.models.passkeys import (
    CHALLENGE_SECONDS,
    passkeys_of,
    relying_party,
    user_handle,
)
from app.models.two_factor import ISSUER
from app.request_helpers import browser_name, client_ip

audit = logging.getLogger("app.audit")


@bp.get("/passkeys")
@login_required
def passkeys():
    """The account's passkeys, each with its name, when added and last used."""
    listed = passkeys_of(current_user.id)
    return render_template(
        "account/passkeys.html",
        title=_("Passkeys"),
        passkeys=listed,
        forms={
            key.id: PasskeyNameForm(prefix=f"p{key.id}", name=key.name)
            for key in listed
        },
        form=EmptyForm(),
    )


@bp.route("/passkeys/add", methods=["GET", "POST"])
@login_required
@recent_sign_in_required
def add_passkey():
    """The page whose button asks the browser to make a passkey."""
    return render_template(
        "account/add_passkey.html",
        title=_("Add a passkey"),
        form=PasskeyNameForm(
            name=_("Passkey %(num)s", num=len(passkeys_of(current_user.id)) + 1)
        ),
    )


@bp.post("/passkeys/options")
@login_required
@limiter.limit("30/hour")
def passkey_options():
    """Registration options: a discoverable credential, user verification required."""
    if not signed_in_recently():
        return refused(_("Please confirm it's you first: reload this page."), 403)
    user = current_user._get_current_object()
    rp_id, _origin = relying_party()
    options = generate_registration_options(
        rp_id=rp_id,
        rp_name=ISSUER,
        user_name=user.username,
        user_id=user_handle(user),
        user_display_name=user.username,
        challenge=give_challenge("register", user.id),
        timeout=CHALLENGE_SECONDS * 1000,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=[
            PublicKeyCredentialDescriptor(id=base64url_to_bytes(key.credential_id))
            for key in passkeys_of(user.id)
        ],
    )
    return json_options(options)


@bp.post("/passkeys/register")
@login_required
@limiter.limit("30/hour")
def register_passkey():
    """Check the new credential and keep it under the name given."""
    user = current_user._get_current_object()
    credential = credential_from_request()
    challenge = take_challenge()
    if credential is None:
        return refused(_("The browser sent no passkey. Please try again."))
    if not signed_in_recently():
        return refused(_("Please confirm it's you first: reload this page."), 403)
    if not PasskeyChallenge.spend(challenge, "register", user.id):
        return refused(_("That took too long, or was already used. Please try again."))
    form = PasskeyNameForm(
        data={"name": credential.get("name") or ""}, meta={"csrf": False}
    )
    if not form.validate():
        return refused(" ".join(form.name.errors))
    rp_id, origin = relying_party()
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp_id,
            expected_origin=origin,
            require_user_verification=True,
        )
    except InvalidRegistrationResponse:
        audit.warning("passkey_registration_refused user_id=%s", user.id)
        return refused(_("The new passkey could not be verified. Please try again."))
    credential_id = bytes_to_base64url(verified.credential_id)
    if Passkey.by_credential(credential_id) is not None:
        return refused(_("This passkey is registered already."))
    passkey = Passkey(
        user_id=user.id,
        credential_id=credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        name=form.name.data,
    )
    db.session.add(passkey)
    send_security_notice(
        user, "passkey_added", client_ip(), browser_name(), name=passkey.name
    )
    db.session.commit()
    audit.info("passkey_added user_id=%s passkey_id=%s", user.id, passkey.id)
    flash(_("Passkey “%(name)s” added.", name=passkey.name), "success")
    return jsonify(redirect=url_for("account.passkeys"))


def own_passkey(passkey_id: int) -> Passkey:
    """The signed-in account's passkey with this id; 404 for anyone else's."""
    passkey = db.session.get(Passkey, passkey_id)
    if passkey is None or passkey.user_id != current_user.id:
        abort(404)
    return passkey


@bp.post("/passkeys/<int:passkey_id>/rename")
@login_required
def rename_passkey(passkey_id):
    """Give a passkey a name its owner recognises."""
    passkey = own_passkey(passkey_id)
    form = PasskeyNameForm(prefix=f"p{passkey.id}")
    if form.validate_on_submit():
        passkey.name = form.name.data
        db.session.commit()
        flash(_("Passkey renamed to “%(name)s”.", name=passkey.name), "success")
    else:
        flash(" ".join(form.name.errors) or _("Please try again."), "danger")
    return redirect(url_for("account.passkeys"))


@bp.post("/passkeys/<int:passkey_id>/remove")
@login_required
@recent_sign_in_required
def remove_passkey(passkey_id):
    """Remove a passkey; the owner is told by mail."""
    passkey = own_passkey(passkey_id)
    if EmptyForm().validate_on_submit():
        name = passkey.name
        db.session.delete(passkey)
        send_security_notice(
            current_user, "passkey_removed", client_ip(), browser_name(), name=name
        )
        db.session.commit()
        audit.info(
            "passkey_removed user_id=%s passkey_id=%s", current_user.id, passkey_id
        )
        flash(_("Passkey “%(name)s” removed.", name=name), "info")
    return redirect(url_for("account.passkeys"))
