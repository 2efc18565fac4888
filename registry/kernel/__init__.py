"""The kernel: the few things every layer may import and that import nothing of the registry.

- `clock`: the only reader of the system time (today, now, Asia/Shanghai; frozen in tests);
- `errors`: the domain errors (`RegistryError(field, message)`, `NotFound`, `Forbidden`) that
  services and pure rules raise and the web layer maps onto forms and error pages;
- `paging`: `Page`, one page of a listing, and `paginate`, which reads one from a query;
- `versions`: optimistic locking — a form's version checked against the row's, and a flush
  that finds the row changed meanwhile, both answered as a `StaleEdit`.

Nothing here knows Flask or a request; only `versions` (its stale-row error) and `paging` (a
count and a slice of a query) know SQLAlchemy.
"""
