"""Who is asking, and what they may do: principals, roles and team workspaces.

A `Principal` is the signed-in user as the provider named them (``sub``, ``email``) with a
role in each of their teams, or the single local user when no sign-in is configured
(`Principal.local`: admin of the one implicit team `LOCAL_TEAM`). The store
(`components.review.store`) takes a principal on every read and write of team items and
answers from it; the UI only hides what the store would refuse anyway.

Roles are ordered, each including the one before: ``viewer`` (browse, explain, export a
trail), ``reviewer`` (pin, unpin, verdicts and notes, reports), ``admin`` (manage members).

Members come from three places, the highest role of any of them winning:

- the teams file (TOML, ``$GLASSBOX_TEAMS``, else ``<workspace>/teams.toml``)::

      [teams.risk]
      "alice@example.org" = "admin"
      "8c1f2e7a-subject-id" = "reviewer"

  a key with an ``@`` matches the provider's e-mail (case-insensitive, unless the provider
  says ``email_verified = false``), any other key matches the subject (``sub``) exactly;
- the provider's ``groups`` claim: entries ``"TEAM:ROLE"`` (``"risk:reviewer"``); other
  entries are ignored;
- memberships an admin added in the app (the store's ``memberships`` table).

Streamlit-free and database-free.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from components.errors import GlassboxError, excerpt

ROLES: tuple[str, ...] = ("viewer", "reviewer", "admin")  # each includes the ones before
LOCAL_TEAM = "local"  # the one team of the single-user mode, and of items stored before teams
UNAUTHENTICATED = "unauthenticated"  # the actor of every event recorded without sign-in
TEAMS_ENV = "GLASSBOX_TEAMS"
GROUPS_CLAIM = "groups"
MAX_TEAM_CHARS = 64
MAX_MEMBER_CHARS = 255
MAX_ACTOR_CHARS = 100  # the store's limit on an event's actor

_TEAM = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")
_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


class AccessError(GlassboxError):
    """A teams file, a groups claim or a member's name could not be used."""


def role_rank(role: str | None) -> int:
    """0 for no role, then 1 viewer, 2 reviewer, 3 admin."""
    return ROLES.index(role) + 1 if role in ROLES else 0


def check_team(team: object) -> str:
    """A team name: letters, digits, ``_.-``, at most 64 characters, starting alphanumeric."""
    if not isinstance(team, str) or not _TEAM.fullmatch(team):
        raise AccessError(f"'{excerpt(team, 40)}' is not a team name (letters, digits, "
                          "'_', '.', '-'; at most 64 characters)")
    return team


def check_role(role: object) -> str:
    if role not in ROLES:
        raise AccessError(f"'{excerpt(role, 20)}' is not a role (viewer, reviewer or admin)")
    return str(role)


def member_key(member: object) -> str:
    """How a member is written down: an e-mail (lowercased) or a subject, as given."""
    if not isinstance(member, str) or not member.strip():
        raise AccessError("a member is named by an e-mail or a subject, not by nothing")
    member = member.strip()
    if len(member) > MAX_MEMBER_CHARS or _UNSAFE.search(member):
        raise AccessError(f"'{excerpt(member, 40)}' is not an e-mail or a subject")
    return member.casefold() if "@" in member else member


def _clean_claim(value: object, what: str) -> str:
    """A provider's sub or email as text fit for the trail ("" when absent)."""
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > MAX_MEMBER_CHARS or _UNSAFE.search(value):
        raise AccessError(f"the provider's {what} claim is not usable text")
    return value.strip()


def actor_label(email: str, sub: str) -> str:
    """``email (sub)`` for the trail's actor column, within its 100 characters: the subject
    is kept whole when it fits (it is the stable identity), the e-mail is cut first."""
    if not email:
        return sub if len(sub) <= MAX_ACTOR_CHARS else sub[:MAX_ACTOR_CHARS - 1] + "\u2026"
    room = MAX_ACTOR_CHARS - len(sub) - 3
    if room >= 8:
        shown = email if len(email) <= room else email[:room - 1] + "\u2026"
        return f"{shown} ({sub})"
    return actor_label("", sub)


@dataclass(frozen=True)
class Principal:
    """Who is asking: ``sub`` and ``email`` from the provider ("" when not signed in),
    ``roles`` as sorted (team, role) pairs, and ``team``, the team whose workspace is open
    (where uploads and reviews go)."""

    sub: str
    email: str
    roles: tuple[tuple[str, str], ...]
    team: str

    @classmethod
    def local(cls) -> Principal:
        """The one user of a server without sign-in: admin of the implicit local team."""
        return cls("", "", ((LOCAL_TEAM, "admin"),), LOCAL_TEAM)

    @property
    def authenticated(self) -> bool:
        return bool(self.sub)

    @property
    def teams(self) -> tuple[str, ...]:
        return tuple(team for team, _ in self.roles)

    @property
    def actor(self) -> str:
        """What the audit trail's actor column says for this principal."""
        return actor_label(self.email, self.sub) if self.authenticated else UNAUTHENTICATED

    def identity(self) -> dict[str, str] | None:
        """The provider's identity, whole, for an event's payload (None without sign-in)."""
        return {"sub": self.sub, "email": self.email} if self.authenticated else None

    def role_in(self, team: str) -> str | None:
        return dict(self.roles).get(team)

    def has(self, team: str, role: str) -> bool:
        """Whether this principal holds ``role`` (or a higher one) in ``team``."""
        return role_rank(self.role_in(team)) >= role_rank(check_role(role))

    def in_team(self, team: str) -> Principal:
        """The same principal with ``team``'s workspace open (one of their teams)."""
        if team not in self.teams:
            raise AccessError(f"not a member of the team '{excerpt(team, 40)}'")
        return Principal(self.sub, self.email, self.roles, team)


