"""The HTTP layer: routes, middleware and error pages. HTTP types never leave this package."""
