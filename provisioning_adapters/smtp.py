"""SMTP adapter: send a provisioning request e-mail (for systems provisioned by hand or by a
mail robot).

Subject and body come from templates; addresses and the subject may not contain CR/LF
(header injection is refused). TLS (STARTTLS or implicit TLS) verifies the server
certificate; plain SMTP only when chosen explicitly. The Message-ID is derived from the
request content, so a retried operation sends a message the receiver can recognise as the
same request.
"""

from __future__ import annotations

import hashlib
import json
import re
import smtplib
import ssl
from dataclasses import replace
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate

from .base import OPERATIONS, Adapter, AdapterError, Field, ServiceSpec, make_environment, render

_CRLF = re.compile(r"[\r\n\x00]")

DEFAULT_SUBJECT = "[{{ realm }}] {{ operation }}: {{ username }}"
DEFAULT_BODY = """Provisioning request

Operation: {{ operation }}
User: {{ username }}
Realm: {{ realm }}
Plan: {{ plan_code }}
Status: {{ status }}
{% for key, value in details.items() %}{{ key }}: {{ value }}
{% endfor %}{% for key, value in resources.items() %}resource {{ key }}: {{ value }}
{% endfor %}{% for key, value in attributes.items() %}attribute {{ key }}: {{ value }}
{% endfor %}"""


def _address(value: str, what: str) -> str:
    if _CRLF.search(value or ""):
        raise AdapterError(f"{what} contains line breaks (header injection refused)")
    value = (value or "").strip()
    try:
        local, domain = value.rsplit("@", 1)
        Address(addr_spec=value)
    except (ValueError, IndexError):
        raise AdapterError(f"{what} is not an e-mail address") from None
    if not local or not domain or " " in value or "," in value or "<" in value:
        raise AdapterError(f"{what} is not a single e-mail address")
    return value