# --- where roles come from ----------------------------------------------------------------

TeamsFile = dict[str, dict[str, str]]  # team -> member key -> role


def teams_path(workspace_root: Path) -> Path:
    """``$GLASSBOX_TEAMS``, else ``teams.toml`` in the workspace folder."""
    configured = os.environ.get(TEAMS_ENV, "").strip()
    return Path(configured).expanduser() if configured else Path(workspace_root) / "teams.toml"


def parse_teams(text: str, where: str = "the teams file") -> TeamsFile:
    """The ``[teams.NAME]`` tables of a teams file: member -> role per team."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise AccessError(f"{where} is not valid TOML: {excerpt(str(err), 80)}") from None
    teams = data.get("teams", {})
    if not isinstance(teams, dict):
        raise AccessError(f"{where}: 'teams' must be a table of teams")
    out: TeamsFile = {}
    for team, members in teams.items():
        check_team(team)
        if not isinstance(members, dict):
            raise AccessError(f"{where}: team '{team}' must map members to roles")
        out[team] = {member_key(m): check_role(r) for m, r in members.items()}
    return out


def load_teams(path: Path) -> TeamsFile:
    """The teams file at ``path``; an empty mapping when there is none."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as err:
        raise AccessError(f"cannot read the teams file {path}: {err.strerror}") from None
    return parse_teams(text, f"the teams file {path}")


def roles_from_groups(groups: object) -> dict[str, str]:
    """``"TEAM:ROLE"`` entries of a groups claim (a list, or one string); others ignored."""
    entries = [groups] if isinstance(groups, str) else groups if isinstance(
        groups, list | tuple) else []
    out: dict[str, str] = {}
    for entry in entries:
        if not isinstance(entry, str) or ":" not in entry:
            continue
        team, _, role = entry.rpartition(":")
        if role in ROLES and _TEAM.fullmatch(team):
            out[team] = _higher(out.get(team), role)
    return out


def roles_from_file(teams: TeamsFile, sub: str, email: str,
                    email_verified: bool = True) -> dict[str, str]:
    """The roles a teams file (or the stored memberships, same shape) gives this user."""
    keys = {sub} if sub else set()
    if email and email_verified:
        keys.add(email.casefold())
    out: dict[str, str] = {}
    for team, members in teams.items():
        for key in keys & members.keys():
            out[team] = _higher(out.get(team), members[key])
    return out


def _higher(a: str | None, b: str) -> str:
    return b if role_rank(b) > role_rank(a) else a  # type: ignore[return-value]


def merge_roles(*sources: Mapping[str, str]) -> dict[str, str]:
    """Team -> the highest role any source gives."""
    out: dict[str, str] = {}
    for source in sources:
        for team, role in source.items():
            out[team] = _higher(out.get(team), role)
    return out


def principal_from_claims(claims: Mapping[str, object],
                          sources: Iterable[TeamsFile]) -> Principal:
    """The signed-in user: ``sub`` and ``email`` from the provider's claims, their roles from
    the groups claim and from each teams mapping in ``sources`` (file, stored members).
    The open team is the first in name order; `Principal.in_team` picks another."""
    sub = _clean_claim(claims.get("sub"), "sub")
    if not sub:
        raise AccessError("the provider named no subject ('sub') for this sign-in")
    email = _clean_claim(claims.get("email"), "email")
    verified = claims.get("email_verified") is not False
    roles = merge_roles(roles_from_groups(claims.get(GROUPS_CLAIM)),
                        *(roles_from_file(s, sub, email, verified) for s in sources))
    ordered = tuple(sorted(roles.items()))
    return Principal(sub, email, ordered, ordered[0][0] if ordered else "")


# --- serving beyond this machine ----------------------------------------------------------


def is_local_address(address: str | None) -> bool:
    """Whether a server bound to ``address`` is reachable from this machine only. Unset or
    empty means every interface (Streamlit's default), so not local."""
    if not address:
        return False
    host = address.strip().strip("[]").casefold()
    if host in _LOCAL_NAMES:
        return True
    if host.startswith("unix://"):
        return True  # a Unix socket is reached through the file system, not the network
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def exposure_warning(address: str | None, auth_configured: bool) -> str | None:
    """The console warning for a server reachable from other machines with no sign-in."""
    if auth_configured or is_local_address(address):
        return None
    where = f"'{address}'" if address else "every network interface"
    return (f"WARNING: Glassbox is listening on {where} without sign-in ([auth] is not "
            "configured in .streamlit/secrets.toml): anyone who reaches this address can "
            "see and review every model, and every audit event will say 'unauthenticated'. "
            "Configure an OpenID Connect provider (README, 'Sign-in and teams') or bind to "
            "localhost.")
