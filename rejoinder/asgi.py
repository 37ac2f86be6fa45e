"""The application for ASGI servers, configured from the environment (``REJOINDER_*``, or the TOML file
named by ``REJOINDER_CONFIG``): ``uvicorn --factory rejoinder.asgi:create``."""

from fastapi import FastAPI

from rejoinder.settings import load_settings
from rejoinder.web.app import create_app


def create() -> FastAPI:
    return create_app(load_settings())
