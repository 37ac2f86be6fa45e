"""Telling people: mail (to readers who subscribed, and its SMTP delivery), the new-posts poller, and
webhooks. Everything here runs after a commit, from event subscribers and jobs, never inside a request."""