class SmtpAdapter(Adapter):
    name = "smtp"
    label = "E-mail request"
    settings_fields = (
        Field("host", "SMTP host", "text", required=True),
        Field("port", "Port", "int", default=587),
        Field("security", "Security", "select", default="starttls",
              choices=(("starttls", "STARTTLS"), ("tls", "Implicit TLS"),
                       ("none", "None (insecure)"))),
        Field("ca_pem", "Extra CA certificate (PEM)", "textarea", default=""),
        Field("username", "User", "text", default=""),
        Field("password", "Password", "password", default="", secret=True),
        Field("from_address", "From address", "text", required=True),
        Field("to_address", "Send requests to", "text", required=True),
        Field("subject_template", "Subject", "text", default=DEFAULT_SUBJECT),
        Field("body_template", "Body", "textarea", default=DEFAULT_BODY),
        Field("operations", "Operations that send a mail (comma separated, empty: all)",
              "text", default=""),
        Field("timeout", "Timeout (seconds)", "int", default=20),
    )

    def validate(self) -> None:
        s = self.settings
        self.from_address = _address(s["from_address"], "from address")
        self.to_address = _address(s["to_address"], "to address")
        try:
            self.context = ssl.create_default_context(cadata=s["ca_pem"] or None)
        except ssl.SSLError:
            raise AdapterError("setting 'ca_pem' cannot be read") from None
        self.env = make_environment(keep_trailing_newline=True)
        for key in ("subject_template", "body_template"):
            try:
                self.env.parse(s[key])
            except Exception as exc:
                raise AdapterError(f"setting {key!r} is invalid: {exc}") from None
        ops = [o.strip() for o in s["operations"].split(",") if o.strip()]
        unknown = [o for o in ops if o not in OPERATIONS]
        if unknown:
            raise AdapterError(f"setting 'operations' has unknown operations: {', '.join(unknown)}")
        self.operations = set(ops) or set(OPERATIONS)

    def build(self, operation: str, spec: ServiceSpec) -> EmailMessage:
        ctx = spec.context(operation=operation)
        subject = render(self.env, self.settings["subject_template"], ctx, what="subject").strip()
        if _CRLF.search(subject):
            raise AdapterError("the subject contains line breaks (header injection refused)")
        body = render(self.env, self.settings["body_template"], ctx, what="body")
        msg = EmailMessage()
        msg["From"] = self.from_address
        msg["To"] = self.to_address
        msg["Subject"] = subject
        msg["Date"] = formatdate(localtime=False, usegmt=True)
        digest = hashlib.sha256(json.dumps(
            [operation, spec.realm, spec.username, subject, body], sort_keys=True
        ).encode()).hexdigest()[:32]
        msg["Message-ID"] = f"<{digest}@{self.from_address.rsplit('@', 1)[1]}>"
        msg["X-Realmbill-Operation"] = operation
        msg.set_content(body)
        return msg

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        try:
            if s["security"] == "tls":
                smtp = smtplib.SMTP_SSL(s["host"], s["port"], timeout=s["timeout"],
                                        context=self.context)
            else:
                smtp = smtplib.SMTP(s["host"], s["port"], timeout=s["timeout"])
        except ssl.SSLError as exc:
            raise AdapterError(f"TLS failed: {exc.reason or exc}") from None
        except OSError as exc:
            raise AdapterError(f"cannot reach the mail server: {exc}", transient=True) from None
        try:
            smtp.ehlo()
            if s["security"] == "starttls":
                smtp.starttls(context=self.context)
                smtp.ehlo()
            if s["username"]:
                mechanisms = smtp.esmtp_features.get("auth", "").upper().split()
                if "PLAIN" in mechanisms:  # one mechanism: no fallback round trips after a 535
                    smtp.user, smtp.password = s["username"], s["password"]
                    smtp.auth("PLAIN", smtp.auth_plain)
                else:
                    smtp.login(s["username"], s["password"])
        except ssl.SSLError as exc:
            smtp.close()
            raise AdapterError(f"TLS failed: {exc.reason or exc}") from None
        except smtplib.SMTPAuthenticationError:
            smtp.close()
            raise AdapterError("mail server refused the login") from None
        except smtplib.SMTPNotSupportedError as exc:
            smtp.close()
            raise AdapterError(f"mail server: {exc}") from None
        except (smtplib.SMTPException, OSError) as exc:
            smtp.close()
            raise AdapterError(f"mail server error: {exc}", transient=True) from None
        return smtp

    def send(self, operation: str, spec: ServiceSpec) -> str:
        if operation not in self.operations:
            return f"{operation}: no mail for this operation"
        msg = self.build(operation, spec)
        smtp = self._connect()
        try:
            smtp.send_message(msg)
            smtp.quit()
        except smtplib.SMTPResponseException as exc:
            raise AdapterError(f"mail refused: {exc.smtp_code}",
                               transient=400 <= exc.smtp_code < 500) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise AdapterError(f"mail not sent: {exc}", transient=True) from None
        finally:
            smtp.close()
        return f"{operation}: request mailed to {self.to_address}"

    def create(self, spec):
        return self.send("create", spec)

    def suspend(self, spec):
        return self.send("suspend", replace(spec, status="suspended"))

    def resume(self, spec):
        return self.send("resume", replace(spec, status="active"))

    def delete(self, spec):
        return self.send("delete", spec)

    def update_details(self, spec):
        return self.send("update_details", spec)

    def change_password(self, spec):
        return self.send("change_password", spec)

    def change_plan(self, spec):
        return self.send("change_plan", spec)

    def check(self) -> str:
        smtp = self._connect()
        try:
            code, _ = smtp.noop()
            smtp.quit()
        except (smtplib.SMTPException, OSError) as exc:
            raise AdapterError(f"mail server error: {exc}", transient=True) from None
        finally:
            smtp.close()
        return f"connected to {self.settings['host']}:{self.settings['port']} " \
               f"({self.settings['security']}), NOOP {code}"
