"""No admin page filters, searches or sorts on a secret column.

Django's ``ModelAdmin.lookup_allowed`` lets any URL parameter filter on any of the model's own
fields, listed in ``list_filter`` or not: ``?secret_hash__startswith=ab`` on the API key list
answers "some rows" or "none", so a view-only user could read a key's SHA-256 (or a user's
password hash, or a project's webhook secret) one character at a time. Every admin of a model that
has such a column takes :class:`SecretLookupsRefused`; ``tests/test_security.py`` checks every
registered admin against :data:`SECRET_FIELDS`."""

from __future__ import annotations

from django.db.models.constants import LOOKUP_SEP

# Column names that hold a secret or a hash of one, on any model (relations included).
SECRET_FIELDS = frozenset({"secret_hash", "webhook_secret", "previous_secret", "password", "session_key"})


def names_a_secret(lookup: str) -> bool:
    return not SECRET_FIELDS.isdisjoint(lookup.split(LOOKUP_SEP))


class SecretLookupsRefused:
    """A ModelAdmin mixin: a lookup that names a secret column anywhere on its path is refused
    (Django answers 400, DisallowedModelAdminLookup), and the search never looks in one."""

    def lookup_allowed(self, lookup, value, request=None):
        if names_a_secret(lookup):
            return False
        return super().lookup_allowed(lookup, value, request)

    def get_search_fields(self, request):
        return [field for field in super().get_search_fields(request) if not names_a_secret(field.lstrip("^=@"))]
