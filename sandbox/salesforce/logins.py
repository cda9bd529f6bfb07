"""The simulator's login endpoints: OAuth 2.0 token and SOAP `login`.

Owns `oauth_token(...)` (`POST /services/oauth2/token`, grants `password`,
`client_credentials` (HTTP Basic client credentials, as simple-salesforce sends them) and the
JWT bearer grant (an RS256 assertion checked against the connected app's certificate: the
public key in `Credentials.jwt_public_key_pem`)), `soap_login(...)` (`POST
/services/Soap/u/{version}`, username + password with the security token appended) and
`jwt_key_pair()` (a fresh key pair for tests). Each login answers (status, body, content
type); a success carries a new session id from `issue`. Failures look like Salesforce's: OAuth
`{"error", "error_description"}`, SOAP faults with `sf:exceptionCode`.
"""

from __future__ import annotations

import base64
import binascii
import json
import xml.dom.minidom
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.parsers.expat import ExpatError

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from sandbox.salesforce import ids

Answer = tuple[int, bytes, str]
ORG_ID = ids.sf_id(ids.ORG, 1)
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str
    security_token: str
    consumer_key: str
    consumer_secret: str
    jwt_public_key_pem: str | None = None  # the connected app's certificate; None: no JWT
    # A SOAP login fault the right credentials still get (API_CURRENTLY_DISABLED: the user
    # lacks "API Enabled"; PASSWORD_LOCKOUT; ...); None: they log in.
    login_fault: str | None = None


def jwt_key_pair() -> tuple[str, str]:
    """A new RSA key pair as PEM text: (private key for the client, public key for the
    sandbox's `jwt_public_key_pem`)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private.decode(), public.decode()


def oauth_token(
    body: bytes, authorization: str, credentials: Credentials, issue: Callable[[], str], url: str
) -> Answer:
    form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
    grant = form.get("grant_type")
    c = credentials
    if grant == "client_credentials":
        key, secret = _basic(authorization)
        if (key, secret) != (c.consumer_key, c.consumer_secret):
            return _oauth_error("invalid_client", "invalid client credentials")
    elif grant == JWT_BEARER:
        refused = _jwt_refusal(form.get("assertion", ""), c, url)
        if refused is not None:
            return _oauth_error("invalid_grant", refused)
    elif grant == "password":
        if (form.get("client_id"), form.get("client_secret")) != (
            c.consumer_key,
            c.consumer_secret,
        ):
            return _oauth_error("invalid_client_id", "client identifier invalid")
        password = form.get("password", "")
        if form.get("username") != c.username or password not in (
            c.password,
            c.password + c.security_token,
        ):
            return _oauth_error("invalid_grant", "authentication failure")
    else:
        return _oauth_error("unsupported_grant_type", "grant type not supported")
    token = issue()
    answer = {
        "access_token": token,
        "instance_url": url,
        "id": f"{url}/id/{ORG_ID}/{ids.sf_id(ids.USER, 1)}",
        "token_type": "Bearer",
        "issued_at": "1700000000000",
        "signature": "c2FuZGJveA==",
    }
    return 200, json.dumps(answer).encode(), "application/json;charset=UTF-8"


def _jwt_refusal(assertion: str, c: Credentials, url: str) -> str | None:
    """Why an assertion is refused, or None when it is good: an RS256 signature by the key
    whose public half is configured, `iss` the consumer key, `sub` the username, `aud` the
    login server (`https://*.salesforce.com`) or this sandbox, `exp` ahead of the wall clock
    (the client signs with real time)."""
    if c.jwt_public_key_pem is None:
        return "no certificate is configured for this connected app"
    try:
        claims: dict[str, Any] = jwt.decode(
            assertion,
            c.jwt_public_key_pem,
            algorithms=["RS256"],
            options={"require": ["iss", "sub", "aud", "exp"], "verify_aud": False},
        )
    except jwt.ExpiredSignatureError:
        return "expired assertion: exp is in the past"
    except jwt.PyJWTError as bad:
        return f"invalid assertion: {bad}"
    if claims["iss"] != c.consumer_key:
        return "invalid assertion: iss is not the consumer key of a connected app"
    if claims["sub"] != c.username:
        return "invalid assertion: sub names no user of this org"
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if not any(_is_audience(str(a), url) for a in audiences):
        return "audience is invalid"
    return None


def _is_audience(aud: str, url: str) -> bool:
    host = urlsplit(aud).hostname or ""
    return aud.rstrip("/") == url or host == "salesforce.com" or host.endswith(".salesforce.com")


def _basic(authorization: str) -> tuple[str, str]:
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        return "", ""
    try:
        key, _, secret = base64.b64decode(encoded).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return "", ""
    return key, secret


def _oauth_error(error: str, description: str) -> Answer:
    body = json.dumps({"error": error, "error_description": description}).encode()
    return 400, body, "application/json;charset=UTF-8"


def soap_login(
    body: bytes, version: str, credentials: Credentials, issue: Callable[[], str], url: str
) -> Answer:
    try:
        document = xml.dom.minidom.parseString(body)
    except ExpatError:
        return _soap_fault("INVALID_LOGIN", "Invalid username, password, security token")
    username = _text(document, "username")
    password = _text(document, "password")
    c = credentials
    if username != c.username or password != c.password + c.security_token:
        message = "INVALID_LOGIN: Invalid username, password, security token; or user locked out."
        return _soap_fault("INVALID_LOGIN", message)
    if c.login_fault is not None:
        return _soap_fault(c.login_fault, f"{c.login_fault}: refused for this user")
    server_url = f"{url}/services/Soap/u/{version}/{ORG_ID}"
    answer = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns="urn:partner.soap.sforce.com"><soapenv:Body><loginResponse><result>'
        f"<metadataServerUrl>{url}/services/Soap/m/{version}/{ORG_ID}</metadataServerUrl>"
        "<passwordExpired>false</passwordExpired><sandbox>true</sandbox>"
        f"<serverUrl>{server_url}</serverUrl><sessionId>{issue()}</sessionId>"
        f"<userId>{ids.sf_id(ids.USER, 1)}</userId>"
        "</result></loginResponse></soapenv:Body></soapenv:Envelope>"
    )
    return 200, answer.encode(), "text/xml;charset=UTF-8"


def _text(document: xml.dom.minidom.Document, local_name: str) -> str | None:
    for element in document.getElementsByTagName("*"):
        if element.localName == local_name and element.firstChild is not None:
            return str(element.firstChild.nodeValue)
    return None


def _soap_fault(code: str, message: str) -> Answer:
    answer = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:sf="urn:fault.partner.soap.sforce.com"><soapenv:Body><soapenv:Fault>'
        f"<faultcode>sf:{code}</faultcode><faultstring>{message}</faultstring><detail>"
        f"<sf:LoginFault><sf:exceptionCode>{code}</sf:exceptionCode>"
        f"<sf:exceptionMessage>{message}</sf:exceptionMessage></sf:LoginFault>"
        "</detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    )
    return 500, answer.encode(), "text/xml;charset=UTF-8"
