"""Spam and abuse defense: signals about a new comment, combined into an explained verdict."""
