"""Adapters to the outside: the database (tables, migrations, repositories)."""
