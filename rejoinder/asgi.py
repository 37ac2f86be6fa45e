"""The application for ASGI servers (``uvicorn rejoinder.asgi:app``), configured from the environment."""

from rejoinder.settings import load_settings
from rejoinder.web.app import create_app

app = create_app(load_settings())
