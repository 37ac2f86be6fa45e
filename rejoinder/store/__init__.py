"""Storage: the schema, the engines, migrations and plain functions that take a connection first.

Nothing in this package commits on its own: the calling service opens the transaction.
"""
