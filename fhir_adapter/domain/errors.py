"""Typed errors of the domain; each carries the path of the field it is about."""

from __future__ import annotations


class DomainError(Exception):
    """A record breaks a case-management rule."""

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.message = message
        self.path = path


class IllegalTransition(DomainError):
    """A referral status change that its lifecycle does not allow."""
