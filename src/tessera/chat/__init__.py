"""GeoChat rooms per picture, shared between the web map and TAK clients."""
