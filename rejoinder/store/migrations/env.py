"""Alembic environment: runs on the connection that ``rejoinder.store.migrate`` hands over."""

from alembic import context

from rejoinder.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite rebuilds tables to alter them
)
with context.begin_transaction():
    context.run_migrations()
