"""One test file per workflow module: each proves its module's own names, SQL and example."""
