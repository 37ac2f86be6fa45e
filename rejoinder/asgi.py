"""The application for ASGI servers, configured from the environment (``REJOINDER_*``, or the TOML file
named by ``REJOINDER_CONFIG``): ``uvicorn --factory rejoinder.asgi:create``."""

from rejoinder.web.app import create_app_from_environment as create

__all__ = ["create"]
