// Passkeys (WebAuthn): the browser's half. Everything else is server-rendered;
// without JavaScript or WebAuthn the passkey buttons stay hidden.
"use strict";

(function () {
  if (!window.PublicKeyCredential || !navigator.credentials) {
    return;
  }

  function toBytes(text) {
    const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
    return Uint8Array.from(atob(padded), (char) => char.charCodeAt(0));
  }

  function toText(buffer) {
    const bytes = new Uint8Array(buffer);
    let binary = "";
    bytes.forEach((byte) => {
      binary += String.fromCharCode(byte);
    });
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function csrfToken() {
    const input = document.querySelector('input[name="csrf_token"]');
    return input ? input.value : "";
  }

  // A failed call carries the server's words, shown as they are.
  class Refused extends Error {}

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(body || {}),
    });
    let answer;
    try {
      answer = await response.json();
    } catch (error) {
      throw new Error("not JSON");
    }
    if (!response.ok) {
      throw new Refused(answer.error || "");
    }
    return answer;
  }

  function descriptors(list) {
    return (list || []).map((item) => ({ ...item, id: toBytes(item.id) }));
  }

  function shown(box, error) {
    const place = box.querySelector("[data-passkey-error]");
    if (error instanceof Refused && error.message) {
      place.textContent = error.message;
    } else if (error && (error.name === "NotAllowedError" || error.name === "AbortError")) {
      place.textContent = box.dataset.cancelled;
    } else if (error && error.name === "InvalidStateError" && box.dataset.exists) {
      place.textContent = box.dataset.exists;
    } else {
      place.textContent = box.dataset.failed;
    }
  }

  async function signIn(box) {
    const options = await post(box.dataset.optionsUrl);
    const credential = await navigator.credentials.get({
      publicKey: {
        ...options,
        challenge: toBytes(options.challenge),
        allowCredentials: descriptors(options.allowCredentials),
      },
    });
    const reply = credential.response;
    const next = new URLSearchParams(window.location.search).get("next");
    const url = box.dataset.verifyUrl + (next ? "?next=" + encodeURIComponent(next) : "");
    return post(url, {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      response: {
        clientDataJSON: toText(reply.clientDataJSON),
        authenticatorData: toText(reply.authenticatorData),
        signature: toText(reply.signature),
        userHandle: reply.userHandle ? toText(reply.userHandle) : null,
      },
      clientExtensionResults: credential.getClientExtensionResults(),
    });
  }

  async function register(box) {
    const nameInput = document.getElementById(box.dataset.nameField);
    const options = await post(box.dataset.optionsUrl);
    const credential = await navigator.credentials.create({
      publicKey: {
        ...options,
        challenge: toBytes(options.challenge),
        user: { ...options.user, id: toBytes(options.user.id) },
        excludeCredentials: descriptors(options.excludeCredentials),
      },
    });
    const reply = credential.response;
    return post(box.dataset.verifyUrl, {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      name: nameInput ? nameInput.value : "",
      response: {
        clientDataJSON: toText(reply.clientDataJSON),
        attestationObject: toText(reply.attestationObject),
        transports: reply.getTransports ? reply.getTransports() : [],
      },
      clientExtensionResults: credential.getClientExtensionResults(),
    });
  }

  function wire(selector, ceremony) {
    document.querySelectorAll(selector).forEach((box) => {
      const button = box.querySelector("button");
      box.hidden = false;
      button.addEventListener("click", async () => {
        box.querySelector("[data-passkey-error]").textContent = "";
        button.disabled = true;
        try {
          const answer = await ceremony(box);
          window.location.assign(answer.redirect);
        } catch (error) {
          shown(box, error);
          button.disabled = false;
        }
      });
    });
  }

  document.querySelectorAll("[data-passkey-unsupported]").forEach((note) => {
    note.hidden = true;
  });
  wire("[data-passkey-sign-in]", signIn);
  wire("[data-passkey-register]", register);
})();
