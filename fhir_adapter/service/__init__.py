"""Application services: the use cases behind the HTTP API, each one unit of work."""
