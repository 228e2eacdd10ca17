"""Login settings of a lab: the authenticator and its secret references (never secret values)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator

from kubelab.lab._types import DnsName, FieldError, _Model

__all__ = ["Auth", "GitHubAuth", "LdapAuth", "NativeAuth", "SecretRef"]


class SecretRef(_Model):
    """A key of a Kubernetes Secret in the lab's namespace: ``{secret: github-oauth, key: client-secret}``."""

    secret: DnsName
    key: str = Field(min_length=1)


def _secret_ref(raw: Any) -> Any:
    if isinstance(raw, str | int):
        raise FieldError("a secret must not be written in the file",
                         "store it in a Kubernetes Secret and reference it: {secret: NAME, key: KEY}")
    return raw


SecretField = Annotated[SecretRef, BeforeValidator(_secret_ref)]


class NativeAuth(_Model):
    """JupyterHub's NativeAuthenticator: accounts with passwords stored (hashed) by the hub."""

    open_signup: bool = False
    minimum_password_length: int = Field(default=10, ge=1)


class LdapAuth(_Model):
    """LDAP bind authentication (ldapauthenticator)."""

    server: str = Field(pattern=r"^ldaps?://", description="ldaps://ldap.example.org or ldap://… with start_tls")
    bind_dn_template: tuple[str, ...] = ()
    lookup_dn: bool = False
    user_search_base: str | None = None
    bind_user: str | None = None
    bind_password: SecretField | None = None
    allowed_groups: tuple[str, ...] = ()
    start_tls: bool = False


class GitHubAuth(_Model):
    """GitHub OAuth (oauthenticator)."""

    client_id: str = Field(min_length=1)
    client_secret: SecretField
    callback_url: str = Field(pattern=r"^https?://", description="https://HOST/hub/oauth_callback")
    allowed_organizations: tuple[str, ...] = ()


class Auth(_Model):
    """How users log in: ``method`` and the settings block of the same name."""

    method: Literal["native", "ldap", "github", "none"]
    native: NativeAuth | None = None
    ldap: LdapAuth | None = None
    github: GitHubAuth | None = None

    @model_validator(mode="before")
    @classmethod
    def _native_default(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("method") == "native" and data.get("native") is None:
            return {**data, "native": {}}
        return data

    @model_validator(mode="after")
    def _block_matches(self) -> Auth:
        for other in ("native", "ldap", "github"):
            if other != self.method and getattr(self, other) is not None:
                raise FieldError(f"settings for '{other}' but method is '{self.method}'",
                                 f"remove the {other} block or set method: {other}", field=other)
        if self.method in ("ldap", "github") and getattr(self, self.method) is None:
            raise FieldError(f"method {self.method} needs its settings", f"add an auth.{self.method} block",
                             field="method")
        return self
