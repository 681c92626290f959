"""The web map client: static assets, with third-party code built from npm packages."""
