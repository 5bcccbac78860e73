"""Who is calling: a user id and a role, as read from a verified bearer token."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ticketing.domain.ids import UserId


class Role(StrEnum):
    USER = "user"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: UserId
    role: Role

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN
