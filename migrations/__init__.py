"""Alembic migrations; a package so installed copies ship their scripts."""
