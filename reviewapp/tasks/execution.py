"""Execution tasks: deletion plans, purge, reingest checks."""
