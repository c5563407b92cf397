"""Alembic environment: always run on a connection handed over by ``middleware.database``.

``middleware.database.upgrade_schema`` opens the transaction (and, on PostgreSQL, takes an
advisory lock) so that several processes starting at once migrate one after the other.
"""

from alembic import context

from middleware.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - guarded by middleware.database
    raise RuntimeError("run migrations through `middleware db upgrade`, not the alembic CLI")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    transaction_per_migration=False,
)
with context.begin_transaction():
    context.run_migrations()
