"""The shared core of the settings resources: a resource is declared once (`Resource`) and
the core derives its tables' indexes, schemas, queries, routes, batch and bulk import."""
