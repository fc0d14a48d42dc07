"""Roles and what each may do: declared in the core (``tripcast.core.domain.access``), re-exported here."""

from tripcast.core.domain.access import ROLE_PERMISSIONS, Identity, Permission, Role, roles_with

__all__ = ["ROLE_PERMISSIONS", "Identity", "Permission", "Role", "roles_with"]
